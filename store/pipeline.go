package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// Pending is a batch handed to the commit pipeline by ApplyNoWait: it is in
// the write-ahead log, in order after every batch applied before it, but may
// not be durable yet. Wait returns once it is. A Pending is safe for
// concurrent use.
type Pending struct {
	once sync.Once
	wait func() error
	err  error
}

// Wait blocks until the batch is durable and returns the commit's error.
// Every Pending must be waited for before the DB is closed: Close waits for
// it. Later calls return the same result.
func (p *Pending) Wait() error {
	p.once.Do(func() { p.err = p.wait() })
	return p.err
}

// done is a Pending that has finished with err.
func done(err error) *Pending {
	return &Pending{wait: func() error { return err }}
}

// ApplyNoWait is Apply without waiting for the fsync, so that one goroutine
// (a busy channel's loop) can keep several batches in one fsync: apply batch
// N, go on preparing N+1, and acknowledge N (publish it, answer the user)
// only after N's Pending.Wait returns nil. Batches are ordered: if a crash
// keeps batch N, it keeps every batch applied before N. Reads may see a
// batch before it is durable.
func (db *DB) ApplyNoWait(ctx context.Context, b *Batch) (*Pending, error) {
	ops, err := b.expand(db.retention)
	if err != nil || len(ops) == 0 {
		return done(nil), err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: apply: %w", err)
	}
	release, err := db.enter()
	if err != nil {
		return nil, err
	}
	pb := db.pdb.NewBatch()
	if err := db.fill(pb, ops); err != nil {
		pb.Close()
		release()
		return nil, err
	}
	if err := db.pdb.ApplyNoSyncWait(pb, pebble.Sync); err != nil {
		pb.Close()
		release()
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	return &Pending{wait: func() error {
		defer release()
		defer pb.Close()
		if err := pb.SyncWait(); err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
		return nil
	}}, nil
}

// ApplyNoWait applies b at once; the returned Pending is already durable as
// far as a MemDB is.
func (m *MemDB) ApplyNoWait(ctx context.Context, b *Batch) (*Pending, error) {
	if err := m.Apply(ctx, b); err != nil {
		return nil, err
	}
	return done(nil), nil
}
