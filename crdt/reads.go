package crdt

import (
	"fmt"
	"slices"
	"sort"
)

// Read receipts. A Read event says "I have read the channel up to this
// post"; a member's read position is the target of its last Read (in total
// order) made while a member whose target is a post this replica holds.
// Like profiles they are kept per author and read lazily, so a member
// sending many costs reads of its own list only.

// ReadPosition returns the post m last said it read, and whether there is
// one this replica holds.
func (s *State) ReadPosition(m string) (ID, bool) {
	p := s.readPosition(s.controls(), m)
	if p == nil {
		return ID{}, false
	}
	return p.ID, true
}

// readPosition returns the post of m's read position, or nil.
func (s *State) readPosition(c *controlState, m string) *Event {
	list := s.reads[m]
	for i := len(list) - 1; i >= 0; i-- {
		if c.roleAt(m, list[i]) < RoleMember {
			continue
		}
		if p := s.events[list[i].Target]; p != nil && p.Kind == KindPost {
			return p
		}
	}
	return nil
}

// ReadBy returns the current members, other than its author, whose read
// position is at or after the post id (sorted); nil for an unknown post.
// Cost: the members times the Read events skipped per member (usually
// none).
func (s *State) ReadBy(id ID) []string {
	post := s.events[id]
	if post == nil || post.Kind != KindPost {
		return nil
	}
	c := s.controls()
	var out []string
	for m := range c.members {
		if m == post.ID.Author {
			continue
		}
		if p := s.readPosition(c, m); p != nil && !before(p, post) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// After reports whether the post a comes after the post b in the
// timeline's order; false when either is not a held post.
func (s *State) After(a, b ID) bool {
	pa, pb := s.events[a], s.events[b]
	if pa == nil || pb == nil || pa.Kind != KindPost || pb.Kind != KindPost {
		return false
	}
	return before(pb, pa)
}

// CountAfter counts the visible posts after the post after (all of them
// when after is zero) whose author is not skip, up to limit. An unknown
// post counts nothing. Cost: the posts counted.
func (s *State) CountAfter(after ID, skip string, limit int) int {
	p := cursor{}
	if !after.IsZero() {
		var err error
		if p, err = s.position(after); err != nil {
			return 0
		}
		p = s.timeline.next(p)
	}
	c := s.controls()
	n := 0
	for e := s.timeline.get(p); e != nil && n < limit; e = s.timeline.get(p) {
		if e.ID.Author != skip && c.visible(e) {
			n++
		}
		p = s.timeline.next(p)
	}
	return n
}

// checkRead: a member reads posts the replica holds and shows.
func (s *State) checkRead(c *controlState, e *Event) error {
	p := s.events[e.Target]
	if p == nil || p.Kind != KindPost || !c.visible(p) {
		return fmt.Errorf("%w: %s", ErrUnknownMessage, e.Target)
	}
	return nil
}

// Change is a control event a reader's timeline shows as a system line.
type Change struct {
	Event
	// Before is, for a Profile, the name it replaced.
	Before string
}

// Changes returns, in total order, the membership events (Joined, Left,
// Removed), the role changes and renames that took effect, and the
// Profiles that changed a member's name, ordered after the post from (from
// the start when zero) and before the post to (to the end when zero), at
// most limit (the latest). Unknown posts are ErrUnknownMessage.
func (s *State) Changes(from, to ID, limit int) ([]Change, error) {
	lo, hi, err := s.bounds(from, to)
	if err != nil {
		return nil, err
	}
	in := func(e *Event) bool { return (lo == nil || before(lo, e)) && (hi == nil || before(e, hi)) }
	c := s.controls()
	var out []Change
	start := 0
	if lo != nil {
		start = sort.Search(len(s.control), func(i int) bool { return before(lo, s.control[i]) })
	}
	for _, e := range s.control[start:] {
		if !in(e) {
			break
		}
		if s.shows(c, e) {
			out = append(out, Change{Event: *e})
		}
	}
	for _, list := range s.profiles {
		for i, e := range list {
			if i > 0 && in(e) && list[i-1].Text != e.Text && c.roleAt(e.ID.Author, e) >= RoleMember {
				out = append(out, Change{Event: *e, Before: list[i-1].Text})
			}
		}
	}
	slices.SortFunc(out, func(a, b Change) int { return compareEvents(&a.Event, &b.Event) })
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

// bounds returns the posts from and to (nil for zero IDs).
func (s *State) bounds(from, to ID) (lo, hi *Event, err error) {
	get := func(id ID) (*Event, error) {
		if id.IsZero() {
			return nil, nil
		}
		if p := s.events[id]; p != nil && p.Kind == KindPost {
			return p, nil
		}
		return nil, fmt.Errorf("%w: %s", ErrUnknownMessage, id)
	}
	if lo, err = get(from); err != nil {
		return nil, nil, err
	}
	hi, err = get(to)
	return lo, hi, err
}

// shows reports whether a control event is a system line: membership
// always (it mirrors a commit), roles and renames when their author could.
func (s *State) shows(c *controlState, e *Event) bool {
	switch e.Kind {
	case KindJoined, KindLeft, KindRemoved:
		return true
	case KindRename:
		return c.roleAt(e.ID.Author, e) >= RoleAdmin
	case KindSetRole:
		return c.roleAt(e.ID.Author, e) >= RoleOwner
	}
	return false
}
