package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// Channel states, as ChannelInfo.State reports them.
const (
	StateMember  = "member"  // this node is in the channel
	StateRemoved = "removed" // a member removed this node
	StateLeft    = "left"    // this node left
	StateDamaged = "damaged" // the stored state cannot be restored
)

// ErrRemoved: this node is no longer a member of the channel (removed, or
// it left). It is also an ErrForbidden.
var ErrRemoved = fmt.Errorf("%w: not a member of the channel any more", ErrForbidden)

// ErrDamaged: the channel's stored state cannot be restored; the node runs
// without it until it is forgotten (Forget).
var ErrDamaged = errors.New("node: channel damaged")

// goneError says why this node cannot act in a channel any more, and what
// it can do about it. It matches ErrRemoved (and so ErrForbidden).
type goneError struct {
	name string
	left bool
}

func (e *goneError) Error() string {
	how := "you were removed from " + e.name
	if e.left {
		how = "you left " + e.name
	}
	return how + " (a new invite code admits you again; `spacepanda channel forget` drops its local copy)"
}

func (e *goneError) Unwrap() error { return ErrRemoved }

// state returns the channel's state for ChannelInfo.
func (s *chanState) state() string {
	switch {
	case s.meta.Leaving:
		return StateLeft
	case s.meta.Removed || s.group == nil || !s.group.Active():
		return StateRemoved
	}
	return StateMember
}

// gone returns the error for an action in a channel this node is out of,
// or nil while it is a member.
func (s *chanState) gone() error {
	if s.state() == StateMember {
		return nil
	}
	name := s.crdt.Metadata().Name
	if name == "" {
		name = s.id
	}
	return &goneError{name: name, left: s.meta.Leaving}
}

// damagedChannel is a stored channel that could not be restored.
type damagedChannel struct {
	id  string
	err error
}

func (d damagedChannel) info() ChannelInfo {
	return ChannelInfo{ID: d.id, State: StateDamaged, Reason: d.err.Error()}
}

func (d damagedChannel) error() error {
	return fmt.Errorf("%w: %s cannot be restored (%v); `spacepanda channel forget %s` drops it", ErrDamaged, d.id, d.err, d.id)
}

// damagedList returns the channels that could not be restored.
func (n *Node) damagedList() []damagedChannel {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]damagedChannel, 0, len(n.mu.damaged))
	for _, d := range n.mu.damaged {
		out = append(out, d)
	}
	return out
}

// findDamaged returns the damaged channel whose ID is ref or starts with
// it (at least minPrefix characters).
func (n *Node) findDamaged(ref string) (damagedChannel, bool) {
	for _, d := range n.damagedList() {
		if d.id == ref || len(ref) >= minPrefix && strings.HasPrefix(d.id, strings.ToLower(ref)) {
			return d, true
		}
	}
	return damagedChannel{}, false
}

// dropChannel stops a channel's loop and topic reader and unregisters it.
func (n *Node) dropChannel(c *channel) {
	n.mu.Lock()
	if n.mu.channels[c.id] == c {
		delete(n.mu.channels, c.id)
	}
	n.mu.Unlock()
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
	if c.watching != nil {
		<-c.watching
	}
}

// Forget deletes the local data of a channel this node left or was removed
// from, or of one that cannot be restored. A channel it is still a member of
// is refused: leave it first.
func (n *Node) Forget(ctx context.Context, channel string) (ChannelInfo, error) {
	if d, ok := n.findDamaged(channel); ok {
		if err := n.deleteChannelData(ctx, d.id); err != nil {
			return ChannelInfo{}, err
		}
		n.mu.Lock()
		delete(n.mu.damaged, d.id)
		n.mu.Unlock()
		return d.info(), nil
	}
	// The channels one is out of come first: only those can be forgotten.
	c, err := n.resolvePreferring(ctx, channel, false)
	if err != nil {
		return ChannelInfo{}, err
	}
	var info ChannelInfo
	if err := c.do(ctx, func(s *chanState) error {
		info = s.info()
		if s.state() == StateMember {
			return fmt.Errorf("%w: you are still a member of %s; `spacepanda channel leave` first", ErrInvalidInput, info.Name)
		}
		return nil
	}); err != nil {
		return ChannelInfo{}, err
	}
	n.dropChannel(c)
	n.log.Info("channel forgotten", "channel", c.id)
	return info, n.deleteChannelData(ctx, c.id)
}

func (n *Node) deleteChannelData(ctx context.Context, id string) error {
	b := &store.Batch{}
	b.DeleteChannel(store.ChannelID(id))
	if err := n.db.Apply(ctx, b); err != nil {
		return fmt.Errorf("node: store: %w", err)
	}
	return nil
}

// noteFormer records members a commit of epoch removed, so that sync
// serves them the log up to that commit (a member removed while offline
// learns it when it comes back). The caller stores the metadata in the
// commit's batch.
func (s *chanState) noteFormer(epoch uint64, removed []string) {
	if len(removed) == 0 {
		return
	}
	if s.meta.Former == nil {
		s.meta.Former = map[string]uint64{}
	}
	for _, m := range removed {
		if m != s.n.id.peerID {
			s.meta.Former[m] = epoch
		}
	}
}

// syncLimit returns the last epoch whose log entries peer may read: every
// epoch for a member, up to its removal for a former member; ok is false
// for anyone else.
func (s *chanState) syncLimit(peer string) (last uint64, ok bool) {
	if containsMember(s.group.Members(), peer) {
		return ^uint64(0), true
	}
	last, ok = s.meta.Former[peer]
	return last, ok
}

// canJoin refuses a join of a channel this node is a member of; one it left
// or was removed from can be joined again (its local copy is replaced).
func (n *Node) canJoin(ctx context.Context, id string) error {
	if _, ok := n.findDamaged(id); ok {
		return fmt.Errorf("%w: %s cannot be restored here; `spacepanda channel forget %s` first", ErrDamaged, id, id)
	}
	c := n.channel(id)
	if c == nil {
		return nil
	}
	var gone error
	if err := c.do(ctx, func(s *chanState) error { gone = s.gone(); return nil }); err != nil {
		return err
	}
	if gone == nil {
		return fmt.Errorf("%w: %s", ErrAlreadyMember, id)
	}
	return nil
}

// tellRemoved hands the commit that removed peer to it directly, when it is
// connected: it is no longer a member, so it is not among the members the
// outbox is delivered to, and gossip alone may miss it.
func (s *chanState) tellRemoved(peer string, env []byte) {
	n := s.n
	if n.host == nil || !n.host.Connected(p2p.PeerID(peer)) {
		return
	}
	req, _ := json.Marshal(deliverRequest{Channel: s.id, Envelopes: [][]byte{env}})
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.deliverTo([]p2p.PeerID{p2p.PeerID(peer)}, req)
	}()
}

// withArticle prefixes a role name with "a" or "an".
func withArticle(role string) string {
	if role != "" && strings.ContainsRune("aeiou", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}
