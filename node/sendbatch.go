package node

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
)

// sendBatchMax bounds how many posts one step — one synced batch — carries.
const sendBatchMax = 256

// sendReq is one Send waiting for the channel's loop.
type sendReq struct {
	text string
	res  SendResult
	seq  uint64 // the post's outbox item, 0 when none (alone in the channel)
	err  error
	done chan struct{} // closed once res and err are set
}

// sendQueue holds the posts waiting for the channel's loop. Concurrent
// sends to one channel share a step: while the loop waits for one fsync,
// the next sends queue up, and the loop's next turn stores them all in one
// batch and one fsync (group commit). It is safe for concurrent use.
type sendQueue struct {
	mu   sync.Mutex
	reqs []*sendReq
}

func (q *sendQueue) push(r *sendReq) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.reqs = append(q.reqs, r)
}

// take removes and returns up to max waiting requests, oldest first.
func (q *sendQueue) take(max int) []*sendReq {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.reqs), max)
	out := q.reqs[:n:n]
	q.reqs = q.reqs[n:]
	return out
}

// remove withdraws r if no loop has taken it yet, and reports that.
func (q *sendQueue) remove(r *sendReq) bool {
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

// sendQueued posts the channel's waiting sends, up to sendBatchMax per
// step, until r is done, and tells each its result. It runs on the loop.
func (s *chanState) sendQueued(ctx context.Context, r *sendReq) {
	for {
		select {
		case <-r.done:
			return
		default:
		}
		reqs := s.c.sends.take(sendBatchMax)
		if len(reqs) == 0 {
			return // withdrawn: the caller's ctx ended
		}
		s.sendBatch(ctx, reqs)
	}
}

// sendBatch authors one post per request, stores them in one synced batch
// and publishes them; a request whose post the CRDT refuses fails alone.
func (s *chanState) sendBatch(ctx context.Context, reqs []*sendReq) {
	defer func() {
		for _, r := range reqs {
			close(r.done)
		}
	}()
	if err := s.gone(); err != nil {
		for _, r := range reqs {
			r.err = err
		}
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
		return
	}
	before := s.lastQueued
	err := s.run(ctx, step{events: events})
	if errors.Is(err, mls.ErrProposalsPending) {
		// A member who has proposals of the epoch (a leaver's Remove) must
		// commit them before sending (RFC 9420 §12.4).
		epoch := s.group.Epoch()
		var commit []byte
		if commit, err = s.group.CommitPending(); err != nil {
			s.rollback()
			err = fmt.Errorf("node: commit pending proposals: %w", err)
		} else {
			err = s.run(ctx, step{commit: commit, commitEpoch: epoch, events: events})
		}
	}
	_, reason := s.queued()
	for i, r := range owners {
		r.err = err
		if err != nil {
			continue
		}
		r.res = SendResult{ID: s.messageID(events[i].ID)}
		if s.lastQueued != before {
			// The posts' outbox items come last in the step, in order.
			r.seq = s.lastQueued - uint64(len(events)-1-i)
			if r.res.Queued = s.inOutbox(r.seq); r.res.Queued {
				r.res.Reason = reason
			}
		}
	}
}

// post queues text on c and waits until the loop has stored it (and
// published it when a member is reachable). If ctx ends before the loop
// took it, it is withdrawn and not sent.
func (n *Node) post(ctx context.Context, c *channel, text string) (SendResult, uint64, error) {
	r := &sendReq{text: text, done: make(chan struct{})}
	c.sends.push(r)
	err := c.do(ctx, func(s *chanState) error {
		// The batch carries other callers' posts: the node's context, not
		// this caller's, bounds it.
		s.sendQueued(n.ctx, r)
		return nil
	})
	if err != nil && c.sends.remove(r) {
		return SendResult{}, 0, err
	}
	// Taken by this turn of the loop or an earlier one, which always runs
	// to completion.
	<-r.done
	return r.res, r.seq, r.err
}
