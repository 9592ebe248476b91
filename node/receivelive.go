package node

import (
	"context"
	"fmt"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// Live gossip is read in turns of the channel's loop: the topic validator
// queues each message (recvQueue) and asks the loop for a turn; a turn
// reads every message queued by then, up to recvBatchMax. Their
// application messages join one open batch (the live chunk: log entries
// and events, acceptInChunk) that stays open across turns and is stored,
// with the group state it leaves, in one write without an fsync (store's
// ApplyNoSync): before any other kind of turn runs (channel.do,
// closeLive), before a commit or proposal is read, when it holds
// liveChunkMax messages or is liveChunkAge old, before a snapshot, and
// when the loop ends; or, when posts are sent, in the batch of their flight
// (absorbChunk: synced, and the group state written once for both). A turn that stores nothing of its own (doLive) leaves
// it open. So serializing and sealing the whole MLS group state, and
// Pebble's commit, are paid once per batch instead of once per message,
// and no received message waits for an fsync.
//
// Why received messages need no fsync of their own, and what must keep one
// (docs/storage.md, "Durability"):
//
//   - What a crash keeps is a prefix of the batches in the order they were
//     applied (Pebble's write-ahead log is one sequence): an unsynced batch
//     is lost only together with every batch after it. The live chunk is
//     stored with the group state it leaves, and stored before anything
//     else is written that depends on it (doLive turns leave it open only
//     for writes that do not: removals of delivered own messages from the
//     outbox; every step, received commit or proposal stores it first, and
//     a past message's event joins it), so the group state on disk is never older than the log and
//     events it was stored with; a crash takes the node back to a
//     consistent earlier point.
//   - A received message lost that way (unsynced, or still in the open
//     chunk) is read again: the group state on disk is the one from before
//     it, so it still holds the message's key, and a restarted node catches
//     up from its peers' logs (syncRounds, anti-entropy), where the message
//     is. A message that arrives live across the gap is held until the
//     catch-up fills it (hold.go).
//   - Our own sending ratchet is different: a message we publish must never
//     be encrypted again with the same generation (key and nonce reuse)
//     after a crash. Every own message goes out only after the batch that
//     advanced our ratchet past it is durable: a synced step, or a flight
//     whose fsync returned (sendbatch.go). Such a step stores the live
//     chunk first (an earlier batch, durable with the step's fsync) or, a
//     flight of posts, in its own batch, with the group state it leaves. A
//     live chunk stored later holds the same or a later own generation; if
//     a crash loses it, the earlier durable batch still holds the advanced
//     ratchet.
//   - Commits change epochs, membership and the secrets forward secrecy
//     deletes: a received commit or proposal is stored with Apply (synced),
//     after the live chunk read before it; own commits are synced steps.
//   - Messages handed over by the delivery stream (serveDeliver), which
//     the sender stops sending once we answer, join the open chunk too (in
//     a turn that leaves it open), but the answer waits until the chunk is
//     stored, and, if they were new to us, synced.
//
// The node also syncs within retryEvery of an unsynced write (retryLoop,
// whose turns store the open chunk too), so that an idle node holds at most
// that much of what it read only in memory or unsynced.

// liveChunkMax and liveChunkAge bound the live chunk: a longer one costs
// more to read again after a crash, and the sync server (which reads the
// store) serves its messages only once it is stored.
const (
	liveChunkMax = 128
	liveChunkAge = 100 * time.Millisecond
)

// recvBatchMax bounds how many gossip messages one turn of the loop reads.
const recvBatchMax = 64

// recvReq is one gossip message waiting for the channel's loop.
type recvReq struct {
	env    envelope
	member bool       // handed over by a member of the current epoch
	from   p2p.PeerID // who handed it over
	// Set by the loop before done is closed:
	future bool // of an epoch after the group's when the loop read it
	err    error
	done   chan struct{}
}

// recvQueue holds the gossip messages waiting for the loop.
type recvQueue = waitQueue[*recvReq]

// receiveQueued reads, on the loop, the gossip messages queued so far (up
// to recvBatchMax: the rest wait for the turns their validators asked for).
func (s *chanState) receiveQueued(ctx context.Context) {
	if reqs := s.c.recvs.take(recvBatchMax); len(reqs) > 0 {
		s.receiveLive(ctx, reqs)
	}
}

// receiveLive reads reqs in order and answers each. Application messages
// join the live chunk (acceptInChunk); a commit or proposal first stores
// the chunk (flushChunk) and is then stored synced (accept).
func (s *chanState) receiveLive(ctx context.Context, reqs []*recvReq) {
	if s.chunk == nil {
		s.chunk, s.chunkDirty, s.noSync = &store.Batch{}, false, true
	}
	defer func() {
		if p := recover(); p != nil {
			// A panic outside receiveOne (storing the chunk): the
			// chunk is not stored, as in receiveOne.
			s.dropChunk(p)
			for _, r := range reqs {
				if r.err == nil {
					r.err = errPanic
				}
			}
		}
		for _, r := range reqs {
			close(r.done)
		}
	}()
	for _, r := range reqs {
		if s.chunkDirty && !isApplication(r.env.msg) {
			s.storeLive()
		}
		r.err = s.receiveOne(ctx, r)
	}
	if s.chunkDirty && (s.lastSeq-s.chunkSeq >= liveChunkMax || time.Since(s.chunkSince) >= liveChunkAge || s.snapshotDue()) {
		s.storeLive()
	}
	if !s.chunkDirty {
		s.maybeSnapshot(ctx) // the snapshot names the log and event sequence numbers: stored ones only
	}
}

// liveOpen reports whether a live chunk is open.
func (s *chanState) liveOpen() bool { return s.chunk != nil && s.noSync }

// storeLive stores the live chunk, which stays open. On a store failure
// its messages are dropped (flushChunk): the catch-up brings them again.
func (s *chanState) storeLive() {
	if err := s.flushChunk(context.WithoutCancel(s.n.ctx)); err != nil {
		s.n.log.Warn("received messages not stored", "channel", s.id, "err", err)
	}
}

// closeLive stores the live chunk, if one is open, and closes it: the turn
// that follows finds the store holding everything the state holds.
func (s *chanState) closeLive() {
	if !s.liveOpen() {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			s.dropChunk(p)
		}
		s.closeChunk()
	}()
	s.storeLive()
}

