package crdt

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Helpers that build events tersely: author, counter, wall time (ms), then
// the kind's fields.

func id(a string, seq uint64) ID { return ID{Author: a, Seq: seq} }

func at(a string, seq uint64, wall int64, k Kind) Event {
	return Event{ID: id(a, seq), Time: Time{Wall: wall}, Kind: k}
}

func create(a string, seq uint64, wall int64, name string) Event {
	e := at(a, seq, wall, KindCreate)
	e.Text = name
	return e
}

func post(a string, seq uint64, wall int64, text string) Event {
	e := at(a, seq, wall, KindPost)
	e.Text = text
	return e
}

func reply(a string, seq uint64, wall int64, text string, to ID) Event {
	e := post(a, seq, wall, text)
	e.Target = to
	return e
}

func edit(a string, seq uint64, wall int64, target ID, text string) Event {
	e := at(a, seq, wall, KindEdit)
	e.Target, e.Text = target, text
	return e
}

func del(a string, seq uint64, wall int64, target ID) Event {
	e := at(a, seq, wall, KindDelete)
	e.Target = target
	return e
}

func react(a string, seq uint64, wall int64, target ID, emoji string) Event {
	e := at(a, seq, wall, KindReact)
	e.Target, e.Text = target, emoji
	return e
}

func unreact(a string, seq uint64, wall int64, target ID, emoji string, tags ...uint64) Event {
	e := react(a, seq, wall, target, emoji)
	e.Kind, e.Tags = KindUnreact, tags
	return e
}

func rename(a string, seq uint64, wall int64, name string) Event {
	e := at(a, seq, wall, KindRename)
	e.Text = name
	return e
}

func topic(a string, seq uint64, wall int64, t string) Event {
	e := at(a, seq, wall, KindTopic)
	e.Text = t
	return e
}

func membership(k Kind, a string, seq uint64, wall int64, m string, epoch uint64) Event {
	e := at(a, seq, wall, k)
	e.Member, e.Epoch = m, epoch
	return e
}

func joined(a string, seq uint64, wall int64, m string, epoch uint64) Event {
	return membership(KindJoined, a, seq, wall, m, epoch)
}

func joinedVia(a string, seq uint64, wall int64, m string, epoch uint64, h InviteHash) Event {
	e := joined(a, seq, wall, m, epoch)
	e.Invite = h
	return e
}

func removed(a string, seq uint64, wall int64, m string, epoch uint64) Event {
	return membership(KindRemoved, a, seq, wall, m, epoch)
}

func left(a string, seq uint64, wall int64, m string, epoch uint64) Event {
	return membership(KindLeft, a, seq, wall, m, epoch)
}

func setRole(a string, seq uint64, wall int64, m string, r Role) Event {
	e := at(a, seq, wall, KindSetRole)
	e.Member, e.Role = m, r
	return e
}

func inviteCreate(a string, seq uint64, wall int64, h InviteHash, expires int64, uses uint32) Event {
	e := at(a, seq, wall, KindInviteCreate)
	e.Invite, e.Expires, e.MaxUses = h, expires, uses
	return e
}

func inviteRevoke(a string, seq uint64, wall int64, h InviteHash) Event {
	e := at(a, seq, wall, KindInviteRevoke)
	e.Invite = h
	return e
}

// build applies evs in order to a new State, failing on any error.
func build(t testing.TB, evs ...Event) *State {
	t.Helper()
	s := New()
	for _, e := range evs {
		if err := s.Apply(e); err != nil {
			t.Fatalf("Apply(%s %s): %v", e.Kind, e.ID, err)
		}
	}
	return s
}

// channel is a small history: alice creates, bob and carol join, bob is
// made admin.
func channel() []Event {
	return []Event{
		create("alice", 1, 1000, "general"),
		joined("alice", 2, 1010, "bob", 1),
		joined("alice", 3, 1020, "carol", 2),
		setRole("alice", 4, 1030, "bob", RoleAdmin),
	}
}

// eachOrder applies evs to fresh States in several orders (as given,
// reversed, shuffled with duplicates) and calls check on each, so that a
// test of the rules is also a test that they ignore arrival order. Every
// other order reads after each event, so that the derived control state is
// updated incrementally rather than rebuilt once.
func eachOrder(t *testing.T, evs []Event, check func(t *testing.T, s *State)) {
	t.Helper()
	orders := [][]Event{evs, slices.Clone(evs)}
	slices.Reverse(orders[1])
	rng := rand.New(rand.NewPCG(uint64(len(evs)), 7))
	for range 6 {
		orders = append(orders, shuffledWithDuplicates(rng, evs))
	}
	for i, o := range orders {
		s := New()
		for _, e := range o {
			applyAll(t, s, []Event{e})
			if i%2 == 1 {
				s.Role(e.ID.Author) // keep the derived state current: the incremental paths run
			}
		}
		t.Run(fmt.Sprintf("order%d", i), func(t *testing.T) { check(t, s) })
	}
}

func profile(a string, seq uint64, wall int64, name string) Event {
	e := at(a, seq, wall, KindProfile)
	e.Text = name
	return e
}
