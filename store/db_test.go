package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/go-cmp/cmp"
)

var ctx = context.Background()

// TestDBMatchesMemDB is metamorphic: random workloads applied to the Pebble
// DB and to MemDB must leave the same records and read the same.
func TestDBMatchesMemDB(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			db, _ := newMemHome(t)
			mem := NewMemDBWithRetention(testRetention)
			for _, b := range newWorkload(seed, 0).batches(200) {
				mustApply(t, db, b)
				mustApply(t, mem, b)
			}
			if diff := cmp.Diff(dumpMem(mem), dumpDB(t, db)); diff != "" {
				t.Fatalf("records differ (-mem +db):\n%s", diff)
			}
			compareReads(t, mem, db)
		})
	}
}

// compareReads checks that the read API gives the same results on both.
func compareReads(t *testing.T, want, got interface {
	Channels(context.Context) ([]ChannelState, error)
	Peers(context.Context) ([]Peer, error)
	Log(context.Context, ChannelID, uint64, int) ([]Entry, error)
}) {
	t.Helper()
	wc, err1 := want.Channels(ctx)
	gc, err2 := got.Channels(ctx)
	if err1 != nil || err2 != nil {
		t.Fatalf("Channels: %v, %v", err1, err2)
	}
	if diff := cmp.Diff(wc, gc); diff != "" {
		t.Errorf("Channels differ (-want +got):\n%s", diff)
	}
	wp, _ := want.Peers(ctx)
	gp, _ := got.Peers(ctx)
	if diff := cmp.Diff(wp, gp); diff != "" {
		t.Errorf("Peers differ (-want +got):\n%s", diff)
	}
	for _, c := range wc {
		wl, _ := want.Log(ctx, c.ID, 0, 0)
		gl, _ := got.Log(ctx, c.ID, 0, 0)
		if diff := cmp.Diff(wl, gl); diff != "" {
			t.Errorf("Log(%q) differs (-want +got):\n%s", c.ID, diff)
		}
	}
}

// TestOutboxRef: an outbox item's reference is stored, loaded and deleted
// with it; an item put again under the same seq without one has none.
func TestOutboxRef(t *testing.T) {
	db, _ := newMemHome(t)
	ch := ChannelID("general")
	b := &Batch{}
	b.PutChannel(ch, []byte("meta"))
	b.PutOutbox(ch, OutboxItem{Seq: 1, Data: []byte("o1"), Ref: []byte("post-1")})
	b.PutOutbox(ch, OutboxItem{Seq: 2, Data: []byte("o2")})
	b.PutOutbox(ch, OutboxItem{Seq: 3, Data: []byte("o3"), Ref: []byte("post-3")})
	mustApply(t, db, b)
	outbox := func() []OutboxItem {
		t.Helper()
		st, err := db.Channel(ctx, ch)
		if err != nil {
			t.Fatal(err)
		}
		return st.Outbox
	}
	want := []OutboxItem{{Seq: 1, Data: []byte("o1"), Ref: []byte("post-1")}, {Seq: 2, Data: []byte("o2")},
		{Seq: 3, Data: []byte("o3"), Ref: []byte("post-3")}}
	if diff := cmp.Diff(want, outbox()); diff != "" {
		t.Errorf("outbox (-want +got):\n%s", diff)
	}
	b = &Batch{}
	b.DeleteOutbox(ch, 1)
	b.DeleteOutbox(ch, 3)
	mustApply(t, db, b)
	b = &Batch{}
	b.PutOutbox(ch, OutboxItem{Seq: 3, Data: []byte("o3 again")})
	mustApply(t, db, b)
	want = []OutboxItem{{Seq: 2, Data: []byte("o2")}, {Seq: 3, Data: []byte("o3 again")}}
	if diff := cmp.Diff(want, outbox()); diff != "" {
		t.Errorf("outbox after deletes (-want +got):\n%s", diff)
	}
}

