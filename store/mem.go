package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// MemDB is an in-memory implementation of the store's API for tests of other
// packages: the same Batch semantics and reads as DB, without disk,
// encryption or durability. It is safe for concurrent use.
type MemDB struct {
	reads
	retention Retention

	mu struct {
		sync.RWMutex
		kv     map[string][]byte
		keys   []string // the keys of kv, sorted
		closed bool
	}
}

// NewMemDB returns an empty MemDB with DefaultRetention.
func NewMemDB() *MemDB {
	return NewMemDBWithRetention(DefaultRetention)
}

// NewMemDBWithRetention returns an empty MemDB that applies retention r.
func NewMemDBWithRetention(r Retention) *MemDB {
	m := &MemDB{retention: r}
	m.reads = reads{v: m}
	m.mu.kv = make(map[string][]byte)
	return m
}

// Apply applies every write of b, or none if b records a misuse.
func (m *MemDB) Apply(ctx context.Context, b *Batch) error {
	ops, err := b.expand(m.retention)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return ErrClosed
	}
	if err := b.checkAppends(ctx, memReader{m}); err != nil {
		return err
	}
	for _, o := range ops {
		m.applyLocked(o)
	}
	return nil
}

// Close marks the MemDB closed; later calls fail with ErrClosed. It is
// idempotent.
func (m *MemDB) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mu.closed = true
	return nil
}

func (m *MemDB) applyLocked(o op) {
	switch o.kind {
	case opSet:
		k := string(o.key)
		if _, ok := m.mu.kv[k]; !ok {
			i, _ := slices.BinarySearch(m.mu.keys, k)
			m.mu.keys = slices.Insert(m.mu.keys, i, k)
		}
		m.mu.kv[k] = clone(o.plain(nil))
	case opDelete:
		k := string(o.key)
		if _, ok := m.mu.kv[k]; ok {
			delete(m.mu.kv, k)
			i, _ := slices.BinarySearch(m.mu.keys, k)
			m.mu.keys = slices.Delete(m.mu.keys, i, i+1)
		}
	case opDeleteRange:
		i, j := m.boundsLocked(o.key, o.end)
		for _, k := range m.mu.keys[i:j] {
			delete(m.mu.kv, k)
		}
		m.mu.keys = slices.Delete(m.mu.keys, i, j)
	}
}

// boundsLocked returns the index range of keys in [lo, hi); hi == nil has no
// upper bound.
func (m *MemDB) boundsLocked(lo, hi []byte) (int, int) {
	i := sort.SearchStrings(m.mu.keys, string(lo))
	j := len(m.mu.keys)
	if hi != nil {
		j = sort.SearchStrings(m.mu.keys, string(hi))
	}
	return i, max(i, j)
}

func (m *MemDB) view(ctx context.Context, fn func(r kvReader) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: read: %w", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.mu.closed {
		return ErrClosed
	}
	return fn(memReader{m})
}

// memReader reads a MemDB whose read lock its caller holds.
type memReader struct{ m *MemDB }

func (r memReader) get(key []byte) ([]byte, error) {
	v, ok := r.m.mu.kv[string(key)]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, describeKey(key))
	}
	return v, nil
}

func (r memReader) scan(ctx context.Context, lo, hi []byte, reverse bool, limit int, fn func(k, v []byte) error) error {
	i, j := r.m.boundsLocked(lo, hi)
	keys := r.m.mu.keys[i:j]
	for n := range keys {
		if limit > 0 && n >= limit {
			return nil
		}
		k := keys[n]
		if reverse {
			k = keys[len(keys)-1-n]
		}
		if err := fn([]byte(k), r.m.mu.kv[k]); err != nil {
			return stopOK(err)
		}
	}
	return ctx.Err()
}

// stopOK maps errStop to nil.
func stopOK(err error) error {
	if err == errStop {
		return nil
	}
	return err
}
