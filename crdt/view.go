package crdt

import (
	"fmt"
	"slices"
	"strings"
)

// Message is a post as readers see it, with edits, deletion and reactions
// applied.
type Message struct {
	ID       ID
	Author   string
	Time     Time   // the post's HLC time; Time.Wall is Unix ms
	Text     string // the latest edit's text; empty when deleted
	ReplyTo  ID     // zero when not a reply
	EditedAt Time   // the winning edit's time; zero when never edited
	Deleted  bool
	// Reactions by emoji (byte order), each with its reactors (sorted).
	// Empty for a deleted message.
	Reactions []Reaction
}

// Reaction is one emoji on a message and who reacted with it.
type Reaction struct {
	Emoji   string
	Authors []string
}

// Messages returns up to limit messages of the timeline that come just
// before the message before (or the latest ones when before is zero),
// oldest first. Pass the first returned ID as before to page further back.
// Posts whose author was not a member at their place in the order are not
// part of the timeline. It returns ErrUnknownMessage for an unknown cursor.
func (s *State) Messages(before ID, limit int) ([]Message, error) {
	p := s.timeline.end()
	if !before.IsZero() {
		var err error
		if p, err = s.position(before); err != nil {
			return nil, err
		}
	}
	c := s.controls()
	out := make([]Message, 0, max(0, min(limit, s.timeline.len())))
	for ok := true; len(out) < limit; {
		if p, ok = s.timeline.prev(p); !ok {
			break
		}
		if e := s.timeline.get(p); c.visible(e) {
			out = append(out, s.render(c, e))
		}
	}
	slices.Reverse(out)
	return out, nil
}

// MessagesAfter returns up to limit messages that come just after the
// message after (or the earliest ones when after is zero), oldest first.
func (s *State) MessagesAfter(after ID, limit int) ([]Message, error) {
	p := cursor{}
	if !after.IsZero() {
		var err error
		if p, err = s.position(after); err != nil {
			return nil, err
		}
		p = s.timeline.next(p)
	}
	c := s.controls()
	var out []Message
	for e := s.timeline.get(p); e != nil && len(out) < limit; e = s.timeline.get(p) {
		if c.visible(e) {
			out = append(out, s.render(c, e))
		}
		p = s.timeline.next(p)
	}
	return out, nil
}

// Message returns one message of the timeline.
func (s *State) Message(id ID) (Message, error) {
	p, err := s.position(id)
	if err != nil {
		return Message{}, err
	}
	c := s.controls()
	e := s.timeline.get(p)
	if !c.visible(e) {
		return Message{}, fmt.Errorf("%w: %s (author not a member)", ErrUnknownMessage, id)
	}
	return s.render(c, e), nil
}

// position returns the timeline position of the post with the given ID.
func (s *State) position(id ID) (cursor, error) {
	p := s.events[id]
	if p == nil || p.Kind != KindPost {
		return cursor{}, fmt.Errorf("%w: %s", ErrUnknownMessage, id)
	}
	return s.timeline.search(p), nil
}

// visible reports whether a post's author was a member when posting.
func (c *controlState) visible(p *Event) bool {
	return c.roleAt(p.ID.Author, p) >= RoleMember
}

// render builds the reader's view of post p.
func (s *State) render(c *controlState, p *Event) Message {
	m := Message{ID: p.ID, Author: p.ID.Author, Time: p.Time, ReplyTo: p.Target}
	r := s.related[p.ID]
	if m.Deleted = p.Text == "" || (r != nil && c.deleted(p, r)); m.Deleted {
		return m
	}
	m.Text = p.Text
	if r == nil {
		return m
	}
	if e := c.lastEdit(p, r); e != nil {
		m.Text, m.EditedAt = e.Text, e.Time
	}
	m.Reactions = c.reactions(r)
	return m
}

// deleted reports whether a delete of p takes effect: its author's, or one
// by a member who was admin or owner at the delete's place in the order.
func (c *controlState) deleted(p *Event, r *relations) bool {
	for _, d := range r.deletes {
		if d.ID.Author == p.ID.Author || c.roleAt(d.ID.Author, d) >= RoleAdmin {
			return true
		}
	}
	return false
}

// lastEdit returns the edit that wins (last writer by total order, the
// post included) among the post author's edits made while a member.
func (c *controlState) lastEdit(p *Event, r *relations) *Event {
	best := p
	for _, e := range r.edits {
		if e.ID.Author == p.ID.Author && before(best, e) && c.roleAt(e.ID.Author, e) >= RoleMember {
			best = e
		}
	}
	if best == p {
		return nil
	}
	return best
}

// reactions evaluates the observed-remove set: a reaction is present while
// some React of it, made while a member, is not named by an Unreact of the
// same author and emoji.
func (c *controlState) reactions(r *relations) []Reaction {
	// Keyed by tag and emoji, not by tag alone: two Unreacts naming one tag
	// with different emoji must not overwrite each other in arrival order.
	type tag struct {
		id    ID
		emoji string
	}
	removed := make(map[tag]bool)
	for _, u := range r.unreacts {
		for _, t := range u.Tags {
			removed[tag{ID{Author: u.ID.Author, Seq: t}, u.Text}] = true
		}
	}
	by := make(map[string]map[string]bool)
	for _, a := range r.reacts {
		if removed[tag{a.ID, a.Text}] || c.roleAt(a.ID.Author, a) < RoleMember {
			continue
		}
		if by[a.Text] == nil {
			by[a.Text] = make(map[string]bool)
		}
		by[a.Text][a.ID.Author] = true
	}
	return sortReactions(by)
}

func sortReactions(by map[string]map[string]bool) []Reaction {
	var out []Reaction
	for emoji, set := range by {
		authors := make([]string, 0, len(set))
		for a := range set {
			authors = append(authors, a)
		}
		slices.Sort(authors)
		out = append(out, Reaction{Emoji: emoji, Authors: authors})
	}
	slices.SortFunc(out, func(a, b Reaction) int { return strings.Compare(a.Emoji, b.Emoji) })
	return out
}

// Reactions returns the counters of author's own React events on message
// msg with emoji that are still present, ascending: the Tags of an Unreact
// that removes that reaction. It returns at most MaxTags; after applying
// that Unreact, call it again for any rest.
func (s *State) Reactions(msg ID, emoji, author string) []uint64 {
	r := s.related[msg]
	if r == nil {
		return nil
	}
	removed := make(map[uint64]bool)
	for _, u := range r.unreacts {
		if u.ID.Author == author && u.Text == emoji {
			for _, t := range u.Tags {
				removed[t] = true
			}
		}
	}
	var tags []uint64
	for _, a := range r.reacts {
		if a.ID.Author == author && a.Text == emoji && !removed[a.ID.Seq] {
			tags = append(tags, a.ID.Seq)
		}
	}
	slices.Sort(tags)
	return tags[:min(len(tags), MaxTags)]
}
