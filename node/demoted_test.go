package node

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
)

// TestDemotedAdminsInviteRefused: alice makes bob admin, bob makes an
// invite code, alice makes bob a plain member again, and bob goes offline.
// Carol's join with bob's code, which falls back to the members found
// under the channel's rendezvous key, is refused as revoked by alice (an
// admin), and nothing changes; a code alice makes still admits her. Before
// stop 17, alice admitted carol: the invite stayed valid, and a demoted
// admin could date new ones back into its admin period.
func TestDemotedAdminsInviteRefused(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	role := func(n *Node, m string) crdt.Role {
		var r crdt.Role
		n.channel(id).do(ctx, func(s *chanState) error { r = s.crdt.Role(m); return nil }) //nolint:errcheck
		return r
	}
	if err := a.SetRole(ctx, id, b.PeerID(), "admin"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "bob to be admin", func() bool { return role(b, b.PeerID()) == crdt.RoleAdmin })
	code, err := b.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "alice to hold bob's invite", func() bool {
		var ok bool
		a.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck
			_, err := s.crdt.Invite(mustParse(t, code).hash(), time.Now().UnixMilli())
			ok = err == nil
			return nil
		})
		return ok
	})
	if err := a.SetRole(ctx, id, b.PeerID(), "member"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "bob to be a plain member", func() bool { return role(b, b.PeerID()) == crdt.RoleMember })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := Open(ctx, Config{Home: newHome(t, "carol"), Network: true, Logger: quiet, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS: true, Bootstrap: a.host.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, 30*time.Second, "carol to find alice under the rendezvous key", func() bool {
		found, _ := c.host.FindPeers(ctx, rendezvousOf(id), 0)
		return slices.ContainsFunc(found, func(p p2p.PeerInfo) bool { return p.ID.String() == a.PeerID() })
	})
	before, _ := a.Members(ctx, id)
	if _, err := c.Join(ctx, code); !errors.Is(err, ErrInviteRevoked) {
		t.Fatalf("join with the demoted admin's code: %v, want ErrInviteRevoked", err)
	}
	if after, _ := a.Members(ctx, id); len(after) != len(before) {
		t.Fatalf("members %d -> %d after a refused join", len(before), len(after))
	}
	fresh, err := a.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Join(ctx, fresh); err != nil {
		t.Fatalf("join with the owner's code: %v", err)
	}
}
