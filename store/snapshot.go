package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// A channel's CRDT snapshot is stored in one of two layouts (docs/storage.md,
// "Snapshots"):
//
//   - inline: the snapshot key holds EventSeq, LogSeq and the data (what
//     Batch.PutSnapshot writes, and every snapshot before chunked ones);
//   - chunked: the snapshot key holds EventSeq, LogSeq and a header
//     (chunkedMarker, generation, count, total length) naming count chunk
//     records, each one sealed value, whose concatenation is the data
//     (WriteSnapshot).
//
// A snapshot of 100,000 messages is megabytes; as one value it cost the
// store several copies of itself at once (the value with its header, the
// sealed copy, Pebble's batch, which a batch that large keeps in memory
// until a flush, and the flush's blocks). Chunks are written one small
// batch at a time, so the store never holds more than one.

// chunkedMarker starts a chunked snapshot's header. An inline snapshot's
// data is a CRDT snapshot, which starts with its magic, never with 0.
const chunkedMarker = "\x00chunked"

// chunkIndexBits: a chunk's key is its generation << chunkIndexBits | index.
const chunkIndexBits = 24

// maxChunks bounds the chunks of one snapshot.
const maxChunks = 1 << chunkIndexBits

// maxGeneration keeps generation << chunkIndexBits within 64 bits.
const maxGeneration = 1<<(64-chunkIndexBits) - 1

// chunkHeader describes a chunked snapshot.
type chunkHeader struct {
	gen, count, total uint64
}

func (h chunkHeader) encode() []byte {
	b := append([]byte(nil), chunkedMarker...)
	b = binary.BigEndian.AppendUint64(b, h.gen)
	b = binary.BigEndian.AppendUint64(b, h.count)
	return binary.BigEndian.AppendUint64(b, h.total)
}

// parseChunkHeader returns the header in a snapshot record's data, and
// whether the record is chunked at all.
func parseChunkHeader(key, data []byte) (chunkHeader, bool, error) {
	if !bytes.HasPrefix(data, []byte(chunkedMarker)) {
		return chunkHeader{}, false, nil
	}
	rest := data[len(chunkedMarker):]
	if len(rest) != 24 {
		return chunkHeader{}, true, &CorruptError{Key: describeKey(key), Reason: "bad chunked snapshot header"}
	}
	h := chunkHeader{
		gen:   binary.BigEndian.Uint64(rest),
		count: binary.BigEndian.Uint64(rest[8:]),
		total: binary.BigEndian.Uint64(rest[16:]),
	}
	if h.gen > maxGeneration || h.count > maxChunks {
		return chunkHeader{}, true, &CorruptError{Key: describeKey(key), Reason: "chunked snapshot header out of range"}
	}
	return h, true, nil
}

func chunkKey(id ChannelID, gen, i uint64) []byte {
	return channelSeqKey(id, subSnapChunk, gen<<chunkIndexBits|i)
}

