package crdt

import (
	"bytes"
	"errors"
	"testing"
)

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
