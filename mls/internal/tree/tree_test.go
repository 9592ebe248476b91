package tree

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestCloneIsIndependent(t *testing.T) {
	g := committedGroup(t)
	orig := mustEncode(t, g.tr)
	origHash := g.tr.TreeHash()
	var spare *Tree
	for _, clone := range []func() *Tree{g.tr.Clone, func() *Tree { spare = g.tr.CloneInto(spare); return spare }} {
		c := clone()
		if !bytes.Equal(c.TreeHash(), origHash) {
			t.Fatal("clone has another tree hash")
		}
		if err := c.RemoveLeaf(3); err != nil {
			t.Fatal(err)
		}
		m := newMember(t, c.Suite(), newRand(4), 40)
		for range 5 {
			if _, err := c.AddLeaf(m.leaf); err != nil {
				t.Fatal(err)
			}
		}
		if bytes.Equal(c.TreeHash(), origHash) {
			t.Fatal("changing the clone did not change its hash")
		}
		if !bytes.Equal(mustEncode(t, g.tr), orig) || !bytes.Equal(g.tr.TreeHash(), origHash) {
			t.Fatal("changing a clone changed the original")
		}
	}
	if g.tr.CloneInto(g.tr) == g.tr {
		t.Fatal("CloneInto(t) returned t itself")
	}
}

func TestAccessors(t *testing.T) {
	s := suite1(t)
	tr, ms := addedTree(t, s, newRand(1), 3)
	if tr.Width() != 4 || tr.NodeCount() != 7 || tr.Root() != 3 || tr.MemberCount() != 3 {
		t.Fatalf("width %d, nodes %d, root %d, members %d", tr.Width(), tr.NodeCount(), tr.Root(), tr.MemberCount())
	}
	for i, ln := range tr.Leaves() {
		if ln != ms[i].leaf || tr.Leaf(i) != ln {
			t.Fatalf("leaf %d is not member %d's leaf node", i, i)
		}
	}
	if tr.Leaf(3) != nil || tr.Leaf(1<<31) != nil || tr.Parent(1) != nil || tr.Parent(2) != nil || tr.Parent(99) != nil {
		t.Fatal("blank, leaf or outside nodes returned a value")
	}
	if !tr.Blank(6) || tr.Blank(4) || !tr.Blank(100) {
		t.Fatal("Blank is wrong")
	}
	if !bytes.Equal(tr.EncryptionKey(2), ms[1].leaf.EncryptionKey) || tr.EncryptionKey(1) != nil {
		t.Fatal("EncryptionKey is wrong")
	}
	tr.set(5, node{parent: &wire.ParentNode{EncryptionKey: []byte("p")}})
	if !bytes.Equal(tr.EncryptionKey(5), []byte("p")) {
		t.Fatal("EncryptionKey of a parent is wrong")
	}
}
