package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/store"
)

// channelIDLen is the length in bytes of a new channel (MLS group) ID.
const channelIDLen = 16

// Status describes the node: identity, addresses, peers and channels, and
// the process that runs it.
func (n *Node) Status(ctx context.Context) (Status, error) {
	chans, err := n.Channels(ctx)
	if err != nil {
		return Status{}, err
	}
	st := Status{PeerID: n.id.peerID, Name: n.displayName(), Addrs: []string{}, Peers: []string{}, Channels: chans,
		Daemon: n.cfg.Daemon, Process: n.cfg.Holder, PID: os.Getpid(), Started: n.opened.UTC().Truncate(time.Second)}
	if n.host != nil {
		st.Online = true
		st.Addrs = n.host.Addrs()
	}
	if st.Named, err = n.Peers(ctx); err != nil {
		return Status{}, err
	}
	for _, p := range st.Named {
		st.Peers = append(st.Peers, p.ID)
	}
	return st, nil
}

// Peers returns the connected peers, with the display names known from the
// channels; offline, none.
func (n *Node) Peers(ctx context.Context) ([]PeerInfo, error) {
	out := []PeerInfo{}
	if n.host == nil {
		return out, nil
	}
	names := n.peerNames(ctx)
	for _, p := range n.host.Peers() {
		pi := PeerInfo{ID: p.String(), Name: names[p.String()], Addrs: n.host.PeerAddrs(p), Via: []string{}}
		conns := n.host.Conns(p)
		pi.Relayed = len(conns) > 0
		for _, c := range conns {
			pi.Via = append(pi.Via, c.Addr)
			pi.Relayed = pi.Relayed && c.Relayed
		}
		out = append(out, pi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// peerNames collects the display names the channels know.
func (n *Node) peerNames(ctx context.Context) map[string]string {
	names := map[string]string{}
	for _, c := range n.channelList() {
		c.do(ctx, func(s *chanState) error { //nolint:errcheck // a closing node: fewer names
			for _, m := range s.group.Members() {
				if nm := s.name(m); nm != "" {
					names[m] = nm
				}
			}
			for p, nm := range s.meta.Names {
				if names[p] == "" {
					names[p] = nm
				}
			}
			return nil
		})
	}
	return names
}

// CreateChannel creates a channel whose only member, and owner, is this
// node: a new MLS group with a random ID and a CRDT whose first event is
// Create, stored in one batch.
func (n *Node) CreateChannel(ctx context.Context, name string) (ChannelInfo, error) {
	if err := checkName(name); err != nil {
		return ChannelInfo{}, err
	}
	raw := make([]byte, channelIDLen)
	if _, err := rand.Read(raw); err != nil {
		return ChannelInfo{}, fmt.Errorf("node: channel ID: %w", err)
	}
	g, err := n.eng.NewGroup(raw)
	if err != nil {
		return ChannelInfo{}, fmt.Errorf("node: new group: %w", err)
	}
	s := &chanState{n: n, id: hex.EncodeToString(raw), crdt: crdt.New(), clock: crdt.NewClock(crdt.Time{}),
		subs: map[int]*follower{}, meta: channelMeta{Version: 1}, group: g}
	e := crdt.Event{ID: s.crdt.Next(n.id.peerID), Time: s.clock.Now(n.nowMs()), Kind: crdt.KindCreate, Text: name}
	if err := s.crdt.Check(e); err != nil {
		return ChannelInfo{}, crdtError(err)
	}
	bin, err := e.MarshalBinary()
	if err != nil {
		return ChannelInfo{}, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	b := &store.Batch{}
	b.PutChannel(store.ChannelID(s.id), s.metaBytes())
	if s.stored, err = s.putGroup(b); err != nil {
		return ChannelInfo{}, err
	}
	b.PutEvent(store.ChannelID(s.id), store.Event{Seq: 1, Data: bin})
	if err := n.db.Apply(ctx, b); err != nil {
		return ChannelInfo{}, fmt.Errorf("node: store: %w", err)
	}
	s.commitApplied(e)
	info := s.info()
	c := n.startChannel(s)
	n.watch(ctx, c)
	n.announceName(ctx, c)
	return info, nil
}

// Channels lists the channels, by ID.
func (n *Node) Channels(ctx context.Context) ([]ChannelInfo, error) {
	out := []ChannelInfo{}
	for _, c := range n.channelList() {
		var ci ChannelInfo
		if err := c.do(ctx, func(s *chanState) error { ci = s.info(); return nil }); err != nil {
			return nil, err
		}
		out = append(out, ci)
	}
	for _, d := range n.damagedList() {
		out = append(out, d.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Members lists a channel's members, by peer ID: every leaf of the MLS
// tree, with its role from the group context and its display name where
// known.
func (n *Node) Members(ctx context.Context, channel string) ([]MemberInfo, error) {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return nil, err
	}
	var out []MemberInfo
	err = c.do(ctx, func(s *chanState) error {
		roles := s.group.Roles()
		for _, m := range s.group.Members() {
			out = append(out, MemberInfo{ID: m, Name: s.name(m), Role: roles.of(m).String()})
		}
		slices.SortFunc(out, func(a, b MemberInfo) int { return strings.Compare(a.ID, b.ID) })
		return nil
	})
	return out, err
}

// Send posts text to the channel. It returns once the message is durably
// stored and a member has taken it (SendResult.Queued false), or, when none
// does within the delivery wait, says it is queued: it stays in the outbox
// and any later run of the node delivers it.
func (n *Node) Send(ctx context.Context, channel, text string) (SendResult, error) {
	if err := checkText(text); err != nil {
		return SendResult{}, err
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return SendResult{}, err
	}
	res, seq, err := n.post(ctx, c, text)
	if err != nil || !res.Queued || seq == 0 {
		return res, err
	}
	n.waitDelivery(ctx, c, seq, &res)
	return res, nil
}

// defaultDeliveryWait is how long a daemon's Send waits for a connected
// member to take a message before it reports it queued.
const defaultDeliveryWait = 3 * time.Second

// waitDelivery waits until the outbox item seq has been taken by a member,
// the delivery wait passes, or (in a daemon) no member is connected.
func (n *Node) waitDelivery(ctx context.Context, c *channel, seq uint64, res *SendResult) {
	wait := n.cfg.DeliveryWait
	if wait <= 0 {
		wait = defaultDeliveryWait
	}
	deadline := time.Now().Add(wait)
	for {
		var peers bool
		var taken <-chan struct{}
		// doLive: this only reads memory and may start a delivery
		// (maybeDeliver), whose answer comes in a turn of its own.
		c.doLive(ctx, func(s *chanState) error { //nolint:errcheck // the result stays queued
			res.Queued = s.inOutbox(seq)
			if res.Queued {
				s.maybeDeliver()
				peers = s.hasDeliveryPeer()
				_, res.Reason = s.queued()
				taken = s.outboxTaken()
			}
			return nil
		})
		if !res.Queued || time.Now().After(deadline) || n.host == nil ||
			!peers && n.cfg.DeliveryWait <= 0 {
			return
		}
		// Look again when items leave the outbox, or after
		// deliveryRecheck (a failed delivery is offered again, a member
		// may have connected), or at the deadline.
		t := time.NewTimer(min(deliveryRecheck, time.Until(deadline)+time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-taken:
		case <-t.C:
		}
		t.Stop()
	}
}

// deliveryRecheck is how often a Send waiting for a member to take its
// post looks again without being woken (waitDelivery).
const deliveryRecheck = 250 * time.Millisecond

// queued reports whether the outbox holds messages, and why.
func (s *chanState) queued() (bool, string) {
	if len(s.outbox) == 0 || len(s.group.Members()) <= 1 {
		// Alone, our messages are not queued (nobody to deliver to); what
		// waits is a removal notice for the removed member.
		return false, ""
	}
	if s.n.host == nil {
		return true, "the node is not on the network"
	}
	if !s.hasDeliveryPeer() {
		return true, "no member reachable"
	}
	if s.flushErr != nil && !errors.Is(s.flushErr, ErrUnreachable) {
		return true, s.flushErr.Error()
	}
	return true, "no member has taken it yet"
}

// Pending returns how many messages wait in the outboxes of all channels.
func (n *Node) Pending(ctx context.Context) int {
	total := 0
	for _, c := range n.channelList() {
		c.do(ctx, func(s *chanState) error { total += len(s.outbox); return nil }) //nolint:errcheck // closing
	}
	return total
}

// WaitOutbox waits until every outbox is empty or ctx ends, and returns how
// many messages are still queued.
func (n *Node) WaitOutbox(ctx context.Context) int {
	for {
		left := n.Pending(ctx)
		if left == 0 || ctx.Err() != nil || n.host == nil {
			return left
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Rename sets the channel's name (owners and admins).
func (n *Node) Rename(ctx context.Context, channel, name string) (SendResult, error) {
	if err := checkName(name); err != nil {
		return SendResult{}, err
	}
	return n.author(ctx, channel, func(*chanState) (crdt.Event, error) {
		return crdt.Event{Kind: crdt.KindRename, Text: name}, nil
	})
}

// Edit replaces the text of one of our messages.
func (n *Node) Edit(ctx context.Context, channel, message, text string) (SendResult, error) {
	if err := checkText(text); err != nil {
		return SendResult{}, err
	}
	return n.author(ctx, channel, func(s *chanState) (crdt.Event, error) {
		id, err := s.findMessage(message)
		return crdt.Event{Kind: crdt.KindEdit, Target: id, Text: text}, err
	})
}

// Delete tombstones a message (its author, an admin or the owner).
func (n *Node) Delete(ctx context.Context, channel, message string) (SendResult, error) {
	return n.author(ctx, channel, func(s *chanState) (crdt.Event, error) {
		id, err := s.findMessage(message)
		return crdt.Event{Kind: crdt.KindDelete, Target: id}, err
	})
}

// React adds an emoji reaction to a message.
func (n *Node) React(ctx context.Context, channel, message, emoji string) (SendResult, error) {
	if emoji == "" || len(emoji) > crdt.MaxEmojiLen || !utf8.ValidString(emoji) {
		return SendResult{}, invalidf("emoji must be 1 to %d bytes of UTF-8", crdt.MaxEmojiLen)
	}
	return n.author(ctx, channel, func(s *chanState) (crdt.Event, error) {
		id, err := s.findMessage(message)
		return crdt.Event{Kind: crdt.KindReact, Target: id, Text: emoji}, err
	})
}

// author runs build on the channel's loop, authors the event it returns,
// and waits for a member to take it (waitDelivery).
func (n *Node) author(ctx context.Context, channel string, build func(*chanState) (crdt.Event, error)) (SendResult, error) {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return SendResult{}, err
	}
	var res SendResult
	var seq uint64
	err = c.do(ctx, func(s *chanState) error {
		e, err := build(s)
		if err != nil {
			return err
		}
		before := s.lastQueued
		if e, err = s.authorLocal(ctx, e); err != nil {
			return err
		}
		res.ID = s.messageID(e.ID)
		if s.lastQueued != before {
			seq = s.lastQueued
		}
		if e.Kind != crdt.KindPost {
			res.ID = ""
			if !e.Target.IsZero() {
				res.ID = s.messageID(e.Target)
			}
		}
		res.Queued = seq != 0 && s.inOutbox(seq)
		return nil
	})
	if err != nil || !res.Queued {
		return res, err
	}
	n.waitDelivery(ctx, c, seq, &res)
	return res, nil
}

func checkText(text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return invalidf("empty message")
	case len(text) > crdt.MaxTextLen:
		return invalidf("message longer than %d bytes", crdt.MaxTextLen)
	case !utf8.ValidString(text):
		return invalidf("message is not valid UTF-8")
	}
	return nil
}
