package store

import (
	"errors"
	"testing"
)

func TestApplyNoWait(t *testing.T) {
	db, fs := newMemHome(t)
	var pending []*Pending
	for seq := uint64(1); seq <= 10; seq++ {
		b := &Batch{}
		if seq == 1 {
			b.PutChannel("c", nil)
		}
		b.Append("c", Entry{Seq: seq, Data: []byte{byte(seq)}})
		p, err := db.ApplyNoWait(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, p)
	}
	for _, p := range pending[:5] {
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	// Close waits for the five nobody waited for, without deadlock.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pending[9].Wait(); err != nil {
		t.Errorf("Wait after Close: %v", err)
	}
	db, err := Open("/home", memOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if st, err := db.Channel(ctx, "c"); err != nil || st.LastSeq != 10 {
		t.Errorf("after reopen: LastSeq %d, %v; want 10", st.LastSeq, err)
	}
	if _, err := db.ApplyNoWait(ctx, &Batch{err: ErrInvalidBatch}); !errors.Is(err, ErrInvalidBatch) {
		t.Errorf("invalid batch: %v", err)
	}
}

func TestMemDBApplyNoWait(t *testing.T) {
	m := NewMemDB()
	b := &Batch{}
	b.PutPeer(Peer{ID: "p"})
	p, err := m.ApplyNoWait(ctx, b)
	if err != nil || p.Wait() != nil {
		t.Fatalf("ApplyNoWait: %v", err)
	}
	if peers, _ := m.Peers(ctx); len(peers) != 1 {
		t.Errorf("peers = %v", peers)
	}
}

// TestApplyNoSync: a batch applied with ApplyNoSync is read at once, is not
// in a crash image (a power cut) until something syncs, and is in every
// image after a later synced batch or Sync; reopening keeps the order.
func TestApplyNoSync(t *testing.T) {
	c := NewCrashFS()
	db, err := Create("/home", nil, memOptions(c.FS()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lastSeq := func(fs *CrashFS) uint64 {
		t.Helper()
		d, err := Open("/home", memOptions(fs.FS()))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		st, err := d.Channel(ctx, "c")
		if errors.Is(err, ErrNotFound) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return st.LastSeq
	}
	appendSeq := func(seq uint64, apply func(*Batch) error) {
		t.Helper()
		b := &Batch{}
		if seq == 1 {
			b.PutChannel("c", nil)
		}
		b.Append("c", Entry{Seq: seq, Data: []byte{byte(seq)}})
		if err := apply(b); err != nil {
			t.Fatal(err)
		}
	}
	noSync := func(b *Batch) error { return db.ApplyNoSync(ctx, b) }
	synced := func(b *Batch) error { return db.Apply(ctx, b) }

	appendSeq(1, synced)
	appendSeq(2, noSync)
	appendSeq(3, noSync)
	if st, err := db.Channel(ctx, "c"); err != nil || st.LastSeq != 3 {
		t.Fatalf("read after ApplyNoSync: LastSeq %d, %v; want 3", st.LastSeq, err)
	}
	if got := lastSeq(c.Crash()); got != 1 {
		t.Errorf("crash before any sync keeps up to %d, want 1 (the synced batch only)", got)
	}
	appendSeq(4, synced) // makes 2 and 3 durable too
	appendSeq(5, noSync)
	if got := lastSeq(c.Crash()); got != 4 {
		t.Errorf("crash after a synced batch keeps up to %d, want 4", got)
	}
	if err := db.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := lastSeq(c.Crash()); got != 5 {
		t.Errorf("crash after Sync keeps up to %d, want 5", got)
	}
	if err := db.ApplyNoSync(ctx, &Batch{err: ErrInvalidBatch}); !errors.Is(err, ErrInvalidBatch) {
		t.Errorf("invalid batch: %v", err)
	}
	b := &Batch{}
	b.Append("c", Entry{Seq: 9, Data: []byte{9}})
	if err := db.ApplyNoSync(ctx, b); !errors.Is(err, ErrInvalidBatch) {
		t.Errorf("append out of order: %v, want ErrInvalidBatch", err)
	}
}
