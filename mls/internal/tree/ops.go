package tree

import (
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// AddLeaf applies an Add (§12.1.1): it puts ln in the leftmost blank leaf,
// extending the tree to the right (§7.7) if there is none, and adds the new
// leaf to the unmerged_leaves of every non-blank parent on its direct path.
// It returns the new member's leaf index, or ErrTreeFull beyond MaxLeaves.
// Validating ln (§7.3) is the caller's job.
func (t *Tree) AddLeaf(ln *wire.LeafNode) (LeafIndex, error) {
	i, ok := t.FreeLeaf()
	if !ok {
		return 0, nodeErr(LeafIndex(t.Width()).Node(), ErrTreeFull)
	}
	t.ensureWidth(i)
	for _, p := range t.directPath(i) {
		if pn := t.nodes[p].parent; pn != nil {
			t.set(p, node{parent: withUnmerged(pn, uint32(i))})
		}
	}
	t.set(i.Node(), node{leaf: ln})
	return i, nil
}

// FreeLeaf returns the leaf an Add (or an external joiner, §12.4.3.2) would
// take: the leftmost blank leaf, or the first leaf of the extension if the
// tree is full. ok is false if that leaf is beyond MaxLeaves.
func (t *Tree) FreeLeaf() (i LeafIndex, ok bool) {
	for x := 0; x < len(t.nodes); x += 2 {
		if t.nodes[x].leaf == nil {
			return LeafIndex(x / 2), true
		}
	}
	return LeafIndex(t.Width()), t.Width() < MaxLeaves
}

// ensureWidth extends the tree (§7.7) until leaf i is inside it. Each
// extension doubles the width under a new blank root; the existing nodes
// keep their indices and their cached hashes.
func (t *Tree) ensureWidth(i LeafIndex) {
	for !t.inTree(i) {
		t.resize(2*len(t.nodes) + 1)
	}
}

// withUnmerged returns a copy of pn with leaf l added to unmerged_leaves,
// kept sorted.
func withUnmerged(pn *wire.ParentNode, l uint32) *wire.ParentNode {
	c := *pn
	k, found := slices.BinarySearch(pn.UnmergedLeaves, l)
	if found {
		return &c
	}
	c.UnmergedLeaves = slices.Insert(slices.Clone(pn.UnmergedLeaves), k, l)
	return &c
}

// UpdateLeaf applies an Update (§12.1.2) from the member at leaf i: its leaf
// becomes ln and its direct path is blanked. A blank or absent leaf gives
// ErrBlankLeaf. Validating ln (§7.3) is the caller's job.
func (t *Tree) UpdateLeaf(i LeafIndex, ln *wire.LeafNode) error {
	if t.Leaf(i) == nil {
		return nodeErr(i.Node(), ErrBlankLeaf)
	}
	t.set(i.Node(), node{leaf: ln})
	t.blankDirectPath(i)
	return nil
}

// RemoveLeaf applies a Remove (§12.1.3): leaf i and its direct path are
// blanked and the tree is truncated. A blank or absent leaf gives
// ErrBlankLeaf.
func (t *Tree) RemoveLeaf(i LeafIndex) error {
	if t.Leaf(i) == nil {
		return nodeErr(i.Node(), ErrBlankLeaf)
	}
	t.set(i.Node(), node{})
	t.blankDirectPath(i)
	t.truncate()
	return nil
}

// blankDirectPath blanks every node on the direct path of leaf i.
func (t *Tree) blankDirectPath(i LeafIndex) {
	for _, p := range t.directPath(i) {
		if !t.nodes[p].blank() {
			t.set(p, node{})
		}
	}
}

// truncate removes the right half of the tree, root included, while that
// half has no non-blank leaf and the tree has more than one leaf (§7.7,
// §12.1.3).
func (t *Tree) truncate() {
	for t.Width() > 1 {
		half := len(t.nodes) / 2 // index of the root
		for x := half + 1; x < len(t.nodes); x += 2 {
			if t.nodes[x].leaf != nil {
				return
			}
		}
		t.resize(half)
	}
}
