package schedule

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
)

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
