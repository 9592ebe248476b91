package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// DB is a home's store, backed by Pebble with every value sealed. Its
// methods are safe for concurrent use; Apply calls from many goroutines share
// fsyncs.
type DB struct {
	reads
	home      string
	h         homeFS
	pdb       *pebble.DB
	sealer    *sealer
	retention Retention
	lock      io.Closer

	// inflight counts calls that use pdb, so that Close waits for them.
	inflight sync.WaitGroup

	mu struct {
		sync.Mutex
		closed     bool
		rekeying   bool
		dataKey    []byte
		protection string
		// pending are the ApplyNoWait batches not yet waited for.
		pending map[*Pending]struct{}
		// lastSeq caches channels' LastSeq for the append check.
		lastSeq map[ChannelID]uint64
	}
}

// Home returns the home directory of the DB.
func (db *DB) Home() string { return db.home }

// Apply writes every change of b in one Pebble batch committed with Sync,
// and returns after the fsync: when it returns nil, the whole batch is
// durable; when it returns an error, the batch may or may not be durable
// (after a failed sync, reopen the store to know) but is never half
// applied. An empty batch is a no-op. A batch that records a misuse fails
// with ErrInvalidBatch and writes nothing. ctx is checked before the commit;
// a commit in progress is not interrupted.
func (db *DB) Apply(ctx context.Context, b *Batch) error {
	return db.apply(ctx, b, pebble.Sync)
}

// apply writes b in one Pebble batch committed with opts (Apply,
// ApplyNoSync).
func (db *DB) apply(ctx context.Context, b *Batch, opts *pebble.WriteOptions) error {
	ops, err := b.expand(db.retention)
	if err != nil || len(ops) == 0 {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	done, err := db.enter()
	if err != nil {
		return err
	}
	defer done()
	if err := db.checkAppendsEntered(ctx, b); err != nil {
		return err
	}
	pb := db.pdb.NewBatch()
	defer pb.Close()
	if err := db.fill(pb, ops); err != nil {
		return err
	}
	err = pb.Commit(opts)
	db.noteApplied(b, err == nil)
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// fill seals ops into pb.
func (db *DB) fill(pb *pebble.Batch, ops []op) error {
	buf := scratchPool.Get().(*scratch)
	defer buf.put()
	for i := range ops {
		o := &ops[i]
		var err error
		switch o.kind {
		case opSet:
			// pb.Set copies the value: the buffers serve the next ones.
			plain := o.value
			if o.hasEpoch {
				buf.plain = o.plain(buf.plain[:0])
				plain = buf.plain
			}
			buf.sealed = db.sealer.seal(buf.sealed[:0], o.key, plain)
			err = pb.Set(o.key, buf.sealed, nil)
		case opDelete:
			err = pb.Delete(o.key, nil)
		case opDeleteRange:
			err = pb.DeleteRange(o.key, o.end, nil)
		}
		if err != nil {
			return fmt.Errorf("store: batch: %w", err)
		}
	}
	return nil
}

// scratch holds fill's buffers, reused across batches: a step writes the
// group state (kilobytes) and each sealed copy was a new allocation.
type scratch struct{ plain, sealed []byte }

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxScratch bounds the buffers kept for reuse (a snapshot piece or a
// large batch value is not kept).
const maxScratch = 64 << 10

func (s *scratch) put() {
	if cap(s.plain) > maxScratch {
		s.plain = nil
	}
	if cap(s.sealed) > maxScratch {
		s.sealed = nil
	}
	scratchPool.Put(s)
}

// enter registers a call that uses pdb; done must be called when it ends.
func (db *DB) enter() (done func(), err error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.mu.closed {
		return nil, ErrClosed
	}
	db.inflight.Add(1)
	return db.inflight.Done, nil
}

// Close waits for calls in progress, closes Pebble and releases the home's
// lock. It is idempotent; calls after it fail with ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return nil
	}
	db.mu.closed = true
	clear(db.mu.dataKey)
	db.mu.Unlock()
	db.waitPending()
	db.inflight.Wait()
	err := db.pdb.Close()
	if lerr := db.lock.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

func (db *DB) view(ctx context.Context, fn func(r kvReader) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: read: %w", err)
	}
	done, err := db.enter()
	if err != nil {
		return err
	}
	defer done()
	snap := db.pdb.NewSnapshot()
	defer snap.Close()
	r := &pebbleReader{snap: snap, s: db.sealer}
	err = fn(r)
	if cerr := r.close(); err == nil {
		err = cerr
	}
	return err
}

// pebbleReader opens sealed values read from a Pebble snapshot. Its scans
// share one iterator, re-bounded for each: loading a channel makes several
// short scans, and building an iterator costs more than re-bounding one.
type pebbleReader struct {
	snap pebble.Reader // a snapshot, or the DB itself for checks before a write
	s    *sealer
	it   *pebble.Iterator
}

func (r *pebbleReader) close() error {
	if r.it == nil {
		return nil
	}
	if err := r.it.Close(); err != nil {
		return fmt.Errorf("store: iterate: %w", corruption(err))
	}
	return nil
}

// iter returns the shared iterator bounded to [lo, hi).
func (r *pebbleReader) iter(lo, hi []byte) (*pebble.Iterator, error) {
	if r.it != nil {
		r.it.SetBounds(lo, hi)
		return r.it, nil
	}
	it, err := r.snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("store: iterate: %w", corruption(err))
	}
	r.it = it
	return it, nil
}

func (r *pebbleReader) get(key []byte) ([]byte, error) {
	v, closer, err := r.snap.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, describeKey(key))
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", describeKey(key), corruption(err))
	}
	defer closer.Close()
	return r.s.open(key, v)
}

func (r *pebbleReader) scan(ctx context.Context, lo, hi []byte, reverse bool, limit int, fn func(k, v []byte) error) error {
	it, err := r.iter(lo, hi)
	if err != nil {
		return err
	}
	return r.walk(ctx, it, reverse, limit, fn)
}

func (r *pebbleReader) walk(ctx context.Context, it *pebble.Iterator, reverse bool, limit int, fn func(k, v []byte) error) error {
	valid, next := it.First, it.Next
	if reverse {
		valid, next = it.Last, it.Prev
	}
	n := 0
	for ok := valid(); ok; ok = next() {
		if limit > 0 && n >= limit {
			return nil
		}
		if n++; n%256 == 0 && ctx.Err() != nil {
			return fmt.Errorf("store: read: %w", ctx.Err())
		}
		raw, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("store: read %s: %w", describeKey(it.Key()), corruption(err))
		}
		pt, err := r.s.open(it.Key(), raw)
		if err != nil {
			return err
		}
		if err := fn(it.Key(), pt); err != nil {
			return stopOK(err)
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("store: iterate: %w", corruption(err))
	}
	return nil
}

// corruption marks an error Pebble reports as data corruption (a damaged
// table or log file) as ErrCorrupt too, keeping Pebble's error.
func corruption(err error) error {
	if pebble.IsCorruptionError(err) {
		return &pebbleCorruption{err: err}
	}
	return err
}

// pebbleCorruption is a corruption Pebble found: it matches ErrCorrupt and
// wraps Pebble's error, whose text it gives without Pebble's markers.
type pebbleCorruption struct{ err error }

func (e *pebbleCorruption) Error() string {
	msg := strings.ReplaceAll(e.err.Error(), "<corruption detail carrier>", "")
	return "corrupt data: " + strings.Join(strings.Fields(msg), " ")
}
func (e *pebbleCorruption) Unwrap() []error { return []error{ErrCorrupt, e.err} }
