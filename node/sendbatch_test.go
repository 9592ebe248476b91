package node

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/spacepanda/spacepanda/store"
)

// TestConcurrentSends: posts sent concurrently to one channel (which share
// steps and fsyncs) each get their own ID, and every member shows each of
// them exactly once.
func TestConcurrentSends(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	const senders, each = 8, 25
	var mu sync.Mutex
	ids := map[string]bool{}
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				res, err := a.Send(ctx, id, fmt.Sprintf("m %d %d", g, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if ids[res.ID] {
					t.Errorf("ID %s given twice", res.ID)
				}
				ids[res.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, n := range []*Node{a, b} {
		waitFor(t, 30*time.Second, "every post at both members", func() bool {
			ms, _ := n.Messages(ctx, id, 0)
			return len(ms) >= senders*each
		})
		ms, _ := n.Messages(ctx, id, 0)
		seen := map[string]int{}
		for _, m := range ms {
			seen[m.Text]++
		}
		for g := range senders {
			for i := range each {
				if c := seen[fmt.Sprintf("m %d %d", g, i)]; c != 1 {
					t.Fatalf("m %d %d shown %d times", g, i, c)
				}
			}
		}
	}
}

// TestSendCancelledNotSent: a send whose context has ended before the loop
// takes it fails and is not sent.
func TestSendCancelledNotSent(t *testing.T) {
	ctx := ctxT(t)
	n := open(t, newHome(t, "alice"), false)
	ci, err := n.CreateChannel(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	c := n.channel(ci.ID)
	hold := make(chan struct{})
	go c.do(ctx, func(*chanState) error { <-hold; return nil }) //nolint:errcheck // a loop kept busy
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := n.Send(cctx, ci.ID, "never"); err == nil {
		t.Fatal("send with an ended context succeeded")
	}
	close(hold)
	if _, err := n.Send(ctx, ci.ID, "after"); err != nil {
		t.Fatal(err)
	}
	ms, _ := n.Messages(ctx, ci.ID, 0)
	if got := texts(ms); len(got) != 1 || got[0] != "after" {
		t.Fatalf("timeline %q, want only \"after\"", got)
	}
}

// TestAckedSendsDurable: sends from concurrent callers, stored as flights
// (without waiting for each fsync), are acknowledged only once durable: a
// crash image taken while sends are in flight holds every send that was
// acknowledged before it.
func TestAckedSendsDurable(t *testing.T) {
	ctx := ctxT(t)
	fs := store.NewCrashFS()
	if _, err := InitFS(ctx, "/alice", "alice", []byte{}, fs); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, Config{Home: "/alice", CrashFS: fs, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ci, err := n.CreateChannel(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("m %d %d", g, i)
				if _, err := n.Send(ctx, ci.ID, text); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, text)
				mu.Unlock()
			}
		}()
	}
	var images []*store.CrashFS
	var wants [][]string
	for len(images) < 5 {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k < 100*(len(images)+1) {
			time.Sleep(time.Millisecond)
			continue
		}
		// Every send acknowledged so far, then the image: what the image
		// must hold. Sends keep going while it is taken.
		mu.Lock()
		want := slices.Clone(acked)
		images = append(images, fs.Crash())
		mu.Unlock()
		wants = append(wants, want)
	}
	close(stop)
	wg.Wait()
	for i, img := range images {
		m, err := Open(context.Background(), Config{Home: "/alice", CrashFS: img, Logger: quiet})
		if err != nil {
			t.Fatalf("open image %d: %v", i, err)
		}
		ms, err := m.Messages(ctx, ci.ID, 0)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, x := range ms {
			have[x.Text] = true
		}
		for _, text := range wants[i] {
			if !have[text] {
				t.Fatalf("image %d: %q was acknowledged before the crash and is not there (%d of %d there)", i, text, len(ms), len(wants[i]))
			}
		}
	}
}

// TestFlightCarriesOpenChunk: a post sent while the open batch of live
// gossip holds a message stores both in one store batch (the group state is
// sealed and written once, and Pebble commits once), and a crash after the
// send was acknowledged keeps both. Before, the chunk was stored on its own
// first: two batches.
func TestFlightCarriesOpenChunk(t *testing.T) {
	ctx := ctxT(t)
	a := open(t, newHome(t, "alice"), true)
	fs, openB := crashableBob(t)
	b := openB(fs, true)
	id, _ := joinGeneral(t, a, b)
	b.Close()
	b = openB(fs, false) // offline: nothing arrives but what the test hands over

	gossip := mustEnv(t, post(t, a, id, "by gossip")[0])
	r := &recvReq{env: gossip, member: true, done: make(chan struct{})}
	send := &sendReq{text: "sent with it", done: make(chan struct{})}
	var batches uint64
	if err := b.channel(id).doLive(ctx, func(s *chanState) error {
		s.receiveLive(ctx, []*recvReq{r})
		if r.err != nil || !s.liveOpen() || !s.chunkDirty {
			t.Fatalf("the gossip message is not in an open chunk (%v)", r.err)
		}
		before := batchCount(t, s.n)
		s.c.sends.push(send)
		s.sendQueued(ctx) // as post's turn does
		batches = batchCount(t, s.n) - before
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	<-send.done // the flight landed: its fsync returned
	if send.err != nil {
		t.Fatal(send.err)
	}
	if batches != 1 {
		t.Errorf("the step and the open chunk took %d store batches, want 1", batches)
	}
	crashed := fs.Crash()
	b.Close()
	b = openB(crashed, false)
	have := timelineSet(t, b, id)
	for _, text := range []string{"by gossip", "sent with it"} {
		if !have[text] {
			t.Errorf("%q is not in the crash image taken after the send was acknowledged", text)
		}
	}
}

// batchCount returns how many store batches n applied so far.
func batchCount(t *testing.T, n *Node) uint64 {
	t.Helper()
	var m dto.Metric
	if err := n.metrics.storeOps.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// TestFlightWithPendingProposalStoresChunk: a member holds a leave proposal
// it is not the one to commit, reads a post into the open batch of live
// gossip, and sends. MLS refuses to encrypt before the proposal is
// committed, so the flight that was to carry the open batch fails before
// anything is written: the batch is stored on its own (not dropped, which
// would leave its message to a catch-up), the member commits the proposal
// and sends in the new epoch.
func TestFlightWithPendingProposalStoresChunk(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := offlinePair(t)
	c := open(t, newHome(t, "carol"), false)
	before := outboxLen(a, id)
	resp, bundle, inv := admitOffline(t, a, c, id)
	if _, err := c.finishJoin(ctx, id, resp, bundle, inv, a.PeerID()); err != nil {
		t.Fatal(err)
	}
	for i, err := range liveTurn(t, b, id, outboxSince(t, a, id, before)) {
		if err != nil {
			t.Fatalf("bob refused message %d of carol's admission: %v", i, err)
		}
	}
	// The member other than carol with the lowest ID commits her leave
	// (maybeCommitProposals); the other one keeps it pending.
	committer, other := a, b
	if b.PeerID() < a.PeerID() {
		committer, other = b, a
	}
	leave := propose(t, c, c, id)
	gossip := mustEnv(t, post(t, committer, id, "by gossip")[0])
	epoch, _ := groupState(t, other, id)
	reqs := []*recvReq{{env: leave, member: true, done: make(chan struct{})},
		{env: gossip, member: true, done: make(chan struct{})}}
	send := &sendReq{text: "after the leave", done: make(chan struct{})}
	var failures int
	if err := other.channel(id).doLive(ctx, func(s *chanState) error {
		s.receiveLive(ctx, reqs)
		for i, r := range reqs {
			if r.err != nil {
				t.Fatalf("message %d refused: %v", i, r.err)
			}
		}
		if !s.chunkDirty || len(s.group.(*mlsGroup).g.Proposals()) == 0 {
			t.Fatal("want the post in an open chunk and the leave pending")
		}
		s.c.sends.push(send)
		s.sendQueued(ctx)
		failures = s.chunkFailures
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	<-send.done
	if send.err != nil {
		t.Fatal(send.err)
	}
	if failures != 0 {
		t.Errorf("%d chunks dropped, want the open chunk stored", failures)
	}
	if e, _ := groupState(t, other, id); e != epoch+1 {
		t.Errorf("epoch %d after the send, want %d (the leave committed)", e, epoch+1)
	}
	es, err := other.db.Log(ctx, store.ChannelID(id), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := false
	for _, e := range es {
		stored = stored || string(e.Data) == string(gossip.msg)
	}
	if !stored {
		t.Error("the post read into the open chunk is not in the store")
	}
	if !timelineSet(t, other, id)["after the leave"] {
		t.Error("the post sent after the leave is not in the timeline")
	}
}

// TestSnapshotUnsyncedCrash: a member writes a snapshot of its channel,
// which the loop no longer waits to be synced, and crashes at once (every
// unsynced write lost). Restarted from the crash image it restores from
// the snapshot before (the lost one's deletions of the events it covered
// are lost with it) and shows every post it had acknowledged, once.
func TestSnapshotUnsyncedCrash(t *testing.T) {
	ctx := ctxT(t)
	fs, openB := crashableBob(t)
	b := openB(fs, false)
	ci, err := b.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	id := ci.ID
	var sent []string
	for i := range 2*snapshotEvery + 10 {
		text := fmt.Sprintf("post %d", i)
		if _, err := b.Send(ctx, id, text); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, text)
	}
	var crashed *CrashFS
	var at, stored uint64
	if err := b.channel(id).do(ctx, func(s *chanState) error {
		s.snapshot(ctx)
		crashed = fs.Crash() // before anything syncs the snapshot
		at = s.lastEventSeq
		st, err := s.n.db.Channel(ctx, store.ChannelID(id))
		if err == nil && st.Snapshot != nil {
			stored = st.Snapshot.EventSeq
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if stored != at {
		t.Fatalf("the snapshot read back covers %d events, want %d", stored, at)
	}
	b.Close()
	b = openB(crashed, false)
	st, err := b.db.Channel(ctx, store.ChannelID(id))
	if err != nil {
		t.Fatal(err)
	}
	if st.Snapshot != nil && st.Snapshot.EventSeq >= at {
		t.Fatalf("the crash image holds the snapshot at %d: it was synced", st.Snapshot.EventSeq)
	}
	ms, err := b.Messages(ctx, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range ms {
		count[m.Text]++
	}
	for _, text := range sent {
		if count[text] != 1 {
			t.Errorf("%q shown %d times after the crash, want once", text, count[text])
		}
	}
}