func TestApplyAndRead(t *testing.T) {
	db, _ := newMemHome(t)
	ch := ChannelID("general")
	b := &Batch{}
	b.PutIdentity(Identity{PrivateKey: []byte{1, 2, 3}, Name: "alice"})
	b.PutChannel(ch, []byte("meta"))
	b.SetGroup(ch, 7, []byte("group-7"))
	b.PutPastEpoch(ch, EpochState{Epoch: 6, Data: []byte("group-6")})
	b.Append(ch, Entry{Seq: 1, Epoch: 7, Data: []byte("m1")})
	b.Append(ch, Entry{Seq: 2, Epoch: 7, Data: []byte("m2")})
	b.PutEvent(ch, Event{Seq: 1, Data: []byte("e1")})
	b.PutOutbox(ch, OutboxItem{Seq: 9, Data: []byte("o9")})
	mustApply(t, db, b)

	got, err := db.Channel(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	want := ChannelState{
		ID: ch, Meta: []byte("meta"), Epoch: 7, Group: []byte("group-7"),
		PastEpochs: []EpochState{{6, []byte("group-6")}},
		Events:     []Event{{1, []byte("e1")}}, LastSeq: 2, LastEventSeq: 1,
		Outbox: []OutboxItem{{Seq: 9, Data: []byte("o9")}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Channel (-want +got):\n%s", diff)
	}
	log, err := db.Log(ctx, ch, 2, 10)
	if err != nil || len(log) != 1 || string(log[0].Data) != "m2" {
		t.Errorf("Log from 2 = %+v, %v; want [m2]", log, err)
	}
	id, err := db.Identity(ctx)
	if err != nil || id.Name != "alice" || !cmp.Equal(id.PrivateKey, []byte{1, 2, 3}) {
		t.Errorf("Identity = %+v, %v", id, err)
	}
	if _, err := db.Channel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Channel(nope) = %v, want ErrNotFound", err)
	}
}

// TestSnapshotRetention checks the truncations a snapshot makes.
func TestSnapshotRetention(t *testing.T) {
	db, _ := newMemHome(t) // testRetention: keep 3 log entries, 1 event
	ch := ChannelID("c")
	b := &Batch{}
	b.PutChannel(ch, nil)
	for i := uint64(1); i <= 10; i++ {
		b.Append(ch, Entry{Seq: i, Data: []byte{byte(i)}})
		b.PutEvent(ch, Event{Seq: i, Data: []byte{byte(i)}})
	}
	mustApply(t, db, b)
	b = &Batch{}
	b.PutSnapshot(ch, Snapshot{EventSeq: 8, LogSeq: 9, Data: []byte("snap")})
	mustApply(t, db, b)

	log, _ := db.Log(ctx, ch, 0, 0)
	if len(log) != 4 || log[0].Seq != 7 {
		t.Errorf("log after snapshot at 9 keeping 3: %d entries from %d; want 4 from 7", len(log), log[0].Seq)
	}
	evs, _ := db.Events(ctx, ch, 0, 0)
	if len(evs) != 3 || evs[0].Seq != 8 {
		t.Errorf("events after snapshot at 8 keeping 1: %+v; want 8..10", evs)
	}
	b = &Batch{}
	b.PutSnapshot(ch, Snapshot{EventSeq: 8, LogSeq: 12, Data: []byte("snap")})
	b.PutChannel("empty", nil)
	b.PutSnapshot("empty", Snapshot{EventSeq: 3, LogSeq: 4})
	mustApply(t, db, b)
	if st, _ := db.Channel(ctx, "empty"); st.LastSeq != 4 || st.LastEventSeq != 3 {
		t.Errorf("channel with only a snapshot: LastSeq %d, LastEventSeq %d; want 4, 3", st.LastSeq, st.LastEventSeq)
	}
	st, _ := db.Channel(ctx, ch)
	if len(st.Events) != 2 || st.LastEventSeq != 10 || st.LastSeq != 12 {
		t.Errorf("state: %d events after snapshot, last event %d, last seq %d; want 2, 10, 12",
			len(st.Events), st.LastEventSeq, st.LastSeq)
	}
}

// TestCorruptValue flips each byte of a sealed value in turn: every read
// gives a *CorruptError, never data.
func TestCorruptValue(t *testing.T) {
	db, _ := newMemHome(t)
	ch := ChannelID("c")
	b := &Batch{}
	b.PutChannel(ch, []byte("m"))
	b.Append(ch, Entry{Seq: 1, Data: []byte("secret text")})
	mustApply(t, db, b)
	key := channelSeqKey(ch, subLog, 1)
	raw := rawGet(t, db, key)
	for i := range raw {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x40
		if err := db.pdb.Set(key, bad, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		_, err := db.Log(ctx, ch, 0, 0)
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: Log error = %v, want *CorruptError", i, err)
		}
	}
}

// TestMovedValue copies a sealed value to another key: it must not open.
func TestMovedValue(t *testing.T) {
	db, _ := newMemHome(t)
	b := &Batch{}
	b.PutChannel("c", nil)
	b.Append("c", Entry{Seq: 1, Data: []byte("one")})
	b.Append("c", Entry{Seq: 2, Data: []byte("two")})
	mustApply(t, db, b)
	one := rawGet(t, db, channelSeqKey("c", subLog, 1))
	if err := db.pdb.Set(channelSeqKey("c", subLog, 2), one, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Log(ctx, "c", 2, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("moved value: %v, want ErrCorrupt", err)
	}
}

func rawGet(t *testing.T, db *DB, key []byte) []byte {
	t.Helper()
	v, closer, err := db.pdb.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	return append([]byte(nil), v...)
}

func TestInvalidBatchWritesNothing(t *testing.T) {
	db, _ := newMemHome(t)
	before := dumpDB(t, db)
	b := &Batch{}
	b.PutChannel("c", []byte("m"))
	b.Append("c", Entry{Seq: 2})
	b.Append("c", Entry{Seq: 2}) // not increasing
	if err := db.Apply(ctx, b); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("Apply = %v, want ErrInvalidBatch", err)
	}
	if diff := cmp.Diff(before, dumpDB(t, db)); diff != "" {
		t.Errorf("an invalid batch changed the store:\n%s", diff)
	}
}

func TestClose(t *testing.T) {
	db, _ := newMemHome(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &Batch{}
			b.PutPeer(Peer{ID: fmt.Sprint(i)})
			if err := db.Apply(ctx, b); err != nil && !errors.Is(err, ErrClosed) {
				t.Errorf("Apply during Close: %v", err)
			}
		}()
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Peers(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Peers after Close = %v, want ErrClosed", err)
	}
	if err := db.Apply(ctx, &Batch{ops: []op{{kind: opDelete, key: []byte{9}}}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}
}
