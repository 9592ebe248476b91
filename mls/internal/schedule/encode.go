package schedule

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
)

// The encoding of a SecretTree, for storing group state. It is this
// package's own format, in the TLS presentation language (RFC 9420 §2.1):
//
//	struct {
//	    uint16 cipher_suite;
//	    uint32 n_leaves;
//	    uint32 max_skipped;
//	    uint32 max_forward;
//	    NodeSecret nodes<V>;      // ascending node index
//	    LeafRatchets leaves<V>;   // ascending leaf index
//	} SecretTreeState;
//	struct { uint32 node; opaque secret<V>; } NodeSecret;
//	struct { uint32 leaf; Ratchet handshake; Ratchet application; } LeafRatchets;
//	struct { uint8 done; uint32 next; opaque secret<V>; Skipped skipped<V>; } Ratchet;
//	struct { uint32 generation; opaque key<V>; opaque nonce<V>; } Skipped; // ascending
//
// The encoding holds secrets: store it encrypted.

// errState is the reason given for a decoded state that breaks an invariant.
var errState = errors.New("schedule: inconsistent secret tree state")

// MarshalTLS appends the tree's encoding (see the format above) to w.
func (t *SecretTree) MarshalTLS(w *tls.Writer) {
	w.Uint16(t.suite.ID())
	w.Uint32(t.nLeaves)
	w.Uint32(t.window.MaxSkipped)
	w.Uint32(t.window.MaxForward)
	w.Vector(func(w *tls.Writer) {
		for _, n := range sortedKeys(t.nodes) {
			w.Uint32(uint32(n))
			w.Opaque(t.nodes[n])
		}
	})
	w.Vector(func(w *tls.Writer) {
		for _, l := range sortedKeys(t.leaves) {
			w.Uint32(uint32(l))
			for i := range t.leaves[l] {
				t.leaves[l][i].marshal(w)
			}
		}
	})
}

func sortedKeys[K ~uint32, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (r *ratchet) marshal(w *tls.Writer) {
	w.Bool(r.done)
	w.Uint32(r.next)
	w.Opaque(r.secret)
	w.Vector(func(w *tls.Writer) {
		for _, k := range r.skipped {
			w.Uint32(k.gen)
			w.Opaque(k.kn.Key)
			w.Opaque(k.kn.Nonce)
		}
	})
}

// UnmarshalSecretTree decodes a tree encoded by MarshalTLS. Malformed or
// inconsistent input gives an error matching tls.ErrMalformed; an unknown
// cipher suite one matching tls.ErrUnsupported. The result does not alias b.
func UnmarshalSecretTree(b []byte) (*SecretTree, error) {
	r := tls.NewReader(b)
	id := r.Uint16()
	if r.Err() != nil {
		return nil, r.Err()
	}
	s, err := cipher.Lookup(id)
	if err != nil {
		return nil, fmt.Errorf("schedule: secret tree state: %w", err)
	}
	t := &SecretTree{suite: s, nodes: map[treemath.NodeIndex][]byte{}, leaves: map[treemath.LeafIndex]*leafRatchets{}}
	t.nLeaves = r.Uint32()
	t.window = Window{MaxSkipped: r.Uint32(), MaxForward: r.Uint32()}
	if r.Err() == nil && (t.nLeaves == 0 || bits.OnesCount32(t.nLeaves) != 1) {
		r.FailField("n_leaves", errState)
	}
	t.unmarshalNodes(r)
	t.unmarshalLeaves(r)
	if err := r.Finish(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *SecretTree) unmarshalNodes(r *tls.Reader) {
	last := -1
	r.Vector(func(r *tls.Reader) {
		n := r.Uint32()
		secret := r.Opaque()
		if r.Err() != nil {
			return
		}
		if int(n) <= last || !treemath.InTree(treemath.NodeIndex(n), t.nLeaves) || len(secret) != t.suite.Nh() {
			r.FailField("nodes", errState)
			return
		}
		last = int(n)
		t.nodes[treemath.NodeIndex(n)] = slices.Clone(secret)
	})
}

func (t *SecretTree) unmarshalLeaves(r *tls.Reader) {
	last := -1
	r.Vector(func(r *tls.Reader) {
		l := r.Uint32()
		if r.Err() == nil && (int(l) <= last || l >= t.nLeaves) {
			r.FailField("leaves", errState)
			return
		}
		last = int(l)
		lr := &leafRatchets{}
		for i := range lr {
			lr[i].unmarshal(r, t.suite, t.window)
		}
		t.leaves[treemath.LeafIndex(l)] = lr
	})
}

func (rt *ratchet) unmarshal(r *tls.Reader, s *cipher.Suite, w Window) {
	rt.done = r.Bool()
	rt.next = r.Uint32()
	secret := r.Opaque()
	if r.Err() != nil {
		return
	}
	if rt.done && (len(secret) != 0 || rt.next != math.MaxUint32) || !rt.done && len(secret) != s.Nh() {
		r.FailField("ratchet", errState)
		return
	}
	if !rt.done {
		rt.secret = slices.Clone(secret)
	}
	r.Vector(func(r *tls.Reader) {
		k := skippedKey{gen: r.Uint32()}
		k.kn = KeyNonce{Key: slices.Clone(r.Opaque()), Nonce: slices.Clone(r.Opaque())}
		if r.Err() != nil {
			return
		}
		n := len(rt.skipped)
		if k.gen >= rt.next || (n > 0 && k.gen <= rt.skipped[n-1].gen) ||
			len(k.kn.Key) != s.Nk() || len(k.kn.Nonce) != s.Nn() || n >= int(w.MaxSkipped) {
			r.FailField("skipped", errState)
			return
		}
		rt.skipped = append(rt.skipped, k)
	})
}
