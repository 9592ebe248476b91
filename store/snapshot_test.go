package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// snapshotWriter is what the chunked-snapshot tests need of a DB or MemDB.
type snapshotWriter interface {
	Apply(ctx context.Context, b *Batch) error
	Channel(ctx context.Context, id ChannelID) (ChannelState, error)
	Events(ctx context.Context, id ChannelID, after uint64, limit int) ([]Event, error)
	WriteSnapshot(ctx context.Context, id ChannelID, eventSeq, logSeq uint64, write func(put func([]byte) error) error) error
	view(ctx context.Context, fn func(r kvReader) error) error
}

// pieces returns a write function that puts data in pieces of n bytes.
func pieces(data []byte, n int) func(put func([]byte) error) error {
	return func(put func([]byte) error) error {
		buf := make([]byte, n) // reused, as crdt.State.SnapshotTo does
		for len(data) > 0 {
			k := copy(buf, data)
			if err := put(buf[:k]); err != nil {
				return err
			}
			data = data[k:]
		}
		return nil
	}
}

// chunkCount returns how many snapshot chunk records ch has.
func chunkCount(t *testing.T, db snapshotWriter, ch ChannelID) int {
	t.Helper()
	n := 0
	err := db.view(ctx, func(r kvReader) error {
		lo, hi := seqRange(ch, subSnapChunk, 0, 0)
		return r.scan(ctx, lo, hi, false, 0, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func snapshotData(t *testing.T, db snapshotWriter, ch ChannelID) *Snapshot {
	t.Helper()
	st, err := db.Channel(ctx, ch)
	if err != nil {
		t.Fatalf("Channel: %v", err)
	}
	if st.Snapshot == nil {
		t.Fatal("no snapshot")
	}
	return st.Snapshot
}

// TestWriteSnapshotChunked: a snapshot written in pieces reads back whole,
// applies retention like PutSnapshot, and replaces an inline snapshot (the
// layout every home written before chunks has) and is replaced by one,
// leaving no chunk behind; a write that fails leaves the old snapshot, and
// the next one deletes the pieces it left.
func TestWriteSnapshotChunked(t *testing.T) {
	disk, _ := newMemHome(t)
	mem := NewMemDBWithRetention(testRetention)
	for name, db := range map[string]snapshotWriter{"DB": disk, "MemDB": mem} {
		t.Run(name, func(t *testing.T) {
			ch := ChannelID("c")
			b := &Batch{}
			b.PutChannel(ch, nil)
			for i := uint64(1); i <= 10; i++ {
				b.Append(ch, Entry{Seq: i, Data: []byte{byte(i)}})
				b.PutEvent(ch, Event{Seq: i, Data: []byte{byte(i)}})
			}
			// The old layout: one inline value.
			b.PutSnapshot(ch, Snapshot{EventSeq: 2, LogSeq: 2, Data: []byte("SPCRDT-old-inline")})
			mustApply(t, db, b)
			if s := snapshotData(t, db, ch); string(s.Data) != "SPCRDT-old-inline" {
				t.Fatalf("inline snapshot reads %q", s.Data)
			}

			big := bytes.Repeat([]byte("0123456789abcdef"), 10_000) // 160,000 bytes
			big[0] = 'S'
			if err := db.WriteSnapshot(ctx, ch, 8, 9, pieces(big, 7_000)); err != nil {
				t.Fatalf("WriteSnapshot: %v", err)
			}
			s := snapshotData(t, db, ch)
			if !bytes.Equal(s.Data, big) || s.EventSeq != 8 || s.LogSeq != 9 {
				t.Fatalf("chunked snapshot reads %d bytes at %d/%d, want %d at 8/9", len(s.Data), s.EventSeq, s.LogSeq, len(big))
			}
			if n := chunkCount(t, db, ch); n != 23 {
				t.Fatalf("%d chunks, want 23", n)
			}
			evs, _ := db.Events(ctx, ch, 0, 0)
			if len(evs) != 3 || evs[0].Seq != 8 {
				t.Errorf("events after a chunked snapshot at 8 keeping 1: %+v; want 8..10", evs)
			}
			st, _ := db.Channel(ctx, ch)
			if st.LastSeq != 10 || st.LastEventSeq != 10 || len(st.Events) != 2 {
				t.Errorf("state: last seq %d, last event %d, %d events; want 10, 10, 2", st.LastSeq, st.LastEventSeq, len(st.Events))
			}

			// A failed write: the old snapshot stays, its pieces linger.
			boom := errors.New("boom")
			err := db.WriteSnapshot(ctx, ch, 9, 10, func(put func([]byte) error) error {
				if err := pieces(bytes.Repeat([]byte("x"), 50_000), 1_000)(put); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("failed write: %v", err)
			}
			if s := snapshotData(t, db, ch); !bytes.Equal(s.Data, big) || s.EventSeq != 8 {
				t.Fatal("a failed write changed the snapshot")
			}
			if n := chunkCount(t, db, ch); n != 23+50 {
				t.Fatalf("%d chunks after a failed write, want 73", n)
			}

			// The next write replaces it, and deletes every other chunk.
			small := []byte("SPCRDT small")
			if err := db.WriteSnapshot(ctx, ch, 9, 10, pieces(small, 5)); err != nil {
				t.Fatal(err)
			}
			if s := snapshotData(t, db, ch); !bytes.Equal(s.Data, small) || s.EventSeq != 9 || s.LogSeq != 10 {
				t.Fatalf("snapshot after rewrite: %q", s.Data)
			}
			if n := chunkCount(t, db, ch); n != 3 {
				t.Fatalf("%d chunks, want 3", n)
			}

			// Back to inline: the chunks go.
			b = &Batch{}
			b.PutSnapshot(ch, Snapshot{EventSeq: 10, LogSeq: 10, Data: []byte("SPCRDT-inline")})
			mustApply(t, db, b)
			if s := snapshotData(t, db, ch); string(s.Data) != "SPCRDT-inline" || s.EventSeq != 10 {
				t.Fatalf("inline after chunked reads %q", s.Data)
			}
			if n := chunkCount(t, db, ch); n != 0 {
				t.Fatalf("%d chunks left by an inline snapshot", n)
			}

			// An empty snapshot has no chunk.
			if err := db.WriteSnapshot(ctx, ch, 10, 10, pieces(nil, 5)); err != nil {
				t.Fatal(err)
			}
			if s := snapshotData(t, db, ch); len(s.Data) != 0 {
				t.Fatalf("empty snapshot reads %q", s.Data)
			}
			if err := db.WriteSnapshot(ctx, "", 1, 1, pieces(nil, 5)); !errors.Is(err, ErrInvalidBatch) {
				t.Errorf("empty channel ID: %v", err)
			}
		})
	}
}

// TestChunkedSnapshotDamaged: a missing chunk, or chunks that do not add up
// to the header's count and length, read as a *CorruptError, never as data.
func TestChunkedSnapshotDamaged(t *testing.T) {
	data := bytes.Repeat([]byte("snapshot "), 1000)
	for _, damage := range []string{"missing first", "missing middle", "missing last", "extra"} {
		t.Run(damage, func(t *testing.T) {
			db, _ := newMemHome(t)
			ch := ChannelID("c")
			b := &Batch{}
			b.PutChannel(ch, nil)
			mustApply(t, db, b)
			if err := db.WriteSnapshot(ctx, ch, 0, 0, pieces(data, 1000)); err != nil {
				t.Fatal(err)
			}
			b = &Batch{}
			switch damage {
			case "missing first":
				b.del(chunkKey(ch, 1, 0))
			case "missing middle":
				b.del(chunkKey(ch, 1, 4))
			case "missing last":
				b.del(chunkKey(ch, 1, 8))
			case "extra": // within the header's count, but past its length
				b.set(chunkKey(ch, 1, 8), bytes.Repeat([]byte("y"), 2000))
			}
			mustApply(t, db, b)
			_, err := db.Channel(ctx, ch)
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Channel after %s: %v, want a *CorruptError", damage, err)
			}
		})
	}
}

// TestPutSnapshotRefusesMarker: inline data that would read as a chunked
// header is refused, not stored as something else.
func TestPutSnapshotRefusesMarker(t *testing.T) {
	b := &Batch{}
	b.PutSnapshot("c", Snapshot{Data: []byte(chunkedMarker + "whatever")})
	if err := b.Err(); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("Err = %v, want ErrInvalidBatch", err)
	}
}

// TestWriteSnapshotCrash: a crash while the pieces are written (any part of
// the unsynced data kept) leaves the old snapshot, and the next snapshot
// writes over the orphaned pieces; a crash after WriteSnapshot returned
// keeps the new snapshot whole, pieces included (the last batch's fsync
// makes them durable).
func TestWriteSnapshotCrash(t *testing.T) {
	for _, kept := range []int{0, 50, 100} {
		t.Run(fmt.Sprintf("unsynced-kept-%d%%", kept), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(kept), 11))
			fs := vfs.NewCrashableMem()
			db, err := Create("/home", nil, memOptions(fs))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ch := ChannelID("c")
			b := &Batch{}
			b.PutChannel(ch, nil)
			b.PutSnapshot(ch, Snapshot{EventSeq: 1, LogSeq: 1, Data: []byte("SPCRDT old")})
			mustApply(t, db, b)
			old := bytes.Repeat([]byte("first "), 20_000)
			if err := db.WriteSnapshot(ctx, ch, 2, 2, pieces(old, 4096)); err != nil {
				t.Fatal(err)
			}
			crash := func() *DB {
				img := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: kept, RNG: rand.New(rand.NewPCG(rng.Uint64(), 1))})
				r, err := Open("/home", memOptions(img))
				if err != nil {
					t.Fatalf("reopen after crash: %v", err)
				}
				t.Cleanup(func() { r.Close() })
				return r
			}
			// A crash after WriteSnapshot returned.
			if s := snapshotData(t, crash(), ch); !bytes.Equal(s.Data, old) || s.EventSeq != 2 {
				t.Fatalf("after a crash: snapshot of %d bytes at %d, want the one written", len(s.Data), s.EventSeq)
			}
			// A crash in the middle of the next one.
			var mid *DB
			stop := errors.New("crashed")
			err = db.WriteSnapshot(ctx, ch, 3, 3, func(put func([]byte) error) error {
				if err := pieces(bytes.Repeat([]byte("second "), 30_000), 4096)(put); err != nil {
					return err
				}
				mid = crash()
				return stop
			})
			if !errors.Is(err, stop) {
				t.Fatal(err)
			}
			if s := snapshotData(t, mid, ch); !bytes.Equal(s.Data, old) || s.EventSeq != 2 {
				t.Fatalf("after a crash mid-write: snapshot of %d bytes at %d, want the old one", len(s.Data), s.EventSeq)
			}
			// The crashed home goes on: its next snapshot replaces the
			// orphans.
			third := []byte("SPCRDT third")
			if err := mid.WriteSnapshot(ctx, ch, 4, 4, pieces(third, 5)); err != nil {
				t.Fatal(err)
			}
			if s := snapshotData(t, mid, ch); !bytes.Equal(s.Data, third) {
				t.Fatalf("snapshot after the orphans: %q", s.Data)
			}
			if n := chunkCount(t, mid, ch); n != 3 {
				t.Fatalf("%d chunks after the orphans were replaced, want 3", n)
			}
		})
	}
}

