package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
)

// opKind is the kind of one write in a Batch.
type opKind uint8

const (
	opSet opKind = iota + 1
	opDelete
	opDeleteRange
)

// op is one write: a Set of key to value, a Delete of key, or a DeleteRange
// of [key, end). Values are plaintext; the DB seals them when it applies the
// batch.
type op struct {
	kind  opKind
	key   []byte
	end   []byte
	value []byte
	// epoch, with hasEpoch, is a big-endian prefix of value (the group
	// state's epoch): stored as one value, built only when written (plain)
	// instead of copying a group state of kilobytes per step.
	epoch    uint64
	hasEpoch bool
	// snap is set on the Set of a snapshot, so that retention can add its
	// truncations when the batch is applied.
	snap *snapshotOp
}

type snapshotOp struct {
	ch       ChannelID
	eventSeq uint64
	logSeq   uint64
}

// Batch collects the writes of one protocol step. Applying it (DB.Apply,
// MemDB.Apply) writes all of them or none. Later writes in a batch override
// earlier ones to the same key, deletions included.
//
// A Batch records the first misuse (an empty or oversized ID, log entries out
// of order) and Apply then fails with ErrInvalidBatch without writing
// anything. Setters copy nothing: do not modify a slice passed to a Batch
// before it has been applied. A Batch is not safe for concurrent use.
type Batch struct {
	ops []op
	err error
	// lastLog is the last Seq appended per channel in this batch, to check
	// that appends follow each other.
	lastLog map[ChannelID]uint64
	// firstLog is the first Seq appended per channel whose log this batch
	// did not delete first: Apply checks that it follows the log on disk.
	firstLog map[ChannelID]uint64
	// deleted are the channels this batch deletes before appending.
	deleted map[ChannelID]bool
	// reseq are the channels whose LastSeq this batch changes other than by
	// appending (delete, truncate, snapshot): the DB forgets what it cached.
	reseq map[ChannelID]bool
}

func (b *Batch) markReseq(id ChannelID) {
	if b.reseq == nil {
		b.reseq = make(map[ChannelID]bool)
	}
	b.reseq[id] = true
}

// Clone returns a batch with b's writes (and its first misuse, if any), to
// extend without changing b: writing to one does not change the other. The
// values are shared, as in every setter.
func (b *Batch) Clone() *Batch {
	return &Batch{ops: slices.Clone(b.ops), err: b.err, lastLog: maps.Clone(b.lastLog),
		firstLog: maps.Clone(b.firstLog), deleted: maps.Clone(b.deleted), reseq: maps.Clone(b.reseq)}
}

// Len returns the number of writes in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Err returns the first misuse recorded in the batch, or nil.
func (b *Batch) Err() error { return b.err }

func (b *Batch) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("%w: "+format, append([]any{ErrInvalidBatch}, args...)...)
	}
}

// plain returns the value o sets: o.value itself, or the epoch and o.value
// appended to dst.
func (o *op) plain(dst []byte) []byte {
	if !o.hasEpoch {
		return o.value
	}
	return append(binary.BigEndian.AppendUint64(dst, o.epoch), o.value...)
}

func (b *Batch) set(key, value []byte) {
	b.ops = append(b.ops, op{kind: opSet, key: key, value: value})
}

func (b *Batch) del(key []byte) {
	b.ops = append(b.ops, op{kind: opDelete, key: key})
}

func (b *Batch) delRange(lo, hi []byte) {
	b.ops = append(b.ops, op{kind: opDeleteRange, key: lo, end: hi})
}

func (b *Batch) checkChannel(id ChannelID) bool {
	if len(id) == 0 || len(id) > MaxChannelIDLen {
		b.fail("channel ID of %d bytes (want 1 to %d)", len(id), MaxChannelIDLen)
		return false
	}
	return true
}

func (b *Batch) checkRef(what string, ref []byte) bool {
	if len(ref) == 0 || len(ref) > MaxRefLen {
		b.fail("%s of %d bytes (want 1 to %d)", what, len(ref), MaxRefLen)
		return false
	}
	return true
}

// PutIdentity writes the node's identity.
func (b *Batch) PutIdentity(id Identity) {
	b.set(identityKey(), encodeIdentity(id))
}

// PutChannel creates the channel or replaces its metadata.
func (b *Batch) PutChannel(id ChannelID, meta []byte) {
	if b.checkChannel(id) {
		b.set(channelIdxKey(id), meta)
	}
}

// DeleteChannel deletes the channel and every record of it.
func (b *Batch) DeleteChannel(id ChannelID) {
	if b.checkChannel(id) {
		b.del(channelIdxKey(id))
		delete(b.lastLog, id) // a new log starts from 1
		delete(b.firstLog, id)
		if b.deleted == nil {
			b.deleted = make(map[ChannelID]bool)
		}
		b.deleted[id] = true
		b.markReseq(id)
		p := channelPrefix(id)
		b.delRange(p, prefixEnd(p))
	}
}

