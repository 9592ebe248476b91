package node

import (
	"encoding/binary"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/store"
)

// Delivery state of own posts (docs/protocol.md, "Delivery state").
//
// An outbox item holds an encrypted envelope, which this node cannot map
// back to the post it carries. So the item of an own post carries a
// reference to the post (store.OutboxItem.Ref, written, loaded and deleted
// with the item in the same batches): a post is queued while an item that
// carries it is in the outbox, seen once a member's read receipt covers it
// or a member reacted to it, and sent otherwise. Everything is derived from
// durable state, so every client and every run of the node agrees.

// postRef is the reference of an outbox item that carries our post id:
// a version byte and the post's counter (its author is this node).
func postRef(id crdt.ID) []byte {
	return binary.BigEndian.AppendUint64([]byte{postRefVersion}, id.Seq)
}

const postRefVersion = 1

// refPost returns the counter of the post an item's reference names.
func refPost(ref []byte) (uint64, bool) {
	if len(ref) != 9 || ref[0] != postRefVersion {
		return 0, false
	}
	return binary.BigEndian.Uint64(ref[1:]), true
}

// deliveries tracks our posts' delivery. Only the channel's loop touches it.
type deliveries struct {
	// queued counts, per post counter, the outbox items that carry the
	// post (a post re-sent after a lost commit conflict may have two).
	queued map[uint64]int
	// announce holds posts counted in queued whose queued event is not
	// published yet (countQueued, onQueued).
	announce map[uint64]bool
	// sentAt holds posts of this run until their first receipt, for the
	// delivery latency histogram.
	sentAt map[string]sentPost
}

// sentPost is an own post waiting for its first receipt.
type sentPost struct {
	at time.Time // when it was queued
	id crdt.ID
}

// maxTracked bounds the posts a channel tracks for the latency histogram.
const maxTracked = 1024

func (s *chanState) deliveries() *deliveries {
	if s.dlv == nil {
		s.dlv = &deliveries{queued: map[uint64]int{}, announce: map[uint64]bool{}, sentAt: map[string]sentPost{}}
		for _, it := range s.outbox { // restored from the store (restore calls this first)
			if p, ok := refPost(it.Ref); ok {
				s.dlv.queued[p]++
			}
		}
	}
	return s.dlv
}

// delivery returns the delivery state of m (our post), with seenBy the
// members whose read receipts cover it.
func (s *chanState) delivery(m crdt.Message, seenBy []string) string {
	if len(seenBy) > 0 {
		return DeliverySeen
	}
	for _, r := range m.Reactions {
		for _, a := range r.Authors {
			if a != s.n.id.peerID {
				return DeliverySeen
			}
		}
	}
	if s.deliveries().queued[m.ID.Seq] > 0 {
		return DeliveryQueued
	}
	return DeliverySent
}

// postState returns the delivery state of our post with counter seq, ""
// when it is not visible.
func (s *chanState) postState(seq uint64) (string, string) {
	id := crdt.ID{Author: s.n.id.peerID, Seq: seq}
	m, err := s.crdt.Message(id)
	if err != nil {
		return "", ""
	}
	return s.messageID(id), s.delivery(m, s.crdt.ReadBy(id))
}

// countQueued counts the own posts a stored step's outbox items carry as
// queued. It runs before the step's events are applied, so that the
// message events show our new posts queued (a flight's items join the
// outbox only when it lands, later).
func (s *chanState) countQueued(items []store.OutboxItem) {
	d := s.deliveries()
	for _, it := range items {
		if p, ok := refPost(it.Ref); ok {
			d.queued[p]++
			if d.queued[p] == 1 {
				d.announce[p] = true
			}
		}
	}
}

// onQueued runs when a step's outbox items are in the outbox: each own
// post that was not queued before is announced queued, unless a member
// has seen it already (a post re-sent after a lost conflict).
func (s *chanState) onQueued(st step, items []store.OutboxItem) {
	if st.commit != nil {
		s.n.log.Debug("commit applied", "channel", s.id, "epoch", st.commitEpoch+1, "committer", s.n.id.peerID, "own", true)
	}
	d := s.deliveries()
	for _, it := range items {
		p, ok := refPost(it.Ref)
		if !ok || !d.announce[p] {
			continue
		}
		delete(d.announce, p)
		id, state := s.postState(p)
		if state != DeliveryQueued {
			continue
		}
		if !st.resend && len(d.sentAt) < maxTracked {
			d.sentAt[id] = sentPost{at: s.n.cfg.Now(), id: crdt.ID{Author: s.n.id.peerID, Seq: p}}
		}
		s.n.events.publish(Event{Type: EventDelivery, Channel: s.id, MessageID: id, Delivery: DeliveryQueued})
	}
}

// onPublished runs when an outbox item left the outbox: a member took it,
// or the channel has nobody else in it (alone). The last item that
// carries one of our posts makes the post sent.
func (s *chanState) onPublished(it store.OutboxItem, alone bool) {
	if !alone {
		s.n.metrics.sent.Inc()
		s.n.log.Debug("outbox delivered", "channel", s.id, "seq", it.Seq, "bytes", len(it.Data))
	}
	p, ok := refPost(it.Ref)
	if !ok {
		return
	}
	d := s.deliveries()
	if d.queued[p] > 1 {
		d.queued[p]--
		return
	}
	delete(d.queued, p)
	delete(d.announce, p)
	if id, state := s.postState(p); state == DeliverySent {
		s.n.events.publish(Event{Type: EventDelivery, Channel: s.id, MessageID: id, Delivery: DeliverySent})
	}
}

// sawReference records that another member's event e refers to our post
// target: proof that they received it. The first such receipt ends the
// post's delivery latency. It reports whether e was such an event.
func (s *chanState) sawReference(e crdt.Event, target crdt.ID) bool {
	if target.IsZero() || target.Author != s.n.id.peerID || e.ID.Author == s.n.id.peerID {
		return false
	}
	s.seen(s.messageID(target), e.ID.Author)
	return true
}

// seen publishes that member by has our post id; the first receipt ends
// the post's delivery latency.
func (s *chanState) seen(id, by string) {
	d := s.deliveries()
	if p, ok := d.sentAt[id]; ok {
		delete(d.sentAt, id)
		s.n.metrics.deliveryLatency.Observe(s.n.cfg.Now().Sub(p.at).Seconds())
	}
	s.n.events.publish(Event{Type: EventDelivery, Channel: s.id, MessageID: id, Delivery: DeliverySeen, By: by})
}

// maxSeenWalk bounds the posts a read receipt walks back over to announce
// our posts it newly covers: a member who catches up on more than that at
// once has the older ones announced by the stream's readers' next load.
const maxSeenWalk = 512

// onReadSeen announces our posts that member's read position pos covers
// and its previous position prev (zero if none) did not, newest first, up
// to maxSeenWalk posts back.
func (s *chanState) onReadSeen(member string, prev, pos crdt.ID) {
	walked := 0
	cur := pos
	// pos itself, then the posts before it.
	if m, err := s.crdt.Message(pos); err == nil && m.ID.Author == s.n.id.peerID {
		s.seen(s.messageID(pos), member)
	}
	for walked < maxSeenWalk {
		ms, err := s.crdt.Messages(cur, min(128, maxSeenWalk-walked))
		if err != nil || len(ms) == 0 {
			return
		}
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if !prev.IsZero() && (m.ID == prev || s.crdt.After(prev, m.ID)) {
				return
			}
			if m.ID.Author == s.n.id.peerID {
				s.seen(s.messageID(m.ID), member)
			}
		}
		walked += len(ms)
		cur = ms[0].ID
	}
}
