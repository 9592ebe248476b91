package crdt

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
)

// State is the replicated state of one channel: the set of events applied so
// far and the indexes that the view and the permission rules read. Its
// observable content (view, snapshot, version vector) is a function of the
// set of events applied, whatever order they arrived in; see docs/crdt.md.
//
// A State is not safe for concurrent use, not even by concurrent readers:
// reads may rebuild derived indexes. The channel's owner loop owns it.
type State struct {
	events   map[ID]*Event         // every event, by ID
	authors  map[string]*authorLog // per author: interned name, counters
	timeline timeline              // posts in total order
	related  map[ID]*relations     // edits, deletes and reactions by target
	control  []*Event              // control events in total order
	ctl      *controlState         // derived from control; nil when stale
	// ctlOrder is the first pass of ctl, by the order alone (no caps): the
	// demotions that take effect there cap (State.controls). It is ctl
	// itself when there are none; it is stale when ctl is.
	ctlOrder *controlState
	maxTime  Time
	creators map[string]bool // authors of Create events
	// erasures holds the posts whose texts are erased (erasure.go).
	erasures map[ID]bool
	// profiles holds each author's Profile events in total order. They are
	// read lazily (members.go) rather than replayed with the control events,
	// so that a member sending many cannot make reads rebuild the control
	// state over and over.
	profiles map[string][]*Event
	// reads holds each author's Read events in total order, read lazily
	// like profiles (reads.go).
	reads map[string][]*Event
}

// authorLog tracks one author's counters for the version vector.
type authorLog struct {
	name   string // interned copy shared by every event of the author
	prefix uint64 // every counter 1..prefix is present
	max    uint64 // the largest counter present
}

// relations gathers the events that concern one message, in arrival order;
// every reader of them is insensitive to that order.
type relations struct {
	edits, deletes, reacts, unreacts []*Event
}

// New returns an empty State. The first event of a channel is a Create.
func New() *State {
	return &State{
		events:   make(map[ID]*Event),
		authors:  make(map[string]*authorLog),
		related:  make(map[ID]*relations),
		creators: make(map[string]bool),
		erasures: make(map[ID]bool),
		profiles: make(map[string][]*Event),
		reads:    make(map[string][]*Event),
	}
}

// Apply adds e to the state. It returns a *FieldError or an ErrInvalid error
// for an event that breaks its kind's rules (the state is unchanged),
// ErrDuplicate for an event already applied, and ErrConflict when another
// event with the same ID is held (docs/crdt.md says which one is kept).
//
// Apply does not check permissions against "the state now": whether an event
// takes effect is decided from the total order of all events (HLC, then ID),
// so an event that arrives before what authorises it (a post before its
// author's join) takes effect once that arrives. Use Check before authoring.
func (s *State) Apply(e Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	e.Tags = slices.Clone(e.Tags)
	if old, ok := s.events[e.ID]; ok {
		err := s.reconcile(old, &e)
		s.mark(&e)
		return err
	}
	s.insert(&e)
	s.mark(&e)
	return nil
}

// insert indexes a validated event whose ID is new.
func (s *State) insert(e *Event) {
	s.intern(e)
	s.events[e.ID] = e
	s.count(e.ID)
	if s.maxTime.Compare(e.Time) < 0 {
		s.maxTime = e.Time
	}
	switch {
	case e.Kind == KindPost:
		s.timeline.insert(e)
		if s.erasures[e.ID] {
			e.Text = ""
		}
	case e.Kind.isContent():
		s.relate(e)
	case e.Kind == KindProfile:
		s.profiles[e.ID.Author] = insertOrdered(s.profiles[e.ID.Author], e)
	case e.Kind == KindRead:
		s.reads[e.ID.Author] = insertOrdered(s.reads[e.ID.Author], e)
	default:
		s.insertControl(e)
	}
}

// intern makes e share one copy of each author string.
func (s *State) intern(e *Event) {
	a := s.authors[e.ID.Author]
	if a == nil {
		a = &authorLog{name: e.ID.Author}
		s.authors[a.name] = a
	}
	e.ID.Author = a.name
	if t := s.authors[e.Target.Author]; t != nil {
		e.Target.Author = t.name
	}
}

