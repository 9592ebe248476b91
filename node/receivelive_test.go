package node

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// TestLiveReceiveCrash: a member reads live gossip (stored in batches
// without an fsync) while it sends, and crashes (a power cut: unsynced
// writes lost). Restarted from the crash image it holds every message it
// acknowledged sending; what it sends next is read by the other member
// (its sending ratchet did not go back to a generation it had used, which
// would reuse a key and nonce and be refused as a replay); it catches up
// on what it had read and lost; and it stores no message twice.
func TestLiveReceiveCrash(t *testing.T) {
	// Three waits of up to 60 s each: more than ctxT's bound.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a := open(t, newHome(t, "alice"), true)
	fs, openB := crashableBob(t)
	b := openB(fs, true)
	id, _ := joinGeneral(t, a, b)

	const fromA, fromB = 300, 40
	var mu sync.Mutex
	var ackedB []string
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range fromA {
			if _, err := a.Send(ctx, id, fmt.Sprintf("a%04d", i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range fromB {
			text := fmt.Sprintf("b%04d", i)
			if _, err := b.Send(ctx, id, text); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ackedB = append(ackedB, text)
			mu.Unlock()
		}
	}()
	waitFor(t, 60*time.Second, "b to read half of a's messages and send some", func() bool {
		mu.Lock()
		k := len(ackedB)
		mu.Unlock()
		return k >= fromB/2 && postsWithPrefix(b, id, "a0") >= fromA/2
	})
	read := postsWithPrefix(b, id, "a0")
	mu.Lock()
	acked := append([]string(nil), ackedB...)
	crashed := fs.Crash()
	mu.Unlock()
	wg.Wait()
	b.Close()

	// Offline first, so that nothing comes back from a before the check.
	b = openB(crashed, false)
	have := timelineSet(t, b, id)
	for _, text := range acked {
		if !have[text] {
			t.Fatalf("%q was acknowledged before the crash and is not in the image", text)
		}
	}
	t.Logf("the image holds %d of the %d messages of a that b had read", postsWithPrefix(b, id, "a0"), read)
	b.Close()

	b = openB(crashed, true)
	if _, err := b.Send(ctx, id, "after the crash"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "a to read b's message sent after the crash", func() bool {
		return timelineSet(t, a, id)["after the crash"]
	})
	waitFor(t, 60*time.Second, "b to catch up on a's messages", func() bool {
		return postsWithPrefix(b, id, "a0") == fromA
	})
	seen := map[string]uint64{}
	es, err := b.db.Log(context.Background(), store.ChannelID(id), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		k := string(hashOf(e.Data))
		if prev, dup := seen[k]; dup {
			t.Fatalf("log entries %d and %d hold the same message", prev, e.Seq)
		}
		seen[k] = e.Seq
	}
}

// timelineSet returns the texts of n's timeline of channel id.
func timelineSet(t testing.TB, n *Node, id string) map[string]bool {
	t.Helper()
	ms, err := n.Messages(context.Background(), id, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range ms {
		out[m.Text] = true
	}
	return out
}

// postsWithPrefix counts the posts of n's timeline whose text starts with p.
func postsWithPrefix(n *Node, id, p string) int {
	ms, _ := n.Messages(context.Background(), id, 0)
	k := 0
	for _, m := range ms {
		if len(m.Text) > len(p) && m.Text[:len(p)] == p {
			k++
		}
	}
	return k
}

// crashableBob initialises bob's home "/bob" on a crashable filesystem and
// returns it with a function that opens bob from a filesystem (the live one
// or a crash image), online or not.
func crashableBob(t *testing.T) (*CrashFS, func(fs *CrashFS, network bool) *Node) {
	t.Helper()
	fs := NewCrashFS()
	if _, err := InitFS(ctxT(t), "/bob", "bob", []byte{}, fs); err != nil {
		t.Fatal(err)
	}
	return fs, func(fs *CrashFS, network bool) *Node {
		n, err := Open(context.Background(), Config{Home: "/bob", CrashFS: fs, Network: network, Logger: quiet,
			Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
}

// liveTurn hands envs to n's channel loop in one turn of live gossip, as
// the topic validator queues them (receiveLive), and returns the loop's
// answer to each.
func liveTurn(t *testing.T, n *Node, id string, envs [][]byte) []error {
	t.Helper()
	return liveTurnFrom(t, n, id, envs, func(int) bool { return true })
}

// liveTurnFrom is liveTurn where member(i) tells whether envs[i] was handed
// over by a member of n's epoch.
func liveTurnFrom(t *testing.T, n *Node, id string, envs [][]byte, member func(i int) bool) []error {
	t.Helper()
	ctx := ctxT(t)
	reqs := make([]*recvReq, len(envs))
	for i, raw := range envs {
		reqs[i] = &recvReq{env: mustEnv(t, raw), member: member(i), done: make(chan struct{})}
	}
	err := n.channel(id).do(ctx, func(s *chanState) error {
		s.receiveLive(ctx, reqs)
		s.closeLive()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(reqs))
	for i, r := range reqs {
		<-r.done
		errs[i] = r.err
	}
	return errs
}

// TestResendForJoinerInLiveTurn: bob's post reaches neither alice nor her
// history for carol, whom alice admits; alice then posts in the new epoch.
// Bob reads alice's post (of an epoch he has not reached: kept for later)
// and then her Add in one turn of live gossip: the Add lets him read the
// post, which joins the open live chunk, and, as the Add admitted a member,
// he sends his recent posts again for her. That step ran while the chunk
// was not stored yet and the store refused it ("log entry appended after"),
// so carol never saw bob's post (the 5-node churn testbed lost one message
// at the re-admitted member in half its runs).
func TestResendForJoinerInLiveTurn(t *testing.T) {
	a, b, id := offlinePair(t)
	post(t, b, id, "from bob, before carol") // alice never gets it
	c := open(t, newHome(t, "carol"), false)
	before := outboxLen(a, id)
	resp, bundle, inv := admitOffline(t, a, c, id)
	add := outboxSince(t, a, id, before)
	later := post(t, a, id, "from alice, after carol")
	if _, err := c.finishJoin(ctxT(t), id, resp, bundle, inv, a.PeerID()); err != nil {
		t.Fatal(err)
	}
	if hasText(t, c, id, "from bob, before carol") {
		t.Fatal("carol's history has bob's post: the test would not test the re-send")
	}
	sent := outboxLen(b, id)
	for i, err := range liveTurn(t, b, id, append(later, add...)) {
		if err != nil {
			t.Fatalf("bob refused gossip message %d: %v", i, err)
		}
	}
	if !hasText(t, b, id, "from alice, after carol") {
		t.Fatal("bob did not read alice's post of the new epoch")
	}
	resent := outboxSince(t, b, id, sent)
	if len(resent) == 0 {
		t.Fatal("bob sent nothing again for carol")
	}
	deliver(t, c, id, resent)
	if !hasText(t, c, id, "from bob, before carol") {
		t.Fatal("carol does not show bob's post from before her join")
	}
}

// TestDeliveredWithOpenChunkDurable: a member answers a delivery while it
// holds an open batch of live gossip. It answers only once what it took is
// stored, and a message that was new to it is synced by then: after a
// crash (unsynced writes lost) right after the answer, the restarted
// member holds both the message it had read by gossip and the one handed
// over.
func TestDeliveredWithOpenChunkDurable(t *testing.T) {
	ctx := ctxT(t)
	a := open(t, newHome(t, "alice"), true)
	fs, openB := crashableBob(t)
	b := openB(fs, true)
	id, _ := joinGeneral(t, a, b)
	b.Close()
	b = openB(fs, false) // offline: nothing arrives but what the test hands over

	var envs [][]byte
	for _, text := range []string{"by gossip", "handed over"} {
		if _, err := a.Send(ctx, id, text); err != nil {
			t.Fatal(err)
		}
		es, err := a.db.Log(ctx, store.ChannelID(id), 1, 0)
		if err != nil || len(es) == 0 {
			t.Fatalf("alice's log: %v", err)
		}
		last := es[len(es)-1]
		envs = append(envs, envelope{epoch: last.Epoch, msg: last.Data}.encode())
	}
	c := b.channel(id)
	gossip, err := decodeEnvelope(envs[0])
	if err != nil {
		t.Fatal(err)
	}
	r := &recvReq{env: gossip, member: true, done: make(chan struct{})}
	if err := c.doLive(ctx, func(s *chanState) error {
		s.receiveLive(ctx, []*recvReq{r})
		if !s.liveOpen() || !s.chunkDirty {
			t.Error("the gossip message is not in an open chunk")
		}
		return r.err
	}); err != nil {
		t.Fatal(err)
	}
	req, _ := json.Marshal(deliverRequest{Channel: id, Envelopes: envs})
	raw, err := b.serveDeliver(ctx, p2p.PeerID(a.id.peerID), req)
	if err != nil {
		t.Fatal(err)
	}
	var resp deliverResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.Taken != 2 {
		t.Fatalf("answer %s (%v), want both taken", raw, err)
	}
	crashed := fs.Crash()
	b.Close()
	b = openB(crashed, false)
	have := timelineSet(t, b, id)
	for _, text := range []string{"by gossip", "handed over"} {
		if !have[text] {
			t.Errorf("%q was taken before the crash and is not in the image", text)
		}
	}
}

// TestNextEpochFromANewMember: carol, just added, forwards alice's label of
// the epoch of carol's Add to bob before bob has read that Add, so the
// copy comes from a peer that is not a member of bob's epoch. Gossipsub
// never hands bob the same message again (not even from alice), so bob
// must keep that copy until the Add arrives. Before, he dropped it as a
// stranger's, and his view of the channel lacked carol for good once
// later commits took him past the epochs he could still read (the
// 10-node testbed's setup: "node3 and node0 differ in CRDT view").
func TestNextEpochFromANewMember(t *testing.T) {
	a, b, id := offlinePair(t)
	c := open(t, newHome(t, "carol"), false)
	before := outboxLen(a, id)
	admitOffline(t, a, c, id)
	add := outboxSince(t, a, id, before)
	var commit, labels [][]byte
	for _, raw := range add {
		if isCommit(mustEnv(t, raw).msg) {
			commit = append(commit, raw)
		} else {
			labels = append(labels, raw)
		}
	}
	if len(commit) != 1 || len(labels) == 0 {
		t.Fatalf("the Add queued %d commits and %d other messages", len(commit), len(labels))
	}
	ctx := ctxT(t)
	envs := append(labels, commit[0]) // the labels from carol, the commit from alice
	for i, err := range liveTurnFrom(t, b, id, envs, func(i int) bool { return i == len(labels) }) {
		if err != nil {
			t.Fatalf("bob refused message %d: %v", i, err)
		}
	}
	ea, _ := groupState(t, a, id)
	if eb, _ := groupState(t, b, id); eb != ea {
		t.Fatalf("bob at epoch %d, alice at %d", eb, ea)
	}
	da, err := a.Digest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(db.ViewMembers, c.PeerID()+"/member") || da.View != db.View {
		t.Fatalf("bob's view lists %v, alice's %v (views equal: %v)", db.ViewMembers, da.ViewMembers, da.View == db.View)
	}
}

// TestReadPastEpochLabel: bob reads alice's Add of carol but not its label,
// and alice commits four times more before a catch-up brings him the
// label: an epoch older than those whose secrets MLS keeps. Bob reads it
// with the state of that epoch the node keeps for commit conflicts. Before,
// it was dropped as stale and bob's view lacked carol for good (the
// 10-node testbed's setup: a member that joined in a burst of joins).
func TestReadPastEpochLabel(t *testing.T) {
	a, b, id := offlinePair(t)
	c := open(t, newHome(t, "carol"), false)
	before := outboxLen(a, id)
	admitOffline(t, a, c, id)
	var commits, labels [][]byte
	for _, raw := range outboxSince(t, a, id, before) {
		if isCommit(mustEnv(t, raw).msg) {
			commits = append(commits, raw)
		} else {
			labels = append(labels, raw)
		}
	}
	for range pastEpochWindow + 1 {
		before = outboxLen(a, id)
		if err := a.UpdateKeys(ctxT(t), id); err != nil {
			t.Fatal(err)
		}
		commits = append(commits, outboxSince(t, a, id, before)...)
	}
	deliver(t, b, id, commits)
	ea, _ := groupState(t, a, id)
	if eb, _ := groupState(t, b, id); eb != ea {
		t.Fatalf("bob at epoch %d, alice at %d", eb, ea)
	}
	deliver(t, b, id, labels) // as a catch-up from alice's log brings them
	ctx := ctxT(t)
	da, err := a.Digest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(db.ViewMembers, c.PeerID()+"/member") || da.View != db.View {
		t.Fatalf("bob's view lists %v, alice's %v (views equal: %v)", db.ViewMembers, da.ViewMembers, da.View == db.View)
	}
	deliver(t, b, id, labels) // again: a duplicate, not stored twice
	if db2, _ := b.Digest(ctx, id); db2.View != db.View {
		t.Fatal("the label read again changed bob's view")
	}
}
