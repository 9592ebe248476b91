package crdt

import (
	"slices"
	"sort"
)

// chunkMax bounds a timeline chunk: an insertion out of order moves at
// most this many pointers, plus one pointer per chunk when a chunk splits.
const chunkMax = 512

// timeline holds the posts in total order, in chunks, so that appending is
// O(1), inserting a late post is O(log N + chunkMax + N/chunkMax) rather
// than O(N), and a page read walks from a cursor found by binary search.
type timeline struct {
	chunks [][]*Event // each non-empty and in order; together in order
	n      int
}

// cursor is a position in a timeline: chunk c, offset i. The end position
// is {len(chunks), 0}.
type cursor struct{ c, i int }

func (t *timeline) len() int { return t.n }

// insert adds e in order.
func (t *timeline) insert(e *Event) {
	t.n++
	last := len(t.chunks) - 1
	if last < 0 {
		t.chunks = append(t.chunks, []*Event{e})
		return
	}
	c := sort.Search(last, func(c int) bool { return !before(lastOf(t.chunks[c]), e) })
	ch := t.chunks[c]
	if c == last && before(lastOf(ch), e) {
		if len(ch) >= chunkMax {
			t.chunks = append(t.chunks, []*Event{e})
			return
		}
		t.chunks[c] = append(ch, e)
		return
	}
	t.chunks[c] = slices.Insert(ch, searchChunk(ch, e), e)
	t.split(c)
}

// split halves chunk c if it outgrew chunkMax.
func (t *timeline) split(c int) {
	ch := t.chunks[c]
	if len(ch) <= chunkMax {
		return
	}
	half := len(ch) / 2
	second := slices.Clone(ch[half:])
	t.chunks[c] = slices.Clip(ch[:half])
	t.chunks = slices.Insert(t.chunks, c+1, second)
}

// remove removes e (by identity), if present.
func (t *timeline) remove(e *Event) {
	p := t.search(e)
	if t.get(p) != e {
		return
	}
	t.n--
	t.chunks[p.c] = slices.Delete(t.chunks[p.c], p.i, p.i+1)
	if len(t.chunks[p.c]) == 0 {
		t.chunks = slices.Delete(t.chunks, p.c, p.c+1)
	}
}

// search returns the position of the first post not before e (the end if
// none).
func (t *timeline) search(e *Event) cursor {
	c := sort.Search(len(t.chunks), func(c int) bool { return !before(lastOf(t.chunks[c]), e) })
	if c == len(t.chunks) {
		return cursor{c: c}
	}
	return cursor{c: c, i: searchChunk(t.chunks[c], e)}
}

func searchChunk(ch []*Event, e *Event) int {
	return sort.Search(len(ch), func(i int) bool { return !before(ch[i], e) })
}

func lastOf(ch []*Event) *Event { return ch[len(ch)-1] }

func (t *timeline) end() cursor { return cursor{c: len(t.chunks)} }

// get returns the post at p, or nil at the end.
func (t *timeline) get(p cursor) *Event {
	if p.c >= len(t.chunks) {
		return nil
	}
	return t.chunks[p.c][p.i]
}

// prev returns the position before p; ok is false at the start.
func (t *timeline) prev(p cursor) (cursor, bool) {
	if p.i > 0 {
		return cursor{p.c, p.i - 1}, true
	}
	if p.c == 0 {
		return p, false
	}
	return cursor{p.c - 1, len(t.chunks[p.c-1]) - 1}, true
}

// next returns the position after p (the end after the last post).
func (t *timeline) next(p cursor) cursor {
	if p.i+1 < len(t.chunks[p.c]) {
		return cursor{p.c, p.i + 1}
	}
	return cursor{c: p.c + 1}
}

// at returns the i-th post (0 <= i < len), walking the chunks.
func (t *timeline) at(i int) *Event {
	for _, ch := range t.chunks {
		if i < len(ch) {
			return ch[i]
		}
		i -= len(ch)
	}
	return nil
}

// all returns every post, in order.
func (t *timeline) all() []*Event {
	out := make([]*Event, 0, t.n)
	for _, ch := range t.chunks {
		out = append(out, ch...)
	}
	return out
}