// count records e's counter for the version vector.
func (s *State) count(id ID) {
	a := s.authors[id.Author]
	a.max = max(a.max, id.Seq)
	if id.Seq != a.prefix+1 {
		return
	}
	a.prefix++
	for a.prefix < a.max {
		if _, ok := s.events[ID{Author: a.name, Seq: a.prefix + 1}]; !ok {
			return
		}
		a.prefix++
	}
}

func (s *State) relate(e *Event) {
	r := s.related[e.Target]
	if r == nil {
		r = &relations{}
		s.related[e.Target] = r
	}
	switch e.Kind {
	case KindEdit:
		r.edits = append(r.edits, e)
	case KindDelete:
		r.deletes = append(r.deletes, e)
	case KindReact:
		r.reacts = append(r.reacts, e)
	case KindUnreact:
		r.unreacts = append(r.unreacts, e)
	}
	if e.Kind == KindEdit && s.erasures[e.Target] {
		e.Text = ""
	}
}

// insertControl adds a control event. The derived control state is
// updated in place when e comes last in the total order, kept as it is when
// e is certainly void at its place (its author lacks the role there: the
// state before e is unchanged by e, and a void e changes nothing after it),
// and dropped otherwise, to be rebuilt on the next read. A Create, or a
// membership event about a Create's author, may change who created the
// channel (controlState.admitted), so it drops it too, and so does a
// departure with a cut, which may void control events before it, and a
// demotion with a cut that takes effect by the order alone, which may cap
// events before it. An event not last is kept only if void at its place
// in both passes (State.controls), so that a member sending void role
// changes cannot make reads rebuild the control state over and over.
func (s *State) insertControl(e *Event) {
	last := len(s.control) == 0 || before(s.control[len(s.control)-1], e)
	s.control = insertOrdered(s.control, e)
	creatorChange := s.creators[e.Member]
	if e.Kind == KindCreate {
		creatorChange = !s.creators[e.ID.Author]
		s.creators[e.ID.Author] = true
	}
	switch {
	case s.ctl == nil:
	case creatorChange, isDeparture(e.Kind) && !e.Target.IsZero():
		// A cut may void control events before it (cutOff).
		s.ctl = nil
	case last:
		demoted := len(s.ctlOrder.demoted)
		if s.ctlOrder != s.ctl {
			s.ctlOrder.apply(e)
		}
		s.ctl.apply(e)
		if len(s.ctlOrder.demoted) > demoted {
			// A demotion with a cut: it caps events before it (capped).
			s.ctl = nil
		}
	case !s.ctl.voidAt(e), !s.ctlOrder.voidAt(e):
		s.ctl = nil
	}
}

// controls returns the control state, rebuilding it if stale.
func (s *State) controls() *controlState {
	if s.ctl == nil {
		admitted, cuts := admittedMembers(s.control), departureCuts(s.control)
		c := s.replay(newControlState(admitted, cuts, nil))
		s.ctlOrder = c
		if len(c.demoted) > 0 {
			// The demotions that take effect by their place in the order
			// cap their subjects' events before them; a second pass
			// applies the caps (docs/crdt.md, "Cut").
			c = s.replay(newControlState(admitted, cuts, demotionCaps(c.demoted)))
		}
		s.ctl = c
	}
	return s.ctl
}

// replay applies every control event to c, in total order.
func (s *State) replay(c *controlState) *controlState {
	for _, e := range s.control {
		c.apply(e)
	}
	return c
}

// insertOrdered inserts e into list, which is in total order.
func insertOrdered(list []*Event, e *Event) []*Event {
	n := len(list)
	if n == 0 || before(list[n-1], e) {
		return append(list, e)
	}
	i := sort.Search(n, func(i int) bool { return !before(list[i], e) })
	return slices.Insert(list, i, e)
}

