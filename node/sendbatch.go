package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/store"
)

// sendBatchMax bounds how many posts one step — one store batch — carries.
const sendBatchMax = 256

// sendReq is one Send waiting for the channel's loop.
type sendReq struct {
	text string
	res  SendResult
	seq  uint64 // the post's outbox item, 0 when none (alone in the channel)
	err  error
	done chan struct{} // closed once res and err are set
}

// waitQueue holds requests waiting for the channel's loop: posts
// (sendQueue) and gossip messages to read (recvQueue, receivelive.go).
// Concurrent callers share a turn of the loop: while the loop is busy, the
// next requests queue up, and its next turn takes them all and stores them
// in one batch (group commit). It is safe for concurrent use.
type waitQueue[R comparable] struct {
	mu   sync.Mutex
	reqs []R
}

// sendQueue holds the posts waiting for the loop.
type sendQueue = waitQueue[*sendReq]

func (q *waitQueue[R]) push(r R) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reqs = append(q.reqs, r)
}

// take removes and returns up to max waiting requests, oldest first.
func (q *waitQueue[R]) take(max int) []R {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.reqs), max)
	out := q.reqs[:n:n]
	q.reqs = q.reqs[n:]
	return out
}

// remove withdraws r if no loop has taken it yet, and reports that.
func (q *waitQueue[R]) remove(r R) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.reqs {
		if x == r {
			q.reqs = append(q.reqs[:i:i], q.reqs[i+1:]...)
			return true
		}
	}
	return false
}

// A flight is a step of posts handed to the store without waiting for its
// fsync (store.DB.ApplyNoWait). The loop goes on with the next step while
// the fsync runs, so that the posts that arrive meanwhile share the next
// fsync instead of queueing behind this one; nothing of the step leaves the
// node (publish, delivery, the sender's answer) before it is durable, since
// a published message lost in a crash would have its MLS generation reused
// after the restart. Its in-memory effects (group, CRDT, followers) are
// applied at once, as a synced step's are: a crash before the fsync loses
// them with the process. Flights land — their outbox items are queued and
// published, their senders answered — in order, on the loop, once their
// fsync returned or a later synced batch made them durable (store batches
// are ordered: a durable batch implies every earlier one).
type flight struct {
	pending *store.Pending
	st      step
	items   []store.OutboxItem
	reqs    []*sendReq
	once    sync.Once // finishes reqs exactly once
}

// finish answers the flight's senders: err, or set's result.
func (f *flight) finish(err error, set func(*sendReq)) {
	f.once.Do(func() {
		for _, r := range f.reqs {
			if r.err == nil {
				r.err = err
			}
			if r.err == nil && set != nil {
				set(r)
			}
			close(r.done)
		}
	})
}

// sendQueued stores the channel's waiting sends, up to sendBatchMax per
// step, as flights. It runs on the loop and returns without waiting for
// their fsyncs.
func (s *chanState) sendQueued(ctx context.Context) {
	for {
		reqs := s.c.sends.take(sendBatchMax)
		if len(reqs) == 0 {
			return
		}
		// A step stores the group state: its batch carries the open
		// batch of live gossip (absorbChunk); what is left of it (a batch
		// that stored nothing) is stored after, as in a turn that is not
		// doLive (receivelive.go).
		s.sendBatch(ctx, reqs)
		s.closeLive()
	}
}

// sendBatch authors one post per request and stores them in one batch, a
// flight when possible; a request whose post the CRDT refuses fails alone.
func (s *chanState) sendBatch(ctx context.Context, reqs []*sendReq) {
	f := &flight{reqs: reqs}
	flown := false
	defer func() {
		if !flown {
			f.finish(errPanic, nil) // unless every request was answered below
		}
	}()
	if err := s.gone(); err != nil {
		f.finish(err, nil)
		return
	}
	var events []crdt.Event
	var owners []*sendReq
	next := s.crdt.Next(s.n.id.peerID)
	for _, r := range reqs {
		e := crdt.Event{Kind: crdt.KindPost, Text: r.text, ID: next, Time: s.clock.Now(s.n.nowMs())}
		if err := s.crdt.Check(e); err != nil {
			r.err = crdtError(err)
			continue
		}
		next.Seq++
		events = append(events, e)
		owners = append(owners, r)
	}
	if len(events) == 0 {
		f.finish(nil, nil)
		return
	}
	before := s.lastQueued
	s.flying = f
	err := s.run(ctx, step{events: events, pipelined: true})
	s.flying = nil
	if errors.Is(err, mls.ErrProposalsPending) {
		// A member who has proposals of the epoch (a leaver's Remove) must
		// commit them before sending (RFC 9420 §12.4); a commit is a
		// synced step.
		epoch := s.group.Epoch()
		var commit []byte
		if commit, err = s.group.CommitPending(); err != nil {
			s.rollback()
			err = fmt.Errorf("node: commit pending proposals: %w", err)
		} else {
			err = s.run(ctx, step{commit: commit, commitEpoch: epoch, events: events})
		}
	}
	for i, r := range owners {
		if r.err = err; err != nil {
			continue
		}
		r.res = SendResult{ID: s.messageID(events[i].ID)}
		if s.lastQueued != before {
			// The posts' outbox items come last in the step, in order.
			r.seq = s.lastQueued - uint64(len(events)-1-i)
		}
	}
	if err != nil || f.pending == nil {
		flown = true
		s.answer(f)
		return
	}
	flown = true
	s.flights = append(s.flights, f)
	c, n := s.c, s.n
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		err := f.pending.Wait()
		// doLive: landing publishes and answers; what it stores (the
		// outbox items a lone member drops) does not depend on the open
		// batch of live gossip (receivelive.go).
		if c.doLive(n.ctx, func(s *chanState) error { s.land(f, err); return nil }) != nil {
			// The loop is gone (the node or the channel closes): the
			// posts are on disk (or failed); the outbox there sends them
			// after a restart.
			f.finish(err, func(r *sendReq) { r.res.Queued = r.seq != 0 })
		}
	}()
}

