package node

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
)

// maxPage bounds one History page.
const maxPage = 1000

// History returns a page of the channel's timeline that ends just before
// the cursor (the latest messages when before is ""). It reads the
// in-memory timeline from the cursor's position: the cost is per page, not
// per message of the channel.
func (n *Node) History(ctx context.Context, channel, before string, limit int) (Page, error) {
	if limit <= 0 || limit > maxPage {
		return Page{}, invalidf("page size must be 1 to %d", maxPage)
	}
	var cur crdt.ID
	if before != "" {
		var err error
		if cur, err = parseCursor(before); err != nil {
			return Page{}, err
		}
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return Page{}, err
	}
	p := Page{Messages: []Message{}}
	err = c.do(ctx, func(s *chanState) error {
		ms, err := s.crdt.Messages(cur, limit)
		if err != nil {
			return crdtError(err)
		}
		for _, m := range ms {
			p.Messages = append(p.Messages, s.view(m))
		}
		var from crdt.ID
		if len(ms) == limit {
			p.Before = cursorOf(ms[0].ID)
			from = ms[0].ID
		}
		p.Events, err = s.changes(from, cur)
		return err
	})
	return p, err
}

// cursorOf names a post for History: its CRDT ID, counter first.
func cursorOf(id crdt.ID) string { return strconv.FormatUint(id.Seq, 10) + "." + id.Author }

func parseCursor(s string) (crdt.ID, error) {
	seq, author, ok := strings.Cut(s, ".")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil || author == "" {
		return crdt.ID{}, invalidf("bad history cursor %q", s)
	}
	return crdt.ID{Author: author, Seq: n}, nil
}

// Reply posts text as a reply to message (a printed message ID or a unique
// prefix of it), with the same delivery as Send.
func (n *Node) Reply(ctx context.Context, channel, message, text string) (SendResult, error) {
	if err := checkText(text); err != nil {
		return SendResult{}, err
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return SendResult{}, err
	}
	var res SendResult
	err = c.do(ctx, func(s *chanState) error {
		target, err := s.findMessage(message)
		if err != nil {
			return err
		}
		e, err := s.authorLocal(ctx, crdt.Event{Kind: crdt.KindPost, Target: target, Text: text})
		if err != nil {
			return err
		}
		res = SendResult{ID: s.messageID(e.ID)}
		res.Queued, res.Reason = s.queued()
		return nil
	})
	return res, err
}

// maxPageEvents bounds Page.Events.
const maxPageEvents = 1000

// changes returns the system lines between two posts as stream events.
func (s *chanState) changes(from, to crdt.ID) ([]Event, error) {
	cs, err := s.crdt.Changes(from, to, maxPageEvents)
	if err != nil {
		return nil, crdtError(err)
	}
	out := make([]Event, 0, len(cs))
	for _, c := range cs {
		e := Event{Channel: s.id, Time: time.UnixMilli(c.Time.Wall).UTC(), By: c.ID.Author}
		switch c.Kind {
		case crdt.KindJoined, crdt.KindLeft, crdt.KindRemoved:
			e.Type, e.Member, e.Change = EventMember, c.Member, c.Kind.String()
			e.MemberName = s.name(c.Member)
		case crdt.KindSetRole:
			e.Type, e.Member, e.Change, e.Name = EventMember, c.Member, "role", c.Role.String()
			e.MemberName = s.name(c.Member)
		case crdt.KindProfile:
			e.Type, e.Member, e.Change, e.Name, e.OldName = EventMember, c.ID.Author, "profile", c.Text, c.Before
			e.MemberName, e.By = c.Text, ""
		case crdt.KindRename:
			e.Type, e.Change, e.Name = EventChannel, "renamed", c.Text
		default:
			continue
		}
		out = append(out, e)
	}
	return out, nil
}
