package crdt

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// snapshotMagic starts every snapshot; the byte after it is the version.
const snapshotMagic = "SPCRDT"

// snapshotVersion is the current snapshot layout (docs/crdt.md, "Snapshot").
// Version 2 adds a departure's cut to every Left and Removed event (0 for
// none), version 3 a demotion's cut to every SetRole event; snapshots of
// versions 1 and 2, which lack them, are still read.
const snapshotVersion = 3

// snapshotCut reports whether a snapshot of version v writes a cut after
// every event of kind k.
func snapshotCut(v byte, k Kind) bool {
	return v >= 2 && isDeparture(k) || v >= 3 && k == KindSetRole
}

// Snapshot encodes the state: every event held, in total order, with
// authors written once in a table and times as deltas, then the erasure
// marks. Replicas that received the same events produce the same bytes.
func (s *State) Snapshot() []byte {
	var out []byte
	// One piece, the last: SnapshotTo no longer uses it, so no copy.
	s.SnapshotTo(math.MaxInt, func(p []byte) error { //nolint:errcheck // emit never fails
		out = p
		return nil
	})
	return out
}

// SnapshotTo encodes the same bytes as Snapshot and hands them to emit in
// consecutive pieces of at least chunk bytes (the last may be shorter; there
// is at least one), so that a caller can store a large state without ever
// holding its whole encoding: a snapshot of 100,000 messages is megabytes.
// emit must not keep the slice it is given, which is reused, and must not
// change the state; SnapshotTo stops at emit's first error and returns it.
func (s *State) SnapshotTo(chunk int, emit func([]byte) error) error {
	return s.snapshotTo(snapshotVersion, chunk, emit)
}

// snapshotTo is SnapshotTo in the layout of version v (tests write the
// older versions with it, to check that they are still read).
func (s *State) snapshotTo(v byte, chunk int, emit func([]byte) error) error {
	chunk = max(chunk, 1)
	evs := s.ordered()
	authors, index := s.authorTable(evs)
	// Cap the buffer at about one chunk plus one event, so that it
	// never grows by copying; a whole snapshot is about 64 bytes a message.
	b := make([]byte, 0, min(chunk, 64*len(evs)+1024-MaxEventSize)+MaxEventSize+64)
	flush := func(force bool) error {
		if len(b) < chunk && !force {
			return nil
		}
		err := emit(b)
		b = b[:0]
		return err
	}
	b = append(append(b, snapshotMagic...), v)
	b = binary.AppendUvarint(b, uint64(len(authors)))
	for _, a := range authors {
		b = appendString(b, a)
		if err := flush(false); err != nil {
			return err
		}
	}
	b = binary.AppendUvarint(b, uint64(len(evs)))
	var prev int64
	for _, e := range evs {
		b = binary.AppendUvarint(b, uint64(index[e.ID.Author]))
		b = append(b, byte(e.Kind))
		b = binary.AppendUvarint(b, e.ID.Seq)
		b = binary.AppendUvarint(b, uint64(e.Time.Wall-prev))
		b = binary.AppendUvarint(b, uint64(e.Time.Logical))
		b = appendFields(b, e)
		if snapshotCut(v, e.Kind) {
			b = binary.AppendUvarint(b, e.Target.Seq)
		}
		prev = e.Time.Wall
		if err := flush(false); err != nil {
			return err
		}
	}
	if err := flush(false); err != nil {
		return err
	}
	b = s.appendErasures(b)
	return flush(true)
}

// ordered returns every event held, in total order. Posts and control
// events are kept sorted already; only edits, deletes, reactions and
// profiles need a sort before the three lists are merged.
func (s *State) ordered() []*Event {
	rel := make([]*Event, 0, len(s.events)-s.timeline.len()-len(s.control))
	for _, r := range s.related {
		rel = append(rel, r.edits...)
		rel = append(rel, r.deletes...)
		rel = append(rel, r.reacts...)
		rel = append(rel, r.unreacts...)
	}
	for _, list := range s.profiles {
		rel = append(rel, list...)
	}
	for _, list := range s.reads {
		rel = append(rel, list...)
	}
	slices.SortFunc(rel, compareEvents)
	return mergeOrdered(mergeOrdered(s.timeline.all(), s.control), rel)
}

