package tree

import (
	"errors"
	"math/bits"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// Decode parses the contents of a ratchet_tree extension, `optional<Node>
// ratchet_tree<V>` (§12.4.3.3), into a tree extended with blank nodes to
// 2^d leaves. It checks the encoding only: that the last node is non-blank,
// that leaves sit at even and parent nodes at odd positions, and the size
// bound. Callers joining a group then run Validate and compare TreeHash with
// the GroupContext (§12.4.3.3).
//
// Errors: malformed input matches tls.ErrMalformed (a *tls.DecodeError
// whose reason may be ErrTrailingBlank, ErrNodeType, ErrEmptyTree or
// ErrTooManyNodes); a node using an unknown credential type or
// leaf_node_source gives the wire package's error (tls.ErrUnsupported or
// tls.ErrMalformed). The tree does not alias b.
func Decode(suite *cipher.Suite, b []byte) (*Tree, error) {
	own := append([]byte(nil), b...)
	r := tls.NewReader(own)
	var (
		rt   wire.RatchetTree
		offs []int
	)
	r.Vector(func(r *tls.Reader) {
		offs = append(offs, r.Offset())
		var n *wire.Node
		if r.Optional() {
			n = new(wire.Node)
			n.UnmarshalTLS(r)
		}
		rt = append(rt, n)
	})
	if err := r.Finish(); err != nil {
		var ue *wire.UnsupportedError
		if errors.As(err, &ue) {
			return nil, ue
		}
		return nil, err
	}
	return fromRatchetTree(suite, rt, func(i int) int {
		if i < len(offs) {
			return offs[i]
		}
		return len(own)
	})
}

// FromRatchetTree is Decode for a ratchet_tree already parsed by package
// wire (for example from a GroupInfo extension or a Welcome). The nodes are
// shared with rt, which the caller must no longer modify. Errors are those
// of Decode; their offsets count nodes, not bytes.
func FromRatchetTree(suite *cipher.Suite, rt wire.RatchetTree) (*Tree, error) {
	return fromRatchetTree(suite, rt, func(i int) int { return i })
}

// fromRatchetTree builds a tree from rt; offset maps an entry to the
// position reported in errors.
func fromRatchetTree(suite *cipher.Suite, rt wire.RatchetTree, offset func(int) int) (*Tree, error) {
	fail := func(i int, err error) error {
		return &tls.DecodeError{Offset: offset(i), Field: "ratchet_tree", Err: err}
	}
	switch {
	case len(rt) == 0:
		return nil, fail(0, ErrEmptyTree)
	case len(rt) > int(treemath.NodeWidth(MaxLeaves)):
		return nil, fail(0, ErrTooManyNodes)
	case rt[len(rt)-1] == nil:
		return nil, fail(len(rt)-1, ErrTrailingBlank)
	}
	width := widthFor(len(rt))
	t := &Tree{suite: suite}
	t.resize(int(2*width - 1))
	for i, n := range rt {
		if n == nil {
			continue
		}
		nd, ok := nodeAt(i, n)
		if !ok {
			return nil, fail(i, ErrNodeType)
		}
		t.nodes[i] = nd
	}
	t.countAll()
	return t, nil
}

// widthFor returns the number of leaves of the smallest full tree with at
// least n nodes: the smallest power of two w with 2w-1 >= n.
func widthFor(n int) uint32 {
	leaves := uint32(n+2) / 2 // ceil((n+1)/2)
	if leaves <= 1 {
		return 1
	}
	return 1 << bits.Len32(leaves-1)
}

// nodeAt converts entry i of a ratchet_tree, checking that its type matches
// its position.
func nodeAt(i int, n *wire.Node) (node, bool) {
	switch {
	case i%2 == 0 && n.NodeType == wire.NodeTypeLeaf && n.Leaf != nil:
		return node{leaf: n.Leaf}, true
	case i%2 == 1 && n.NodeType == wire.NodeTypeParent && n.Parent != nil:
		return node{parent: n.Parent}, true
	}
	return node{}, false
}

// RatchetTree returns the tree as the contents of a ratchet_tree extension
// (§12.4.3.3): every node in array order, blank nodes nil, without the
// blank nodes after the last non-blank one. The nodes are shared with t and
// must not be modified.
func (t *Tree) RatchetTree() wire.RatchetTree {
	last := len(t.nodes) - 1
	for last >= 0 && t.nodes[last].blank() {
		last--
	}
	rt := make(wire.RatchetTree, last+1)
	for i := range rt {
		switch n := t.nodes[i]; {
		case n.leaf != nil:
			rt[i] = &wire.Node{NodeType: wire.NodeTypeLeaf, Leaf: n.leaf}
		case n.parent != nil:
			rt[i] = &wire.Node{NodeType: wire.NodeTypeParent, Parent: n.parent}
		}
	}
	return rt
}

// Encode returns the encoding of RatchetTree(). It fails only if a node
// cannot be encoded (an unknown credential type or leaf_node_source in a
// node the caller built).
func (t *Tree) Encode() ([]byte, error) {
	rt := t.RatchetTree()
	return tls.Marshal(&rt)
}

// countAll fills the counts of non-blank nodes, bottom up by level, and
// the key prefixes.
func (t *Tree) countAll() {
	for x := range t.nodes {
		if !t.nodes[x].blank() {
			t.filled[x] = 1
			t.prefix[x] = keyPrefix(t.EncryptionKey(NodeIndex(x)))
		}
	}
	for level := 1; 1<<level <= len(t.nodes); level++ {
		for x := 1<<level - 1; x < len(t.nodes); x += 1 << (level + 1) {
			l, r := children(NodeIndex(x))
			t.filled[x] += t.filled[l] + t.filled[r]
		}
	}
}
