package store

import (
	"bytes"
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// testRetention is small so that random workloads exercise truncation.
var testRetention = Retention{Log: 3, Events: 1}

// memOptions returns Options for a home on fs with testRetention.
func memOptions(fs vfs.FS) Options {
	r := testRetention
	return Options{FS: fs, Retention: &r, Holder: "store.test"}
}

// newMemHome creates a key-file-protected home on a new in-memory fs.
func newMemHome(t testing.TB) (*DB, vfs.FS) {
	t.Helper()
	fs := vfs.NewMem()
	db, err := Create("/home", nil, memOptions(fs))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, fs
}

// dumpDB returns every record of db as plaintext, keyed by raw key,
// without the version record.
func dumpDB(t testing.TB, db *DB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := db.view(context.Background(), func(r kvReader) error {
		return r.scan(context.Background(), []byte{tagVersion + 1}, nil, false, 0, func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return out
}

// dumpMem returns every record of m.
func dumpMem(m *MemDB) map[string][]byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make(map[string][]byte, len(m.mu.kv))
	for k, v := range m.mu.kv {
		out[k] = bytes.Clone(v)
	}
	return out
}

func mustApply(t testing.TB, c interface {
	Apply(context.Context, *Batch) error
}, b *Batch) {
	t.Helper()
	if err := c.Apply(context.Background(), b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}
