package crdt

import "fmt"

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
	if e.Kind == KindRead {
		return firstErr(c.permit(&e), s.checkRead(c, &e))
	}
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
	if hasText(e) && e.Text == "" {
		return invalid("empty %s: an empty text marks an erased message", e.Kind)
	}
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

// Emit authors a local event: it stamps e with author's next ID (Next) and
// clock.Now(physMs), checks it with Check, and applies it. It returns the
// stamped event, for the node to store and send, or the error from Check
// (the state is unchanged; the clock may have moved, which is harmless).
func (s *State) Emit(author string, clock *Clock, physMs int64, e Event) (Event, error) {
	e.ID = s.Next(author)
	e.Time = clock.Now(physMs)
	if err := s.Check(e); err != nil {
		return Event{}, err
	}
	if err := s.Apply(e); err != nil {
		return Event{}, err
	}
	stamped, _ := s.Event(e.ID)
	return stamped, nil
}
