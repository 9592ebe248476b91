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
