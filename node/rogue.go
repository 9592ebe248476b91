package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/node/internal/rogue"
	"github.com/spacepanda/spacepanda/p2p"
)

// The testbed's hostile member (node/internal/rogue): what a modified
// client can do with its own keys. Nothing in node calls these; they
// exist so that `spacepanda testbed --hostile` can check, on real nodes
// under load, that the honest members refuse it.
func init() {
	rogue.Commit = func(ctx context.Context, n any, channel string, k rogue.Kind) error {
		return n.(*Node).rogueCommit(ctx, channel, k)
	}
	rogue.Act = func(ctx context.Context, n any, channel string, m rogue.Misdeed, target string, at time.Time) error {
		return n.(*Node).rogueAct(ctx, channel, m, target, at)
	}
	rogue.Keep = func(ctx context.Context, n any, channel string) (rogue.Poster, error) {
		return n.(*Node).roguePoster(ctx, channel)
	}
	rogue.Tree = func(ctx context.Context, n any, channel string) ([]string, map[string]string, error) {
		return n.(*Node).rogueTree(ctx, channel)
	}
}

// rogueGroup loads the channel's current group state without the node's
// commit policy (unpoliced).
func (s *chanState) rogueGroup() (*mls.Group, error) {
	state, err := s.group.Marshal()
	if err != nil {
		return nil, err
	}
	return unpoliced(state)
}

// unpoliced loads a group state for an MLS client that checks no role of
// its own: the node's credentials, none of its commit policy.
func unpoliced(state []byte) (*mls.Group, error) {
	return mls.UnmarshalGroup(state, mls.Config{AuthenticationService: peerAuth{}})
}

// forgeEvent encrypts the event e, by the member named name, in g's epoch
// (however the channel moved on) and returns the envelope to publish.
func forgeEvent(g *mls.Group, name string, e crdt.Event) ([]byte, error) {
	pt, err := sealEvent(name, e)
	if err != nil {
		return nil, err
	}
	msg, err := g.EncryptApplication(rand.Reader, pt, nil)
	if err != nil {
		return nil, err
	}
	return envelope{epoch: g.Epoch(), msg: msg}.encode(), nil
}

func (n *Node) rogueCommit(ctx context.Context, channel string, k rogue.Kind) error {
	if n.host == nil {
		return ErrOffline
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	var env []byte
	err = c.do(ctx, func(s *chanState) error {
		env, err = s.rogueCommit(k)
		return err
	})
	if err != nil {
		return err
	}
	return n.host.Publish(ctx, TopicOf(c.id), env)
}

// rogueCommit returns the envelope of a commit of kind k from the current
// group state, which it leaves as it is.
func (s *chanState) rogueCommit(k rogue.Kind) ([]byte, error) {
	g, err := s.rogueGroup()
	if err != nil {
		return nil, err
	}
	opts, err := s.rogueOptions(g, k)
	if err != nil {
		return nil, err
	}
	out, err := g.Commit(rand.Reader, opts)
	if err != nil {
		return nil, fmt.Errorf("node: rogue %s: %w", k, err)
	}
	return envelope{epoch: g.Epoch(), msg: out.Commit}.encode(), nil
}

// rogueOptions returns the commit of kind k from our leaf in g.
func (s *chanState) rogueOptions(g *mls.Group, k rogue.Kind) (mls.CommitOptions, error) {
	self := s.n.id.peerID
	roles := s.group.Roles()
	const none = ^mls.LeafIndex(0)
	owner, other := none, none
	for _, m := range g.Members() {
		id := string(m.Credential.Identity)
		switch {
		case id == self:
		case roles.of(id) == crdt.RoleOwner && owner == none:
			owner = m.Index
		case roles.of(id) == crdt.RoleMember && other == none:
			other = m.Index
		}
	}
	switch k {
	case rogue.AddHidden:
		// A fresh identity the member controls (MLS refuses a second
		// leaf with its own signature key): a reader nobody admitted.
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return mls.CommitOptions{}, err
		}
		pid, err := p2p.PeerIDFromPublicKey(key.Public().(ed25519.PublicKey))
		if err != nil {
			return mls.CommitOptions{}, err
		}
		raw, _, _, err := newEngine(key, pid.String(), s.n.cfg.Now).NewKeyPackage()
		if err != nil {
			return mls.CommitOptions{}, err
		}
		kp, err := mls.UnmarshalKeyPackage(raw)
		if err != nil {
			return mls.CommitOptions{}, err
		}
		return mls.CommitOptions{Adds: []*mls.KeyPackage{kp}}, nil
	case rogue.RemoveOwner, rogue.RemoveMember:
		leaf := owner
		if k == rogue.RemoveMember {
			leaf = other
		}
		if leaf == none {
			return mls.CommitOptions{}, fmt.Errorf("%w: no member to remove", ErrNoMember)
		}
		return mls.CommitOptions{Removes: []mls.LeafIndex{leaf}}, nil
	case rogue.GrantOwner:
		r := maps.Clone(roles)
		r[self] = crdt.RoleOwner
		return mls.CommitOptions{GroupContextExtensions: withRoles(g.Extensions(), r), SetExtensions: true}, nil
	}
	return mls.CommitOptions{}, fmt.Errorf("node: rogue kind %d", k)
}

// roguePoster keeps the channel's current group state and returns a
// Poster that encrypts posts in its epoch, however the channel moves on.
func (n *Node) roguePoster(ctx context.Context, channel string) (rogue.Poster, error) {
	if n.host == nil {
		return nil, ErrOffline
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return nil, err
	}
	var g *mls.Group
	var next crdt.ID
	err = c.do(ctx, func(s *chanState) error {
		next = s.crdt.Next(n.id.peerID)
		g, err = s.rogueGroup()
		return err
	})
	if err != nil {
		return nil, err
	}
	name := n.id.name
	return func(ctx context.Context, text string, at time.Time) error {
		env, err := forgeEvent(g, name, crdt.Event{ID: next, Time: crdt.Time{Wall: at.UnixMilli()}, Kind: crdt.KindPost, Text: text})
		if err != nil {
			return err
		}
		next.Seq++
		return n.host.Publish(ctx, TopicOf(c.id), env)
	}, nil
}

func (n *Node) rogueTree(ctx context.Context, channel string) ([]string, map[string]string, error) {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return nil, nil, err
	}
	var leaves []string
	roles := map[string]string{}
	err = c.do(ctx, func(s *chanState) error {
		leaves = s.group.Members()
		for id, r := range s.group.Roles() {
			roles[id] = r.String()
		}
		return nil
	})
	return leaves, roles, err
}

// rogueAct sends misdeed m, dated at, past the node's own permission check
// (Check): the events a demoted admin's modified client would send.
func (n *Node) rogueAct(ctx context.Context, channel string, m rogue.Misdeed, target string, at time.Time) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error {
		e := crdt.Event{Kind: crdt.KindRename, Text: target}
		if m == rogue.DeletePost {
			all, err := s.timeline(0)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(all, func(p crdt.Message) bool { return p.Text == target && p.Author != n.id.peerID })
			if i < 0 {
				return fmt.Errorf("%w: no post %q by another member", ErrNoMessage, target)
			}
			e = crdt.Event{Kind: crdt.KindDelete, Target: all[i].ID}
		}
		e.ID, e.Time = s.crdt.Next(n.id.peerID), crdt.Time{Wall: at.UnixMilli()}
		return s.run(ctx, step{events: []crdt.Event{e}})
	})
}
