package testbed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	"github.com/spacepanda/spacepanda/node"
)

// view is what the testbed reads of a member's timeline: live, through the
// Follow stream users get, and at the end.
type view interface {
	Follow(ctx context.Context, channel string, limit int, fn func(node.Message) error) error
	Messages(ctx context.Context, channel string, limit int) ([]node.Message, error)
}

// member is a running node as the testbed drives it: the API users get,
// plus the digest that convergence compares and key updates for churn.
type member interface {
	node.API
	Digest(ctx context.Context, channel string) (node.Digest, error)
	UpdateKeys(ctx context.Context, channel string) error
}

var _ member = (*node.Node)(nil)

// apiDigest builds a Digest from the API alone, for members reached
// through a control socket, which does not expose the MLS epoch
// authenticator: the epoch, the member list and the CRDT view.
func apiDigest(ctx context.Context, api node.API, channel string) (node.Digest, error) {
	chs, err := api.Channels(ctx)
	if err != nil {
		return node.Digest{}, err
	}
	var d node.Digest
	for _, c := range chs {
		if c.ID == channel {
			d.Epoch = c.Epoch
		}
	}
	ms, err := api.Members(ctx, channel)
	if err != nil {
		return node.Digest{}, err
	}
	for _, m := range ms {
		d.Members = append(d.Members, m.ID+"/"+m.Role)
	}
	sort.Strings(d.Members)
	d.ViewMembers = d.Members
	tl, err := api.Messages(ctx, channel, 0)
	if err != nil {
		return node.Digest{}, err
	}
	for i := range tl {
		tl[i].AuthorName, tl[i].Time = "", tl[i].Time.UTC()
		tl[i].Delivery, tl[i].SeenBy = "", nil // the author's own view of its posts
	}
	b, _ := json.Marshal(tl)
	h := sha256.Sum256(b)
	d.View, d.Messages = hex.EncodeToString(h[:]), len(tl)
	return d, nil
}
