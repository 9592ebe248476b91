package node

import (
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/p2p"
)

// TestForkPeersFirst: a deep catch-up asks first the members whose
// messages did not verify, then the others in their order.
func TestForkPeersFirst(t *testing.T) {
	peers := []p2p.PeerID{"joiner", "old", "winner", "other"}
	got := forkPeersFirst(peers, []p2p.PeerID{"winner", "gone", "winner", "other"})
	if want := []p2p.PeerID{"winner", "other", "joiner", "old"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := forkPeersFirst(peers, nil); !slices.Equal(got, peers) {
		t.Errorf("without fork peers: %v, want %v", got, peers)
	}
}

// TestDeepPeers: fork peers first, but a member added after the epoch
// the catch-up asks from comes last even if it is one: node 0, on a lost
// branch, had admitted two members whose messages it could not read
// either, and they hold nothing from before their join.
func TestDeepPeers(t *testing.T) {
	s := &chanState{forkPeers: []p2p.PeerID{"joiner", "winner"}}
	s.meta.Commits = []commitRecord{{Epoch: 3, Added: []string{"early"}}, {Epoch: 7, Added: []string{"joiner"}}}
	got := s.deepPeers([]p2p.PeerID{"joiner", "early", "other", "winner"}, 4)
	if want := []p2p.PeerID{"winner", "early", "other", "joiner"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestForkNotesSender: alice and bob commit in the same epoch; bob's post
// on his branch does not decrypt at alice. She marks the channel forked
// and notes bob, who handed it over, for her next deep catch-up
// (maybeCatchUp orders its peers with forkPeersFirst).
func TestForkNotesSender(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := offlinePair(t)
	commitAndPost(t, a, id, "alice's branch")
	envs := commitAndPost(t, b, id, "bob's branch")
	reqs := []*recvReq{{env: mustEnv(t, envs[len(envs)-1]), member: true, from: p2p.PeerID(b.PeerID()), done: make(chan struct{})}}
	var forked bool
	var fork []p2p.PeerID
	err := a.channel(id).do(ctx, func(s *chanState) error {
		s.receiveLive(ctx, reqs)
		s.closeLive()
		forked, fork = s.forked, slices.Clone(s.forkPeers)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-reqs[0].done
	if !forked || !slices.Equal(fork, []p2p.PeerID{p2p.PeerID(b.PeerID())}) {
		t.Fatalf("forked %v, fork peers %v (err %v), want bob noted", forked, fork, reqs[0].err)
	}
}
