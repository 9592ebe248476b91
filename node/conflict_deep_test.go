package node

import (
	"bytes"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls"
)

// TestRemovalTwoEpochsDeep is the multi-epoch form of scenario 1 of issue
// 10: the owner removes bob; bob, from the state before his removal, makes
// two commits of his own branch (epochs E+1 and E+2) and a post on it, and
// carol applies all of them, and posts on that branch herself, before the
// removal reaches her. When it does, two epochs behind her, carol goes
// back to epoch E, applies the removal, and re-sends her post on the
// winning branch: alice and carol end on the same epoch and tree, without
// bob, and bob reads nothing sent after.
func TestRemovalTwoEpochsDeep(t *testing.T) {
	for _, order := range []string{"removal last", "removal restart"} {
		t.Run(order, func(t *testing.T) {
			ctx := ctxT(t)
			a, b, c, id := offlineTrio(t)
			bobID := b.PeerID()
			before := storedState(t, b, id)
			ra := outboxLen(a, id)
			if err := a.RemoveMember(ctx, id, bobID); err != nil {
				t.Fatal(err)
			}
			removal := outboxSince(t, a, id, ra)
			first := rogueCommit(t, b, id, before, mls.CommitOptions{ForcePath: true}, nil)
			second := rogueCommit(t, b, id, nil, mls.CommitOptions{ForcePath: true}, nil)
			ghost := post(t, b, id, "ghost on bob's branch")
			deliver(t, c, id, first)
			deliver(t, c, id, second)
			deliver(t, c, id, ghost)
			if ep, _ := groupState(t, c, id); ep != mustEnv(t, removal[0]).epoch+2 {
				t.Fatalf("carol is at epoch %d, want two past the removal's %d", ep, mustEnv(t, removal[0]).epoch)
			}
			sc := outboxLen(c, id)
			onBobs := post(t, c, id, "carol on bob's branch")
			if order == "removal restart" {
				if err := c.Close(); err != nil {
					t.Fatal(err)
				}
				c = open(t, c.cfg.Home, false)
			}
			deliver(t, c, id, removal)
			deliver(t, a, id, first)
			deliver(t, a, id, second)
			deliver(t, a, id, onBobs)
			// Carol re-sent her post on the winning branch.
			deliver(t, a, id, outboxSince(t, c, id, sc+len(onBobs)))
			for _, n := range []*Node{a, c} {
				if slices.Contains(mlsMembers(t, n, id), bobID) {
					t.Fatalf("%s's tree still holds the removed member", n.id.name)
				}
			}
			epA, authA := groupState(t, a, id)
			epC, authC := groupState(t, c, id)
			if epA != epC || !bytes.Equal(authA, authC) {
				t.Fatalf("alice (epoch %d) and carol (epoch %d) diverged", epA, epC)
			}
			if !hasText(t, a, id, "carol on bob's branch") {
				t.Error("carol's post on the losing branch was not re-sent to alice")
			}
			secret := post(t, a, id, "after the removal")
			deliver(t, c, id, secret)
			deliver(t, b, id, secret)
			deliver(t, b, id, outboxSince(t, c, id, sc+len(onBobs)))
			if !hasText(t, c, id, "after the removal") {
				t.Error("carol did not read alice's post")
			}
			if hasText(t, b, id, "after the removal") {
				t.Error("the removed member read a post sent after its removal")
			}
		})
	}
}
