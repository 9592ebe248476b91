package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
)

// Event types of the node's event stream (docs/protocol.md, "Events").
const (
	EventMessage  = "message"  // a new post: Message
	EventEdit     = "edit"     // a post's new text: Message
	EventDelete   = "delete"   // a post deleted: Message
	EventReaction = "reaction" // reactions of a post changed: Message
	EventMember   = "member"   // Member Change: joined, left, removed, role, profile
	EventChannel  = "channel"  // Change: added (created, joined), renamed (Name), gone (we left or were removed)
	EventDelivery = "delivery" // our post MessageID is queued, sent or seen (By)
	EventPeer     = "peer"     // Peer connected (Online) or disconnected
	EventRead     = "read"     // Member read the channel up to MessageID (a read receipt)
	// EventReset says to (re)load what is shown, then go on: it starts a
	// live subscription, and says that events were lost (the node
	// restarted, or the client fell too far behind).
	EventReset = "reset"
)

// Delivery states of our own posts.
const (
	DeliveryQueued = "queued" // stored, in the outbox: no member reachable yet
	DeliverySent   = "sent"   // published to the members on the channel's topic
	DeliverySeen   = "seen"   // a member read it (read receipt) or referred to it (reply, reaction)
)

// Event is one change a client may show. Stream names the node process
// that numbered it; Seq grows by one per event of that stream. Message
// text appears only in Message, for the local owner; events are never
// logged.
type Event struct {
	Stream     string    `json:"stream"`
	Seq        uint64    `json:"seq"`
	Type       string    `json:"type"`
	Time       time.Time `json:"time"`
	Channel    string    `json:"channel,omitempty"`
	Message    *Message  `json:"message,omitempty"`
	Member     string    `json:"member,omitempty"`
	MemberName string    `json:"member_name,omitempty"`
	Change     string    `json:"change,omitempty"`
	Name       string    `json:"name,omitempty"`
	By         string    `json:"by,omitempty"`
	MessageID  string    `json:"message_id,omitempty"`
	Delivery   string    `json:"delivery,omitempty"`
	Peer       string    `json:"peer,omitempty"`
	Online     bool      `json:"online,omitempty"`
	// OldName is, for a profile change read from history (Page.Events),
	// the name the member had before.
	OldName string `json:"old_name,omitempty"`
}

