package node

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// commitDropper loses, while armed, every commit a node receives live
// (gossip or a sender's push), as a saturated network may.
type commitDropper struct{ armed atomic.Bool }

func (d *commitDropper) drop(_ string, raw []byte) bool {
	if !d.armed.Load() {
		return false
	}
	env, err := decodeEnvelope(raw)
	return err == nil && isCommit(env.msg)
}

// TestWinnerAnnouncedToLosingBranch: alice (the owner) and bob commit in
// the same epoch, and bob never receives alice's commit, which wins; bob
// goes on on his branch (one more commit). Nothing bob receives later is of
// alice's branch, and his catch-ups ask his peers for his own epochs, so
// only alice can tell him: once she sees a commit of the losing branch she
// publishes hers again, and bob switches. Before that, the two stayed
// forked for good (TestChurnConverges failed so, once in five runs under
// load).
func TestWinnerAnnouncedToLosingBranch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	d := &commitDropper{}
	a := open(t, newHome(t, "alice"), true)
	b := openDropping(t, newHome(t, "bob"), d.drop)
	id, _ := joinGeneral(t, a, b)
	same := func() bool {
		ea, aa := groupState(t, a, id)
		eb, ab := groupState(t, b, id)
		return ea == eb && bytes.Equal(aa, ab)
	}
	// A catch-up of bob's from the epoch before his would fetch alice's
	// commit (the usual repair of a one-epoch fork): start once the
	// catch-up rounds after the join are over, so that nothing but the
	// announcement can bring it (bob has no reason to catch up after).
	quiet := func(n *Node) bool {
		var q bool
		n.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck
			q = s.syncRounds == 0 && !s.syncing && !s.needSync
			return nil
		})
		return q
	}
	waitFor(t, 60*time.Second, "alice and bob on one epoch, caught up", func() bool {
		return same() && quiet(a) && quiet(b)
	})
	start, _ := groupState(t, a, id)

	d.armed.Store(true)
	if err := a.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	losers := func() int {
		var n int
		a.channel(id).do(ctx, func(s *chanState) error { n = len(s.losers); return nil }) //nolint:errcheck
		return n
	}
	waitFor(t, 60*time.Second, "alice to see bob's commit lose", func() bool { return losers() > 0 })
	if eb, _ := groupState(t, b, id); eb != start+1 {
		t.Fatalf("bob is at epoch %d, want %d (his own commit)", eb, start+1)
	}
	if same() {
		t.Fatal("bob is on alice's branch already: the test did not test anything")
	}
	// Alice announced her commit when she saw bob's lose, and bob dropped
	// it; her next announcement of the epoch comes at least announceGap
	// later.
	time.Sleep(announceGap)
	d.armed.Store(false)
	if err := b.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "bob to switch to alice's branch", same)
	if ea, _ := groupState(t, a, id); ea < start+1 {
		t.Fatalf("alice went back to epoch %d", ea)
	}
}
