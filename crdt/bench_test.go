package crdt

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchAuthors are peer-ID-sized author names.
var benchAuthors = func() []string {
	out := make([]string, 10)
	for i := range out {
		out[i] = fmt.Sprintf("12D3KooWBench%040d", i)
	}
	return out
}()

// benchEvents returns a channel with ten members and n more events in HLC
// order: mostly posts (about 85%), with reactions, edits, deletes and the
// odd unreact, as live gossip delivers them.
func benchEvents(n int) []Event {
	rng := rand.New(rand.NewPCG(1, 2))
	seq := map[string]uint64{}
	wall := int64(1_700_000_000_000)
	next := func(a string, k Kind) Event {
		seq[a]++
		wall += 1 + rng.Int64N(20)
		return Event{ID: ID{Author: a, Seq: seq[a]}, Time: Time{Wall: wall}, Kind: k}
	}
	owner := benchAuthors[0]
	evs := []Event{next(owner, KindCreate)}
	evs[0].Text = "bench"
	for i, a := range benchAuthors[1:] {
		e := next(owner, KindJoined)
		e.Member, e.Epoch = a, uint64(i+1)
		evs = append(evs, e)
	}
	var posts []ID
	for len(evs) < n+len(benchAuthors) {
		a := benchAuthors[rng.IntN(len(benchAuthors))]
		evs = append(evs, benchEvent(rng, next, a, &posts))
	}
	return evs
}

func benchEvent(rng *rand.Rand, next func(string, Kind) Event, a string, posts *[]ID) Event {
	r := rng.IntN(100)
	if r < 85 || len(*posts) == 0 {
		e := next(a, KindPost)
		e.Text = fmt.Sprintf("message %d: the quick brown fox jumps", len(*posts))
		*posts = append(*posts, e.ID)
		return e
	}
	target := (*posts)[len(*posts)-1-rng.IntN(min(50, len(*posts)))]
	switch {
	case r < 93:
		e := next(a, KindReact)
		e.Target, e.Text = target, "👍"
		return e
	case r < 97:
		e := next(target.Author, KindEdit)
		e.Target, e.Text = target, "edited: the quick brown fox"
		return e
	default:
		e := next(target.Author, KindDelete)
		e.Target = target
		return e
	}
}

// BenchmarkApply1M applies 1,000,000 events, in HLC order, to an empty
// state per iteration.
func BenchmarkApply1M(b *testing.B) {
	evs := benchEvents(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		s := New()
		for _, e := range evs {
			if err := s.Apply(e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}

// BenchmarkApply100kShuffled applies 100,000 events in a random order
// (a replica catching up from unordered gossip): the worst case of the
// sorted indexes.
func BenchmarkApply100kShuffled(b *testing.B) {
	evs := benchEvents(100_000)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	b.ReportAllocs()
	for b.Loop() {
		s := New()
		for _, e := range evs {
			if err := s.Apply(e); err != nil {
				b.Fatal(err)
			}
		}
		s.Members() // include the one rebuild of the control state
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
}

// benchChannel returns a state holding 100,000 posts (plus reactions,
// edits and deletes).
func benchChannel(b *testing.B) *State {
	evs := benchEvents(117_000) // about 100,000 posts
	s := New()
	for _, e := range evs {
		if err := s.Apply(e); err != nil {
			b.Fatal(err)
		}
	}
	if n := s.timeline.len(); n < 99_000 {
		b.Fatalf("only %d posts", n)
	}
	return s
}

// BenchmarkPage50 reads a 50-message page from a 100,000-message channel:
// the latest page, and one from the middle by cursor.
func BenchmarkPage50(b *testing.B) {
	s := benchChannel(b)
	mid := s.timeline.at(s.timeline.len() / 2).ID
	for _, c := range []struct {
		name   string
		cursor ID
	}{{"latest", ID{}}, {"middle", mid}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ms, err := s.Messages(c.cursor, 50)
				if err != nil || len(ms) != 50 {
					b.Fatalf("%d messages, %v", len(ms), err)
				}
			}
		})
	}
}

// BenchmarkSnapshot100k encodes a 100,000-message channel and reports the
// size.
func BenchmarkSnapshot100k(b *testing.B) {
	s := benchChannel(b)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		size = len(s.Snapshot())
	}
	b.ReportMetric(float64(size), "bytes")
	b.ReportMetric(float64(size)/float64(s.timeline.len()), "bytes/message")
}

// BenchmarkSnapshotTo100k encodes the same channel in 256 KiB pieces, as
// the node writes its snapshots: B/op is what the encoding holds at once,
// against BenchmarkSnapshot100k's whole encoding.
func BenchmarkSnapshotTo100k(b *testing.B) {
	s := benchChannel(b)
	var size, pieces int
	b.ReportAllocs()
	for b.Loop() {
		size, pieces = 0, 0
		err := s.SnapshotTo(256<<10, func(p []byte) error {
			size += len(p)
			pieces++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes")
	b.ReportMetric(float64(pieces), "pieces")
}

// BenchmarkHeld100k measures what a 100,000-message channel keeps in
// memory, per event held (the texts here are ~40 bytes): restored from a
// snapshot (a node's start), and applied one event at a time (gossip, a
// catch-up).
func BenchmarkHeld100k(b *testing.B) {
	b.Run("restore", func(b *testing.B) {
		snap := benchChannel(b).Snapshot()
		var per float64
		for b.Loop() {
			before := liveHeap()
			s, err := Restore(snap)
			if err != nil {
				b.Fatal(err)
			}
			per = float64(liveHeap()-before) / float64(s.Len())
			runtime.KeepAlive(s)
		}
		b.ReportMetric(per, "heap-bytes/event")
	})
	b.Run("apply", func(b *testing.B) {
		var per float64
		for b.Loop() {
			before := liveHeap()
			evs := benchEvents(117_000)
			s := New()
			for _, e := range evs {
				if err := s.Apply(e); err != nil {
					b.Fatal(err)
				}
			}
			evs = nil // the input goes; its texts stay, held by s
			per = float64(int64(liveHeap())-int64(before)) / float64(s.Len())
			runtime.KeepAlive(s)
		}
		b.ReportMetric(per, "heap-bytes/event")
	})
}

// liveHeap returns the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkRestore100k decodes a 100,000-message channel's snapshot.
func BenchmarkRestore100k(b *testing.B) {
	snap := benchChannel(b).Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Restore(snap); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalPayload decodes one post as received from MLS.
func BenchmarkUnmarshalPayload(b *testing.B) {
	e := post(benchAuthors[1], 12345, 1_700_000_000_000, "message 1: the quick brown fox jumps")
	pb, _ := e.MarshalPayload()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnmarshalPayload(benchAuthors[1], pb); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLateControl: a channel with 20,000 control events receives
// back-dated control events (renames by a plain member, which are void),
// each followed by a read, as a node notifying its subscribers does. This
// is the cost a misbehaving member can impose per event.
func BenchmarkLateControl(b *testing.B) {
	evs := channel()
	for i := range 20_000 {
		evs = append(evs, rename("bob", uint64(i+1), 10_000+int64(i)*10, fmt.Sprint(i)))
	}
	s := build(b, evs...)
	rng := rand.New(rand.NewPCG(1, 1))
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		e := rename("carol", seq, 10_000+rng.Int64N(200_000), "late")
		if err := s.Apply(e); err != nil {
			b.Fatal(err)
		}
		s.Role("carol")
	}
}
