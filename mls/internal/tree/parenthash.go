package tree

import (
	"bytes"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// hashParentHashInput hashes the ParentHashInput struct of §7.9.
func (t *Tree) hashParentHashInput(key, parentHash, originalSiblingTreeHash []byte) []byte {
	var w tls.Writer
	w.Opaque(key)
	w.Opaque(parentHash)
	w.Opaque(originalSiblingTreeHash)
	return t.suite.Hash(w.Bytes())
}

// pathParentHashes computes the parent_hash fields of a path about to be
// merged (§7.9): keys[i] is the new encryption key of fdp[i], the filtered
// direct path of leaf node x. It returns the parent_hash of each fdp node
// (empty for the top one) and that of the leaf (empty when fdp is).
//
// The copath subtrees are not touched by the path and the path's nodes will
// have no unmerged leaves, so each original sibling tree hash is the cached
// tree hash of the copath child.
func (t *Tree) pathParentHashes(x NodeIndex, fdp []NodeIndex, keys [][]byte) (nodes [][]byte, leaf []byte) {
	nodes = make([][]byte, len(fdp))
	ph := []byte{}
	for i := len(fdp) - 1; i >= 0; i-- {
		nodes[i] = ph
		ph = t.hashParentHashInput(keys[i], ph, t.hash(copathChild(fdp[i], x)))
	}
	return nodes, ph
}

// VerifyParentHashes checks that every non-blank parent node is parent-hash
// valid (§7.9.2), as a new member MUST when joining. It works top down: each
// non-blank parent must be the parent hash of exactly one descendant through
// one of its children. The first failure is a *NodeError naming the parent,
// matching ErrParentHash.
func (t *Tree) VerifyParentHashes() error {
	for x := 1; x < len(t.nodes); x += 2 {
		if t.nodes[x].parent == nil {
			continue
		}
		if n := t.parentHashLinks(NodeIndex(x)); n != 1 {
			return nodeErr(NodeIndex(x), ErrParentHash)
		}
	}
	return nil
}

// parentHashLinks counts the children C of non-blank parent p (with sibling
// S) through which some node D is parent-hash valid with respect to p.
func (t *Tree) parentHashLinks(p NodeIndex) int {
	pn := t.nodes[p].parent
	excluded := slices.Clone(pn.UnmergedLeaves)
	slices.Sort(excluded)
	l, r := children(p)
	n := 0
	for _, cs := range [2][2]NodeIndex{{l, r}, {r, l}} {
		ph := t.hashParentHashInput(pn.EncryptionKey, pn.ParentHash, t.originalHash(cs[1], excluded))
		if t.hasLink(cs[0], excluded, ph) {
			n++
		}
	}
	return n
}

// hasLink reports whether a node D in the resolution of c has parent_hash ph
// and the unmerged leaves of its parent under c are exactly the resolution of
// c without D (§7.9.2).
func (t *Tree) hasLink(c NodeIndex, unmerged []uint32, ph []byte) bool {
	lo, hi := subtreeLeaves(c)
	var want []NodeIndex
	for _, l := range unmerged {
		if l >= lo && l < hi {
			want = append(want, LeafIndex(l).Node())
		}
	}
	res := t.Resolution(c)
	if len(res) != len(want)+1 {
		return false
	}
	for i, d := range res {
		if !bytes.Equal(t.parentHashField(d), ph) {
			continue
		}
		rest := slices.Concat(res[:i], res[i+1:])
		slices.Sort(rest)
		if slices.Equal(rest, want) {
			return true
		}
	}
	return false
}

// parentHashField returns the parent_hash that node x carries: a parent
// node's, or a leaf's whose leaf_node_source is commit; nil otherwise.
func (t *Tree) parentHashField(x NodeIndex) []byte {
	if t.Blank(x) {
		return nil
	}
	n := t.nodes[x]
	switch {
	case n.parent != nil:
		return n.parent.ParentHash
	case n.leaf != nil && n.leaf.LeafNodeSource == wire.LeafNodeSourceCommit:
		return n.leaf.ParentHash
	}
	return nil
}
