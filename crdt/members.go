package crdt

import (
	"fmt"
	"slices"
	"strings"
)

// Member is a current member of the channel.
type Member struct {
	ID     string
	Name   string // display name (Profile); empty when never set
	Role   Role
	Joined Time   // time of the Create or Joined event that admitted them
	Epoch  uint64 // MLS epoch of that commit
}

// Metadata is the channel's name and topic (last writer wins among
// permitted changes) and its creator.
type Metadata struct {
	Name    string
	Topic   string
	Creator string
}

// Members returns the current members, by ID.
func (s *State) Members() []Member {
	c := s.controls()
	out := make([]Member, 0, len(c.members))
	for id, m := range c.members {
		out = append(out, Member{ID: id, Name: c.names[id], Role: m.role, Joined: m.joined.Time, Epoch: m.epoch})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Role returns m's current role; RoleNone when m is not a member.
func (s *State) Role(m string) Role { return s.controls().role(m) }

// DisplayName returns the display name m last set while a member (last
// writer wins by total order), also after m left; empty when never set.
func (s *State) DisplayName(m string) string { return s.controls().names[m] }

// Metadata returns the channel's name, topic and creator.
func (s *State) Metadata() Metadata {
	c := s.controls()
	return Metadata{Name: c.name, Topic: c.topic, Creator: c.creator}
}

// Check reports whether e, authored now (ordered after every event held),
// would take effect. It is the node's gate before it sends an event or
// commits the MLS change a membership event mirrors: nil, a validation
// error, ErrUnknownMessage, an invite error (ErrInviteUnknown, ...; for a
// Joined naming an invite, evaluated at e.Time.Wall) or an error wrapping
// ErrForbidden. Check does not change the state.
func (s *State) Check(e Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	c := s.controls()
	if !e.Kind.isContent() {
		return c.permit(&e)
	}
	if err := c.permit(&e); err != nil {
		return err
	}
	return s.checkContent(c, &e)
}

// checkContent applies the per-message rules: edits by the author,
// deletes by the author or an admin, nothing on a deleted message.
func (s *State) checkContent(c *controlState, e *Event) error {
	if e.Kind == KindPost {
		return nil
	}
	p := s.events[e.Target]
	if p == nil || p.Kind != KindPost || !c.visible(p) {
		return fmt.Errorf("%w: %s", ErrUnknownMessage, e.Target)
	}
	if r := s.related[p.ID]; p.Text == "" || (r != nil && c.deleted(p, r)) {
		return fmt.Errorf("%w: %s is deleted", ErrUnknownMessage, e.Target)
	}
	switch {
	case e.Kind == KindEdit && e.ID.Author != p.ID.Author:
		return forbid("only the author edits a message")
	case e.Kind == KindDelete && e.ID.Author != p.ID.Author && c.role(e.ID.Author) < RoleAdmin:
		return forbid("deleting another's message needs admin")
	}
	return nil
}
