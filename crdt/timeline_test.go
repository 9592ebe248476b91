package crdt

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTimelineModel inserts and removes posts in random order and compares
// the chunked timeline with a sorted slice after each step.
func TestTimelineModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var tl timeline
	var model []*Event
	for i := range 5000 {
		if len(model) > 0 && rng.IntN(5) == 0 {
			e := model[rng.IntN(len(model))]
			tl.remove(e)
			model = slices.DeleteFunc(model, func(x *Event) bool { return x == e })
		} else {
			e := &Event{ID: id("a", uint64(i+1)), Time: Time{Wall: rng.Int64N(3000)}, Kind: KindPost}
			if rng.IntN(3) == 0 {
				e.Time.Wall = int64(i) * 3 // runs of appends, as live gossip
			}
			tl.insert(e)
			model = append(model, e)
			slices.SortFunc(model, compareEvents)
		}
		if i%250 == 0 || i == 4999 {
			checkTimeline(t, &tl, model)
		}
	}
	if len(tl.chunks) < 3 {
		t.Errorf("%d chunks: the test did not split any", len(tl.chunks))
	}
}

func checkTimeline(t *testing.T, tl *timeline, model []*Event) {
	t.Helper()
	if tl.len() != len(model) {
		t.Fatalf("len %d, want %d", tl.len(), len(model))
	}
	var fwd, back []*Event
	for p := (cursor{}); tl.get(p) != nil; p = tl.next(p) {
		fwd = append(fwd, tl.get(p))
	}
	for p, ok := tl.prev(tl.end()); ok; p, ok = tl.prev(p) {
		back = append(back, tl.get(p))
	}
	slices.Reverse(back)
	if !slices.Equal(fwd, model) || !slices.Equal(back, model) {
		t.Fatal("walk differs from the model")
	}
	for i, e := range model {
		if tl.at(i) != e || tl.get(tl.search(e)) != e {
			t.Fatalf("at/search(%d) wrong", i)
		}
		if len(tl.chunks[tl.search(e).c]) > chunkMax {
			t.Fatal("chunk over chunkMax")
		}
	}
}
