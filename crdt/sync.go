package crdt

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// VersionVector maps an author to the counter up to which every event of
// theirs is held (gaps stop it: events past a gap are held but not
// counted). It is what a peer sends to ask for the events it lacks.
type VersionVector map[string]uint64

// MaxVersionAuthors bounds the authors in an encoded version vector.
const MaxVersionAuthors = 1 << 16

// Version returns the state's version vector. Authors with no gap-free
// prefix are omitted.
func (s *State) Version() VersionVector {
	vv := make(VersionVector, len(s.authors))
	for name, a := range s.authors {
		if a.prefix > 0 {
			vv[name] = a.prefix
		}
	}
	return vv
}

// Missing returns the events held that a peer whose version vector is vv
// may lack (every event past vv's counter for its author), in total order,
// so that applying them in turn keeps the peer's derived state current.
// Events past a gap in the peer's log are included; the peer drops the
// duplicates.
func (s *State) Missing(vv VersionVector) []Event {
	var out []*Event
	for id, e := range s.events {
		if id.Seq > vv[id.Author] {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, compareEvents)
	evs := make([]Event, len(out))
	for i, e := range out {
		evs[i] = *e
		evs[i].Tags = slices.Clone(e.Tags)
	}
	return evs
}

func compareEvents(a, b *Event) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return a.ID.Compare(b.ID)
}

// MarshalBinary encodes vv deterministically (authors in byte order).
func (vv VersionVector) MarshalBinary() ([]byte, error) {
	if len(vv) > MaxVersionAuthors {
		return nil, tooLarge("version vector", len(vv), MaxVersionAuthors)
	}
	authors := make([]string, 0, len(vv))
	for a := range vv {
		if err := checkIdentity("author", a); err != nil {
			return nil, err
		}
		authors = append(authors, a)
	}
	slices.Sort(authors)
	b := binary.AppendUvarint([]byte{encodingVersion}, uint64(len(authors)))
	for _, a := range authors {
		b = binary.AppendUvarint(appendString(b, a), vv[a])
	}
	return b, nil
}

// UnmarshalVersionVector decodes a version vector encoded by
// VersionVector.MarshalBinary. Authors must be in strictly increasing byte
// order and counters non-zero, so an accepted input re-encodes identically.
func UnmarshalVersionVector(b []byte) (VersionVector, error) {
	if len(b) == 0 || b[0] != encodingVersion {
		return nil, fmt.Errorf("%w: version vector", ErrVersion)
	}
	d := &decoder{b: b[1:]}
	n := d.uvarint()
	if n > MaxVersionAuthors {
		return nil, tooLarge("version vector", int(min(n, 1<<31)), MaxVersionAuthors)
	}
	vv := make(VersionVector)
	prev := ""
	for i := uint64(0); i < n && d.err == nil; i++ {
		a, seq := d.str("author", MaxAuthorLen), d.uvarint()
		if d.err == nil && (a == "" || (i > 0 && strings.Compare(a, prev) <= 0) || seq == 0) {
			d.fail("version vector out of order")
		}
		vv[a], prev = seq, a
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return vv, nil
}
