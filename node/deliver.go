package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"iter"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// DeliverProtocol hands a member's queued envelopes (its outbox) straight to
// another member, who processes them as if they came by gossip and answers
// how many it now holds. Gossip alone gives no receipt: a node that publishes
// and stops at once (a command run without a daemon) loses messages. An
// outbox item leaves the outbox only once a member has taken it, so whatever
// `send` reports as `sent` is stored by at least one other member
// (docs/protocol.md, "Delivery").
const DeliverProtocol = "/spacepanda/deliver/1.0.0"

// maxDeliverItems bounds the envelopes of one delivery request.
const maxDeliverItems = 256

// maxDeliverRequest bounds a delivery request frame: the largest envelope
// (maxEnvelope, base64 in the JSON) fits with room to spare. The sender
// packs the head of its outbox up to it (deliverBatch); the handler
// refuses a longer frame unread.
const maxDeliverRequest = 1 << 20

// deliverLimits are the delivery protocol's: at most 16 requests served at
// once (4 per peer), so strangers sending whole frames hold at most 16 MiB.
var deliverLimits = p2p.Limits{MaxFrame: maxDeliverRequest, MaxRequest: maxDeliverRequest,
	Timeout: 30 * time.Second, MaxStreams: 16}

// deliverBatch returns how many leading items of the outbox one delivery
// request carries: at most maxDeliverItems, and no more than fit in
// maxDeliverRequest once base64-encoded in the JSON (at least one: an
// envelope is at most maxEnvelope).
func deliverBatch(items []store.OutboxItem) int {
	size := 64 // the JSON around the envelopes, and the channel ID
	for i, it := range items {
		size += base64.StdEncoding.EncodedLen(len(it.Data)) + 3
		if i == maxDeliverItems || i > 0 && size > maxDeliverRequest {
			return i
		}
	}
	return len(items)
}

// deliverTimeout bounds one delivery request.
const deliverTimeout = 10 * time.Second

type deliverRequest struct {
	Channel   string   `json:"channel"`
	Envelopes [][]byte `json:"envelopes"`
	// Readmit is a join response for the recipient, from the member that
	// admitted it, whose Add lost a commit conflict (readmit.go); it
	// comes alone, and is taken (Taken 1) or refused.
	Readmit []byte `json:"readmit,omitempty"`
}

type deliverResponse struct {
	// Taken is how many leading envelopes the member processed (stored,
	// already had, or refused for what they are); the rest stay in the
	// sender's outbox.
	Taken int `json:"taken"`
}

