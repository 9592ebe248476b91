package node

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls"
)

// propose makes n's member of channel id propose the removal of the leaf
// that other holds, and returns the envelope it would publish.
func propose(t *testing.T, n, other *Node, id string) envelope {
	t.Helper()
	ctx := ctxT(t)
	var target mls.LeafIndex
	if err := other.channel(id).do(ctx, func(s *chanState) error {
		target = s.group.(*mlsGroup).g.OwnLeaf()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := n.channel(id).do(ctx, func(s *chanState) error {
		g := s.group.(*mlsGroup).g
		prop, err := g.ProposeRemove(target)
		env = envelope{epoch: g.Epoch(), msg: prop}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return env
}

// TestForeignRemoveProposalRefused: a plain member proposes the owner's
// removal. The owner refuses the proposal and its state is unchanged; a
// member's proposal to remove itself (a leave) is still accepted and
// committed.
func TestForeignRemoveProposalRefused(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := offlinePair(t)
	state := func() (stored, live []byte) {
		a.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck
			stored, _ = s.group.Marshal()
			live = s.stored
			return nil
		})
		return
	}
	_, before := state()

	env := propose(t, b, a, id)
	err := a.channel(id).do(ctx, func(s *chanState) error { return s.receive(ctx, env) })
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("foreign Remove proposal: err = %v, want ErrProtocol", err)
	}
	live, stored := state()
	if !bytes.Equal(live, before) || !bytes.Equal(stored, before) {
		t.Fatal("refusing the proposal changed the owner's group state")
	}
	if ms, _ := a.Members(ctx, id); len(ms) != 2 {
		t.Fatalf("members after a refused proposal: %d, want 2", len(ms))
	}

	leave := propose(t, b, b, id)
	if err := a.channel(id).do(ctx, func(s *chanState) error { return s.receive(ctx, leave) }); err != nil {
		t.Fatalf("a member's own leave: %v", err)
	}
	waitFor(t, 10e9, "the leave to be committed", func() bool {
		ms, _ := a.Members(ctx, id)
		return len(ms) == 1
	})
}

// TestJoinWelcomeForAnotherGroup: a responder answers a join for channel X
// with a Welcome to another group. The joiner refuses it and keeps nothing.
func TestJoinWelcomeForAnotherGroup(t *testing.T) {
	ctx := ctxT(t)
	a, b := open(t, newHome(t, "alice"), false), open(t, newHome(t, "bob"), false)
	x, err := a.CreateChannel(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	y, err := a.CreateChannel(ctx, "y")
	if err != nil {
		t.Fatal(err)
	}
	resp, bundle, inv := admitOffline(t, a, b, y.ID)
	resp.Channel = x.ID // the Welcome is y's
	if _, err := b.finishJoin(ctx, x.ID, resp, bundle, inv, a.PeerID()); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Welcome for another group: err = %v, want ErrProtocol", err)
	}
	if cs, _ := b.Channels(ctx); len(cs) != 0 {
		t.Fatalf("the joiner kept %d channels", len(cs))
	}
}
