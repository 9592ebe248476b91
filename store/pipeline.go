package store

import (
	"context"
	"errors"
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
// Later calls return the same result. Close waits for every Pending that no
// one has waited for.
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
	switch {
	case err != nil:
		return nil, err
	case len(ops) == 0:
		return done(nil), nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("store: apply: %w", ctx.Err())
	}
	return db.startPending(ctx, b, ops)
}

// startPending registers a Pending (so that Close waits for it) and hands
// ops to Pebble's commit pipeline. Its wait function exists before it is
// registered, and blocks until the hand-over has finished or failed.
func (db *DB) startPending(ctx context.Context, b *Batch, ops []op) (*Pending, error) {
	var (
		release  func()
		pb       *pebble.Batch
		applyErr error
		applied  = make(chan struct{})
	)
	p := &Pending{wait: func() error {
		<-applied
		if applyErr != nil {
			return applyErr // released when it failed
		}
		defer release()
		defer pb.Close()
		if err := pb.SyncWait(); err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
		return nil
	}}
	release, err := db.enterPending(p)
	if err != nil {
		return nil, err
	}
	defer close(applied)
	pb = db.pdb.NewBatch()
	applyErr = db.checkAppendsEntered(ctx, b)
	if applyErr == nil {
		applyErr = db.fill(pb, ops)
	}
	if applyErr == nil {
		applyErr = db.pdb.ApplyNoSyncWait(pb, pebble.Sync)
		db.noteApplied(b, applyErr == nil)
	}
	if applyErr != nil {
		if !errors.Is(applyErr, ErrInvalidBatch) {
			applyErr = fmt.Errorf("store: commit: %w", applyErr)
		}
		pb.Close()
		release()
		return nil, applyErr
	}
	return p, nil
}

// enterPending is enter for a Pending: in the same critical section it
// records p for Close to wait for, so that Close never misses one. release
// undoes both.
func (db *DB) enterPending(p *Pending) (release func(), err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.mu.closed {
		return nil, ErrClosed
	}
	db.inflight.Add(1)
	if db.mu.pending == nil {
		db.mu.pending = make(map[*Pending]struct{})
	}
	db.mu.pending[p] = struct{}{}
	return func() { db.forget(p); db.inflight.Done() }, nil
}

func (db *DB) forget(p *Pending) {
	db.mu.Lock()
	defer db.mu.Unlock()
	delete(db.mu.pending, p)
}

// waitPending waits for the Pendings no one has waited for. It is called by
// Close after no new one can start.
func (db *DB) waitPending() {
	db.mu.Lock()
	ps := make([]*Pending, 0, len(db.mu.pending))
	for p := range db.mu.pending {
		ps = append(ps, p)
	}
	db.mu.Unlock()
	for _, p := range ps {
		p.Wait()
	}
}

// ApplyNoWait applies b at once; the returned Pending is already durable as
// far as a MemDB is.
func (m *MemDB) ApplyNoWait(ctx context.Context, b *Batch) (*Pending, error) {
	if err := m.Apply(ctx, b); err != nil {
		return nil, err
	}
	return done(nil), nil
}

// ApplyNoSync writes b like Apply — atomically, in order after every batch
// applied before it, with the same checks — but does not ask for an fsync:
// it returns once the batch is in Pebble's write-ahead log buffer and
// memtable, and reads see it. It becomes durable with the next synced
// batch (Apply, ApplyNoWait, Sync) or Close. A crash before that, of the
// machine or of the process (Pebble buffers unsynced log records in
// memory), may lose it and every later batch, never an earlier one: what
// survives a crash is always a prefix of the batches in the order they were
// applied. Use it only for writes whose loss is harmless because they are
// redone (the node's received messages, which peers send again).
func (db *DB) ApplyNoSync(ctx context.Context, b *Batch) error {
	return db.apply(ctx, b, pebble.NoSync)
}

// Sync makes every batch applied so far durable (ApplyNoSync's).
func (db *DB) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: sync: %w", err)
	}
	done, err := db.enter()
	if err != nil {
		return err
	}
	defer done()
	// An empty log-only record, committed with Sync: Pebble's log writer
	// writes out and syncs everything buffered before it.
	if err := db.pdb.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("store: sync: %w", err)
	}
	return nil
}

// ApplyNoSync is Apply: a MemDB has no fsync to skip.
func (m *MemDB) ApplyNoSync(ctx context.Context, b *Batch) error { return m.Apply(ctx, b) }

// Sync does nothing on a MemDB.
func (m *MemDB) Sync(ctx context.Context) error { return ctx.Err() }