// EventCursor is where a client of the stream stopped: the zero cursor
// asks for live events only, after an EventReset that marks where they
// start (a client loads its state when it gets it, and misses nothing);
// the last event received resumes after it;
// ReplayKept asks for every event the node still keeps, then live ones.
type EventCursor struct {
	Stream string `json:"stream,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
}

// ReplayKept is the cursor of the oldest event the node keeps.
var ReplayKept = EventCursor{Stream: "*"}

// Cursor returns the cursor that resumes after e.
func (e Event) Cursor() EventCursor { return EventCursor{Stream: e.Stream, Seq: e.Seq} }

const (
	// eventRing is how many recent events a node keeps for clients that
	// reconnect: one that missed more gets EventReset.
	eventRing = 4096
	// eventSubBuffer is a subscriber's queue; a subscriber that lets it
	// fill is resumed from the ring.
	eventSubBuffer = 1024
)

// eventHub numbers events, keeps the latest eventRing of them and fans them
// out. It is safe for concurrent use; publish never blocks.
type eventHub struct {
	stream string
	now    func() time.Time
	mu     struct {
		sync.Mutex
		seq uint64
		// ring holds the latest events: oldest first until it holds
		// eventRing of them, then a circle whose oldest is ring[head]
		// (kept): publishing allocates nothing once it is full.
		ring []Event
		head int
		subs map[*eventSub]struct{}
	}
}

type eventSub struct {
	ch      chan Event
	overrun bool // guarded by eventHub.mu: the queue was full, events lost
}

func newEventHub(now func() time.Time) *eventHub {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	h := &eventHub{stream: hex.EncodeToString(b), now: now}
	h.mu.subs = map[*eventSub]struct{}{}
	return h
}

// publish numbers e and hands it to every subscriber.
func (h *eventHub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mu.seq++
	e.Stream, e.Seq = h.stream, h.mu.seq
	if e.Time.IsZero() {
		e.Time = h.now().UTC()
	}
	if len(h.mu.ring) < eventRing {
		h.mu.ring = append(h.mu.ring, e)
	} else {
		h.mu.ring[h.mu.head] = e
		h.mu.head = (h.mu.head + 1) % eventRing
	}
	for s := range h.mu.subs {
		if s.overrun {
			continue
		}
		select {
		case s.ch <- e:
		default:
			s.overrun = true
			close(s.ch)
		}
	}
}

// subscribe registers a subscriber and returns, in the same step, the
// events it missed since from (or a reset when they are gone).
func (h *eventHub) subscribe(from EventCursor) (*eventSub, []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &eventSub{ch: make(chan Event, eventSubBuffer)}
	h.mu.subs[s] = struct{}{}
	return s, h.backlogLocked(from)
}

// backlogLocked returns the events after from still in the ring.
func (h *eventHub) backlogLocked(from EventCursor) []Event {
	reset := Event{Stream: h.stream, Seq: h.mu.seq, Type: EventReset, Time: h.now().UTC()}
	switch {
	case from.Stream == "":
		return []Event{reset} // where the stream starts: load the state now
	case from.Stream == ReplayKept.Stream:
		return h.keptLocked()
	case from.Stream != h.stream || from.Seq > h.mu.seq:
		return []Event{reset}
	case from.Seq == h.mu.seq:
		return nil
	}
	kept := h.keptLocked()
	if len(kept) == 0 || kept[0].Seq > from.Seq+1 {
		return []Event{reset}
	}
	return kept[from.Seq+1-kept[0].Seq:]
}

// keptLocked returns a copy of the events in the ring, oldest first.
func (h *eventHub) keptLocked() []Event {
	out := make([]Event, 0, len(h.mu.ring))
	out = append(out, h.mu.ring[h.mu.head:]...)
	return append(out, h.mu.ring[:h.mu.head]...)
}

func (h *eventHub) unsubscribe(s *eventSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.mu.subs, s)
}

// Events calls fn with every event of the node from the cursor on (live
// events only for the zero cursor; see EventCursor) until ctx ends, fn
// fails or the node closes (ErrClosed). A subscriber too slow to keep up
// is resumed from the events the node keeps, else sent EventReset: it
// never blocks the node.
func (n *Node) Events(ctx context.Context, from EventCursor, fn func(Event) error) error {
	for {
		s, backlog := n.events.subscribe(from)
		err := n.drain(ctx, s, backlog, &from, fn)
		n.events.unsubscribe(s)
		if err != nil {
			return err
		}
	}
}

// drain delivers backlog and then the subscription's events; it returns nil
// when the subscriber overran its queue and must resubscribe from *from.
func (n *Node) drain(ctx context.Context, s *eventSub, backlog []Event, from *EventCursor, fn func(Event) error) error {
	deliver := func(e Event) error {
		if e.Type != EventReset && e.Stream == from.Stream && e.Seq <= from.Seq {
			return nil // already delivered from the backlog
		}
		*from = e.Cursor()
		return fn(e)
	}
	for _, e := range backlog {
		if err := deliver(e); err != nil {
			return err
		}
	}
	for {
		select {
		case e, ok := <-s.ch:
			if !ok {
				return nil
			}
			if err := deliver(e); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-n.quit:
			return ErrClosed
		}
	}
}

// onApplied turns an applied CRDT event into stream events; it runs on the
// channel's loop, after the event is stored and applied. prevRead is, for
// a read receipt, the author's read position before it.
func (s *chanState) onApplied(e crdt.Event, prevRead crdt.ID, sh *shown) {
	n := s.n
	ev := Event{Channel: s.id}
	switch e.Kind {
	case crdt.KindPost:
		ev.Type = EventMessage
		if s.sawReference(e, e.Target) {
			sh.done = false // our post's delivery state changed: build the view again
		}
	case crdt.KindEdit:
		ev.Type = EventEdit
	case crdt.KindDelete:
		ev.Type = EventDelete
	case crdt.KindReact, crdt.KindUnreact:
		ev.Type = EventReaction
		if e.Kind == crdt.KindReact && s.sawReference(e, e.Target) {
			sh.done = false
		}
	case crdt.KindJoined, crdt.KindLeft, crdt.KindRemoved:
		ev.Type, ev.Member, ev.Change, ev.By = EventMember, e.Member, e.Kind.String(), e.ID.Author
		ev.MemberName = s.name(e.Member)
	case crdt.KindSetRole:
		ev.Type, ev.Member, ev.Change, ev.By = EventMember, e.Member, "role", e.ID.Author
		ev.MemberName, ev.Name = s.name(e.Member), e.Role.String()
	case crdt.KindProfile:
		ev.Type, ev.Member, ev.Change, ev.Name = EventMember, e.ID.Author, "profile", s.name(e.ID.Author)
		ev.MemberName = ev.Name
	case crdt.KindRename:
		ev.Type, ev.Change, ev.Name, ev.By = EventChannel, "renamed", e.Text, e.ID.Author
	case crdt.KindRead:
		s.onRead(e, prevRead)
		return
	default:
		return
	}
	if ev.Type == EventMessage || ev.Type == EventEdit || ev.Type == EventDelete || ev.Type == EventReaction {
		v, ok := sh.view()
		if !ok {
			return // not visible (author not a member): nothing to show
		}
		ev.Message = &v
	}
	n.events.publish(ev)
}

// onChannel announces a channel added to the node (created, joined or
// restored) or gone from it (we left or were removed).
func (n *Node) onChannel(id, change, name string) {
	n.events.publish(Event{Type: EventChannel, Channel: id, Change: change, Name: name})
}

// watchPeers turns the host's connection changes into peer events and
// debug logs until the node closes.
func (n *Node) watchPeers() {
	ch, err := n.host.PeerEvents(n.ctx)
	if err != nil {
		n.log.Warn("peer events", "err", err)
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for pe := range ch {
			if pe.Connected {
				n.log.Debug("peer connected", "peer", pe.Peer)
			} else {
				n.log.Debug("peer disconnected", "peer", pe.Peer)
			}
			n.events.publish(Event{Type: EventPeer, Peer: pe.Peer.String(), Online: pe.Connected})
		}
	}()
}