// TestWriteSnapshotNoSyncCrash: a snapshot written without an fsync, lost
// in a crash (any part of the unsynced data kept), leaves the old snapshot
// and every event after it, the ones the new snapshot's retention deletes
// included: never a snapshot without its events. Once a later batch is
// synced, the new snapshot is durable, pieces included.
func TestWriteSnapshotNoSyncCrash(t *testing.T) {
	for _, kept := range []int{0, 30, 70, 100} {
		t.Run(fmt.Sprintf("unsynced-kept-%d%%", kept), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(kept), 13))
			fs := vfs.NewCrashableMem()
			db, err := Create("/home", nil, memOptions(fs))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ch := ChannelID("c")
			b := &Batch{}
			b.PutChannel(ch, nil)
			for i := uint64(1); i <= 6; i++ {
				b.PutEvent(ch, Event{Seq: i, Data: fmt.Appendf(nil, "e%d", i)})
			}
			mustApply(t, db, b)
			old := bytes.Repeat([]byte("old "), 5_000)
			if err := db.WriteSnapshot(ctx, ch, 2, 0, pieces(old, 4096)); err != nil {
				t.Fatal(err)
			}
			crash := func() *DB {
				img := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: kept, RNG: rand.New(rand.NewPCG(rng.Uint64(), 1))})
				r, err := Open("/home", memOptions(img))
				if err != nil {
					t.Fatalf("reopen after crash: %v", err)
				}
				t.Cleanup(func() { r.Close() })
				return r
			}
			newer := bytes.Repeat([]byte("new "), 20_000)
			if err := db.WriteSnapshotNoSync(ctx, ch, 6, 0, pieces(newer, 4096)); err != nil {
				t.Fatal(err)
			}
			if s := snapshotData(t, db, ch); !bytes.Equal(s.Data, newer) || s.EventSeq != 6 {
				t.Fatalf("before a crash: snapshot of %d bytes at %d, want the new one", len(s.Data), s.EventSeq)
			}
			img := crash()
			st, err := img.Channel(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			switch s := snapshotData(t, img, ch); {
			case bytes.Equal(s.Data, newer) && s.EventSeq == 6:
				// The unsynced batch survived whole.
				if kept == 0 {
					t.Fatal("the new snapshot survived a crash that kept no unsynced data: it was synced")
				}
			case bytes.Equal(s.Data, old) && s.EventSeq == 2:
				if len(st.Events) != 4 || st.Events[0].Seq != 3 || st.LastEventSeq != 6 {
					t.Fatalf("old snapshot after a crash with events %+v (last %d), want 3 to 6", st.Events, st.LastEventSeq)
				}
			default:
				t.Fatalf("after a crash: snapshot of %d bytes at %d, want the old one or the new one", len(s.Data), s.EventSeq)
			}
			if err := db.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			if s := snapshotData(t, crash(), ch); !bytes.Equal(s.Data, newer) || s.EventSeq != 6 {
				t.Fatalf("after Sync and a crash: snapshot of %d bytes at %d, want the new one", len(s.Data), s.EventSeq)
			}
		})
	}
}
