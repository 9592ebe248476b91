package crdt

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// model is a second, deliberately naive implementation of the rules: it
// replays the whole event set in total order, once, with plain maps. The
// State's incremental indexes, lazy evaluation, role spans and chunked
// timeline must agree with it (a metamorphic test in the Pebble style).
type model struct {
	roles   map[string]Role
	joined  map[string]*Event
	epochs  map[string]uint64
	created bool
	name    string
	posts   []*modelPost
	byID    map[ID]*modelPost
	delOK   map[ID]bool     // an effective delete exists
	adds    map[ID][]*Event // effective reacts by message
	removed map[ID]bool     // react IDs removed by their author
	edited  map[ID]*Event   // winning edit by message
	cuts    []*Event        // departures with a cut, in total order
	caps    []*Event        // demotions that cap (taken from a first pass)
	demoted []*Event        // demotions with a cut that took effect
}

type modelPost struct {
	e       *Event
	visible bool
}

func runModel(evs []Event, erased map[ID]bool) *model {
	ptrs := make([]*Event, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i]
	}
	slices.SortFunc(ptrs, compareEvents)
	admitted := admittedMembers(ptrs) // the creator rule needs the whole set
	var cuts []*Event                 // and the cuts
	for _, e := range ptrs {
		if (e.Kind == KindLeft || e.Kind == KindRemoved) && !e.Target.IsZero() {
			cuts = append(cuts, e)
		}
	}
	pass := func(caps []*Event) *model {
		m := &model{roles: map[string]Role{}, joined: map[string]*Event{}, epochs: map[string]uint64{},
			byID: map[ID]*modelPost{}, delOK: map[ID]bool{}, adds: map[ID][]*Event{},
			removed: map[ID]bool{}, edited: map[ID]*Event{}, cuts: cuts, caps: caps}
		for _, e := range ptrs {
			m.step(e, admitted)
		}
		return m
	}
	// The demotions that take effect by the order alone cap their
	// subjects' earlier events in a second pass.
	m := pass(nil)
	if len(m.demoted) > 0 {
		m = pass(m.demoted)
	}
	for id := range erased {
		m.delOK[id] = true
	}
	return m
}

func (m *model) step(e *Event, admitted map[string]bool) {
	actor := m.roles[e.ID.Author]
	for _, d := range m.cuts {
		if d.Member == e.ID.Author && compareEvents(e, d) < 0 && e.ID.Seq >= d.Target.Seq {
			actor = RoleNone
		}
	}
	for _, d := range m.caps {
		if d.Member == e.ID.Author && compareEvents(e, d) < 0 && e.ID.Seq >= d.Target.Seq {
			actor = min(actor, d.Role)
		}
	}
	switch e.Kind {
	case KindCreate:
		if !m.created && !admitted[e.ID.Author] {
			m.created, m.name = true, e.Text
			m.epochs[e.ID.Author] = 0
			m.roles[e.ID.Author], m.joined[e.ID.Author] = RoleOwner, e
		}
	case KindJoined, KindLeft, KindRemoved:
		m.membership(e)
	case KindRename:
		if actor >= RoleAdmin {
			m.name = e.Text
		}
	case KindSetRole:
		owners := 0
		for _, r := range m.roles {
			if r == RoleOwner {
				owners++
			}
		}
		if actor == RoleOwner && m.roles[e.Member] != RoleNone && !(e.Member == e.ID.Author && e.Role < RoleOwner && owners == 1) {
			if !e.Target.IsZero() && e.Role < m.roles[e.Member] {
				m.demoted = append(m.demoted, e)
			}
			m.roles[e.Member] = e.Role
		}
	default:
		m.content(e, actor)
	}
}

func (m *model) membership(e *Event) {
	if last, ok := m.epochs[e.Member]; ok && e.Epoch < last {
		return
	}
	m.epochs[e.Member] = e.Epoch
	if e.Kind == KindJoined {
		if m.roles[e.Member] == RoleNone {
			m.roles[e.Member], m.joined[e.Member] = RoleMember, e
		}
		return
	}
	if m.roles[e.Member] == RoleNone {
		return
	}
	wasOwner := m.roles[e.Member] == RoleOwner
	delete(m.roles, e.Member)
	if !wasOwner {
		return
	}
	var heir string
	for id, r := range m.roles {
		if r == RoleOwner {
			return
		}
		if heir == "" || r > m.roles[heir] || (r == m.roles[heir] && before(m.joined[id], m.joined[heir])) {
			heir = id
		}
	}
	if heir != "" {
		m.roles[heir] = RoleOwner
	}
}

func (m *model) content(e *Event, actor Role) {
	switch e.Kind {
	case KindPost:
		p := &modelPost{e: e, visible: actor >= RoleMember}
		m.posts = append(m.posts, p)
		m.byID[e.ID] = p
	case KindEdit:
		if actor >= RoleMember && e.ID.Author == e.Target.Author && m.byID[e.Target] != nil {
			m.edited[e.Target] = e // in order: the last one wins; before the post: ignored
		}
	case KindDelete:
		if e.ID.Author == e.Target.Author || actor >= RoleAdmin {
			m.delOK[e.Target] = true
		}
	case KindReact:
		if actor >= RoleMember {
			m.adds[e.Target] = append(m.adds[e.Target], e)
		}
	case KindUnreact:
		for _, t := range e.Tags {
			m.removed[ID{Author: e.ID.Author, Seq: t}] = true
		}
	}
}

// messages renders the model's timeline like State.MessagesAfter.
func (m *model) messages(s *State) string {
	var b strings.Builder
	for _, p := range m.posts {
		if !p.visible {
			continue
		}
		msg := Message{ID: p.e.ID, Author: p.e.ID.Author, Time: p.e.Time, ReplyTo: p.e.Target}
		if msg.Deleted = m.delOK[p.e.ID] || p.e.Text == ""; !msg.Deleted {
			msg.Text = p.e.Text
			if ed := m.edited[p.e.ID]; ed != nil {
				msg.Text, msg.EditedAt = ed.Text, ed.Time
			}
			msg.Reactions = m.reactions(p.e.ID, s)
		}
		fmt.Fprintf(&b, "%+v\n", msg)
	}
	return b.String()
}

func (m *model) reactions(id ID, s *State) []Reaction {
	by := map[string]map[string]bool{}
	for _, a := range m.adds[id] {
		if m.removed[a.ID] {
			continue
		}
		if by[a.Text] == nil {
			by[a.Text] = map[string]bool{}
		}
		by[a.Text][a.ID.Author] = true
	}
	return sortReactions(by)
}

// TestModel compares each simulated channel with the naive model.
func TestModel(t *testing.T) {
	for seed := range uint64(*seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newSim(t, 100+seed, 4)
			s.roleChurn = seed%2 == 1
			s.run(1500)
			st := s.nodes[0].state
			m := runModel(st.Missing(nil), st.erasures)
			ms, _ := st.MessagesAfter(ID{}, 1<<30)
			var got strings.Builder
			for _, msg := range ms {
				fmt.Fprintf(&got, "%+v\n", msg)
			}
			if want := m.messages(st); got.String() != want {
				t.Errorf("timeline differs from the model:\n%s", firstDiff(want, got.String()))
			}
			roles := map[string]Role{}
			for _, mem := range st.Members() {
				roles[mem.ID] = mem.Role
			}
			if !mapsEqual(roles, m.roles) || st.Metadata().Name != m.name {
				t.Errorf("members %v name %q; model %v %q", roles, st.Metadata().Name, m.roles, m.name)
			}
		})
	}
}
