package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// TestFirstSeqOfEpoch: the binary search lands syncSlack entries before the
// first entry of the epoch, and at 1 or past the end at the edges.
func TestFirstSeqOfEpoch(t *testing.T) {
	ctx := context.Background()
	db := store.NewMemDB()
	defer db.Close()
	b := &store.Batch{}
	for seq := uint64(1); seq <= 1000; seq++ {
		b.Append("c", store.Entry{Seq: seq, Epoch: (seq - 1) / 100, Data: []byte{1}})
	}
	if err := db.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	n := &Node{db: db}
	for _, tt := range []struct{ epoch, want uint64 }{
		{0, 1}, {2, 1}, {5, 501 - syncSlack}, {9, 901 - syncSlack}, {10, 1001 - syncSlack},
	} {
		got, err := n.firstSeqOfEpoch(ctx, "c", tt.epoch, 1000)
		if err != nil || got != tt.want {
			t.Errorf("epoch %d: got %d, %v; want %d", tt.epoch, got, err, tt.want)
		}
	}
}

// TestSyncHeadsWire: an answer with heads decodes to the same heads and
// next sequence number; malformed ones (an empty or overlong author, a
// repeated author, a count past the end, trailing bytes) are refused with
// ErrProtocol.
func TestSyncHeadsWire(t *testing.T) {
	for _, want := range []syncPage{
		{Next: 42, Heads: map[string]syncHead{"alice": {Max: 7}, "bob": {Max: 1 << 33}}},
		{Next: 42, Prefixes: true, Epoch: 9, Heads: map[string]syncHead{"alice": {Max: 7, Prefix: 5}, "bob": {Max: 1 << 33, Prefix: 1 << 33}}},
	} {
		b := want.encode()
		got, err := decodeSyncPage(b)
		if err != nil || got.Next != want.Next || !maps.Equal(got.Heads, want.Heads) || got.Prefixes != want.Prefixes || got.Epoch != want.Epoch || got.Entries != nil {
			t.Fatalf("decoded %+v, %v; want %+v", got, err, want)
		}
		if v := byte(syncHeadsVersion); want.Prefixes && b[0] == v || !want.Prefixes && b[0] != v {
			t.Errorf("version byte %d with prefixes %v", b[0], want.Prefixes)
		}
	}
	if p, err := decodeSyncPage(syncPage{Heads: map[string]syncHead{}}.encode()); err != nil || p.Heads == nil {
		t.Fatalf("no heads: %+v, %v", p, err)
	}
	long := string(bytes.Repeat([]byte{'a'}, maxHeadAuthor+1))
	for name, b := range map[string][]byte{
		"empty author":        {2, 0, 1, 0, 1},
		"overlong author":     syncPage{Heads: map[string]syncHead{long: {Max: 1}}}.encode(),
		"repeated author":     {2, 0, 2, 1, 'a', 1, 1, 'a', 2},
		"count past end":      {2, 0, 5, 1, 'a', 1},
		"trailing bytes":      append(syncPage{Heads: map[string]syncHead{"a": {Max: 1}}}.encode(), 0),
		"no next":             {2},
		"no prefix":           {3, 0, 0, 1, 1, 'a', 4},
		"prefix past the max": {3, 0, 0, 1, 1, 'a', 4, 5},
		"no epoch":            {3, 0},
	} {
		if _, err := decodeSyncPage(b); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v, want ErrProtocol", name, err)
		}
	}
}

// TestOldMembersFirst: a catch-up from an epoch further back asks the
// members added after it last (their logs start at their join).
func TestOldMembersFirst(t *testing.T) {
	n := open(t, newHome(t, "alice"), false)
	peers := make([]p2p.PeerID, 4)
	for i := range peers {
		_, sk, _ := ed25519.GenerateKey(rand.Reader)
		id, err := p2p.PeerIDFromPrivateKey(sk)
		if err != nil {
			t.Fatal(err)
		}
		peers[i] = id
	}
	s := &chanState{n: n, meta: channelMeta{Commits: []commitRecord{
		{Epoch: 3, Added: []string{peers[3].String()}},
		{Epoch: 6, Added: []string{peers[0].String()}},
		{Epoch: 7, Added: []string{peers[2].String()}},
	}}}
	got := s.oldMembersFirst(peers, 5)
	want := []p2p.PeerID{peers[1], peers[3], peers[0], peers[2]}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// TestCatchUpRoundsFromCursor: the catch-up rounds after a join ask, after
// a complete run, only for what the member logged since (syncCursor), not
// for the whole epoch again. Before, each of the four rounds fetched the
// epoch's log once more: at 200 messages a second, more entries already
// held than the live traffic.
func TestCatchUpRoundsFromCursor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	a := open(t, newHome(t, "alice"), true)
	b := open(t, newHome(t, "bob"), true)
	ci, err := a.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	id := ci.ID
	const posts = 60
	for i := range posts {
		if _, err := a.Send(ctx, id, fmt.Sprintf("before the join %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	code, err := a.Invite(ctx, id, InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(ctx, code); err != nil {
		t.Fatal(err)
	}
	var runs uint64
	waitFor(t, 90*time.Second, "bob's catch-up rounds after the join", func() bool {
		quiet := false
		b.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck // checked by the wait
			quiet = s.syncRounds == 0 && !s.syncing
			runs = s.syncRuns
			return nil
		})
		return quiet
	})
	var logged uint64
	a.channel(id).do(ctx, func(s *chanState) error { logged = s.lastSeq; return nil }) //nolint:errcheck // checked below
	fetched := scrape(t, b)["spacepanda_sync_entries_fetched_total"]
	t.Logf("alice logged %d entries; bob fetched %v in %d complete catch-up runs", logged, fetched, runs)
	if logged < posts || runs < 3 {
		t.Fatalf("alice logged %d entries, bob completed %d runs: the test did not test the rounds", logged, runs)
	}
	// The first run and a new peer's run fetch the log; the rounds after
	// them, nothing more than was logged since.
	if fetched > float64(2*logged+10) {
		t.Errorf("bob fetched %v log entries for alice's %d: the rounds fetched the log again", fetched, logged)
	}
}
