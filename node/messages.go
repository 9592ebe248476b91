package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
)

// messageIDLen is the length in hex digits of a printed message ID.
const messageIDLen = 16

// messageID names a message by a hash of its channel and CRDT ID (author
// and counter): short enough to type, the same on every replica, and
// unique on a node (the same author and counter in two channels give two
// IDs).
func (s *chanState) messageID(id crdt.ID) string {
	h := sha256.Sum256([]byte(s.id + "/" + id.Author + "/" + strconv.FormatUint(id.Seq, 10)))
	return hex.EncodeToString(h[:])[:messageIDLen]
}

// Messages returns the latest limit messages of the channel, oldest first
// (all of them when limit <= 0).
func (n *Node) Messages(ctx context.Context, channel string, limit int) ([]Message, error) {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return nil, err
	}
	var out []Message
	err = c.do(ctx, func(s *chanState) error {
		ms, err := s.timeline(limit)
		for _, m := range ms {
			out = append(out, s.view(m))
		}
		return err
	})
	return out, err
}

// timeline returns the latest limit messages (all when limit <= 0).
func (s *chanState) timeline(limit int) ([]crdt.Message, error) {
	if limit > 0 {
		return s.crdt.Messages(crdt.ID{}, limit)
	}
	var all []crdt.Message
	var after crdt.ID
	for {
		page, err := s.crdt.MessagesAfter(after, 512)
		if err != nil {
			return nil, fmt.Errorf("node: timeline: %w", err)
		}
		all = append(all, page...)
		if len(page) < 512 {
			return all, nil
		}
		after = page[len(page)-1].ID
	}
}

// findMessage resolves a printed message ID (or a unique prefix of at least
// four digits) to the CRDT ID.
func (s *chanState) findMessage(ref string) (crdt.ID, error) {
	ref = strings.ToLower(ref)
	if len(ref) < 4 || len(ref) > messageIDLen {
		return crdt.ID{}, fmt.Errorf("%w: %q (message IDs are up to %d hex digits; give at least 4)", ErrNoMessage, ref, messageIDLen)
	}
	all, err := s.timeline(0)
	if err != nil {
		return crdt.ID{}, err
	}
	var found []crdt.ID
	for _, m := range all {
		if strings.HasPrefix(s.messageID(m.ID), ref) {
			found = append(found, m.ID)
		}
	}
	switch len(found) {
	case 0:
		return crdt.ID{}, fmt.Errorf("%w: %q", ErrNoMessage, ref)
	case 1:
		return found[0], nil
	}
	return crdt.ID{}, fmt.Errorf("%w: %q matches %d messages", ErrAmbiguous, ref, len(found))
}

// view converts a CRDT message for readers.
func (s *chanState) view(m crdt.Message) Message {
	v := Message{ID: s.messageID(m.ID), Author: m.Author, AuthorName: s.name(m.Author), Text: m.Text,
		Time: time.UnixMilli(m.Time.Wall).UTC(), Edited: !m.EditedAt.IsZero(), Deleted: m.Deleted}
	if !m.ReplyTo.IsZero() {
		v.ReplyTo = s.messageID(m.ReplyTo)
	}
	for _, r := range m.Reactions {
		v.Reactions = append(v.Reactions, Reaction{Emoji: r.Emoji, Authors: r.Authors})
	}
	if m.Author == s.n.id.peerID {
		v.SeenBy = s.crdt.ReadBy(m.ID)
		v.Delivery = s.delivery(m, v.SeenBy)
	}
	return v
}

// Follow calls fn with the latest limit messages of the channel (all when
// limit <= 0) and then with every message that is posted, edited, deleted or
// reacted to, until ctx ends, fn fails or the node closes. The timeline is
// read and the subscription made in one step of the channel's loop, so no
// message falls between them. The node never waits for fn: what it has not
// taken yet is queued, and a follower more than followMax messages behind
// ends with ErrFollowBehind rather than skip any.
func (n *Node) Follow(ctx context.Context, channel string, limit int, fn func(Message) error) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	f := newFollower()
	var id int
	var first []Message
	if err := c.do(ctx, func(s *chanState) error {
		ms, err := s.timeline(limit)
		if err != nil {
			return err
		}
		for _, m := range ms {
			first = append(first, s.view(m))
		}
		id = s.nextSub
		s.nextSub++
		s.subs[id] = f
		return nil
	}); err != nil {
		return err
	}
	defer c.do(context.WithoutCancel(ctx), func(s *chanState) error { //nolint:errcheck // ErrClosed once the node is gone
		delete(s.subs, id)
		return nil
	})
	for _, m := range first {
		if err := fn(m); err != nil {
			return err
		}
	}
	for {
		select {
		case <-f.wake:
			ms, over, done := f.take()
			for _, m := range ms {
				if err := fn(m); err != nil {
					return err
				}
			}
			switch {
			case over:
				return ErrFollowBehind
			case done:
				return ErrClosed
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
