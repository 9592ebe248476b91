package tree

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestPrivateKeysRoundTrip(t *testing.T) {
	g := committedGroup(t)
	for i, k := range g.privs {
		b, err := wire.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var got PrivateKeys
		if err := wire.Unmarshal(b, &got); err != nil {
			t.Fatalf("leaf %d: %v", i, err)
		}
		if got.Leaf() != i || !slices.Equal(got.Nodes(), k.Nodes()) {
			t.Fatalf("leaf %d: round trip gives leaf %d nodes %v, want %v", i, got.Leaf(), got.Nodes(), k.Nodes())
		}
		if err := g.tr.CheckPrivateKeys(&got); err != nil {
			t.Fatalf("leaf %d: restored keys: %v", i, err)
		}
		again, _ := wire.Marshal(&got)
		if !bytes.Equal(again, b) {
			t.Fatalf("leaf %d: encoding is not deterministic", i)
		}
	}
}

func TestPrivateKeysRejects(t *testing.T) {
	g := committedGroup(t)
	s := g.tr.Suite()
	k := g.privs[0]
	// Keys for a node off the leaf's direct path, or out of order.
	for _, nodes := range [][]uint32{{0, 5}, {3, 1}, {1, 1}} {
		var w tls.Writer
		w.Uint32(0)
		w.Vector(func(w *tls.Writer) {
			for _, x := range nodes {
				w.Uint32(x)
				w.Opaque([]byte{1})
				w.Opaque([]byte{2})
			}
		})
		var got PrivateKeys
		if err := wire.Unmarshal(w.Bytes(), &got); !errors.Is(err, tls.ErrMalformed) {
			t.Errorf("nodes %v: err = %v, want tls.ErrMalformed", nodes, err)
		}
	}
	if err := k.SetPathSecret(s, 5, []byte("secret")); !errors.Is(err, ErrPublicKey) {
		t.Errorf("SetPathSecret off the direct path: err = %v", err)
	}
	wrong := k.clone()
	if err := wrong.SetPathSecret(s, g.tr.Root(), []byte("not the root's secret")); err != nil {
		t.Fatal(err)
	}
	if err := g.tr.CheckPrivateKeys(wrong); !errors.Is(err, ErrPublicKey) {
		t.Errorf("CheckPrivateKeys with a wrong root key: err = %v", err)
	}
	if err := g.tr.CheckPrivateKeys(k); err != nil {
		t.Errorf("CheckPrivateKeys of the original: %v (SetPathSecret on a clone leaked)", err)
	}
}
