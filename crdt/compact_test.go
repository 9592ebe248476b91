package crdt

import (
	"bytes"
	"testing"
)

func TestCompact(t *testing.T) {
	p, d := id("carol", 1), id("bob", 1)
	base := append(channel(), post("carol", 1, 2000, "rude"), del("bob", 1, 2100, p))
	after := func(a string, seq uint64) Event { return profile(a, seq, 2200, a) } // an event after the delete
	all := VersionVector{"alice": 5, "bob": 2, "carol": 2}
	tests := []struct {
		name  string
		extra []Event
		peers map[string]VersionVector
		want  int
	}{
		{"stable", []Event{after("alice", 5), after("bob", 2), after("carol", 2)},
			map[string]VersionVector{"bob": all, "carol": all}, 1},
		{"a member's version vector is unknown", []Event{after("bob", 2), after("carol", 2)},
			map[string]VersionVector{"bob": all}, 0},
		{"a member has not seen the delete", []Event{after("bob", 2), after("carol", 2)},
			map[string]VersionVector{"bob": all, "carol": {"carol": 2}}, 0},
		{"no event of a member after the delete", []Event{after("bob", 2)},
			map[string]VersionVector{"bob": all, "carol": all}, 0},
		{"a former member's events are missing", []Event{after("bob", 2), after("carol", 2)},
			map[string]VersionVector{"bob": all, "carol": {"bob": 1, "carol": 2, "dave": 3}}, 0},
		{"a member's delete is not effective", []Event{setRole("alice", 5, 2050, "bob", RoleMember),
			after("bob", 2), after("carol", 2)}, map[string]VersionVector{"bob": all, "carol": all}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := build(t, append(append([]Event{}, base...), tt.extra...)...)
			if got := s.Compact("alice", tt.peers); got != tt.want {
				t.Fatalf("Compact = %d, want %d", got, tt.want)
			}
			if erased := held(s, p) == ""; erased != (tt.want == 1) {
				t.Errorf("text erased = %v", erased)
			}
			if _, ok := s.Event(d); !ok {
				t.Error("the delete itself must stay")
			}
			r, err := Restore(s.Snapshot())
			if err != nil || !bytes.Equal(r.Snapshot(), s.Snapshot()) || dump(t, r, 0) != dump(t, s, 0) {
				t.Errorf("restore after compaction: %v", err)
			}
		})
	}
}