// closeChunk ends chunk mode.
func (s *chanState) closeChunk() {
	s.chunk, s.chunkDirty, s.noSync = nil, false, false
}

// receiveOne reads one gossip message. A panic (a bug reached by what a
// peer sent) drops the message, and the messages of the chunk not stored
// yet: the group is reloaded from its stored state, which can read them
// again when the catch-up brings them.
func (s *chanState) receiveOne(ctx context.Context, r *recvReq) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.dropChunk(p)
			err = errPanic
		}
	}()
	s.untrusted, s.recvFrom = !r.member, r.from
	defer func() { s.untrusted, s.recvFrom = false, "" }()
	r.future = r.env.epoch > s.group.Epoch()
	return s.receive(ctx, r.env)
}

// dropChunk recovers from panic p while a chunk is read: what the chunk
// read is not stored, its sequence numbers are taken back, and the group is
// reloaded from its stored state (which reads those messages again when
// the catch-up brings them).
func (s *chanState) dropChunk(p any) {
	s.n.log.Error("recovered from a panic in the channel loop", "channel", s.id, "panic", fmt.Sprint(p))
	if s.chunkDirty {
		s.lastSeq, s.lastEventSeq = s.chunkSeq, s.chunkEventSeq
	}
	s.chunk, s.chunkDirty = &store.Batch{}, false
	s.rollback()
	s.needSync = true
	s.chunkFailures++
	s.endChunk(false)
}

// chunkEnd tells how an open chunk ended; ok is set before done is closed.
type chunkEnd struct {
	done chan struct{}
	ok   bool // stored, not dropped
}

// onChunkEnd returns what tells how the open chunk ends.
func (s *chanState) onChunkEnd() *chunkEnd {
	if s.chunkEnd == nil {
		s.chunkEnd = &chunkEnd{done: make(chan struct{})}
	}
	return s.chunkEnd
}

// endChunk tells onChunkEnd's waiters that the chunk was stored (ok) or
// dropped.
func (s *chanState) endChunk(ok bool) {
	if e := s.chunkEnd; e != nil {
		s.chunkEnd = nil
		e.ok = ok
		close(e.done)
	}
}
