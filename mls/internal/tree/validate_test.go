package tree

import (
	"errors"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// committedGroup returns a group of six whose tree has parent nodes set by
// several commits, unmerged leaves and a blank leaf.
func committedGroup(t testing.TB) *group {
	g := newGroup(t)
	g.commit(commitOps{committer: 0, adds: 5})
	g.commit(commitOps{committer: 3})
	g.commit(commitOps{committer: 1, removes: []LeafIndex{2}})
	g.commit(commitOps{committer: 4, adds: 2}) // leaf 2 stays unmerged at node 3
	return g
}

// firstParent returns the lowest-indexed non-blank parent node whose
// unmerged leaves satisfy want.
func firstParent(t *testing.T, tr *Tree, want func(*wire.ParentNode) bool) NodeIndex {
	t.Helper()
	for x := NodeIndex(1); x < NodeIndex(tr.NodeCount()); x += 2 {
		if pn := tr.Parent(x); pn != nil && want(pn) {
			return x
		}
	}
	t.Fatal("no such parent node")
	return 0
}

func withParent(tr *Tree, x NodeIndex, f func(*wire.ParentNode)) *Tree {
	c := tr.Clone()
	pn := *c.Parent(x)
	pn.UnmergedLeaves = slices.Clone(pn.UnmergedLeaves)
	f(&pn)
	c.set(x, node{parent: &pn})
	return c
}

func withLeaf(tr *Tree, i LeafIndex, f func(*wire.LeafNode)) *Tree {
	c := tr.Clone()
	ln := *c.Leaf(i)
	f(&ln)
	c.set(i.Node(), node{leaf: &ln})
	return c
}

func TestValidateRejects(t *testing.T) {
	g := committedGroup(t)
	tr := g.tr
	if err := tr.Validate(g.id); err != nil {
		t.Fatalf("untampered tree: %v", err)
	}
	any := func(*wire.ParentNode) bool { return true }
	unmerged := func(pn *wire.ParentNode) bool { return len(pn.UnmergedLeaves) > 0 }
	px := firstParent(t, tr, any)
	ux := firstParent(t, tr, unmerged)
	blank := LeafIndex(0)
	for i := range tr.Width() {
		if tr.Leaf(LeafIndex(i)) == nil {
			blank = LeafIndex(i)
		}
	}
	tests := []struct {
		name string
		tr   *Tree
		want error
	}{
		{"tampered parent hash", withParent(tr, px, func(pn *wire.ParentNode) { pn.ParentHash = append([]byte{1}, pn.ParentHash...) }), ErrParentHash},
		{"replaced parent key", withParent(tr, px, func(pn *wire.ParentNode) { pn.EncryptionKey = tr.Leaf(0).SignatureKey }), ErrParentHash},
		{"tampered leaf parent hash", withLeaf(tr, 1, func(ln *wire.LeafNode) { ln.ParentHash = slices.Clone(ln.ParentHash); ln.ParentHash[0] ^= 1 }), ErrParentHash},
		// A changed leaf changes the tree hashes its ancestors' parent
		// hashes cover, so only the signature check isolates it.
		{"bad leaf signature", withLeaf(tr, 3, func(ln *wire.LeafNode) { ln.Signature = slices.Clone(ln.Signature); ln.Signature[0] ^= 1 }), ErrSignature},
		{"leaf copied from another index", withLeaf(tr, 0, func(ln *wire.LeafNode) { *ln = *tr.Leaf(1) }), ErrDuplicateKey},
		{"duplicate encryption key", withLeaf(tr, 4, func(ln *wire.LeafNode) { ln.EncryptionKey = tr.Leaf(3).EncryptionKey }), ErrDuplicateKey},
		{"unsorted unmerged leaves", withParent(tr, ux, func(pn *wire.ParentNode) {
			pn.UnmergedLeaves = append(pn.UnmergedLeaves, pn.UnmergedLeaves[0])
		}), ErrUnmergedLeaves},
		{"unmerged leaf outside the subtree", withParent(tr, ux, func(pn *wire.ParentNode) {
			pn.UnmergedLeaves = append(pn.UnmergedLeaves, 1<<20)
		}), ErrUnmergedLeaves},
		{"blank unmerged leaf", withParent(tr, tr.Root(), func(pn *wire.ParentNode) {
			pn.UnmergedLeaves = []uint32{uint32(blank)}
		}), ErrUnmergedLeaves},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := tt.tr.Validate
			if tt.want == ErrSignature {
				check = tt.tr.VerifyLeafSignatures
			}
			err := check(g.id)
			var ne *NodeError
			if !errors.Is(err, tt.want) || !errors.As(err, &ne) {
				t.Fatalf("Validate: err = %v, want %v in a *NodeError", err, tt.want)
			}
		})
	}
	if tr.Leaf(blank) != nil || tr.Parent(tr.Root()) == nil {
		t.Fatalf("fixture lacks a blank leaf (%d) or a root", blank)
	}
}

func TestVerifyLeafNode(t *testing.T) {
	g := committedGroup(t)
	s := g.tr.Suite()
	ln := g.tr.Leaf(1)
	if err := VerifyLeafNode(s, ln, g.id, 1); err != nil {
		t.Fatalf("good leaf: %v", err)
	}
	for _, tt := range []struct {
		name    string
		groupID []byte
		i       LeafIndex
	}{{"other group", []byte("other"), 1}, {"other index", g.id, 0}} {
		err := VerifyLeafNode(s, ln, tt.groupID, tt.i)
		if !errors.Is(err, ErrSignature) || !errors.Is(err, cipher.ErrInvalidSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", tt.name, err)
		}
	}
	// A KeyPackage leaf signs no group context.
	m := newMember(t, s, newRand(3), 3)
	if err := VerifyLeafNode(s, m.leaf, []byte("any"), 9); err != nil {
		t.Fatalf("key_package leaf: %v", err)
	}
	bad := *m.leaf
	bad.SignatureKey = []byte{1}
	if err := VerifyLeafNode(s, &bad, nil, 0); !errors.Is(err, ErrSignature) || !errors.Is(err, cipher.ErrInvalidKey) {
		t.Fatalf("bad signature key: err = %v", err)
	}
}
