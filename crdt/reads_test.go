package crdt

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func read(a string, seq uint64, wall int64, target ID) Event {
	e := at(a, seq, wall, KindRead)
	e.Target = target
	return e
}

// TestReadPositions: a member's read position is its last Read in total
// order made while a member; "read by" counts the members whose position
// is at or after a post; any arrival order gives the same answers, also
// after a snapshot.
func TestReadPositions(t *testing.T) {
	p1, p2, p3 := post("alice", 5, 2000, "one"), post("alice", 6, 2010, "two"), post("carol", 1, 2020, "three")
	evs := append(channel(), p1, p2, p3,
		read("bob", 1, 2100, p1.ID), read("bob", 2, 2200, p2.ID), // bob read up to two
		read("carol", 2, 2300, p3.ID), read("carol", 3, 2050, p1.ID), // carol's older read loses
		read("zed", 1, 2400, p3.ID),             // not a member: ignored
		read("alice", 7, 2500, id("alice", 99)), // a post this replica lacks: ignored
	)
	eachOrder(t, evs, func(t *testing.T, s *State) {
		for _, st := range []*State{s, restored(t, s)} {
			got := map[string][]string{"one": st.ReadBy(p1.ID), "two": st.ReadBy(p2.ID), "three": st.ReadBy(p3.ID)}
			want := map[string][]string{"one": {"bob", "carol"}, "two": {"bob", "carol"}, "three": nil}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ReadBy (-want +got)\n%s", diff)
			}
			if pos, ok := st.ReadPosition("bob"); !ok || pos != p2.ID {
				t.Errorf("bob's position %v %v", pos, ok)
			}
			if _, ok := st.ReadPosition("alice"); ok {
				t.Error("alice has a position on a post the replica lacks")
			}
		}
	})
}

func restored(t *testing.T, s *State) *State {
	t.Helper()
	r, err := Restore(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCountAfter counts others' visible posts after a position.
func TestCountAfter(t *testing.T) {
	p1, p2, p3 := post("alice", 5, 2000, "one"), post("bob", 1, 2010, "two"), post("carol", 1, 2020, "three")
	s := build(t, append(channel(), p1, p2, p3, post("zed", 1, 2030, "stranger"))...)
	for _, c := range []struct {
		after ID
		skip  string
		limit int
		want  int
	}{
		{ID{}, "alice", 100, 2}, {ID{}, "", 100, 3}, {p1.ID, "alice", 100, 2}, {p2.ID, "alice", 100, 1},
		{p3.ID, "alice", 100, 0}, {ID{}, "", 2, 2}, {id("nobody", 1), "", 100, 0},
	} {
		if got := s.CountAfter(c.after, c.skip, c.limit); got != c.want {
			t.Errorf("CountAfter(%v, %q, %d) = %d, want %d", c.after, c.skip, c.limit, got, c.want)
		}
	}
	if !s.After(p2.ID, p1.ID) || s.After(p1.ID, p2.ID) || s.After(p1.ID, id("nobody", 1)) {
		t.Error("After orders posts wrongly")
	}
}

// TestCheckRead: members read posts the replica shows; nothing else.
func TestCheckRead(t *testing.T) {
	p1 := post("alice", 5, 2000, "one")
	s := build(t, append(channel(), p1)...)
	if err := s.Check(read("bob", 1, 3000, p1.ID)); err != nil {
		t.Errorf("member's read: %v", err)
	}
	if err := s.Check(read("bob", 1, 3000, id("alice", 99))); !errors.Is(err, ErrUnknownMessage) {
		t.Errorf("read of an unknown post: %v", err)
	}
	if err := s.Check(read("zed", 1, 3000, p1.ID)); !errors.Is(err, ErrForbidden) {
		t.Errorf("stranger's read: %v", err)
	}
	bad := read("bob", 1, 3000, p1.ID)
	bad.Text = "x"
	if err := s.Check(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("read with text: %v", err)
	}
	if err := s.Check(read("bob", 1, 3000, ID{})); !errors.Is(err, ErrInvalid) {
		t.Errorf("read without a target: %v", err)
	}
}

// TestChanges: the system lines of a stretch of the timeline, in order:
// joins, effective renames and roles, name changes with the old name.
func TestChanges(t *testing.T) {
	p1, p2 := post("alice", 5, 2000, "one"), post("alice", 7, 3000, "two")
	evs := append(channel(), p1, p2,
		rename("alice", 6, 2500, "lobby"), rename("carol", 2, 2600, "not an admin"),
		profile("carol", 1, 1500, "Carol"), profile("carol", 3, 2700, "Caz"), profile("carol", 4, 2800, "Caz"))
	eachOrder(t, evs, func(t *testing.T, s *State) {
		kinds := func(cs []Change) []string {
			var out []string
			for _, c := range cs {
				out = append(out, c.Kind.String()+":"+c.Member+c.Text+"<"+c.Before)
			}
			return out
		}
		all, err := s.Changes(ID{}, ID{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"joined:bob<", "joined:carol<", "set-role:bob<", "rename:lobby<", "profile:Caz<Carol"}
		if diff := cmp.Diff(want, kinds(all)); diff != "" {
			t.Errorf("all (-want +got)\n%s", diff)
		}
		mid, err := s.Changes(p1.ID, p2.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[3:], kinds(mid)); diff != "" {
			t.Errorf("between the posts (-want +got)\n%s", diff)
		}
		if early, _ := s.Changes(ID{}, p1.ID, 2); !slices.Equal(kinds(early), want[1:3]) {
			t.Errorf("limited: %v", kinds(early))
		}
		if _, err := s.Changes(id("nobody", 1), ID{}, 10); !errors.Is(err, ErrUnknownMessage) {
			t.Errorf("unknown bound: %v", err)
		}
	})
}
