package node

import (
	"context"
	"fmt"

	"github.com/spacepanda/spacepanda/store"
)

// Live gossip is read in turns of the channel's loop: the topic validator
// queues each message (recvQueue) and asks the loop for a turn; a turn
// reads every message queued by then, up to recvBatchMax, and stores their
// application messages in one batch with the group state they leave
// (receiveLive), written without an fsync (store's ApplyNoSync).
//
// Why received messages need no fsync of their own, and what must keep one
// (docs/storage.md, "Durability"):
//
//   - What a crash keeps is a prefix of the batches in the order they were
//     applied (Pebble's write-ahead log is one sequence): an unsynced batch
//     is lost only together with every batch after it. So the group state on
//     disk is never older than the log and events it was stored with, and a
//     crash takes the node back to a consistent earlier point.
//   - A received message lost that way is read again: the group state on
//     disk is the one from before it, so it still holds the message's key,
//     and a restarted node catches up from its peers' logs (syncRounds,
//     anti-entropy), where the message is. A message that arrives live
//     across the gap is held until the catch-up fills it (hold.go).
//   - Our own sending ratchet is different: a message we publish must never
//     be encrypted again with the same generation (key and nonce reuse)
//     after a crash. Every own message goes out only after the batch that
//     advanced our ratchet past it is durable: a synced step, or a flight
//     whose fsync returned (sendbatch.go). An unsynced receive batch written
//     later holds the same or a later own generation; if the crash loses
//     it, the earlier durable batch still holds the advanced ratchet. An
//     unsynced batch written before a synced one becomes durable with it.
//   - Commits change epochs, membership and the secrets forward secrecy
//     deletes: a received commit or proposal is stored with Apply (synced),
//     after the batch of the messages read before it; own commits are
//     synced steps. Messages handed over by the delivery stream
//     (serveDeliver), which the sender stops sending once we answer, are
//     stored synced as before: they do not come through this queue.
//
// The node also syncs within retryEvery of an unsynced write (retryLoop),
// so that an idle node holds at most that much of what it read unsynced.

// recvBatchMax bounds how many gossip messages one turn of the loop reads.
const recvBatchMax = 64

// recvReq is one gossip message waiting for the channel's loop.
type recvReq struct {
	env    envelope
	member bool // handed over by a member of the current epoch
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
// join one batch (acceptInChunk) stored, with the group state, once at the
// end without an fsync; a commit or proposal first stores the messages
// read before it (flushChunk) and is then stored synced (accept).
func (s *chanState) receiveLive(ctx context.Context, reqs []*recvReq) {
	s.chunk, s.chunkDirty, s.noSync = &store.Batch{}, false, true
	var inChunk []*recvReq // answered nil, stored by the next flush
	flush := func() {
		if err := s.flushChunk(ctx); err != nil {
			for _, r := range inChunk {
				r.err = err
			}
		}
		inChunk = inChunk[:0]
	}
	defer func() {
		if p := recover(); p != nil {
			// A panic outside receiveOne (storing the chunk): the
			// chunk is not stored, as in receiveOne.
			s.dropChunk(p)
			for _, r := range inChunk {
				r.err = errPanic
			}
		}
		s.chunk, s.chunkDirty, s.noSync = nil, false, false
		for _, r := range reqs {
			close(r.done)
		}
	}()
	for _, r := range reqs {
		if s.chunkDirty && !isApplication(r.env.msg) {
			flush()
		}
		r.err = s.receiveOne(ctx, r)
		if r.err == nil && s.chunkDirty {
			inChunk = append(inChunk, r)
		}
	}
	flush()
	s.maybeSnapshot(ctx)
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
	s.untrusted = !r.member
	defer func() { s.untrusted = false }()
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
}
