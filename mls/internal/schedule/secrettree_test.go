package schedule

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
)

var errTry = errors.New("test: decryption failed")

func newTree(t testing.TB, n uint32, w Window) *SecretTree {
	t.Helper()
	tree, err := NewSecretTree(suite(t, 1), bytes.Repeat([]byte{1}, 32), n, w)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// keyAt returns the key of (leaf, typ, gen) from a fresh tree, as a
// reference.
func keyAt(t *testing.T, n uint32, leaf treemath.LeafIndex, typ RatchetType, gen uint32) []byte {
	t.Helper()
	var key []byte
	err := newTree(t, n, Window{MaxSkipped: 0, MaxForward: gen}).Open(leaf, typ, gen, func(kn KeyNonce) error {
		key = bytes.Clone(kn.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// open opens (leaf, typ, gen) and returns the key, or the error.
func open(tree *SecretTree, leaf treemath.LeafIndex, typ RatchetType, gen uint32) ([]byte, error) {
	var key []byte
	err := tree.Open(leaf, typ, gen, func(kn KeyNonce) error {
		key = bytes.Clone(kn.Key)
		return nil
	})
	return key, err
}

func TestSenderMatchesReceiver(t *testing.T) {
	sender, receiver := newTree(t, 8, DefaultWindow), newTree(t, 8, DefaultWindow)
	for want := range uint32(3) {
		gen, kn, err := sender.Next(5, Application)
		if err != nil || gen != want {
			t.Fatalf("Next = %d, %v; want generation %d", gen, err, want)
		}
		got, err := open(receiver, 5, Application, gen)
		if err != nil || !bytes.Equal(got, kn.Key) {
			t.Fatalf("receiver key %x, %v; sender %x", got, err, kn.Key)
		}
	}
	if h, _ := open(receiver, 5, Handshake, 0); bytes.Equal(h, keyAt(t, 8, 5, Application, 0)) {
		t.Fatalf("handshake and application ratchets share keys")
	}
}

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

// TestFailedOpenChangesNothing: a try that fails (a forged or corrupt
// message) consumes nothing, not even the tree nodes above a new leaf.
func TestFailedOpenChangesNothing(t *testing.T) {
	tree := newTree(t, 8, Window{MaxSkipped: 4, MaxForward: 100})
	open(tree, 1, Application, 10)
	before := encode(t, tree)
	for _, tc := range []struct {
		leaf treemath.LeafIndex
		gen  uint32
	}{{1, 8}, {1, 20}, {6, 3}} {
		err := tree.Open(tc.leaf, Application, tc.gen, func(KeyNonce) error { return errTry })
		if !errors.Is(err, errTry) {
			t.Fatalf("Open(%d, %d): err = %v, want the try's error", tc.leaf, tc.gen, err)
		}
		if !bytes.Equal(encode(t, tree), before) {
			t.Fatalf("failed Open(%d, %d) changed the tree", tc.leaf, tc.gen)
		}
	}
	if got, err := open(tree, 1, Application, 8); err != nil || !bytes.Equal(got, keyAt(t, 8, 1, Application, 8)) {
		t.Fatalf("after a failed try, generation 8: %v", err)
	}
}

// TestForwardSecrecy: consumed secrets leave the tree (RFC 9420 §9.2).
func TestForwardSecrecy(t *testing.T) {
	tree := newTree(t, 4, DefaultWindow)
	root := treemath.Root(4)
	open(tree, 0, Application, 0)
	if _, ok := tree.nodes[root]; ok {
		t.Fatalf("root secret kept after use")
	}
	// Leaf 0's path consumed root (3) and 1; their siblings 5 and 2 remain.
	if len(tree.nodes) != 2 || tree.nodes[5] == nil || tree.nodes[2] == nil {
		t.Fatalf("node secrets after leaf 0: %v", sortedKeys(tree.nodes))
	}
	r := tree.leaves[0][Application]
	if r.next != 1 || len(r.skipped) != 0 {
		t.Fatalf("ratchet after generation 0: next %d, %d skipped", r.next, len(r.skipped))
	}
	for _, l := range []treemath.LeafIndex{1, 2, 3} {
		open(tree, l, Handshake, 0)
	}
	if len(tree.nodes) != 0 {
		t.Fatalf("node secrets left after all leaves derived: %v", sortedKeys(tree.nodes))
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

func TestLeafErrors(t *testing.T) {
	tree := newTree(t, 4, DefaultWindow)
	if _, err := open(tree, 4, Handshake, 0); !errors.Is(err, ErrLeaf) {
		t.Errorf("leaf 4 of 4: err = %v", err)
	}
	if _, _, err := tree.Next(9, Application); !errors.Is(err, ErrLeaf) {
		t.Errorf("Next leaf 9 of 4: err = %v", err)
	}
	for _, n := range []uint32{0, 3, 6} {
		if _, err := NewSecretTree(suite(t, 1), make([]byte, 32), n, DefaultWindow); !errors.Is(err, ErrLeaf) {
			t.Errorf("NewSecretTree(%d leaves): err = %v", n, err)
		}
	}
}

// encode marshals tree, checks that it decodes and re-encodes to the same
// bytes, and returns the encoding.
func encode(t *testing.T, tree *SecretTree) []byte {
	t.Helper()
	b, err := tls.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalSecretTree(b)
	if err != nil {
		t.Fatalf("decode own encoding: %v", err)
	}
	if b2 := tls.MustMarshal(back); !bytes.Equal(b, b2) {
		t.Fatalf("re-encoding differs")
	}
	return b
}

// TestEncodeRoundTrip: a decoded tree goes on deriving the same keys.
func TestEncodeRoundTrip(t *testing.T) {
	tree := newTree(t, 8, Window{MaxSkipped: 5, MaxForward: 50})
	open(tree, 2, Application, 7)
	open(tree, 6, Handshake, 0)
	back, err := UnmarshalSecretTree(encode(t, tree))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		leaf treemath.LeafIndex
		typ  RatchetType
		gen  uint32
	}{{2, Application, 3}, {2, Application, 9}, {6, Handshake, 1}, {7, Application, 2}} {
		got, err := open(back, tc.leaf, tc.typ, tc.gen)
		if err != nil || !bytes.Equal(got, keyAt(t, 8, tc.leaf, tc.typ, tc.gen)) {
			t.Errorf("decoded tree, %+v: %v", tc, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	good := encode(t, newTree(t, 2, DefaultWindow))
	unknown := append([]byte{0, 9}, good[2:]...)
	if _, err := UnmarshalSecretTree(unknown); !errors.Is(err, tls.ErrUnsupported) {
		t.Errorf("suite 9: err = %v, want ErrUnsupported", err)
	}
	threeLeaves := bytes.Clone(good)
	threeLeaves[5] = 3
	for name, b := range map[string][]byte{
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
		"3 leaves":  threeLeaves,
		"empty":     nil,
	} {
		if _, err := UnmarshalSecretTree(b); !errors.Is(err, tls.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzUnmarshalSecretTree(f *testing.F) {
	tree := newTree(f, 4, Window{MaxSkipped: 3, MaxForward: 10})
	f.Add(tls.MustMarshal(tree))
	open(tree, 1, Application, 5)
	open(tree, 3, Handshake, 0)
	f.Add(tls.MustMarshal(tree))
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := UnmarshalSecretTree(b)
		if err != nil {
			if !errors.Is(err, tls.ErrMalformed) && !errors.Is(err, tls.ErrUnsupported) {
				t.Fatalf("error %v matches neither ErrMalformed nor ErrUnsupported", err)
			}
			return
		}
		if got := tls.MustMarshal(tree); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding %x gives %x", b, got)
		}
		// A decoded tree must serve any request without panicking.
		for l := range treemath.LeafIndex(tree.LeafCount()) {
			open(tree, l, Application, 2)
			tree.Next(l, Handshake)
		}
	})
}
