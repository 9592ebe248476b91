package node

import (
	"testing"

	"github.com/spacepanda/spacepanda/crdt"
)

// roguePost makes n act as a modified client that posts text in the epoch
// of the given group state, whatever its node knows since (a removed
// member that kept the state of the epoch before its removal). seq is the
// post's counter. It returns the envelope to publish.
func roguePost(t *testing.T, n *Node, state []byte, seq uint64, at crdt.Time, text string) []byte {
	t.Helper()
	return rogueEvent(t, n, state, crdt.Event{ID: crdt.ID{Author: n.PeerID(), Seq: seq}, Time: at, Kind: crdt.KindPost, Text: text})
}

// rogueEvent is roguePost for any event e, stamped by the caller.
func rogueEvent(t *testing.T, n *Node, state []byte, e crdt.Event) []byte {
	t.Helper()
	g, err := unpoliced(state)
	if err != nil {
		t.Fatal(err)
	}
	env, err := forgeEvent(g, n.id.name, e)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestRemovedMemberCannotPost: the owner removes bob; bob, from the state
// of the epoch before his removal and with his clock set back, keeps
// posting after he learned of it. Whether a member reads the forged post
// before or after the removal, no member shows it once it has the
// removal; bob's post from before the removal stays.
func TestRemovedMemberCannotPost(t *testing.T) {
	for _, order := range []string{"removal first", "forged post first"} {
		t.Run(order, func(t *testing.T) {
			ctx := ctxT(t)
			a, b, c, id := offlineTrio(t)
			legit := post(t, b, id, "before my removal")
			deliver(t, a, id, legit)
			deliver(t, c, id, legit)
			before := storedState(t, b, id)
			at := crdt.Time{Wall: b.nowMs() - 1} // dated before the removal
			var next crdt.ID
			b.channel(id).do(ctx, func(s *chanState) error { next = s.crdt.Next(b.PeerID()); return nil }) //nolint:errcheck
			ra := outboxLen(a, id)
			if err := a.RemoveMember(ctx, id, b.PeerID()); err != nil {
				t.Fatal(err)
			}
			removal := outboxSince(t, a, id, ra)
			deliver(t, b, id, removal)
			forged := [][]byte{roguePost(t, b, before, next.Seq, at, "after my removal")}
			if order == "removal first" {
				deliver(t, c, id, removal)
				deliver(t, c, id, forged)
			} else {
				deliver(t, c, id, forged)
				if !hasText(t, c, id, "after my removal") {
					t.Fatal("carol did not read the forged post before the removal: the test tests nothing")
				}
				deliver(t, c, id, removal)
			}
			deliver(t, a, id, forged)
			for _, n := range []*Node{a, c} {
				if hasText(t, n, id, "after my removal") {
					t.Errorf("%s shows a post the removed member made after its removal", n.id.name)
				}
				if !hasText(t, n, id, "before my removal") {
					t.Errorf("%s lost the removed member's post from before its removal", n.id.name)
				}
			}
		})
	}
}