// mergeOrdered merges two lists in total order.
func mergeOrdered(a, b []*Event) []*Event {
	out := make([]*Event, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if before(a[0], b[0]) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// authorTable returns the authors of evs in byte order and their indexes.
func (s *State) authorTable(evs []*Event) ([]string, map[string]int) {
	index := make(map[string]int)
	for _, e := range evs {
		index[e.ID.Author] = 0
	}
	authors := make([]string, 0, len(index))
	for a := range index {
		authors = append(authors, a)
	}
	slices.Sort(authors)
	for i, a := range authors {
		index[a] = i
	}
	return authors, index
}

// Restore decodes a snapshot made by Snapshot. It returns ErrVersion,
// ErrMalformed (also for events out of order, a repeated ID or an unused
// author), a *FieldError or an ErrInvalid error.
func Restore(b []byte) (*State, error) {
	if len(b) < len(snapshotMagic)+1 || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return nil, fmt.Errorf("%w: not a snapshot", ErrMalformed)
	}
	v := b[len(snapshotMagic)]
	if v < 1 || v > snapshotVersion {
		return nil, fmt.Errorf("%w: snapshot version %d", ErrVersion, v)
	}
	d := &decoder{b: b[len(snapshotMagic)+1:], snapshot: v}
	authors := d.authors()
	s := New()
	d.snapshotEvents(s, authors)
	d.erasures(s)
	if d.err == nil && len(d.b) != 0 {
		d.fail("trailing bytes")
	}
	if d.err == nil && len(s.authors) != len(authors) {
		d.fail("unused author")
	}
	if d.err != nil {
		return nil, fmt.Errorf("crdt: restore: %w", d.err)
	}
	return s, nil
}

// authors reads the author table: distinct, in byte order.
func (d *decoder) authors() []string {
	n := d.uvarint()
	var authors []string
	for i := uint64(0); i < n && d.err == nil; i++ {
		a := d.str("author", MaxAuthorLen)
		if d.err == nil && (a == "" || (i > 0 && a <= authors[i-1])) {
			d.fail("author table out of order")
		}
		authors = append(authors, a)
	}
	return authors
}

// snapshotEvents reads the events and inserts them into s. Events are
// allocated in slabs of up to slabSize, to spare the allocator a call per
// event; the count is untrusted, so it bounds a slab but never sizes one.
func (d *decoder) snapshotEvents(s *State, authors []string) {
	n := d.uvarint()
	var prev *Event
	var slab []Event
	for i := uint64(0); i < n && d.err == nil; i++ {
		if len(slab) == 0 {
			slab = make([]Event, min(slabSize, n-i))
		}
		e := &slab[0]
		slab = slab[1:]
		if d.snapshotEvent(e, authors, prev); d.err != nil {
			return
		}
		if err := e.Validate(); err != nil {
			d.failWith(err)
			return
		}
		if prev != nil && !before(prev, e) {
			d.fail("events out of order")
			return
		}
		if _, dup := s.events[e.ID]; dup {
			d.fail("repeated event ID")
			return
		}
		s.insert(e)
		s.mark(e)
		prev = e
	}
}

const slabSize = 1024

// snapshotEvent reads one event into e; prev is the one before it.
func (d *decoder) snapshotEvent(e *Event, authors []string, prev *Event) {
	i := d.uvarint()
	if d.err == nil && i >= uint64(len(authors)) {
		d.fail("author index out of range")
		return
	}
	e.Kind = Kind(d.byte())
	if d.err != nil {
		return
	}
	e.ID = ID{Author: authors[i], Seq: d.uvarint()}
	var base int64
	if prev != nil {
		base = prev.Time.Wall
	}
	delta := d.uvarint()
	if delta > MaxWall {
		d.fail("time out of range")
	}
	e.Time = Time{Wall: base + int64(delta), Logical: d.uint32()}
	d.fields(e)
	if snapshotCut(d.snapshot, e.Kind) {
		d.cut(e, true)
	}
}
