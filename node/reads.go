package node

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/store"
)

// Read positions and receipts (docs/user-guide.md, "Unread counts and read
// receipts"). The local read position of a channel is stored in its
// metadata: unread counts survive restarts. Unless the caller opts out, it
// is also shared with the members as a Read event (a read receipt), at
// most one per channel per readEvery: positions moved in between are
// coalesced and the latest goes out on the retry tick.

const (
	// readEvery is the least time between two read receipts of a channel.
	readEvery = 3 * time.Second
	// maxUnread bounds an unread count (cost: the posts counted).
	maxUnread = 1000
	// readSearch bounds how far back MarkRead looks for the message.
	readSearch = 10000
)

// MarkRead records that the user has read channel up to message (a full
// message ID): the channel's unread count drops to what came after it, also
// after a restart. With share, the members learn it too (a read receipt,
// rate-limited). A position older than the stored one changes nothing.
func (n *Node) MarkRead(ctx context.Context, channel, message string, share bool) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error {
		target, err := s.findRecent(message)
		if err != nil {
			return err
		}
		if cur := s.readPosition(); cur.IsZero() || s.crdt.After(target, cur) {
			s.meta.Read = target.String()
			b := &store.Batch{}
			b.PutChannel(store.ChannelID(s.id), s.metaBytes())
			if err := n.db.Apply(ctx, b); err != nil {
				return fmt.Errorf("node: store: %w", err)
			}
		}
		if share && s.state() == StateMember {
			if own, ok := s.crdt.ReadPosition(n.id.peerID); !ok || s.crdt.After(target, own) {
				s.readPending = target
				s.flushRead(ctx)
			}
		}
		return nil
	})
}

// readPosition returns the stored read position, zero when none.
func (s *chanState) readPosition() crdt.ID {
	id, err := crdt.ParseID(s.meta.Read)
	if err != nil {
		return crdt.ID{}
	}
	return id
}

// unread counts the others' posts after the read position.
func (s *chanState) unread() int {
	return s.crdt.CountAfter(s.readPosition(), s.n.id.peerID, maxUnread)
}

// findRecent finds a post by its full message ID among the latest
// readSearch posts, newest first: what a reader marks is near the end.
func (s *chanState) findRecent(ref string) (crdt.ID, error) {
	ref = strings.ToLower(ref)
	var cur crdt.ID
	for seen := 0; seen < readSearch; {
		ms, err := s.crdt.Messages(cur, 256)
		if err != nil {
			return crdt.ID{}, crdtError(err)
		}
		for i := len(ms) - 1; i >= 0; i-- {
			if s.messageID(ms[i].ID) == ref {
				return ms[i].ID, nil
			}
		}
		if len(ms) < 256 {
			break
		}
		seen += len(ms)
		cur = ms[0].ID
	}
	return crdt.ID{}, fmt.Errorf("%w: %q among the latest %d messages", ErrNoMessage, ref, readSearch)
}

// flushRead sends the pending read receipt unless one went out less than
// readEvery ago (the retry tick calls it again).
func (s *chanState) flushRead(ctx context.Context) {
	if s.readPending.IsZero() || s.n.cfg.Now().Sub(s.readSent) < readEvery {
		return
	}
	target := s.readPending
	s.readPending = crdt.ID{}
	if s.state() != StateMember {
		return
	}
	s.readSent = s.n.cfg.Now()
	if _, err := s.authorLocal(ctx, crdt.Event{Kind: crdt.KindRead, Target: target}); err != nil {
		s.n.log.Debug("read receipt not sent", "channel", s.id, "err", err)
	}
}

// onRead publishes another member's read position and announces our posts
// it newly covers (delivery seen; the first receipt ends a post's delivery
// latency). prev is the member's position before this receipt.
func (s *chanState) onRead(e crdt.Event, prev crdt.ID) {
	if e.ID.Author == s.n.id.peerID {
		return
	}
	pos, ok := s.crdt.ReadPosition(e.ID.Author)
	if !ok || pos != e.Target || pos == prev {
		return // an older Read, or one of a post we lack: no news
	}
	s.n.events.publish(Event{Type: EventRead, Channel: s.id, Member: e.ID.Author, MemberName: s.name(e.ID.Author),
		MessageID: s.messageID(pos)})
	s.onReadSeen(e.ID.Author, prev, pos)
}

// MarkRead records a read position through the daemon.
func (c *Client) MarkRead(ctx context.Context, ch, message string, share bool) error {
	return c.call(ctx, "read", params{Channel: ch, Message: message, Share: share}, nil, nil)
}
