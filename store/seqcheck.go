package store

import (
	"context"
	"fmt"
)

// The DB checks that a batch's log entries follow each channel's log
// (Batch.Append) against a cache of LastSeq per channel, filled from disk
// the first time a channel is appended to and kept up to date by the
// batches the DB applies: a reverse seek per Apply would halve the
// throughput of concurrent writers on two cores.

// checkAppendsEntered checks that b's log entries follow the logs. The
// caller has entered.
func (db *DB) checkAppendsEntered(ctx context.Context, b *Batch) error {
	for id, first := range b.firstLog {
		last, err := db.lastSeqCached(ctx, id)
		if err != nil {
			return err
		}
		if first != last+1 {
			return fmt.Errorf("%w: log entry %d appended to channel %x after %d",
				ErrInvalidBatch, first, []byte(id), last)
		}
	}
	return nil
}

// lastSeqCached returns the channel's LastSeq, from the cache or the disk.
func (db *DB) lastSeqCached(ctx context.Context, id ChannelID) (uint64, error) {
	db.mu.Lock()
	last, ok := db.mu.lastSeq[id]
	db.mu.Unlock()
	if ok {
		return last, nil
	}
	r := &pebbleReader{snap: db.pdb, s: db.sealer}
	last, err := lastSeq(ctx, r, id)
	if cerr := r.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.mu.lastSeq == nil {
		db.mu.lastSeq = make(map[ChannelID]uint64)
	}
	db.mu.lastSeq[id] = last
	return last, nil
}

// noteApplied updates the cache after b was handed to Pebble (ok) or
// failed: appended channels move to their new last entry; channels b
// deleted, truncated or snapshotted, and all of a failed batch's, are
// forgotten and read again from disk when next appended to.
func (db *DB) noteApplied(b *Batch, ok bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	for id, last := range b.lastLog {
		if ok && !b.reseq[id] && db.mu.lastSeq != nil {
			db.mu.lastSeq[id] = last
		} else {
			delete(db.mu.lastSeq, id)
		}
	}
	for id := range b.reseq {
		delete(db.mu.lastSeq, id)
	}
}

// checkAppends checks that the first entry appended to each channel follows
// the channel's last sequence number in r (MemDB, under its write lock).
func (b *Batch) checkAppends(ctx context.Context, r kvReader) error {
	for id, first := range b.firstLog {
		last, err := lastSeq(ctx, r, id)
		if err != nil {
			return err
		}
		if first != last+1 {
			return fmt.Errorf("%w: log entry %d appended to channel %x after %d",
				ErrInvalidBatch, first, []byte(id), last)
		}
	}
	return nil
}