// SetGroup replaces the channel's current MLS group state. The batch keeps
// state itself until it is applied: the caller must not change it.
func (b *Batch) SetGroup(id ChannelID, epoch uint64, state []byte) {
	if b.checkChannel(id) {
		b.ops = append(b.ops, op{kind: opSet, key: channelKey(id, subGroup), value: state, epoch: epoch, hasEpoch: true})
	}
}

// PutPastEpoch retains the state of a past epoch.
func (b *Batch) PutPastEpoch(id ChannelID, s EpochState) {
	if b.checkChannel(id) {
		b.set(channelSeqKey(id, subPastEpoch, s.Epoch), s.Data)
	}
}

// DeletePastEpochsBelow deletes the retained states of epochs below epoch:
// the secrets forward secrecy says to forget.
func (b *Batch) DeletePastEpochsBelow(id ChannelID, epoch uint64) {
	if b.checkChannel(id) {
		b.delRange(seqRange(id, subPastEpoch, 0, epoch))
	}
}

// DeletePastEpochsFrom deletes the retained states of epochs from epoch on:
// those of a branch the node left (a commit conflict resolved further back).
func (b *Batch) DeletePastEpochsFrom(id ChannelID, epoch uint64) {
	if b.checkChannel(id) {
		b.delRange(seqRange(id, subPastEpoch, epoch, 0))
	}
}

// Append adds an entry to the channel's log. Sequence numbers have no gaps:
// the first entry appended to a channel in a batch must follow the channel's
// LastSeq when the batch is applied (or be 1 after DeleteChannel in the same
// batch), and each next one the one before, else Apply fails with
// ErrInvalidBatch and nothing is written, so that a log entry is never
// overwritten. The channel's owner loop assigns the numbers; concurrent
// writers to one channel are not supported.
func (b *Batch) Append(id ChannelID, e Entry) {
	if !b.checkChannel(id) {
		return
	}
	last, seen := b.lastLog[id]
	switch {
	case seen && e.Seq != last+1:
		b.fail("log entry %d appended after %d", e.Seq, last)
		return
	case !seen && b.deleted[id] && e.Seq != 1:
		b.fail("log entry %d appended to a deleted channel's new log", e.Seq)
		return
	case e.Seq == 0:
		b.fail("log entry with Seq 0")
		return
	case !seen && !b.deleted[id]:
		if b.firstLog == nil {
			b.firstLog = make(map[ChannelID]uint64)
		}
		b.firstLog[id] = e.Seq
	}
	if b.lastLog == nil {
		b.lastLog = make(map[ChannelID]uint64)
	}
	b.lastLog[id] = e.Seq
	b.set(channelSeqKey(id, subLog, e.Seq), withU64(e.Data, e.Epoch))
}

// TruncateLog deletes the channel's log entries with Seq below seq.
func (b *Batch) TruncateLog(id ChannelID, seq uint64) {
	if b.checkChannel(id) {
		b.delRange(seqRange(id, subLog, 0, seq))
		b.markReseq(id)
	}
}

// PutEvent records a CRDT event.
func (b *Batch) PutEvent(id ChannelID, e Event) {
	if !b.checkChannel(id) {
		return
	}
	if e.Seq == 0 {
		b.fail("event with Seq 0")
		return
	}
	b.set(channelSeqKey(id, subEvent, e.Seq), e.Data)
}

// TruncateEvents deletes the channel's events with Seq below seq.
func (b *Batch) TruncateEvents(id ChannelID, seq uint64) {
	if b.checkChannel(id) {
		b.delRange(seqRange(id, subEvent, 0, seq))
	}
}

// PutSnapshot replaces the channel's CRDT snapshot. When the batch is
// applied, the DB's Retention decides which events and log entries the
// snapshot makes redundant and deletes them in the same batch.
// The snapshot is stored inline, in one value: DB.WriteSnapshot stores a
// large one in pieces.
func (b *Batch) PutSnapshot(id ChannelID, s Snapshot) {
	if !b.checkChannel(id) {
		return
	}
	if bytes.HasPrefix(s.Data, []byte(chunkedMarker)) {
		b.fail("snapshot data starts with the chunked marker")
		return
	}
	// The chunks of a snapshot written by WriteSnapshot, if any.
	b.delRange(chunkKey(id, 0, 0), prefixEnd(channelKey(id, subSnapChunk)))
	b.putSnapshotRecord(id, s.EventSeq, s.LogSeq, s.Data)
}

// putSnapshotRecord sets the channel's snapshot record.
func (b *Batch) putSnapshotRecord(id ChannelID, eventSeq, logSeq uint64, data []byte) {
	b.markReseq(id)
	b.ops = append(b.ops, op{
		kind:  opSet,
		key:   channelKey(id, subSnapshot),
		value: withU64(data, eventSeq, logSeq),
		snap:  &snapshotOp{ch: id, eventSeq: eventSeq, logSeq: logSeq},
	})
}

