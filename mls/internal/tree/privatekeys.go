package tree

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
)

// PrivateKeys is a member's private view of the ratchet tree (§4.2): the
// HPKE private key of its own leaf and of the parent nodes on its direct path
// whose secrets it knows. Each key is kept with its public key so that it
// can be matched against the tree without recomputation.
//
// The methods of Tree that advance it (DecryptPath, ImportPathSecret) return
// a new value and leave the old one untouched, so a commit that fails later
// costs nothing to abandon. SetPathSecret modifies the receiver. A
// PrivateKeys is not safe for concurrent mutation; concurrent reads are
// safe.
type PrivateKeys struct {
	leaf LeafIndex
	keys map[NodeIndex]keyPair
}

// keyPair is a serialized HPKE key pair.
type keyPair struct{ priv, pub []byte }

// NewPrivateKeys returns the private view of a member at leaf whose leaf
// node's encryption key has the HPKE private key priv (as in a KeyPackage's
// private bundle). A key the suite cannot parse gives the cipher package's
// ErrInvalidKey; a leaf beyond MaxLeaves ErrBlankLeaf.
func NewPrivateKeys(suite *cipher.Suite, leaf LeafIndex, priv []byte) (*PrivateKeys, error) {
	if leaf >= MaxLeaves {
		return nil, nodeErr(0, ErrBlankLeaf)
	}
	k, err := suite.ParseHPKEPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return &PrivateKeys{
		leaf: leaf,
		keys: map[NodeIndex]keyPair{leaf.Node(): {slices.Clone(priv), k.PublicKey()}},
	}, nil
}

// Leaf returns the member's leaf index.
func (k *PrivateKeys) Leaf() LeafIndex { return k.leaf }

// Nodes returns the nodes whose private key k holds, in increasing order.
func (k *PrivateKeys) Nodes() []NodeIndex {
	return slices.Sorted(maps.Keys(k.keys))
}

// PrivateKey returns the serialized HPKE private key of node x, and false if
// k does not hold it. The result must not be modified.
func (k *PrivateKeys) PrivateKey(x NodeIndex) ([]byte, bool) {
	kp, ok := k.keys[x]
	return kp.priv, ok
}

// PublicKey returns the public key matching PrivateKey(x).
func (k *PrivateKeys) PublicKey(x NodeIndex) ([]byte, bool) {
	kp, ok := k.keys[x]
	return kp.pub, ok
}

// SetPathSecret stores the key pair of node x derived from its path secret
// (§7.4: node_secret = DeriveSecret(path_secret, "node"), then
// DeriveKeyPair). x must be on the member's direct path.
func (k *PrivateKeys) SetPathSecret(suite *cipher.Suite, x NodeIndex, pathSecret []byte) error {
	if x.IsLeaf() || !treemath.IsAncestor(x, k.leaf.Node()) {
		return nodeErr(x, fmt.Errorf("%w: not on the direct path of leaf %d", ErrPublicKey, k.leaf))
	}
	kp, err := nodeKeyPair(suite, pathSecret)
	if err != nil {
		return nodeErr(x, err)
	}
	k.keys[x] = kp
	return nil
}

// nodeKeyPair derives a node's key pair from its path secret (§7.4).
func nodeKeyPair(suite *cipher.Suite, pathSecret []byte) (keyPair, error) {
	priv, pub, err := suite.DeriveKeyPair(suite.DeriveSecret(pathSecret, "node"))
	return keyPair{priv, pub}, err
}

// clone returns a copy of k sharing the key bytes, which are never modified.
func (k *PrivateKeys) clone() *PrivateKeys {
	return &PrivateKeys{leaf: k.leaf, keys: maps.Clone(k.keys)}
}

// CheckPrivateKeys checks that k fits t (§4.2, the tree invariant): every
// key k holds is for the member's leaf or a node on its direct path, and the
// node is non-blank with the matching public key. The failure is a
// *NodeError matching ErrPublicKey.
func (t *Tree) CheckPrivateKeys(k *PrivateKeys) error {
	for _, x := range k.Nodes() {
		if !treemath.IsAncestor(x, k.leaf.Node()) {
			return nodeErr(x, fmt.Errorf("%w: not on the direct path of leaf %d", ErrPublicKey, k.leaf))
		}
		if !bytes.Equal(t.EncryptionKey(x), k.keys[x].pub) {
			return nodeErr(x, ErrPublicKey)
		}
	}
	return nil
}

// prune drops the keys of parent nodes whose public key in t is no longer
// the one k holds (blanked or replaced by proposals or a path, §7.5: delete
// outdated key material).
func (k *PrivateKeys) prune(t *Tree) {
	for x, kp := range k.keys {
		if !x.IsLeaf() && !bytes.Equal(t.EncryptionKey(x), kp.pub) {
			delete(k.keys, x)
		}
	}
}

// MarshalTLS writes k as `uint32 leaf; struct { uint32 node; opaque
// priv<V>; opaque pub<V>; } keys<V>` in increasing node order, so equal
// values encode to equal bytes. The encoding holds private keys: store it
// as a secret.
func (k *PrivateKeys) MarshalTLS(w *tls.Writer) {
	w.Uint32(uint32(k.leaf))
	w.Vector(func(w *tls.Writer) {
		for _, x := range k.Nodes() {
			w.Uint32(uint32(x))
			w.Opaque(k.keys[x].priv)
			w.Opaque(k.keys[x].pub)
		}
	})
}

// UnmarshalTLS reads the encoding of MarshalTLS. Nodes must be strictly
// increasing and on the leaf's direct path; otherwise the reader fails with
// tls.ErrInvalidValue. The keys alias the reader's input.
func (k *PrivateKeys) UnmarshalTLS(r *tls.Reader) {
	k.leaf = LeafIndex(r.Uint32())
	k.keys = make(map[NodeIndex]keyPair)
	if k.leaf >= MaxLeaves {
		r.FailField("private key leaf", tls.ErrInvalidValue)
		return
	}
	last := int64(-1)
	r.Vector(func(r *tls.Reader) {
		x := NodeIndex(r.Uint32())
		kp := keyPair{r.Opaque(), r.Opaque()}
		if int64(x) <= last || !treemath.IsAncestor(x, k.leaf.Node()) {
			r.FailField("private key node", tls.ErrInvalidValue)
			return
		}
		last = int64(x)
		k.keys[x] = kp
	})
}
