package crdt

// Compact makes admin deletes final once they are stable, erasing the
// texts of the messages they delete as an author's own delete does. self is
// the local member; peers holds the version vector each other current
// member last reported (the node's sync learns them). A delete d is stable
// when, for every current member M other than self:
//
//   - peers[M] covers d (M has seen it, so every event M creates from then
//     on is ordered after d);
//   - this replica holds a gap-free prefix of M's events ending with one
//     ordered after d (so every event M created before seeing d is held),
//     and reaching M's own counter in peers[M] (so a demotion or removal
//     M made before reporting, which may cap or void d by its cut, is
//     held: docs/crdt.md, "Cut");
//
// and this replica holds every event the peers report of authors who are no
// longer members. No event ordered before d can then arrive from an honest
// member, so d's effect is final. Compact returns the number of messages
// erased.
//
// Compaction is local: replicas compact at different times, so their
// snapshots differ (in the erasure marks) until all have compacted; their
// views do not. See docs/crdt.md, "Tombstones and compaction".
func (s *State) Compact(self string, peers map[string]VersionVector) int {
	c := s.controls()
	own := s.Version()
	if !s.holdsFormerMembers(c, own, peers) {
		return 0
	}
	n := 0
	for id, r := range s.related {
		p := s.events[id]
		if p == nil || p.Kind != KindPost || s.erasures[id] {
			continue
		}
		for _, d := range r.deletes {
			if c.roleAt(d.ID.Author, d) >= RoleAdmin && s.stable(c, d, self, own, peers) {
				s.markErased(id)
				n++
				break
			}
		}
	}
	return n
}

// stable checks the per-member conditions of Compact for delete d.
func (s *State) stable(c *controlState, d *Event, self string, own VersionVector, peers map[string]VersionVector) bool {
	for m := range c.members {
		if m == self {
			continue
		}
		vv, ok := peers[m]
		if !ok || vv[d.ID.Author] < d.ID.Seq || own[m] < vv[m] {
			return false
		}
		last := s.events[ID{Author: m, Seq: own[m]}]
		if last == nil || !before(d, last) {
			return false
		}
	}
	return true
}

// holdsFormerMembers reports whether this replica holds every event the
// peers report of authors who are not current members.
func (s *State) holdsFormerMembers(c *controlState, own VersionVector, peers map[string]VersionVector) bool {
	for _, vv := range peers {
		for a, n := range vv {
			if c.members[a] == nil && own[a] < n {
				return false
			}
		}
	}
	return true
}
