package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/store"
)

// snapshotEvery is how many events a channel applies between CRDT snapshots:
// restoring a channel reads its snapshot and at most this many events.
const snapshotEvery = 128

// channel is the handle on one channel's owner loop. Everything that reads or
// changes the channel's state runs as a request on the loop.
type channel struct {
	id   string
	reqs chan func(*chanState)
	quit <-chan struct{} // closed when the node closes
	done chan struct{}   // closed when the loop has returned
}

// do runs fn on the channel's loop and returns its error. It honours ctx
// while waiting; fn itself always runs to completion once started.
func (c *channel) do(ctx context.Context, fn func(*chanState) error) error {
	errc := make(chan error, 1)
	select {
	case c.reqs <- func(s *chanState) { errc <- fn(s) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-c.quit:
		return ErrClosed
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop serves requests until the node closes.
func (c *channel) loop(s *chanState) {
	defer close(c.done)
	for {
		select {
		case fn := <-c.reqs:
			fn(s)
		case <-c.quit:
			s.closeSubs()
			return
		}
	}
}

// channelMeta is the node's metadata of a channel, stored with PutChannel.
type channelMeta struct {
	Version int               `json:"v"`
	Names   map[string]string `json:"names,omitempty"` // peer ID -> display name
}

// chanState is a channel's state. Only the channel's loop touches it.
type chanState struct {
	n            *Node
	id           string
	meta         channelMeta
	crdt         *crdt.State
	clock        *crdt.Clock
	group        group // nil while the build has no MLS
	lastSeq      uint64
	lastEventSeq uint64
	sinceSnap    int
	outbox       []store.OutboxItem
	subs         map[int]chan Message
	nextSub      int
}

// restoreState rebuilds a channel from what the store loaded: the snapshot
// and the events after it (never the log), and the MLS group from its bytes.
func restoreState(n *Node, cs store.ChannelState) (*chanState, error) {
	s := &chanState{n: n, id: string(cs.ID), crdt: crdt.New(), subs: map[int]chan Message{}}
	if err := json.Unmarshal(cs.Meta, &s.meta); err != nil {
		return nil, fmt.Errorf("node: channel %s metadata: %w", cs.ID, err)
	}
	if cs.Snapshot != nil {
		st, err := crdt.Restore(cs.Snapshot.Data)
		if err != nil {
			return nil, fmt.Errorf("node: channel %s snapshot: %w", cs.ID, err)
		}
		s.crdt = st
	}
	for _, ev := range cs.Events {
		var e crdt.Event
		if err := e.UnmarshalBinary(ev.Data); err != nil {
			return nil, fmt.Errorf("node: channel %s event %d: %w", cs.ID, ev.Seq, err)
		}
		if err := s.crdt.Apply(e); err != nil && !errors.Is(err, crdt.ErrDuplicate) {
			return nil, fmt.Errorf("node: channel %s event %d: %w", cs.ID, ev.Seq, err)
		}
	}
	s.sinceSnap = len(cs.Events)
	s.clock = crdt.NewClock(s.crdt.MaxTime())
	s.lastSeq, s.lastEventSeq, s.outbox = cs.LastSeq, cs.LastEventSeq, cs.Outbox
	if cs.Group != nil {
		g, err := n.eng.Load(cs.Group)
		if err != nil {
			return nil, fmt.Errorf("node: channel %s group: %w", cs.ID, err)
		}
		s.group = g
	}
	return s, nil
}

// info summarises the channel.
func (s *chanState) info() ChannelInfo {
	ci := ChannelInfo{ID: s.id, Name: s.crdt.Metadata().Name, Members: len(s.crdt.Members())}
	if s.group != nil {
		ci.Epoch, ci.Encrypted = s.group.Epoch(), true
	}
	return ci
}

// name returns a member's display name, or "" when unknown.
func (s *chanState) name(peerID string) string {
	if peerID == s.n.id.peerID {
		return s.n.id.name
	}
	return s.meta.Names[peerID]
}

// metaBytes encodes the metadata for PutChannel.
func (s *chanState) metaBytes() []byte {
	b, _ := json.Marshal(s.meta) // a struct of strings always encodes
	return b
}

// applyLocal authors e as this node: assigns its ID and time, checks it
// against the channel's rules, stores it (event, MLS message, new group state
// and outbox item in one synced batch), applies it, and publishes it.
func (s *chanState) applyLocal(ctx context.Context, e crdt.Event) (crdt.Event, SendResult, error) {
	e.ID = s.crdt.Next(s.n.id.peerID)
	e.Time = s.clock.Now(s.n.nowMs())
	if err := s.crdt.Check(e); err != nil {
		return e, SendResult{}, crdtError(err)
	}
	b, item, err := s.localBatch(e)
	if err != nil {
		return e, SendResult{}, err
	}
	if err := s.n.db.Apply(ctx, b); err != nil {
		return e, SendResult{}, fmt.Errorf("node: store: %w", err)
	}
	s.commitApplied(e, b)
	s.outbox = append(s.outbox, item)
	res := SendResult{ID: messageID(e.ID)}
	res.Queued, res.Reason = s.deliver(ctx, item)
	s.maybeSnapshot(ctx)
	return e, res, nil
}

// localBatch builds the batch of a local event. Without an MLS group the
// outbox item holds the event for a later build to encrypt: it never leaves
// the node in the clear.
func (s *chanState) localBatch(e crdt.Event) (*store.Batch, store.OutboxItem, error) {
	bin, err := e.MarshalBinary()
	if err != nil {
		return nil, store.OutboxItem{}, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	b := &store.Batch{}
	b.PutEvent(store.ChannelID(s.id), store.Event{Seq: s.lastEventSeq + 1, Data: bin})
	item := store.OutboxItem{Seq: s.nextOutboxSeq(), Data: append([]byte{outboxPlain}, bin...)}
	if s.group != nil {
		payload, err := e.MarshalPayload()
		if err != nil {
			return nil, item, fmt.Errorf("%w: %v", ErrInvalidInput, err)
		}
		msg, err := s.group.Encrypt(payload)
		if err != nil {
			return nil, item, fmt.Errorf("node: encrypt: %w", err)
		}
		if err := s.putGroup(b); err != nil {
			return nil, item, err
		}
		b.Append(store.ChannelID(s.id), store.Entry{Seq: s.lastSeq + 1, Epoch: s.group.Epoch(), Data: msg})
		item.Data = append([]byte{outboxSealed}, msg...)
	}
	b.PutOutbox(store.ChannelID(s.id), item)
	return b, item, nil
}

// putGroup adds the group's current state to b.
func (s *chanState) putGroup(b *store.Batch) error {
	st, err := s.group.Marshal()
	if err != nil {
		return fmt.Errorf("node: group state: %w", err)
	}
	b.SetGroup(store.ChannelID(s.id), s.group.Epoch(), st)
	return nil
}

// Outbox item kinds: the first byte of OutboxItem.Data.
const (
	outboxPlain  = 0 // a CRDT event waiting for an MLS group; never published
	outboxSealed = 1 // an MLSMessage ready to publish
)

func (s *chanState) nextOutboxSeq() uint64 {
	if len(s.outbox) == 0 {
		return 1
	}
	return s.outbox[len(s.outbox)-1].Seq + 1
}

// commitApplied updates the in-memory state after b is durable.
func (s *chanState) commitApplied(e crdt.Event, b *store.Batch) {
	if err := s.crdt.Apply(e); err != nil && !errors.Is(err, crdt.ErrDuplicate) {
		s.n.log.Warn("apply stored event", "channel", s.id, "err", err)
	}
	s.lastEventSeq++
	if s.group != nil && b != nil {
		s.lastSeq++
	}
	s.sinceSnap++
	s.notify(e)
}

// maybeSnapshot writes a CRDT snapshot every snapshotEvery events.
func (s *chanState) maybeSnapshot(ctx context.Context) {
	if s.sinceSnap < snapshotEvery {
		return
	}
	b := &store.Batch{}
	b.PutSnapshot(store.ChannelID(s.id), store.Snapshot{EventSeq: s.lastEventSeq, LogSeq: s.lastSeq, Data: s.crdt.Snapshot()})
	if err := s.n.db.Apply(ctx, b); err != nil {
		s.n.log.Warn("snapshot", "channel", s.id, "err", err)
		return
	}
	s.sinceSnap = 0
}

// deliver publishes an outbox item and removes it once a member received it.
// It reports whether the item stays queued, and why.
func (s *chanState) deliver(ctx context.Context, it store.OutboxItem) (queued bool, reason string) {
	if len(it.Data) == 0 || it.Data[0] != outboxSealed {
		return true, "no MLS group: " + ErrMLSUnavailable.Error()
	}
	if err := s.n.publish(ctx, s.id, it.Data[1:]); err != nil {
		return true, err.Error()
	}
	b := &store.Batch{}
	b.DeleteOutbox(store.ChannelID(s.id), it.Seq)
	if err := s.n.db.Apply(ctx, b); err != nil {
		s.n.log.Warn("outbox delete", "channel", s.id, "err", err)
		return false, ""
	}
	s.dropOutbox(it.Seq)
	return false, ""
}

func (s *chanState) dropOutbox(seq uint64) {
	for i, it := range s.outbox {
		if it.Seq == seq {
			s.outbox = append(s.outbox[:i:i], s.outbox[i+1:]...)
			return
		}
	}
}

// flushOutbox tries to deliver every queued item, oldest first.
func (s *chanState) flushOutbox(ctx context.Context) {
	for _, it := range append([]store.OutboxItem(nil), s.outbox...) {
		if q, _ := s.deliver(ctx, it); q {
			return
		}
	}
}

// notify tells followers about the message e concerns.
func (s *chanState) notify(e crdt.Event) {
	if len(s.subs) == 0 {
		return
	}
	target := e.Target
	if e.Kind == crdt.KindPost {
		target = e.ID
	}
	if target.IsZero() {
		return
	}
	m, err := s.crdt.Message(target)
	if err != nil {
		return
	}
	msg := s.view(m)
	for id, c := range s.subs {
		select {
		case c <- msg:
		default:
			s.n.log.Warn("follower too slow; message dropped from its stream", "channel", s.id, "sub", id)
		}
	}
}

func (s *chanState) closeSubs() {
	for id, c := range s.subs {
		close(c)
		delete(s.subs, id)
	}
}

// crdtError maps a crdt verdict to the node's errors.
func crdtError(err error) error {
	switch {
	case errors.Is(err, crdt.ErrForbidden):
		return fmt.Errorf("%w: %v", ErrForbidden, err)
	case errors.Is(err, crdt.ErrUnknownMessage):
		return fmt.Errorf("%w: %v", ErrNoMessage, err)
	case errors.Is(err, crdt.ErrInviteExpired):
		return fmt.Errorf("%w: %v", ErrInviteExpired, err)
	case errors.Is(err, crdt.ErrInviteRevoked):
		return fmt.Errorf("%w: %v", ErrInviteRevoked, err)
	case errors.Is(err, crdt.ErrInviteUsedUp):
		return fmt.Errorf("%w: %v", ErrInviteUsedUp, err)
	case errors.Is(err, crdt.ErrInviteUnknown):
		return fmt.Errorf("%w: %v", ErrInviteUnknown, err)
	case errors.Is(err, crdt.ErrInvalid), errors.Is(err, crdt.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return fmt.Errorf("node: %w", err)
}

var _ = slog.LevelInfo