// removeOrdered removes e (by identity) from list, which is in total order.
func removeOrdered(list []*Event, e *Event) []*Event {
	i := sort.Search(len(list), func(i int) bool { return !before(list[i], e) })
	if i < len(list) && list[i] == e {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// reconcile handles an event whose ID is already held. Identical events are
// duplicates. A copy that differs only by an erased (empty) text is the same
// event, erased. Otherwise the author equivocated: every replica keeps the
// copy whose payload encoding, with texts blanked, then in full, is smaller.
func (s *State) reconcile(old, e *Event) error {
	if eventsEqual(old, e) {
		return ErrDuplicate
	}
	if hasText(old) && sameButText(old, e) && (old.Text == "" || e.Text == "") {
		old.Text = "" // an erased copy: the same event, erased
		return ErrDuplicate
	}
	if keepFirst(old, e) {
		return fmt.Errorf("%w: %s", ErrConflict, e.ID)
	}
	s.remove(old)
	s.insert(e)
	return fmt.Errorf("%w: %s (replaced)", ErrConflict, e.ID)
}

func hasText(e *Event) bool { return e.Kind == KindPost || e.Kind == KindEdit }

func eventsEqual(a, b *Event) bool {
	return a.Time == b.Time && sameButText(a, b) && a.Text == b.Text
}

func sameButText(a, b *Event) bool {
	return a.ID == b.ID && a.Time == b.Time && a.Kind == b.Kind && a.Target == b.Target &&
		a.Member == b.Member && a.Role == b.Role && a.Epoch == b.Epoch &&
		a.Invite == b.Invite && a.Expires == b.Expires && a.MaxUses == b.MaxUses &&
		slices.Equal(a.Tags, b.Tags)
}

// keepFirst reports whether a wins over b, two different events with one ID.
func keepFirst(a, b *Event) bool {
	ab, bb := blankText(a), blankText(b)
	if c := bytes.Compare(ab, bb); c != 0 {
		return c < 0
	}
	return bytes.Compare(appendBody(nil, a), appendBody(nil, b)) <= 0
}

func blankText(e *Event) []byte {
	c := *e
	if hasText(&c) {
		c.Text = ""
	}
	return appendBody(nil, &c)
}

// remove unindexes a held event so that a conflicting copy can replace it.
func (s *State) remove(e *Event) {
	delete(s.events, e.ID)
	switch {
	case e.Kind == KindPost:
		s.timeline.remove(e)
	case e.Kind.isContent():
		s.unrelate(e)
	case e.Kind == KindProfile:
		s.profiles[e.ID.Author] = removeOrdered(s.profiles[e.ID.Author], e)
	case e.Kind == KindRead:
		s.reads[e.ID.Author] = removeOrdered(s.reads[e.ID.Author], e)
	default:
		s.control = removeOrdered(s.control, e)
		s.ctl = nil
	}
}

func (s *State) unrelate(e *Event) {
	r := s.related[e.Target]
	if r == nil {
		return
	}
	drop := func(list []*Event) []*Event {
		return slices.DeleteFunc(list, func(x *Event) bool { return x == e })
	}
	r.edits, r.deletes = drop(r.edits), drop(r.deletes)
	r.reacts, r.unreacts = drop(r.reacts), drop(r.unreacts)
}

// Len returns the number of events held.
func (s *State) Len() int { return len(s.events) }

// MaxTime returns the latest Time of any event held: seed the Clock with it
// on restart.
func (s *State) MaxTime() Time { return s.maxTime }

// Heads calls f with each author of events held, the counter up to which
// every event of theirs is held (their entry in Version), and the largest
// counter held.
func (s *State) Heads(f func(author string, prefix, max uint64)) {
	for name, a := range s.authors {
		f(name, a.prefix, a.max)
	}
}

// Counters returns, for author, the counter up to which every event of
// theirs is held and the largest counter held (both 0 for none): the
// counters in between that no event holds are the replica's holes.
func (s *State) Counters(author string) (prefix, max uint64) {
	if a := s.authors[author]; a != nil {
		return a.prefix, a.max
	}
	return 0, 0
}

// Has reports whether the event with the given ID is held.
func (s *State) Has(id ID) bool {
	_, ok := s.events[id]
	return ok
}

// Next returns the ID for author's next event: one past the largest counter
// of theirs held.
func (s *State) Next(author string) ID {
	var n uint64
	if a := s.authors[author]; a != nil {
		n = a.max
	}
	return ID{Author: author, Seq: n + 1}
}

// Event returns the event with the given ID as held (erased texts are
// empty), and whether it is held.
func (s *State) Event(id ID) (Event, bool) {
	e, ok := s.events[id]
	if !ok {
		return Event{}, false
	}
	c := *e
	c.Tags = slices.Clone(e.Tags)
	return c, true
}
