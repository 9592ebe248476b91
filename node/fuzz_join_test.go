package node

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/spacepanda/spacepanda/p2p"
)

// FuzzJoinRequest feeds arbitrary join frames to a member's join handler,
// as a stranger would send them: it answers or refuses, never panics, and
// a refusal changes nothing (the group's epoch stays; only an admission,
// which needs a key package signed with the invite's secret, moves it).
// The seeds hold a real invite's token, with and without a valid proof
// over a key package that does not decode.
func FuzzJoinRequest(f *testing.F) {
	ctx := context.Background()
	n := open(f, newHome(f, "alice"), false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		f.Fatal(err)
	}
	code, err := n.Invite(ctx, ci.ID, InviteOptions{})
	if err != nil {
		f.Fatal(err)
	}
	inv, err := parseInvite(code)
	if err != nil {
		f.Fatal(err)
	}
	kp := []byte{0, 1, 0, 1, 0, 5}
	for _, r := range []joinRequest{
		{Version: joinRequestVersion, Invite: inv.token(), Name: "mallory", KeyPackage: kp, Proof: inv.proveJoin(kp)},
		{Version: joinRequestVersion, Invite: inv.token(), Name: "mallory", KeyPackage: kp, Proof: make([]byte, 64)},
		{Version: 1, Invite: inv.token()},
	} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Add([]byte("{}"))
	c := n.channel(ci.ID)
	stranger := p2p.PeerID("12D3KooWKupmeu4GGRT6GYPha4Qk3Lq7ATPLRAcYD4FufBUviWxJ")
	f.Fuzz(func(t *testing.T, b []byte) {
		before := c.epoch.Load()
		resp, err := n.serveJoin(ctx, stranger, b)
		if err != nil {
			if !remoteRE.MatchString(err.Error()) {
				t.Fatalf("refusal without a code: %v", err)
			}
			if c.epoch.Load() != before {
				t.Fatalf("a refused join moved the epoch (%v)", err)
			}
			return
		}
		var jr joinResponse
		if err := json.Unmarshal(resp, &jr); err != nil {
			t.Fatalf("an admission that does not decode: %v", err)
		}
	})
}
