// Package treemath is the index arithmetic of the array-based ratchet tree of
// RFC 9420 Appendix C.
//
// Every MLS tree is a perfect binary tree (RFC 9420 §4.1): its leaf count is a
// power of two. Leaf i is node 2i; parent nodes have odd indices. Functions
// that need the tree's size take its leaf count; those whose answer may not
// exist (the parent of the root, the children of a leaf) return ok = false
// rather than panicking, so callers can feed them unchecked indices.
//
// All functions are pure; the types are plain integers and safe for
// concurrent use.
package treemath

import "math/bits"

// LeafIndex is the index of a leaf among the leaves, 0 at the left
// (RFC 9420 §4.1, "leaf index").
type LeafIndex uint32

// NodeIndex is the index of a node in the array representation of the tree
// (RFC 9420 Appendix C).
type NodeIndex uint32

// Node returns the node index of leaf l: 2l.
func (l LeafIndex) Node() NodeIndex { return NodeIndex(l) * 2 }

// IsLeaf reports whether x is a leaf node (even index).
func (x NodeIndex) IsLeaf() bool { return x&1 == 0 }

// Leaf returns the leaf index of x, and false if x is a parent node.
func (x NodeIndex) Leaf() (LeafIndex, bool) {
	if !x.IsLeaf() {
		return 0, false
	}
	return LeafIndex(x / 2), true
}

// Level returns the level of x: 0 for leaves, one more than its children's
// for parent nodes (the number of trailing one bits of x). See RFC 9420 Appendix C.
func Level(x NodeIndex) int { return bits.TrailingZeros32(^uint32(x)) }

// NodeWidth returns the number of nodes of a tree with n leaves: 2(n-1)+1,
// and 0 for n = 0. See RFC 9420 Appendix C.
func NodeWidth(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 2*(n-1) + 1
}

// Root returns the root of a tree with n leaves (n > 0). See RFC 9420 Appendix C.
func Root(n uint32) NodeIndex {
	w := NodeWidth(n)
	if w == 0 {
		return 0
	}
	return NodeIndex(uint32(1)<<(bits.Len32(w)-1) - 1)
}

// Left returns the left child of x, and false if x is a leaf. See RFC 9420 Appendix C.
func Left(x NodeIndex) (NodeIndex, bool) {
	k := Level(x)
	if k == 0 {
		return 0, false
	}
	return x ^ NodeIndex(1)<<(k-1), true
}

// Right returns the right child of x, and false if x is a leaf. See RFC 9420 Appendix C.
func Right(x NodeIndex) (NodeIndex, bool) {
	k := Level(x)
	if k == 0 {
		return 0, false
	}
	return x ^ NodeIndex(3)<<(k-1), true
}

// Parent returns the parent of x in a tree with n leaves, and false if x is
// the root or lies outside the tree. See RFC 9420 Appendix C.
func Parent(x NodeIndex, n uint32) (NodeIndex, bool) {
	if !InTree(x, n) || x == Root(n) {
		return 0, false
	}
	k := Level(x)
	b := (x >> (k + 1)) & 1
	return (x | NodeIndex(1)<<k) ^ (b << (k + 1)), true
}

// Sibling returns the other child of x's parent in a tree with n leaves, and
// false if x is the root or lies outside the tree. See RFC 9420 Appendix C.
func Sibling(x NodeIndex, n uint32) (NodeIndex, bool) {
	p, ok := Parent(x, n)
	if !ok {
		return 0, false
	}
	if x < p {
		return Right(p)
	}
	return Left(p)
}

// InTree reports whether x is a node of a tree with n leaves. See RFC 9420 Appendix C.
func InTree(x NodeIndex, n uint32) bool { return uint32(x) < NodeWidth(n) }

// DirectPath returns the direct path of x in a tree with n leaves: its
// ancestors from its parent up to the root (RFC 9420 §4.1). It is empty for
// the root and for nodes outside the tree.
func DirectPath(x NodeIndex, n uint32) []NodeIndex {
	var d []NodeIndex
	for p, ok := Parent(x, n); ok; p, ok = Parent(p, n) {
		d = append(d, p)
	}
	return d
}

// Copath returns the copath of x in a tree with n leaves: the sibling of x
// and of each node of its direct path but the root, ordered from x upwards
// (RFC 9420 §4.1).
func Copath(x NodeIndex, n uint32) []NodeIndex {
	var c []NodeIndex
	for y := x; ; {
		s, ok := Sibling(y, n)
		if !ok {
			return c
		}
		c = append(c, s)
		y, _ = Parent(y, n)
	}
}

// IsAncestor reports whether a is x or an ancestor of x, that is whether x
// lies in the subtree headed by a. See RFC 9420 Appendix C.
func IsAncestor(a, x NodeIndex) bool {
	k := Level(a)
	return Level(x) <= k && x>>(k+1) == a>>(k+1)
}

// CommonAncestor returns the lowest node that is x or an ancestor of x and
// y or an ancestor of y (RFC 9420 Appendix C, common_ancestor_direct).
func CommonAncestor(x, y NodeIndex) NodeIndex {
	lx, ly := Level(x)+1, Level(y)+1
	if lx <= ly && x>>ly == y>>ly {
		return y
	}
	if ly <= lx && x>>lx == y>>lx {
		return x
	}
	k := 0
	for x != y {
		x, y = x>>1, y>>1
		k++
	}
	return x<<k + NodeIndex(1)<<(k-1) - 1
}
