package schedule

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestOutOfOrder(t *testing.T) {
	tree := newTree(t, 4, Window{MaxSkipped: 8, MaxForward: 100})
	for _, gen := range []uint32{5, 2, 0, 7, 6, 1} {
		got, err := open(tree, 3, Application, gen)
		if err != nil || !bytes.Equal(got, keyAt(t, 4, 3, Application, gen)) {
			t.Fatalf("generation %d: %x, %v", gen, got, err)
		}
	}
	for _, gen := range []uint32{5, 2, 0} { // replays
		if _, err := open(tree, 3, Application, gen); !errors.Is(err, ErrConsumed) {
			t.Errorf("replayed generation %d: err = %v, want ErrConsumed", gen, err)
		}
	}
	if _, err := open(tree, 3, Application, 4); err != nil { // still in the window
		t.Errorf("skipped generation 4: %v", err)
	}
}

func TestWindowBounds(t *testing.T) {
	tree := newTree(t, 4, Window{MaxSkipped: 4, MaxForward: 100})
	if _, err := open(tree, 0, Handshake, 101); !errors.Is(err, ErrTooFarAhead) {
		t.Fatalf("generation 101: err = %v, want ErrTooFarAhead", err)
	}
	if _, err := open(tree, 0, Handshake, 100); err != nil {
		t.Fatalf("generation 100: %v", err)
	}
	if _, err := open(tree, 0, Handshake, 95); !errors.Is(err, ErrConsumed) {
		t.Errorf("generation 95, beyond MaxSkipped: err = %v, want ErrConsumed", err)
	}
	for gen := uint32(96); gen < 100; gen++ {
		if got, err := open(tree, 0, Handshake, gen); err != nil || !bytes.Equal(got, keyAt(t, 4, 0, Handshake, gen)) {
			t.Errorf("kept generation %d: %v", gen, err)
		}
	}
	// Skipping again keeps only the newest MaxSkipped keys overall.
	open(tree, 0, Handshake, 103)
	open(tree, 0, Handshake, 106)
	if n := len(tree.leaves[0][Handshake].skipped); n != 4 {
		t.Errorf("%d skipped keys kept, want 4", n)
	}
}

// TestOpenKeepSkipped: OpenKeepSkipped refuses, changing nothing, every
// generation whose opening would delete the key of a generation not
// received yet, and opens the rest as Open does.
func TestOpenKeepSkipped(t *testing.T) {
	tree := newTree(t, 4, Window{MaxSkipped: 4, MaxForward: 100})
	keep := func(gen uint32) error {
		return tree.OpenKeepSkipped(1, Application, gen, func(KeyNonce) error { return nil })
	}
	steps := []struct {
		gen  uint32
		want error
	}{
		{5, ErrGap}, // would skip 0..4: five keys, one beyond the window
		{4, nil},    // skips 0..3: four keys, all kept
		{6, ErrGap}, // one more skipped key would push out generation 0's
		{0, nil},    // a skipped key, used
		{6, nil},    // skips 5: keys of 1, 2, 3 and 5 kept
		{7, nil},    // in order
		{9, ErrGap}, // skipping 8 would push out generation 1's key
		{200, ErrTooFarAhead},
		{1, nil}, {2, nil}, // skipped keys used: room again
		{9, nil},
		{9, ErrConsumed},
	}
	skipped := func() int {
		if lr := tree.leaves[1]; lr != nil {
			return len(lr[Application].skipped)
		}
		return -1
	}
	for _, st := range steps {
		before := skipped()
		err := keep(st.gen)
		if st.want == nil && err != nil || st.want != nil && !errors.Is(err, st.want) {
			t.Fatalf("generation %d: err = %v, want %v", st.gen, err, st.want)
		}
		if st.want != nil && skipped() != before {
			t.Fatalf("generation %d refused, but the skipped keys changed", st.gen)
		}
	}
	// Nothing was lost: 3 and 5 are still there, and 8.
	for _, gen := range []uint32{3, 5, 8} {
		if got, err := open(tree, 1, Application, gen); err != nil || !bytes.Equal(got, keyAt(t, 4, 1, Application, gen)) {
			t.Errorf("generation %d: %v", gen, err)
		}
	}
	// A leaf never used yet refuses too, and its ratchets are not stored.
	if err := tree.OpenKeepSkipped(2, Application, 10, func(KeyNonce) error { return nil }); !errors.Is(err, ErrGap) {
		t.Fatalf("fresh leaf, generation 10: err = %v, want ErrGap", err)
	}
	if _, ok := tree.leaves[2]; ok {
		t.Error("a refused open stored the leaf's ratchets")
	}
}

func TestExhausted(t *testing.T) {
	tree := newTree(t, 2, DefaultWindow)
	open(tree, 1, Handshake, 0)
	tree.leaves[1][Handshake].next = math.MaxUint32 - 1
	for _, want := range []uint32{math.MaxUint32 - 1, math.MaxUint32} {
		if gen, _, err := tree.Next(1, Handshake); err != nil || gen != want {
			t.Fatalf("Next = %d, %v; want %d", gen, err, want)
		}
	}
	if _, _, err := tree.Next(1, Handshake); !errors.Is(err, ErrExhausted) {
		t.Fatalf("Next after 2^32 generations: err = %v", err)
	}
	if _, err := open(tree, 1, Handshake, math.MaxUint32); !errors.Is(err, ErrConsumed) {
		t.Fatalf("reopen last generation: err = %v", err)
	}
	encode(t, tree) // a done ratchet round-trips
}
