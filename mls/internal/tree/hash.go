package tree

import (
	"fmt"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// The NodeType values of TreeHashInput (§7.8).
const (
	nodeTypeLeaf   = uint8(wire.NodeTypeLeaf)
	nodeTypeParent = uint8(wire.NodeTypeParent)
)

// TreeHash returns the tree hash of the root (§7.8), the value the
// GroupContext carries. Only the hashes invalidated since the last call are
// recomputed: after a change along one direct path, O(log n) of them.
func (t *Tree) TreeHash() []byte { return t.NodeHash(t.Root()) }

// NodeHash returns the tree hash of the subtree headed by x (§7.8), or nil
// if x is outside the tree. The result is the caller's.
func (t *Tree) NodeHash(x NodeIndex) []byte {
	if uint64(x) >= uint64(len(t.nodes)) {
		return nil
	}
	return slices.Clone(t.hash(x))
}

// hash returns the cached tree hash of x, computing it if needed. The
// result aliases the cache: it changes when x is re-hashed.
func (t *Tree) hash(x NodeIndex) []byte {
	nh := t.suite.Nh()
	h := t.hashes[int(x)*nh : int(x+1)*nh : int(x+1)*nh]
	if t.hashed[x] {
		return h
	}
	if x.IsLeaf() {
		copy(h, t.leafHash(x, t.nodes[x].leaf))
	} else {
		l, r := children(x)
		copy(h, t.parentHash(t.nodes[x].parent, t.hash(l), t.hash(r)))
	}
	t.hashed[x] = true
	return h
}

// leafHash hashes TreeHashInput for leaf node x holding ln (nil if blank).
func (t *Tree) leafHash(x NodeIndex, ln *wire.LeafNode) []byte {
	var w tls.Writer
	w.Uint8(nodeTypeLeaf)
	w.Uint32(uint32(x / 2))
	w.Optional(ln != nil, func(w *tls.Writer) { ln.MarshalTLS(w) })
	return t.suite.Hash(w.Bytes())
}

// parentHash hashes TreeHashInput for a parent node holding pn (nil if
// blank) whose children hash to left and right.
func (t *Tree) parentHash(pn *wire.ParentNode, left, right []byte) []byte {
	var w tls.Writer
	w.Uint8(nodeTypeParent)
	w.Optional(pn != nil, func(w *tls.Writer) { pn.MarshalTLS(w) })
	w.Opaque(left)
	w.Opaque(right)
	return t.suite.Hash(w.Bytes())
}

// originalHash returns the tree hash of x in the tree modified as
// original_sibling_tree_hash requires (§7.9): every leaf in excluded (sorted
// leaf indices) blanked and removed from all unmerged_leaves lists. Subtrees
// holding none of them use the cache.
func (t *Tree) originalHash(x NodeIndex, excluded []uint32) []byte {
	lo, hi := subtreeLeaves(x)
	if !intersects(excluded, lo, hi) {
		return t.hash(x)
	}
	if x.IsLeaf() {
		return t.leafHash(x, nil)
	}
	pn := t.nodes[x].parent
	if pn != nil {
		pn = withoutUnmerged(pn, excluded)
	}
	l, r := children(x)
	return t.parentHash(pn, t.originalHash(l, excluded), t.originalHash(r, excluded))
}

// intersects reports whether sorted holds a value in [lo, hi).
func intersects(sorted []uint32, lo, hi uint32) bool {
	i, _ := slices.BinarySearch(sorted, lo)
	return i < len(sorted) && sorted[i] < hi
}

// withoutUnmerged returns a copy of pn whose unmerged_leaves omit those in
// excluded (sorted).
func withoutUnmerged(pn *wire.ParentNode, excluded []uint32) *wire.ParentNode {
	c := *pn
	c.UnmergedLeaves = nil
	for _, l := range pn.UnmergedLeaves {
		if _, found := slices.BinarySearch(excluded, l); !found {
			c.UnmergedLeaves = append(c.UnmergedLeaves, l)
		}
	}
	return &c
}

// HashCache returns the tree hash of every node, in node order, Nh bytes
// each, computing those not yet cached. A caller that saves the tree in its
// own state can save this beside it and hand it to SetHashCache on load, so
// that restoring a group costs no hashing.
func (t *Tree) HashCache() []byte {
	t.hash(t.Root())
	return slices.Clone(t.hashes)
}

// SetHashCache installs hashes saved by HashCache for this same tree. The
// hashes are trusted, not checked: load them only from the caller's own
// authenticated storage, never from a peer (a peer's tree is hashed with
// TreeHash and compared with the GroupContext, §12.4.3.3). A cache of the
// wrong size gives ErrHashCache and changes nothing.
func (t *Tree) SetHashCache(h []byte) error {
	if len(h) != len(t.hashes) {
		return fmt.Errorf("%w: %d bytes for %d nodes", ErrHashCache, len(h), len(t.nodes))
	}
	copy(t.hashes, h)
	for x := range t.hashed {
		t.hashed[x] = true
	}
	return nil
}