// PutOutbox queues an outgoing message.
func (b *Batch) PutOutbox(id ChannelID, it OutboxItem) {
	if b.checkChannel(id) {
		b.set(channelSeqKey(id, subOutbox, it.Seq), it.Data)
		if it.Ref != nil {
			b.set(channelSeqKey(id, subOutboxRef, it.Seq), it.Ref)
		} else {
			b.del(channelSeqKey(id, subOutboxRef, it.Seq)) // a reused seq loses an old reference
		}
	}
}

// DeleteOutbox removes an outgoing message once it is confirmed sent.
func (b *Batch) DeleteOutbox(id ChannelID, seq uint64) {
	if b.checkChannel(id) {
		b.del(channelSeqKey(id, subOutbox, seq))
		b.del(channelSeqKey(id, subOutboxRef, seq))
	}
}

// PutInvite records an invite issued for the channel.
func (b *Batch) PutInvite(id ChannelID, inv Invite) {
	if b.checkChannel(id) && b.checkRef("invite ID", inv.ID) {
		b.set(channelRefKey(id, subInvite, inv.ID), inv.Data)
	}
}

// DeleteInvite deletes an invite (revoked, used up or expired).
func (b *Batch) DeleteInvite(id ChannelID, inviteID []byte) {
	if b.checkChannel(id) && b.checkRef("invite ID", inviteID) {
		b.del(channelRefKey(id, subInvite, inviteID))
	}
}

// PutAdmission keeps a join response for the channel, replacing the one
// with the same ID.
func (b *Batch) PutAdmission(id ChannelID, a Admission) {
	if b.checkChannel(id) && b.checkRef("admission ID", a.ID) {
		b.set(channelRefKey(id, subAdmission, a.ID), a.Data)
	}
}

// DeleteAdmission deletes a kept join response (expired, or its member
// removed). DeleteChannel deletes them all.
func (b *Batch) DeleteAdmission(id ChannelID, admissionID []byte) {
	if b.checkChannel(id) && b.checkRef("admission ID", admissionID) {
		b.del(channelRefKey(id, subAdmission, admissionID))
	}
}

// PutKeyPackage stores the private bundle of a key package under its
// reference.
func (b *Batch) PutKeyPackage(ref, bundle []byte) {
	if b.checkRef("key package reference", ref) {
		b.set(keyPackageKey(ref), bundle)
	}
}

// DeleteKeyPackage deletes a key package's private bundle once it is used.
func (b *Batch) DeleteKeyPackage(ref []byte) {
	if b.checkRef("key package reference", ref) {
		b.del(keyPackageKey(ref))
	}
}

// PutPeer records a peer's addresses.
func (b *Batch) PutPeer(p Peer) {
	if b.checkRef("peer ID", []byte(p.ID)) {
		b.set(peerKey(p.ID), p.Data)
	}
}

// DeletePeer forgets a peer.
func (b *Batch) DeletePeer(id string) {
	if b.checkRef("peer ID", []byte(id)) {
		b.del(peerKey(id))
	}
}

// Retention says how much a snapshot lets the store delete. When a batch
// with PutSnapshot is applied, log entries with Seq at or below the
// snapshot's LogSeq are deleted except the newest Log of them, and events at
// or below its EventSeq except the newest Events of them. KeepAll keeps
// everything.
type Retention struct {
	Log    uint64
	Events uint64
}

// KeepAll, as a Retention field, keeps every record.
const KeepAll = ^uint64(0)

// DefaultRetention keeps the newest 100,000 log entries below a snapshot
// per channel, for peers that catch up, and no event the snapshot includes.
var DefaultRetention = Retention{Log: 100_000, Events: 0}

// expand returns the batch's writes with the truncations that retention r
// adds after each snapshot, or the batch's recorded misuse.
func (b *Batch) expand(r Retention) ([]op, error) {
	if b.err != nil {
		return nil, b.err
	}
	if !b.hasSnapshot() {
		return b.ops, nil
	}
	out := make([]op, 0, len(b.ops)+2)
	for _, o := range b.ops {
		out = append(out, o)
		if o.snap != nil {
			out = append(out, truncations(o.snap, r)...)
		}
	}
	return out, nil
}

func (b *Batch) hasSnapshot() bool {
	for _, o := range b.ops {
		if o.snap != nil {
			return true
		}
	}
	return false
}

// truncations returns the range deletions retention r allows after snapshot s.
func truncations(s *snapshotOp, r Retention) []op {
	var out []op
	if below, ok := cutoff(s.logSeq, r.Log); ok {
		lo, hi := seqRange(s.ch, subLog, 0, below)
		out = append(out, op{kind: opDeleteRange, key: lo, end: hi})
	}
	if below, ok := cutoff(s.eventSeq, r.Events); ok {
		lo, hi := seqRange(s.ch, subEvent, 0, below)
		out = append(out, op{kind: opDeleteRange, key: lo, end: hi})
	}
	return out
}

// cutoff returns the Seq below which records may go when the snapshot
// covers up to last and keep of them are kept.
func cutoff(last, keep uint64) (uint64, bool) {
	if keep == KeepAll || last < keep+1 || last == 0 {
		return 0, false
	}
	return last - keep + 1, true
}
