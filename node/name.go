package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/store"
)

// displayName returns this node's current display name. It is safe for
// concurrent use (the channel loops read it while SetName runs).
func (n *Node) displayName() string { return *n.name.Load() }

// SetName changes this node's display name: it is stored with the identity
// (the next start keeps it) and announced in every channel this node is a
// member of, as a Profile event that members show from then on, also on
// the messages sent before. A bad name is ErrInvalidInput and changes
// nothing. A channel that cannot take the event now (the node closes, the
// store fails) gets it at the next start (announceNames).
func (n *Node) SetName(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	n.nameMu.Lock()
	defer n.nameMu.Unlock()
	st, err := n.db.Identity(ctx)
	if err != nil {
		return fmt.Errorf("node: identity: %w", err)
	}
	st.Name = name
	b := &store.Batch{}
	b.PutIdentity(st)
	if err := n.db.Apply(ctx, b); err != nil {
		return fmt.Errorf("node: store: %w", err)
	}
	n.name.Store(&name)
	var errs []error
	for _, c := range n.channelList() {
		if err := n.announceName(ctx, c); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, fmt.Errorf("channel %s: %w", c.id, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("node: name stored, announced in the other channels: %w", errors.Join(errs...))
	}
	return nil
}

// announceName records our display name in the channel (a Profile event)
// unless the channel already has it, so that every member, and every later
// joiner, can show it. A channel we are out of is left alone.
func (n *Node) announceName(ctx context.Context, c *channel) error {
	err := c.do(ctx, func(s *chanState) error {
		name := n.displayName()
		if s.state() != StateMember || s.crdt.DisplayName(n.id.peerID) == name {
			return nil
		}
		_, err := s.authorLocal(ctx, crdt.Event{Kind: crdt.KindProfile, Text: name})
		return err
	})
	if err != nil {
		n.log.Warn("announce display name", "channel", c.id, "err", err)
	}
	return err
}

// announceNames announces the display name in every channel that lacks
// it: after a start, it finishes a SetName that a crash or a closing node
// interrupted.
func (n *Node) announceNames(ctx context.Context) {
	for _, c := range n.channelList() {
		n.announceName(ctx, c) //nolint:errcheck // logged; retried at the next start
	}
}

// SetName changes the display name through the daemon.
func (c *Client) SetName(ctx context.Context, name string) error {
	return c.call(ctx, "name", params{Name: name}, nil, nil)
}
