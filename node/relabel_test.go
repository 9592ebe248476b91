package node

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/spacepanda/spacepanda/crdt"
)

// TestLostLeaveLabelReachesAll: x commits dave's leave with a "left" line
// and loses the epoch to alice's concurrent commit (which admits erin); y
// applied x's commit and its line before it switched. Dave proposes his
// leave again and y commits it on the winning branch, but y's replica
// already shows dave gone, so its commit carries no line of its own.
// Alice never saw x's line: before the fix she refused x's re-sent copy
// (no commit of x's removed dave) and listed dave as a member for good
// (the 5-node testbed in CI: "node2 and node0 differ in the CRDT view's
// members"). Now x re-sends its line once a commit of the winning branch
// removed dave, and a "left" line is accepted when a commit of the branch
// removed its member.
func TestLostLeaveLabelReachesAll(t *testing.T) {
	ctx := ctxT(t)
	a, b, c, id := offlineTrio(t)
	admit := func(n *Node, to ...*Node) {
		t.Helper()
		before := outboxLen(a, id)
		resp, bundle, inv := admitOffline(t, a, n, id)
		for _, o := range to {
			deliver(t, o, id, outboxSince(t, a, id, before))
		}
		if _, err := n.finishJoin(ctx, id, resp, bundle, inv, a.PeerID()); err != nil {
			t.Fatal(err)
		}
	}
	d := open(t, newHome(t, "dave"), false)
	admit(d, b, c)
	// Who commits a leaver's proposal on receipt is the member with the
	// smallest peer ID (maybeCommitProposals): y must not be it now, and
	// erin, admitted by alice's winning commit, must be it after.
	x, y := b, c
	if c.PeerID() < b.PeerID() {
		x, y = c, b
	}
	var e *Node
	for e == nil || e.PeerID() > min(a.PeerID(), x.PeerID()) {
		e = open(t, newHome(t, "erin"), false)
	}
	epoch, _ := groupState(t, a, id)

	// Dave proposes his leave; x and y have it, x commits it.
	sd := outboxLen(d, id)
	if err := d.Leave(ctx, id); err != nil {
		t.Fatal(err)
	}
	proposal := outboxSince(t, d, id, sd)
	sx := outboxLen(x, id)
	deliver(t, x, id, proposal)
	if ep, _ := groupState(t, x, id); ep == epoch { // not the designated committer
		if err := x.UpdateKeys(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	xs := outboxSince(t, x, id, sx)
	if viewHasMember(t, x, id, d.PeerID()) {
		t.Fatal("x's replica still lists dave after its commit")
	}
	deliver(t, y, id, proposal)
	deliver(t, y, id, xs)
	if ep, _ := groupState(t, y, id); ep != epoch+1 || viewHasMember(t, y, id, d.PeerID()) {
		t.Fatalf("y is at epoch %d (want %d) or did not take x's line", ep, epoch+1)
	}

	// Alice admits erin in the same epoch, without dave's proposal: her
	// commit wins. x re-sends its line; alice refuses it for now.
	sa, sx := outboxLen(a, id), outboxLen(x, id)
	admit(e)
	alices := outboxSince(t, a, id, sa)
	sd = outboxLen(d, id)
	for _, n := range []*Node{x, y, d} {
		deliver(t, n, id, alices)
	}
	deliver(t, a, id, outboxSince(t, x, id, sx))
	if ep, _ := groupState(t, y, id); ep != epoch+1 {
		t.Fatalf("y at epoch %d after the switch, want %d", ep, epoch+1)
	}

	// Dave proposes again; only y has it, and commits it (not designated:
	// erin is, and never hears of it).
	again := outboxSince(t, d, id, sd)
	sy := outboxLen(y, id)
	deliver(t, y, id, again)
	if err := y.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	ys := outboxSince(t, y, id, sy)
	sx = outboxLen(x, id)
	for _, n := range []*Node{a, x} {
		deliver(t, n, id, again)
		deliver(t, n, id, ys)
	}
	for _, n := range []*Node{a, x, y} {
		if ep, _ := groupState(t, n, id); ep != epoch+2 {
			t.Fatalf("%s at epoch %d, want %d", n.id.name, ep, epoch+2)
		}
	}
	deliver(t, a, id, outboxSince(t, x, id, sx))
	if viewHasMember(t, a, id, d.PeerID()) {
		t.Error("x did not re-send its line after y's commit removed dave, or alice refused it")
	}

	// A "left" line for dave naming an epoch after his removal would make
	// his next admission's line stale (crdt): refused.
	sx = outboxLen(x, id)
	if err := x.channel(id).do(ctx, func(s *chanState) error {
		forged := crdt.Event{Kind: crdt.KindLeft, Member: d.PeerID(), Epoch: epoch + 100,
			ID: s.crdt.Next(s.n.id.peerID), Time: s.clock.Now(s.n.nowMs())}
		return s.runResend(ctx, []crdt.Event{forged})
	}); err != nil {
		t.Fatal(err)
	}
	forged := outboxSince(t, x, id, sx)
	if len(forged) != 1 {
		t.Fatalf("%d envelopes for the forged line", len(forged))
	}
	err := a.channel(id).do(ctx, func(s *chanState) error { return s.receive(ctx, mustEnv(t, forged[0])) })
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("a left line of a later epoch than the removal: %v, want ErrProtocol", err)
	}

	// Then everything reaches alice, x and y, in a random order, with
	// catch-ups.
	w := &authSim{t: t, rnd: mrand.New(mrand.NewPCG(1, 2)), id: id, seen: map[string]uint64{},
		pending: map[string][][]byte{}, nodes: map[string]*Node{"alice": a, "x": x, "y": y},
		honest: []string{"alice", "x", "y"}}
	w.settle()
	checkAgree(t, w, func(name string, dg Digest) {
		if slices.ContainsFunc(dg.ViewMembers, func(m string) bool { return strings.HasPrefix(m, d.PeerID()+"/") }) {
			t.Errorf("%s's CRDT view still lists dave", name)
		}
	})
}

// viewHasMember reports whether n's CRDT view lists member m.
func viewHasMember(t *testing.T, n *Node, id, m string) bool {
	t.Helper()
	var has bool
	n.channel(id).do(context.Background(), func(s *chanState) error { //nolint:errcheck
		for _, x := range s.crdt.Members() {
			has = has || x.ID == m
		}
		return nil
	})
	return has
}
