package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestDamagedTableIsAnError damages a flushed table file on disk: reading
// it gives ErrCorrupt, and the process goes on (Pebble's default reaction
// to data corruption is its logger's Fatalf, which exits the process and
// so would end this test binary).
func TestDamagedTableIsAnError(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	db, err := Create(home, nil, Options{Holder: "store.test"})
	if err != nil {
		t.Fatal(err)
	}
	ch := ChannelID("c")
	b := &Batch{}
	b.PutChannel(ch, []byte("m"))
	for i := range 400 {
		b.Append(ch, Entry{Seq: uint64(i + 1), Data: make([]byte, 512)})
	}
	mustApply(t, db, b)
	if err := db.pdb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(home, dbDirName, "*.sst"))
	if len(tables) == 0 {
		t.Fatal("no table after flush")
	}
	damaged := 0
	for _, name := range tables {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) < 64*1024 {
			continue
		}
		for i := 1024; i < len(raw)/2; i += 4096 { // data blocks, not the footer
			raw[i] ^= 0xff
		}
		if err := os.WriteFile(name, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatal("no table large enough to damage")
	}
	db, err = Open(home, Options{Holder: "store.test"})
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open: %v, want ErrCorrupt", err)
		}
		return
	}
	defer db.Close()
	_, err = db.Log(ctx, ch, 0, 0)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Log of a damaged table: %v, want ErrCorrupt", err)
	}
}
