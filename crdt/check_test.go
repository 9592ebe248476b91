package crdt

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheck is the node's gate before it authors an event.
func TestCheck(t *testing.T) {
	h, used := HashInvite([]byte("s")), HashInvite([]byte("u"))
	p, gone := id("carol", 1), id("carol", 2)
	s := build(t, append(channel(), post("carol", 1, 2000, "hi"), post("carol", 2, 2001, "bye"),
		del("carol", 3, 2002, gone), inviteCreate("bob", 1, 2000, h, 9000, 0),
		inviteCreate("bob", 2, 2000, used, 0, 1), joinedVia("bob", 3, 2100, "dave", 3, used))...)
	tests := []struct {
		name string
		e    Event
		want error
	}{
		{"member posts", post("carol", 4, 3000, "x"), nil},
		{"stranger posts", post("zed", 1, 3000, "x"), ErrForbidden},
		{"author edits", edit("carol", 4, 3000, p, "y"), nil},
		{"other edits", edit("bob", 4, 3000, p, "y"), ErrForbidden},
		{"edit of unknown message", edit("carol", 4, 3000, id("carol", 99), "y"), ErrUnknownMessage},
		{"edit of deleted message", edit("carol", 4, 3000, gone, "y"), ErrUnknownMessage},
		{"admin deletes", del("bob", 4, 3000, p), nil},
		{"member deletes another's", del("dave", 1, 3000, p), ErrForbidden},
		{"member reacts", react("dave", 1, 3000, p, "👍"), nil},
		{"member renames", rename("carol", 4, 3000, "n"), ErrForbidden},
		{"admin renames", rename("bob", 4, 3000, "n"), nil},
		{"admin grants", setRole("bob", 4, 3000, "carol", RoleAdmin), ErrForbidden},
		{"owner grants", setRole("alice", 5, 3000, "carol", RoleAdmin), nil},
		{"owner grants a stranger", setRole("alice", 5, 3000, "zed", RoleAdmin), ErrForbidden},
		{"member admits with invite", joinedVia("carol", 4, 3000, "zed", 4, h), nil},
		{"member admits with expired invite", joinedVia("carol", 4, 9000, "zed", 4, h), ErrInviteExpired},
		{"member admits with used-up invite", joinedVia("carol", 4, 3000, "zed", 4, used), ErrInviteUsedUp},
		{"member admits without invite", joined("carol", 4, 3000, "zed", 4), ErrForbidden},
		{"admin admits without invite", joined("bob", 4, 3000, "zed", 4), nil},
		{"stranger admits", joinedVia("zed", 1, 3000, "yan", 4, h), ErrForbidden},
		{"admit a member", joined("bob", 4, 3000, "carol", 4), ErrForbidden},
		{"admin removes member", removed("bob", 4, 3000, "carol", 4), nil},
		{"admin removes owner", removed("bob", 4, 3000, "alice", 4), ErrForbidden},
		{"owner removes admin", removed("alice", 5, 3000, "bob", 4), nil},
		{"member removes member", removed("carol", 4, 3000, "dave", 4), ErrForbidden},
		{"remove self", removed("alice", 5, 3000, "alice", 4), ErrForbidden},
		{"member leaves", left("bob", 4, 3000, "carol", 4), nil},
		{"member creates invite", inviteCreate("carol", 4, 3000, HashInvite([]byte("n")), 0, 0), ErrForbidden},
		{"invite creator revokes", inviteRevoke("bob", 4, 3000, h), nil},
		{"member revokes another's invite", inviteRevoke("carol", 4, 3000, h), ErrForbidden},
		{"revoke unknown invite", inviteRevoke("bob", 4, 3000, HashInvite([]byte("n"))), ErrInviteUnknown},
		{"second create", create("bob", 4, 3000, "x"), ErrForbidden},
		{"invalid event", post("", 1, 3000, "x"), ErrInvalid},
		{"empty post", post("carol", 4, 3000, ""), ErrInvalid},
		{"empty edit", edit("carol", 4, 3000, p, ""), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Snapshot()
			err := s.Check(tt.e)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
			if !cmp.Equal(before, s.Snapshot()) {
				t.Error("Check changed the state")
			}
		})
	}
}

func TestEmit(t *testing.T) {
	s := build(t, channel()...)
	clock := NewClock(s.MaxTime())
	e, err := s.Emit("carol", clock, 500, Event{Kind: KindPost, Text: "hi"}) // physical clock behind
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != id("carol", 1) || e.Time.Compare(Time{Wall: 1030}) <= 0 {
		t.Errorf("stamped %v at %v; want carol/1 after the channel's latest event", e.ID, e.Time)
	}
	if ms, _ := s.Messages(ID{}, 1); len(ms) != 1 || ms[0].Text != "hi" {
		t.Errorf("messages %+v", ms)
	}
	before := s.Snapshot()
	if _, err := s.Emit("carol", clock, 600, Event{Kind: KindRename, Text: "x"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("member rename: %v, want ErrForbidden", err)
	}
	if !cmp.Equal(before, s.Snapshot()) || s.Next("carol").Seq != 2 {
		t.Error("a refused Emit changed the state")
	}
}

// TestHeads: Heads reports each author's largest counter held, as Next
// does one past it.
func TestHeads(t *testing.T) {
	s := build(t, channel()...)
	clock := NewClock(s.MaxTime())
	for range 3 {
		if _, err := s.Emit("carol", clock, 2000, Event{Kind: KindPost, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	heads := map[string]uint64{}
	s.Heads(func(a string, prefix, max uint64) {
		heads[a] = max
		if p, m := s.Counters(a); p != prefix || m != max || prefix != max {
			t.Errorf("%s: heads %d..%d, counters %d..%d, want a gap-free prefix", a, prefix, max, p, m)
		}
	})
	if heads["carol"] != 3 || len(heads) == 0 {
		t.Errorf("heads %v, want carol at 3", heads)
	}
	for a, max := range heads {
		if s.Next(a).Seq != max+1 {
			t.Errorf("%s: head %d, next %d", a, max, s.Next(a).Seq)
		}
	}
}

// TestCounters: a held event past a missing counter leaves a hole that
// Counters and Heads show (the prefix stops below it) and that closes
// when the missing event arrives.
func TestCounters(t *testing.T) {
	s := build(t, append(channel(), post("carol", 1, 2000, "a"), post("carol", 2, 2001, "b"), post("carol", 4, 2003, "d"))...)
	if p, m := s.Counters("carol"); p != 2 || m != 4 {
		t.Fatalf("carol's counters %d..%d, want 2..4", p, m)
	}
	if s.Has(ID{Author: "carol", Seq: 3}) || !s.Has(ID{Author: "carol", Seq: 4}) {
		t.Fatal("Has disagrees with the events held")
	}
	s.Heads(func(a string, prefix, max uint64) {
		if a == "carol" && (prefix != 2 || max != 4) {
			t.Errorf("carol's heads %d..%d, want 2..4", prefix, max)
		}
	})
	if p, m := s.Counters("dave"); p != 0 || m != 0 {
		t.Errorf("an unknown author's counters %d..%d", p, m)
	}
	if err := s.Apply(post("carol", 3, 2002, "c")); err != nil {
		t.Fatal(err)
	}
	if p, m := s.Counters("carol"); p != 4 || m != 4 {
		t.Errorf("carol's counters %d..%d after the hole closed, want 4..4", p, m)
	}
}