// readChunks returns the data of a chunked snapshot.
func readChunks(ctx context.Context, r kvReader, id ChannelID, h chunkHeader) ([]byte, error) {
	lo, hi := chunkKey(id, h.gen, 0), chunkKey(id, h.gen, h.count)
	// The total is sealed with the header, but bound the first allocation
	// all the same: the chunks' own sizes are checked as they are read.
	data := make([]byte, 0, min(h.total, 64<<20))
	var n uint64
	err := r.scan(ctx, lo, hi, false, 0, func(k, v []byte) error {
		if seqOf(k) != h.gen<<chunkIndexBits|n {
			return &CorruptError{Key: describeKey(k), Reason: "snapshot chunk missing"}
		}
		if uint64(len(data))+uint64(len(v)) > h.total {
			return &CorruptError{Key: describeKey(k), Reason: "snapshot chunks longer than their header says"}
		}
		n++
		data = append(data, v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n != h.count || uint64(len(data)) != h.total {
		return nil, &CorruptError{Key: describeKey(channelKey(id, subSnapshot)),
			Reason: fmt.Sprintf("chunked snapshot: %d chunks of %d bytes, header says %d of %d", n, len(data), h.count, h.total)}
	}
	return data, nil
}

// snapshotStore is what WriteSnapshot needs of a DB or MemDB.
type snapshotStore interface {
	Apply(ctx context.Context, b *Batch) error
	ApplyNoSync(ctx context.Context, b *Batch) error
	view(ctx context.Context, fn func(r kvReader) error) error
	// putUnsynced stores one value at once, without waiting for the disk:
	// the batch that makes a snapshot's chunks reachable comes after them,
	// and Pebble's log keeps writes in order.
	putUnsynced(ctx context.Context, key, value []byte) error
}

// WriteSnapshot replaces the channel's CRDT snapshot with one too large to
// hold comfortably in a batch: write calls put with the snapshot's bytes in
// consecutive pieces (put stores each at once and does not keep the slice),
// then the snapshot, recorded as after EventSeq events and LogSeq log
// entries, replaces the old one in a last batch committed with Sync that
// also applies the DB's Retention (as Batch.PutSnapshot does). If write or
// a put fails, the old snapshot stays; so it does after a crash, and the
// next snapshot deletes the pieces written. Only one snapshot of a channel
// may be written at a time.
func (db *DB) WriteSnapshot(ctx context.Context, id ChannelID, eventSeq, logSeq uint64, write func(put func(piece []byte) error) error) error {
	return writeSnapshot(ctx, db, id, eventSeq, logSeq, write, true)
}

// WriteSnapshotNoSync is WriteSnapshot whose last batch is applied as
// ApplyNoSync does: it returns without waiting for the disk (a snapshot of
// a large channel is megabytes, whose fsync a caller that owns a busy loop
// should not wait for), and becomes durable with the next synced batch,
// Sync or Close. A crash before that keeps the old snapshot and every event
// and log entry the new one would have let Retention delete, since those
// deletions are in the same batch; batches survive a crash as a prefix.
func (db *DB) WriteSnapshotNoSync(ctx context.Context, id ChannelID, eventSeq, logSeq uint64, write func(put func(piece []byte) error) error) error {
	return writeSnapshot(ctx, db, id, eventSeq, logSeq, write, false)
}

// WriteSnapshot is DB.WriteSnapshot for a MemDB.
func (m *MemDB) WriteSnapshot(ctx context.Context, id ChannelID, eventSeq, logSeq uint64, write func(put func(piece []byte) error) error) error {
	return writeSnapshot(ctx, m, id, eventSeq, logSeq, write, true)
}

// WriteSnapshotNoSync is DB.WriteSnapshotNoSync for a MemDB.
func (m *MemDB) WriteSnapshotNoSync(ctx context.Context, id ChannelID, eventSeq, logSeq uint64, write func(put func(piece []byte) error) error) error {
	return writeSnapshot(ctx, m, id, eventSeq, logSeq, write, false)
}

func writeSnapshot(ctx context.Context, s snapshotStore, id ChannelID, eventSeq, logSeq uint64, write func(put func([]byte) error) error, sync bool) error {
	if len(id) == 0 || len(id) > MaxChannelIDLen {
		return fmt.Errorf("%w: channel ID of %d bytes (want 1 to %d)", ErrInvalidBatch, len(id), MaxChannelIDLen)
	}
	// A new generation, so that the pieces never overwrite those of the
	// snapshot in place.
	var gen uint64 = 1
	err := s.view(ctx, func(r kvReader) error {
		k := channelKey(id, subSnapshot)
		v, err := r.get(k)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		_, data, err := splitU64(k, v, 2)
		if err != nil {
			return err
		}
		h, chunked, err := parseChunkHeader(k, data)
		if chunked && err == nil {
			gen = h.gen%maxGeneration + 1
		}
		return err
	})
	if err != nil {
		return err
	}
	h := chunkHeader{gen: gen}
	err = write(func(piece []byte) error {
		if len(piece) == 0 {
			return nil
		}
		if h.count == maxChunks-1 {
			return fmt.Errorf("%w: snapshot of more than %d pieces", ErrInvalidBatch, maxChunks-1)
		}
		if err := s.putUnsynced(ctx, chunkKey(id, h.gen, h.count), piece); err != nil {
			return err
		}
		h.count++
		h.total += uint64(len(piece))
		return nil
	})
	if err != nil {
		return err
	}
	b := &Batch{}
	b.putSnapshotRecord(id, eventSeq, logSeq, h.encode())
	// Every other chunk of the channel: older generations, and pieces of
	// this one left by an attempt that crashed.
	b.delRange(chunkKey(id, 0, 0), chunkKey(id, h.gen, 0))
	b.delRange(chunkKey(id, h.gen, h.count), prefixEnd(channelKey(id, subSnapChunk)))
	if !sync {
		return s.ApplyNoSync(ctx, b)
	}
	return s.Apply(ctx, b)
}

func (db *DB) putUnsynced(ctx context.Context, key, value []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	done, err := db.enter()
	if err != nil {
		return err
	}
	defer done()
	pb := db.pdb.NewBatch()
	defer pb.Close()
	if err := pb.Set(key, db.sealer.seal(nil, key, value), nil); err != nil {
		return fmt.Errorf("store: batch: %w", err)
	}
	if err := pb.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func (m *MemDB) putUnsynced(ctx context.Context, key, value []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.closed {
		return ErrClosed
	}
	m.applyLocked(op{kind: opSet, key: key, value: value})
	return nil
}