// serveDeliver processes a member's envelopes in order on the channel's
// loop. Only current members are served; it stops at the first envelope it
// cannot process now (a future epoch, an invalid message).
//
// The sender drops what we take from its outbox, so we answer only once
// what we took is stored: usually it came by gossip first and sits in the
// open batch of live gossip (receivelive.go), so the turn leaves that batch
// open (doLive: a delivery turn of its own that stored it would cost a
// write of the group state per delivery) and the answer waits until the
// batch is stored, at most liveChunkAge before a turn of our own stores it.
// What was new to us joins that batch like live gossip, and is synced
// before we answer. A batch dropped instead (a store failure) takes
// nothing: the sender offers it again.
func (n *Node) serveDeliver(ctx context.Context, from p2p.PeerID, raw []byte) ([]byte, error) {
	var req deliverRequest
	if err := json.Unmarshal(raw, &req); err != nil || len(req.Envelopes) > maxDeliverItems {
		return nil, codedf(ErrProtocol, "malformed delivery request")
	}
	c := n.channel(req.Channel)
	if c == nil {
		return nil, codedf(ErrNoChannel, "unknown channel")
	}
	if req.Readmit != nil {
		err := c.do(ctx, func(s *chanState) error { return s.takeReadmission(ctx, from.String(), req.Readmit) })
		if err != nil {
			n.log.Info("re-admission refused", "channel", req.Channel, "from", from, "err", err)
			return nil, coded(err)
		}
		return json.Marshal(deliverResponse{Taken: 1})
	}
	var taken int
	var end *chunkEnd // the open batch that holds what we took, if any
	fresh := false    // it holds messages new to us
	err := c.doLive(ctx, func(s *chanState) error {
		if s.meta.Removed || !s.group.Active() || !containsMember(s.group.Members(), from.String()) {
			return codedf(ErrForbidden, "not a member")
		}
		seq, evSeq, fails := s.lastSeq, s.lastEventSeq, s.chunkFailures
		s.recvFrom = from
		defer func() {
			s.recvFrom = ""
			if s.chunkFailures != fails {
				// A batch that held some of them was dropped (a store
				// failure): they were not kept, the sender offers them
				// again.
				taken, end = 0, nil
			}
		}()
		for _, raw := range req.Envelopes {
			if drop := n.cfg.FaultDropLive; drop != nil && drop(req.Channel, raw) {
				taken++ // lost on the way, as far as the sender can tell
				continue
			}
			env, err := decodeEnvelope(raw)
			if err != nil || env.epoch > s.group.Epoch() {
				if err == nil {
					s.buffer(env)
				}
				break
			}
			// A message refused for what it is (not for a failure here) is
			// taken too: offering it again would be refused again.
			err = s.receive(ctx, env)
			if err != nil && ctx.Err() == nil {
				n.log.Debug("delivered message refused", "channel", s.id, "from", from, "err", err)
			}
			if err != nil && (ctx.Err() != nil || errors.Is(err, errStore)) {
				break
			}
			taken++
		}
		if s.liveOpen() && s.chunkDirty {
			if s.lastSeq-s.chunkSeq >= liveChunkMax || time.Since(s.chunkSince) >= liveChunkAge || s.snapshotDue() {
				s.storeLive()
			}
		}
		fresh = s.lastSeq != seq || s.lastEventSeq != evSeq
		if s.liveOpen() && s.chunkDirty {
			end = s.onChunkEnd()
		}
		return nil
	})
	if err != nil {
		return nil, coded(err)
	}
	switch {
	case end != nil:
		taken = n.awaitChunk(ctx, c, end, fresh, taken)
	case fresh && taken > 0:
		// Stored in this turn without an fsync (the open batch reached
		// its bound): synced before we answer, as awaitChunk does.
		if err := n.db.Sync(ctx); err != nil {
			taken = 0
		}
	}
	n.log.Debug("took delivered messages", "channel", req.Channel, "from", from, "taken", taken, "offered", len(req.Envelopes))
	return json.Marshal(deliverResponse{Taken: taken})
}

// awaitChunk waits until the open batch of live gossip end tells about is
// stored (a turn that stores it runs after liveChunkAge), syncs it if it
// holds messages new to us, and returns taken, or 0 if it was dropped or
// ctx ended.
func (n *Node) awaitChunk(ctx context.Context, c *channel, end *chunkEnd, fresh bool, taken int) int {
	t := time.NewTimer(liveChunkAge)
	defer t.Stop()
	select {
	case <-end.done:
	case <-t.C:
		// A turn that is not doLive stores the open batch first.
		c.do(ctx, func(*chanState) error { return nil }) //nolint:errcheck // ctx or ErrClosed: checked below
	case <-ctx.Done():
	}
	select {
	case <-end.done:
	default:
		return 0 // ctx ended or the channel closed before it was stored
	}
	if !end.ok {
		return 0
	}
	if fresh {
		if err := n.db.Sync(ctx); err != nil {
			return 0
		}
	}
	return taken
}

// deliveryPeers returns the members other than us that the host is
// connected to.
func (s *chanState) deliveryPeers() []p2p.PeerID {
	return slices.Collect(s.connectedMembers())
}

// hasDeliveryPeer reports whether deliveryPeers would return any: without
// building the list, as the flush after every landing asks.
func (s *chanState) hasDeliveryPeer() bool {
	for range s.connectedMembers() {
		return true
	}
	return false
}

// connectedMembers yields the other members we are connected to.
func (s *chanState) connectedMembers() iter.Seq[p2p.PeerID] {
	return func(yield func(p2p.PeerID) bool) {
		if s.n.host == nil {
			return
		}
		for _, m := range s.group.Members() {
			if m != s.n.id.peerID && s.n.host.Connected(p2p.PeerID(m)) && !yield(p2p.PeerID(m)) {
				return
			}
		}
	}
}

