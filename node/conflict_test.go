package node

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/spacepanda/spacepanda/crdt"
)

// offlinePair makes b a member of a's channel without a network: the join
// request and response go through function calls, so that the test decides
// the order in which each node sees the other's messages.
func offlinePair(t testing.TB) (a, b *Node, id string) {
	t.Helper()
	ctx := ctxT(t)
	a, b = open(t, newHome(t, "alice"), false), open(t, newHome(t, "bob"), false)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	resp, bundle, inv := admitOffline(t, a, b, ci.ID)
	if _, err := b.finishJoin(ctx, ci.ID, resp, bundle, inv, a.PeerID()); err != nil {
		t.Fatal(err)
	}
	return a, b, ci.ID
}

// admitOffline has a admit b to channel id by a direct call to the join
// handler's admission step; it returns the response, b's key-package
// bundle and the invite, for b.finishJoin.
func admitOffline(t testing.TB, a, b *Node, id string) (joinResponse, []byte, invite) {
	t.Helper()
	ctx := ctxT(t)
	code, err := a.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inv := mustParse(t, code)
	kp, _, bundle, err := b.eng.NewKeyPackage()
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	err = a.channel(id).do(ctx, func(s *chanState) error {
		raw, err = s.admit(ctx, b.PeerID(), joinRequest{Version: joinRequestVersion, Invite: inv.token(), Name: b.id.name,
			KeyPackage: kp, Proof: inv.proveJoin(kp)}, inv)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var resp joinResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	return resp, bundle, inv
}

// commitAndPost makes an empty commit in the channel's epoch and posts text
// on the new branch; it returns the envelopes the node would publish.
func commitAndPost(t *testing.T, n *Node, id, text string) [][]byte {
	t.Helper()
	ctx := ctxT(t)
	var out [][]byte
	err := n.channel(id).do(ctx, func(s *chanState) error {
		epoch := s.group.Epoch()
		commit, err := s.group.CommitPending()
		if err != nil {
			return err
		}
		before := len(s.outbox)
		if err := s.run(ctx, step{commit: commit, commitEpoch: epoch}); err != nil {
			return err
		}
		if _, err := s.authorLocal(ctx, crdt.Event{Kind: crdt.KindPost, Text: text}); err != nil {
			return err
		}
		for _, it := range s.outbox[before:] {
			out = append(out, it.Data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deliver hands envelopes to a node's channel loop, as gossip would. Like
// gossip, it drops what MLS refuses: a message of the other branch does not
// decrypt.
func deliver(t *testing.T, n *Node, id string, envs [][]byte) {
	t.Helper()
	ctx := ctxT(t)
	for _, raw := range envs {
		env, err := decodeEnvelope(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.channel(id).do(ctx, func(s *chanState) error { return s.receive(ctx, env) }); err != nil {
			t.Logf("%s dropped a message: %v", n.id.name, err)
		}
	}
}

// outboxSince returns the envelopes queued by n after the first skip ones.
func outboxSince(t *testing.T, n *Node, id string, skip int) [][]byte {
	var out [][]byte
	n.channel(id).do(context.Background(), func(s *chanState) error { //nolint:errcheck
		for _, it := range s.outbox[min(skip, len(s.outbox)):] {
			out = append(out, it.Data)
		}
		return nil
	})
	return out
}

func outboxLen(n *Node, id string) int {
	var l int
	n.channel(id).do(context.Background(), func(s *chanState) error { l = len(s.outbox); return nil }) //nolint:errcheck
	return l
}

func groupState(t *testing.T, n *Node, id string) (epoch uint64, auth []byte) {
	n.channel(id).do(context.Background(), func(s *chanState) error { //nolint:errcheck
		epoch, auth = s.group.Epoch(), s.group.EpochAuthenticator()
		return nil
	})
	return
}

// TestCommitConflict: two members commit in the same epoch and each posts
// on its own branch. Whatever the order of delivery, both end on the same
// epoch and tree (equal epoch authenticators), and the loser's post is
// re-sent, not lost.
func TestCommitConflict(t *testing.T) {
	for _, order := range []string{"a first", "b first"} {
		t.Run(order, func(t *testing.T) {
			a, b, id := offlinePair(t)
			ea, eb := outboxLen(a, id), outboxLen(b, id)
			fromA := commitAndPost(t, a, id, "on a's branch")
			fromB := commitAndPost(t, b, id, "on b's branch")
			if order == "a first" {
				deliver(t, b, id, fromA)
				deliver(t, a, id, fromB)
			} else {
				deliver(t, a, id, fromB)
				deliver(t, b, id, fromA)
			}
			// The loser re-sent its post on the winning branch.
			deliver(t, a, id, outboxSince(t, b, id, eb+len(fromB)))
			deliver(t, b, id, outboxSince(t, a, id, ea+len(fromA)))

			epA, authA := groupState(t, a, id)
			epB, authB := groupState(t, b, id)
			if epA != epB || !bytes.Equal(authA, authB) {
				t.Fatalf("diverged: a at epoch %d, b at epoch %d, authenticators equal: %v", epA, epB, bytes.Equal(authA, authB))
			}
			// Both posts on both replicas, in the same order. Which comes
			// first is the timeline's order (hybrid logical time, then
			// author), and the two posts are often made in the same
			// millisecond, so the test does not fix it.
			var timelines [2][]string
			for i, n := range []*Node{a, b} {
				ms, err := n.Messages(ctxT(t), id, 0)
				if err != nil {
					t.Fatal(err)
				}
				timelines[i] = texts(ms)
				got := slices.Sorted(slices.Values(timelines[i]))
				want := []string{"on a's branch", "on b's branch"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s's timeline, sorted (-want +got):\n%s", n.id.name, diff)
				}
			}
			if diff := cmp.Diff(timelines[0], timelines[1]); diff != "" {
				t.Errorf("the two timelines differ (-alice +bob):\n%s", diff)
			}
		})
	}
}

func mustEnv(t *testing.T, raw []byte) envelope {
	env, err := decodeEnvelope(raw)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestCommitConflictAfterRestart: both members commit in the same epoch,
// then restart before they hear of each other (a partition, or commands
// run without a daemon). The rule still applies: the node recovers the
// hash of its own commit from the log's tail, and both end on the same
// epoch and tree.
func TestCommitConflictAfterRestart(t *testing.T) {
	a, b, id := offlinePair(t)
	fromA := commitAndPost(t, a, id, "on a's branch")
	fromB := commitAndPost(t, b, id, "on b's branch")
	for _, n := range []*Node{a, b} {
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
	a, b = open(t, a.cfg.Home, false), open(t, b.cfg.Home, false)
	deliver(t, a, id, fromB)
	deliver(t, b, id, fromA)
	epA, authA := groupState(t, a, id)
	epB, authB := groupState(t, b, id)
	if epA != epB || !bytes.Equal(authA, authB) {
		t.Fatalf("diverged after restart: a at epoch %d, b at epoch %d, authenticators equal: %v", epA, epB, bytes.Equal(authA, authB))
	}
}

// TestSwitchToCommitOfALateProposal: carol proposes to leave; bob, who has
// not received the proposal, commits a key update in the same epoch; alice
// (the owner, whose commit wins) commits carol's proposal. Bob receives
// alice's commit before carol's proposal (gossip reorders). Alice's commit
// refers to the proposal, so bob cannot process it on the state of the
// epoch he left until the proposal arrives: he must keep the proposal for
// that epoch and then switch. Before, he dropped both ("unknown proposal
// reference", silently) and stayed on his branch for good (the 5-node
// churn testbed: "node1 at epoch 5, node0 at 7", thousands lost).
func TestSwitchToCommitOfALateProposal(t *testing.T) {
	for _, commitFirst := range []bool{true, false} {
		name := "proposal after the commit"
		if !commitFirst {
			name = "proposal before the commit"
		}
		t.Run(name, func(t *testing.T) { switchAfterLateProposal(t, commitFirst) })
	}
}

func switchAfterLateProposal(t *testing.T, commitFirst bool) {
	ctx := ctxT(t)
	a, b, c, id := offlineTrio(t)
	start, _ := groupState(t, a, id)
	before := outboxLen(c, id)
	if err := c.Leave(ctx, id); err != nil {
		t.Fatal(err)
	}
	prop := outboxSince(t, c, id, before)
	if err := b.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	before = outboxLen(a, id)
	deliver(t, a, id, prop)
	if ea, _ := groupState(t, a, id); ea == start {
		// Not the designated committer of the leave: commit it with an
		// update of her own.
		if err := a.UpdateKeys(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	win := outboxSince(t, a, id, before)
	if len(win) == 0 {
		t.Fatal("alice committed nothing")
	}
	if slices.Contains(mlsMembers(t, a, id), c.PeerID()) {
		t.Fatal("alice's commit did not remove carol")
	}
	if commitFirst {
		deliver(t, b, id, win)
		deliver(t, b, id, prop)
	} else {
		deliver(t, b, id, prop)
		deliver(t, b, id, win)
	}
	ea, aa := groupState(t, a, id)
	eb, ab := groupState(t, b, id)
	if ea != eb || !bytes.Equal(aa, ab) {
		t.Fatalf("bob is at epoch %d, alice at %d, authenticators equal %v: bob did not switch to alice's commit",
			eb, ea, bytes.Equal(aa, ab))
	}
	if slices.Contains(mlsMembers(t, b, id), c.PeerID()) {
		t.Fatal("bob still lists carol")
	}
}

// TestSwitchFloorSurvivesRestart: bob switches to alice's winning commit
// and stops before his catch-up rounds run. The messages of the winning
// branch that reached him before the switch did not decrypt; only a
// catch-up from the switch's epoch brings them. Started again, he must
// still ask from there, not from the epoch before his own (the 5-node
// testbed: the member taken offline right after the churn lacked a
// Removed label for good).
func TestSwitchFloorSurvivesRestart(t *testing.T) {
	ctx := ctxT(t)
	a := open(t, newHome(t, "alice"), false)
	bHome := newHome(t, "bob")
	b, err := Open(ctx, Config{Home: bHome, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	id := ci.ID
	resp, bundle, inv := admitOffline(t, a, b, id)
	if _, err := b.finishJoin(ctx, id, resp, bundle, inv, a.PeerID()); err != nil {
		t.Fatal(err)
	}
	start, _ := groupState(t, a, id)
	if err := b.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	before := outboxLen(a, id)
	if err := a.UpdateKeys(ctx, id); err != nil {
		t.Fatal(err)
	}
	deliver(t, b, id, outboxSince(t, a, id, before))
	ea, aa := groupState(t, a, id)
	if eb, ab := groupState(t, b, id); eb != ea || !bytes.Equal(aa, ab) {
		t.Fatal("bob did not switch to alice's commit")
	}
	floor := func(n *Node) (f uint64) {
		n.channel(id).do(ctx, func(s *chanState) error { f = s.syncFloor; return nil }) //nolint:errcheck
		return f
	}
	if f := floor(b); f == 0 || f > start+1 {
		t.Fatalf("bob's floor after the switch is %d, want at most %d", f, start+1)
	}
	b.Close()
	b, err = Open(ctx, Config{Home: bHome, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if f := floor(b); f == 0 || f > start+1 {
		t.Fatalf("bob's floor after a restart is %d, want at most %d", f, start+1)
	}
}