// storeStep stores a step's batch: synced, or, for a flight (sendBatch),
// handed over without waiting for its fsync. A synced batch makes every
// earlier flight durable: they land first, so that the outbox stays in
// order.
func (s *chanState) storeStep(ctx context.Context, b *store.Batch, st step) error {
	if st.pipelined && s.flying != nil {
		p, err := s.n.db.ApplyNoWait(ctx, b)
		if err != nil {
			return fmt.Errorf("node: store: %w", err)
		}
		s.flying.pending, s.flying.st = p, st
		return nil
	}
	if err := s.n.db.Apply(ctx, b); err != nil {
		return fmt.Errorf("node: store: %w", err)
	}
	if len(s.flights) > 0 {
		s.land(s.flights[len(s.flights)-1], nil)
	}
	return nil
}

// queueItems puts a stored step's outbox items in the outbox, or keeps a
// flight's until it lands.
func (s *chanState) queueItems(st step, items []store.OutboxItem) {
	if st.pipelined && s.flying != nil && s.flying.pending != nil {
		s.flying.items = items
		return
	}
	s.outbox = append(s.outbox, items...)
	s.onQueued(st, items)
}

// land lands the flights up to f, which are durable unless err (f's fsync
// failed: Pebble treats a failed WAL write as fatal, so this is the store
// closing under us). It runs on the loop.
func (s *chanState) land(f *flight, err error) {
	k := -1
	for i, x := range s.flights {
		if x == f {
			k = i
		}
	}
	if k < 0 {
		return // landed already (a synced batch made it durable)
	}
	landing := s.flights[:k+1]
	s.flights = append(s.flights[:0:0], s.flights[k+1:]...)
	if err != nil {
		s.n.log.Error("posts not durable", "channel", s.id, "err", err)
		for _, x := range landing {
			x.finish(fmt.Errorf("node: store: %w", err), nil)
		}
		return
	}
	for _, x := range landing {
		s.outbox = append(s.outbox, x.items...)
		s.onQueued(x.st, x.items)
	}
	s.flushErr = s.flushOutbox(s.n.ctx)
	for _, x := range landing {
		s.answer(x)
	}
}

// answer tells a landed flight's senders their results.
func (s *chanState) answer(f *flight) {
	_, reason := s.queued()
	f.finish(nil, func(r *sendReq) {
		if r.seq != 0 {
			if r.res.Queued = s.inOutbox(r.seq); r.res.Queued {
				r.res.Reason = reason
			}
		}
	})
}

// post queues text on c and waits until the loop has stored it durably (and
// published it when a member is reachable). If ctx ends before the loop
// took it, it is withdrawn and not sent.
func (n *Node) post(ctx context.Context, c *channel, text string) (SendResult, uint64, error) {
	r := &sendReq{text: text, done: make(chan struct{})}
	c.sends.push(r)
	// doLive: a turn that finds the queue empty (an earlier turn took this
	// post) stores nothing; sendQueued stores the open batch of live gossip
	// before a step.
	err := c.doLive(ctx, func(s *chanState) error {
		// The batch carries other callers' posts: the node's context, not
		// this caller's, bounds it.
		s.sendQueued(n.ctx)
		return nil
	})
	if err != nil && c.sends.remove(r) {
		return SendResult{}, 0, err
	}
	// Taken by this turn of the loop or an earlier one; its flight lands
	// or the node closes.
	<-r.done
	return r.res, r.seq, r.err
}
