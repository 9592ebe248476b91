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
