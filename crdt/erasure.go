package crdt

import (
	"encoding/binary"
	"slices"
)

// Erasure: when a message's author deletes it, the texts of the message and
// of its edits are dropped. Which messages are erased must depend only on
// what every replica eventually receives, including the losing copies of
// equivocated events (state.go, reconcile), because dropping text cannot be
// undone. So erasure is driven by marks, a set that only grows: a post is
// marked when any copy of a self-delete of it (a Delete whose author is the
// post's author, which the target ID names) or any copy of it with an empty
// text (as sync sends erased posts) is received. A marked post and its
// edits hold empty texts. Marks are kept in snapshots, since a losing copy
// that set one is not. See docs/crdt.md, "Tombstones and compaction".

// mark records the erasure e calls for, if any, and applies it.
func (s *State) mark(e *Event) {
	switch {
	case e.Kind == KindDelete && e.ID.Author == e.Target.Author:
		s.markErased(e.Target)
	case e.Kind == KindPost && e.Text == "":
		s.markErased(e.ID)
	}
}

// markErased marks post id erased and drops the texts held for it.
func (s *State) markErased(id ID) {
	if s.erasures[id] {
		return
	}
	s.erasures[id] = true
	if p := s.events[id]; p != nil && p.Kind == KindPost {
		p.Text = ""
	}
	if r := s.related[id]; r != nil {
		for _, e := range r.edits {
			e.Text = ""
		}
	}
}

// appendErasures appends the marks, sorted by ID.
func (s *State) appendErasures(b []byte) []byte {
	ids := make([]ID, 0, len(s.erasures))
	for id := range s.erasures {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, ID.Compare)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		b = appendID(b, id)
	}
	return b
}

// erasures reads marks written by appendErasures into s: valid IDs in
// strictly increasing order.
func (d *decoder) erasures(s *State) {
	n := d.uvarint()
	var prev ID
	for i := uint64(0); i < n && d.err == nil; i++ {
		id := d.id()
		if d.err != nil {
			return
		}
		if err := checkTarget(id); err != nil {
			d.failWith(err)
			return
		}
		if i > 0 && prev.Compare(id) >= 0 {
			d.fail("erasures out of order")
			return
		}
		s.markErased(id)
		prev = id
	}
}
