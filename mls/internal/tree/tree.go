package tree

import (
	"iter"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// LeafIndex and NodeIndex are the indices of treemath (RFC 9420 §4.1,
// Appendix C), repeated here so that callers need not import treemath.
type (
	LeafIndex = treemath.LeafIndex
	NodeIndex = treemath.NodeIndex
)

// MaxLeaves bounds the width of a tree: a local limit that keeps index
// arithmetic far from overflow and a decoded tree's memory bounded.
const MaxLeaves = 1 << 24

// Tree is the public state of a ratchet tree (RFC 9420 §4, §7): the nodes in
// array order (Appendix C), blank nodes nil, always 2^d leaves wide, with a
// cache of tree hashes (§7.8).
//
// Node values handed in or out (LeafNode, ParentNode) are shared, never
// copied: the tree never modifies one after storing it, and callers must not
// modify one they passed in or got back. This is what makes Clone cheap.
//
// A Tree is not safe for concurrent use, not even for concurrent reads:
// computing a tree hash fills the cache.
type Tree struct {
	suite *cipher.Suite
	nodes []node // len = 2*leaves - 1
	// The tree hash of node x is hashes[x*Nh:(x+1)*Nh] when hashed[x]. The
	// cache holds no pointers, so Clone is a plain memory copy.
	hashes []byte
	hashed []bool
	filled []uint32 // number of non-blank nodes in each node's subtree
	// prefix holds the first 8 bytes of each node's encryption key, so
	// that searching the tree for a key scans one compact array.
	prefix []uint64
}

// node is one entry of the array: a leaf, a parent, or blank (both nil).
type node struct {
	leaf   *wire.LeafNode
	parent *wire.ParentNode
}

// blank reports whether n holds no value.
func (n node) blank() bool { return n.leaf == nil && n.parent == nil }

// New returns a one-leaf tree holding leaf, as the creator of a group builds
// it (§11).
func New(suite *cipher.Suite, leaf *wire.LeafNode) *Tree {
	t := &Tree{suite: suite}
	t.resize(1)
	t.set(0, node{leaf: leaf})
	return t
}

// Suite returns the cipher suite the tree hashes with.
func (t *Tree) Suite() *cipher.Suite { return t.suite }

// Clone returns a copy of t that can be changed without affecting t. It
// costs one copy of the node array, the hash cache and the node counts (about
// 100 bytes per leaf), no node contents. CloneInto avoids the allocation.
func (t *Tree) Clone() *Tree { return t.CloneInto(nil) }

// CloneInto is Clone reusing the memory of dst, a tree that is no longer
// needed (nil to allocate): a caller that keeps a spare tree for the next
// commit copies without allocating. It returns the copy.
func (t *Tree) CloneInto(dst *Tree) *Tree {
	if dst == nil || dst == t {
		dst = new(Tree)
	}
	dst.suite = t.suite
	dst.nodes = append(dst.nodes[:0], t.nodes...)
	dst.hashes = append(dst.hashes[:0], t.hashes...)
	dst.hashed = append(dst.hashed[:0], t.hashed...)
	dst.filled = append(dst.filled[:0], t.filled...)
	dst.prefix = append(dst.prefix[:0], t.prefix...)
	return dst
}

// Width returns the number of leaves, blank or not: a power of two (§7.7).
func (t *Tree) Width() uint32 { return uint32(len(t.nodes)+1) / 2 }

// NodeCount returns the number of nodes, 2*Width()-1.
func (t *Tree) NodeCount() uint32 { return uint32(len(t.nodes)) }

// Root returns the index of the root node.
func (t *Tree) Root() NodeIndex { return treemath.Root(t.Width()) }

// Leaf returns the leaf node at leaf index i, or nil if it is blank or
// outside the tree. The result must not be modified.
func (t *Tree) Leaf(i LeafIndex) *wire.LeafNode {
	if !t.inTree(i) {
		return nil
	}
	return t.nodes[i.Node()].leaf
}

// Parent returns the parent node at node index x, or nil if it is blank, a
// leaf or outside the tree. The result must not be modified.
func (t *Tree) Parent(x NodeIndex) *wire.ParentNode {
	if uint64(x) >= uint64(len(t.nodes)) {
		return nil
	}
	return t.nodes[x].parent
}

// Blank reports whether node x is blank (§4.1); nodes outside the tree are.
func (t *Tree) Blank(x NodeIndex) bool {
	return uint64(x) >= uint64(len(t.nodes)) || t.nodes[x].blank()
}

// EncryptionKey returns the HPKE public key of node x, or nil if x is blank.
func (t *Tree) EncryptionKey(x NodeIndex) []byte {
	if t.Blank(x) {
		return nil
	}
	if n := t.nodes[x]; n.leaf != nil {
		return n.leaf.EncryptionKey
	}
	return t.nodes[x].parent.EncryptionKey
}

// Leaves yields the index and node of every non-blank leaf, left to right.
func (t *Tree) Leaves() iter.Seq2[LeafIndex, *wire.LeafNode] {
	return func(yield func(LeafIndex, *wire.LeafNode) bool) {
		for x := 0; x < len(t.nodes); x += 2 {
			if l := t.nodes[x].leaf; l != nil && !yield(LeafIndex(x/2), l) {
				return
			}
		}
	}
}

// MemberCount returns the number of non-blank leaves.
func (t *Tree) MemberCount() int {
	n := 0
	for range t.Leaves() {
		n++
	}
	return n
}

// inTree reports whether leaf i is inside the tree.
func (t *Tree) inTree(i LeafIndex) bool { return uint64(i) < uint64(t.Width()) }

// set stores n at x, invalidates the cached hashes of x and its ancestors
// and updates their counts of non-blank nodes.
func (t *Tree) set(x NodeIndex, n node) {
	was, is := !t.nodes[x].blank(), !n.blank()
	t.nodes[x] = n
	t.prefix[x] = keyPrefix(t.EncryptionKey(x))
	t.invalidate(x)
	if was != is {
		t.count(x, is)
	}
}

// count adds (or removes) one non-blank node to the counts of x and its
// ancestors.
func (t *Tree) count(x NodeIndex, add bool) {
	w := t.Width()
	for p, ok := x, true; ok; p, ok = treemath.Parent(p, w) {
		if add {
			t.filled[p]++
		} else {
			t.filled[p]--
		}
	}
}

// resize grows the tree with blank nodes, or cuts it, to n nodes. The nodes
// kept keep their hashes; a new root counts the nodes of the old one.
func (t *Tree) resize(n int) {
	nh := t.suite.Nh()
	if n <= len(t.nodes) {
		t.nodes, t.hashed, t.filled, t.prefix = t.nodes[:n:n], t.hashed[:n:n], t.filled[:n:n], t.prefix[:n:n]
		t.hashes = t.hashes[: n*nh : n*nh]
		return
	}
	old, grown := t.Root(), len(t.nodes) > 0
	t.nodes = append(t.nodes, make([]node, n-len(t.nodes))...)
	t.hashes = append(t.hashes, make([]byte, n*nh-len(t.hashes))...)
	t.hashed = append(t.hashed, make([]bool, n-len(t.hashed))...)
	t.filled = append(t.filled, make([]uint32, n-len(t.filled))...)
	t.prefix = append(t.prefix, make([]uint64, n-len(t.prefix))...)
	if !grown {
		return
	}
	for p, ok := treemath.Parent(old, t.Width()); ok; p, ok = treemath.Parent(p, t.Width()) {
		t.filled[p] = t.filled[old]
	}
}

// invalidate forgets the tree hashes of x and its ancestors. It stops at the
// first ancestor already forgotten: that one's ancestors are forgotten too.
func (t *Tree) invalidate(x NodeIndex) {
	w := t.Width()
	t.hashed[x] = false
	for p, ok := treemath.Parent(x, w); ok; p, ok = treemath.Parent(p, w) {
		if !t.hashed[p] {
			return
		}
		t.hashed[p] = false
	}
}

// subtreeLeaves returns the range [lo, hi) of leaf indices under x.
func subtreeLeaves(x NodeIndex) (lo, hi uint32) {
	k := treemath.Level(x)
	lo = (uint32(x) - (uint32(1)<<k - 1)) / 2
	return lo, lo + uint32(1)<<k
}

// children returns the left and right children of parent node x.
func children(x NodeIndex) (l, r NodeIndex) {
	l, _ = treemath.Left(x)
	r, _ = treemath.Right(x)
	return l, r
}

// Resolution returns the resolution of node x (§4.1.1): the non-blank nodes
// that together cover every non-blank descendant of x, left first, each
// non-blank parent followed by its unmerged leaves.
func (t *Tree) Resolution(x NodeIndex) []NodeIndex {
	return t.appendResolution(nil, x)
}

// appendResolution appends the resolution of x to dst. Blank subtrees are
// skipped by their count, so the cost follows the output, not the subtree.
func (t *Tree) appendResolution(dst []NodeIndex, x NodeIndex) []NodeIndex {
	if uint64(x) >= uint64(len(t.nodes)) || t.filled[x] == 0 {
		return dst
	}
	n := t.nodes[x]
	switch {
	case n.leaf != nil:
		return append(dst, x)
	case n.parent != nil:
		dst = append(dst, x)
		for _, l := range n.parent.UnmergedLeaves {
			dst = append(dst, LeafIndex(l).Node())
		}
		return dst
	case x.IsLeaf():
		return dst
	}
	l, r := children(x)
	return t.appendResolution(t.appendResolution(dst, l), r)
}

// emptyResolution reports whether the resolution of x is empty: whether
// every node under x is blank.
func (t *Tree) emptyResolution(x NodeIndex) bool { return t.filled[x] == 0 }

// copathChild returns the child of parent node p that is not on the path
// from x to p (x is a descendant of p).
func copathChild(p, x NodeIndex) NodeIndex {
	l, r := children(p)
	if treemath.IsAncestor(l, x) {
		return r
	}
	return l
}

// FilteredDirectPath returns the filtered direct path of leaf i (§4.1.2):
// its direct path without the nodes whose copath child has an empty
// resolution. A leaf outside the tree has none.
func (t *Tree) FilteredDirectPath(i LeafIndex) []NodeIndex {
	if !t.inTree(i) {
		return nil
	}
	x := i.Node()
	var fdp []NodeIndex
	for _, p := range treemath.DirectPath(x, t.Width()) {
		if !t.emptyResolution(copathChild(p, x)) {
			fdp = append(fdp, p)
		}
	}
	return fdp
}

// directPath returns the direct path of leaf i.
func (t *Tree) directPath(i LeafIndex) []NodeIndex {
	return treemath.DirectPath(i.Node(), t.Width())
}