// maybeDeliver hands the head of the outbox to a connected member, unless a
// delivery is in flight. It runs on the channel's loop; the request runs in
// a goroutine and hands the answer back to the loop.
func (s *chanState) maybeDeliver() {
	if s.delivering || len(s.outbox) == 0 || s.n.host == nil {
		return
	}
	peers := s.deliveryPeers()
	if len(peers) == 0 {
		return
	}
	// Start at a random member, so that the members' deliveries spread
	// over the channel instead of all going to the first one.
	k := rand.IntN(len(peers))
	peers = slices.Concat(peers[k:], peers[:k])
	items := append([]store.OutboxItem(nil), s.outbox[:deliverBatch(s.outbox)]...)
	envs := make([][]byte, len(items))
	for i, it := range items {
		envs[i] = it.Data
	}
	req, _ := json.Marshal(deliverRequest{Channel: s.id, Envelopes: envs})
	s.delivering = true
	c, n := s.c, s.n
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		taken := n.deliverTo(peers, req)
		// doLive: removing taken items from the outbox does not depend
		// on the open batch of live gossip (receivelive.go).
		c.doLive(n.ctx, func(s *chanState) error { //nolint:errcheck // ErrClosed at shutdown
			s.delivering = false
			s.delivered(n.ctx, items[:min(taken, len(items))])
			if taken > 0 {
				s.maybeDeliver()
			}
			return nil
		})
	}()
}

// deliverTo offers the request to the peers in turn and returns the most
// envelopes one of them took.
func (n *Node) deliverTo(peers []p2p.PeerID, req []byte) int {
	best := 0
	for _, p := range peers {
		ctx, cancel := context.WithTimeout(n.ctx, deliverTimeout)
		raw, err := n.host.Request(ctx, p, DeliverProtocol, req, deliverLimits)
		cancel()
		var resp deliverResponse
		if err != nil || json.Unmarshal(raw, &resp) != nil {
			n.log.Debug("delivery failed", "peer", p, "err", err)
			continue
		}
		n.log.Debug("delivered", "peer", p, "taken", resp.Taken)
		best = max(best, resp.Taken)
		if best > 0 {
			break
		}
	}
	return best
}

// delivered removes from the outbox the items a member took.
func (s *chanState) delivered(ctx context.Context, items []store.OutboxItem) {
	if len(items) == 0 {
		return
	}
	b := &store.Batch{}
	done := map[uint64]bool{}
	for _, it := range items {
		b.DeleteOutbox(store.ChannelID(s.id), it.Seq)
		done[it.Seq] = true
	}
	// Its loss in a crash is harmless (the item is published again and
	// dropped as a duplicate): no fsync of its own; the next synced batch,
	// or retryLoop's sync, makes it durable.
	if err := s.n.applyNoSync(ctx, b); err != nil {
		s.n.log.Warn("outbox", "channel", s.id, "err", err)
		return
	}
	rest := s.outbox[:0:0]
	for _, it := range s.outbox {
		if !done[it.Seq] {
			rest = append(rest, it)
		} else {
			s.onPublished(it, len(s.group.Members()) <= 1)
		}
	}
	s.outbox = rest
	if len(s.outbox) == 0 {
		s.flushErr = nil
	}
	if s.taken != nil {
		close(s.taken)
		s.taken = nil
	}
}

// outboxTaken returns a channel closed when items next leave the outbox.
func (s *chanState) outboxTaken() <-chan struct{} {
	if s.taken == nil {
		s.taken = make(chan struct{})
	}
	return s.taken
}

// inOutbox reports whether the outbox still holds the item seq.
func (s *chanState) inOutbox(seq uint64) bool {
	for _, it := range s.outbox {
		if it.Seq == seq {
			return true
		}
	}
	return false
}

// errStore marks a failure of this node's store while processing a received
// message: the message was not refused, and may be offered again.
var errStore = errors.New("node: store")
