package schedule

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
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

func TestLeafErrors(t *testing.T) {
	tree := newTree(t, 4, DefaultWindow)
	if _, err := open(tree, 4, Handshake, 0); !errors.Is(err, ErrLeaf) {
		t.Errorf("leaf 4 of 4: err = %v", err)
	}
	if _, _, err := tree.Next(9, Application); !errors.Is(err, ErrLeaf) {
		t.Errorf("Next leaf 9 of 4: err = %v", err)
	}
	if _, err := NewSecretTree(suite(t, 1), make([]byte, 31), 4, DefaultWindow); !errors.Is(err, cipher.ErrInvalidLength) {
		t.Errorf("31-byte encryption secret: err = %v", err)
	}
	for _, n := range []uint32{0, 3, 6} {
		if _, err := NewSecretTree(suite(t, 1), make([]byte, 32), n, DefaultWindow); !errors.Is(err, ErrLeaf) {
			t.Errorf("NewSecretTree(%d leaves): err = %v", n, err)
		}
	}
}
