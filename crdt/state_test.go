package crdt

import (
	"bytes"
	"errors"
	"testing"
)

func TestApplyDuplicate(t *testing.T) {
	s := build(t, channel()...)
	before := s.Snapshot()
	if err := s.Apply(channel()[1]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("Apply(again) = %v, want ErrDuplicate", err)
	}
	if !bytes.Equal(before, s.Snapshot()) {
		t.Error("a duplicate changed the state")
	}
}

func TestApplyInvalidChangesNothing(t *testing.T) {
	s := build(t, channel()...)
	before := s.Snapshot()
	bad := post("carol", 1, 2000, "\xff")
	if err := s.Apply(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Apply = %v, want ErrInvalid", err)
	}
	if !bytes.Equal(before, s.Snapshot()) || s.Next("carol").Seq != 1 {
		t.Error("an invalid event changed the state")
	}
}

// TestConflict: an author equivocates (two events, one ID); every replica
// keeps the same one whichever arrives first.
func TestConflict(t *testing.T) {
	tests := []struct {
		name string
		a, b Event
		want string // text of the message kept
	}{
		{"texts differ", post("carol", 1, 2000, "aaa"), post("carol", 1, 2000, "bbb"), "aaa"},
		{"times differ", post("carol", 1, 2000, "aaa"), post("carol", 1, 1999, "bbb"), "bbb"},
		{"kinds differ", post("carol", 1, 2000, "aaa"), rename("carol", 1, 2000, "bbb"), "aaa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var snaps [][]byte
			for _, order := range [][]Event{{tt.a, tt.b}, {tt.b, tt.a}} {
				s := build(t, channel()...)
				if err := s.Apply(order[0]); err != nil {
					t.Fatal(err)
				}
				if err := s.Apply(order[1]); !errors.Is(err, ErrConflict) {
					t.Fatalf("second copy: %v, want ErrConflict", err)
				}
				m, err := s.Message(id("carol", 1))
				if err != nil || m.Text != tt.want {
					t.Errorf("kept %+v, %v; want text %q", m, err, tt.want)
				}
				snaps = append(snaps, s.Snapshot())
			}
			if !bytes.Equal(snaps[0], snaps[1]) {
				t.Error("replicas disagree")
			}
		})
	}
}

// TestErasure: an author's delete erases the text of the message and its
// edits; an erased copy of a message (as sync sends it) is the same event.
func TestErasure(t *testing.T) {
	p := id("carol", 1)
	full := []Event{post("carol", 1, 2000, "secret"), edit("carol", 2, 2100, p, "secret 2"), del("carol", 3, 2200, p)}
	erased := []Event{post("carol", 1, 2000, ""), edit("carol", 2, 2100, p, ""), del("carol", 3, 2200, p)}
	evs := append(append(channel(), full...), erased...)
	var want []byte
	eachOrder(t, evs, func(t *testing.T, s *State) {
		for _, e := range full[:2] {
			if txt := held(s, e.ID); txt != "" {
				t.Errorf("%s still holds %q", e.ID, txt)
			}
		}
		if want == nil {
			want = s.Snapshot()
		} else if !bytes.Equal(want, s.Snapshot()) {
			t.Error("snapshots differ")
		}
	})
	// Without the delete, an erased copy still wins: erasure is monotone.
	s := build(t, append(channel(), full[0])...)
	if err := s.Apply(erased[0]); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("erased copy: %v, want ErrDuplicate", err)
	}
	if m, _ := s.Message(p); !m.Deleted {
		t.Errorf("message %+v, want deleted", m)
	}
}

func TestNextAndEvent(t *testing.T) {
	s := build(t, append(channel(), post("carol", 1, 2000, "a"), post("carol", 5, 2001, "gap"))...)
	tests := []struct {
		author string
		want   uint64
	}{{"carol", 6}, {"alice", 5}, {"nobody", 1}}
	for _, tt := range tests {
		if got := s.Next(tt.author); got != id(tt.author, tt.want) {
			t.Errorf("Next(%s) = %v, want seq %d", tt.author, got, tt.want)
		}
	}
	if e, ok := s.Event(id("carol", 5)); !ok || e.Text != "gap" {
		t.Errorf("Event = %+v, %v", e, ok)
	}
	if _, ok := s.Event(id("carol", 2)); ok {
		t.Error("Event(missing) found")
	}
	if s.Len() != 6 || s.MaxTime() != (Time{Wall: 2001}) {
		t.Errorf("Len %d MaxTime %v", s.Len(), s.MaxTime())
	}
}

// TestApplyCopiesTags: the state keeps no reference to the caller's slice.
func TestApplyCopiesTags(t *testing.T) {
	p := id("carol", 1)
	u := unreact("bob", 2, 2200, p, "👍", 1)
	s := build(t, append(channel(), post("carol", 1, 2000, "hi"), react("bob", 1, 2100, p, "👍"), u)...)
	u.Tags[0] = 99
	if m, _ := s.Message(p); len(m.Reactions) != 0 {
		t.Errorf("reactions %+v: the caller's slice leaked in", m.Reactions)
	}
}

// TestErasureSurvivesEquivocation: an author sends two versions of their
// delete. Whichever version wins, a delete was seen, the text is gone, and
// every order agrees.
func TestErasureSurvivesEquivocation(t *testing.T) {
	p := id("carol", 1)
	d1 := del("carol", 2, 2200, p)
	d2 := post("carol", 2, 2100, "forged") // same ID, kind post (2) < delete (4): wins
	evs := append(channel(), post("carol", 1, 2000, "secret"), edit("carol", 3, 2050, p, "secret 2"), d1, d2)
	var want []byte
	for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {3, 0, 1, 2}} {
		s := build(t, channel()...)
		for _, i := range order {
			if err := s.Apply(evs[len(channel())+i]); err != nil && !errors.Is(err, ErrConflict) {
				t.Fatal(err)
			}
		}
		if held(s, p) != "" || held(s, id("carol", 3)) != "" {
			t.Errorf("order %v: texts kept", order)
		}
		if e, _ := s.Event(d1.ID); e.Kind != KindPost {
			t.Errorf("order %v: kept the %s copy, want the post", order, e.Kind)
		}
		if want == nil {
			want = s.Snapshot()
		} else if !bytes.Equal(want, s.Snapshot()) {
			t.Errorf("order %v: snapshot differs", order)
		}
		r, err := Restore(s.Snapshot())
		if err != nil || !bytes.Equal(r.Snapshot(), want) {
			t.Errorf("order %v: restore: %v", order, err)
		}
	}
}
