package tree

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestAddLeaf(t *testing.T) {
	s := suite1(t)
	tr, _ := addedTree(t, s, newRand(1), 3)
	if tr.Width() != 4 || tr.MemberCount() != 3 {
		t.Fatalf("3 adds: width %d, %d members", tr.Width(), tr.MemberCount())
	}
	// A parent node on the new leaf's path records it as unmerged, sorted.
	if err := tr.RemoveLeaf(1); err != nil {
		t.Fatal(err)
	}
	tr.set(3, node{parent: &wire.ParentNode{EncryptionKey: []byte("root"), UnmergedLeaves: []uint32{2}}})
	m := newMember(t, s, newRand(2), 9)
	i, err := tr.AddLeaf(m.leaf)
	if err != nil || i != 1 {
		t.Fatalf("AddLeaf = %d, %v; want the blank leaf 1", i, err)
	}
	if got := tr.Parent(3); got == nil || !slices.Equal(got.UnmergedLeaves, []uint32{1, 2}) {
		t.Fatalf("root after add: %+v, want unmerged [1 2]", got)
	}
	if tr.Parent(1) != nil {
		t.Fatalf("the blank node 1 gained a value")
	}
	// A full tree extends.
	i, err = tr.AddLeaf(newMember(t, s, newRand(3), 10).leaf)
	if err != nil || i != 3 {
		t.Fatalf("AddLeaf = %d, %v; want 3", i, err)
	}
	if i, err = tr.AddLeaf(newMember(t, s, newRand(4), 11).leaf); err != nil || i != 4 || tr.Width() != 8 {
		t.Fatalf("AddLeaf to a full tree = %d, %v, width %d; want 4 in a width of 8", i, err, tr.Width())
	}
}

func TestRemoveLeafTruncates(t *testing.T) {
	s := suite1(t)
	tr, _ := addedTree(t, s, newRand(1), 5)
	for _, tt := range []struct {
		remove LeafIndex
		width  uint32
	}{{1, 8}, {4, 4}, {3, 4}, {2, 1}} {
		if err := tr.RemoveLeaf(tt.remove); err != nil {
			t.Fatalf("RemoveLeaf(%d): %v", tt.remove, err)
		}
		if tr.Width() != tt.width {
			t.Fatalf("after removing %d: width %d, want %d", tt.remove, tr.Width(), tt.width)
		}
	}
	fresh, err := Decode(s, mustEncode(t, tr))
	if err != nil || !bytes.Equal(fresh.TreeHash(), tr.TreeHash()) {
		t.Fatalf("truncated tree: cached hash differs from a fresh one (%v)", err)
	}
}

func TestBlankLeafRejected(t *testing.T) {
	s := suite1(t)
	tr, ms := addedTree(t, s, newRand(1), 3)
	before := mustEncode(t, tr)
	for _, i := range []LeafIndex{3, 4, 1 << 30} {
		if err := tr.RemoveLeaf(i); !errors.Is(err, ErrBlankLeaf) {
			t.Errorf("RemoveLeaf(%d): err = %v, want ErrBlankLeaf", i, err)
		}
		if err := tr.UpdateLeaf(i, ms[0].leaf); !errors.Is(err, ErrBlankLeaf) {
			t.Errorf("UpdateLeaf(%d): err = %v, want ErrBlankLeaf", i, err)
		}
	}
	if !bytes.Equal(mustEncode(t, tr), before) {
		t.Fatal("a rejected operation changed the tree")
	}
}

// TestFilteredDirectPath builds the five-member tree of RFC 9420 §4.1.2
// (Figure 10) and checks its table of direct paths, copaths and filtered
// direct paths.
func TestFilteredDirectPath(t *testing.T) {
	s := suite1(t)
	tr, _ := addedTree(t, s, newRand(1), 8)
	for _, l := range []LeafIndex{2, 3, 7} { // C, D and H are blank
		if err := tr.RemoveLeaf(l); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []NodeIndex{1, 7, 9, 11} { // T, W, X, Y
		tr.set(x, node{parent: &wire.ParentNode{EncryptionKey: []byte{byte(x)}}})
	}
	const T, U, W, X, Y, Z = 1, 3, 7, 9, 11, 13
	for _, tt := range []struct {
		leaf   LeafIndex
		direct []NodeIndex
		fdp    []NodeIndex
	}{
		{0, []NodeIndex{T, U, W}, []NodeIndex{T, W}},
		{1, []NodeIndex{T, U, W}, []NodeIndex{T, W}},
		{4, []NodeIndex{X, Y, W}, []NodeIndex{X, Y, W}},
		{5, []NodeIndex{X, Y, W}, []NodeIndex{X, Y, W}},
		{6, []NodeIndex{Z, Y, W}, []NodeIndex{Y, W}},
	} {
		if got := tr.directPath(tt.leaf); !slices.Equal(got, tt.direct) {
			t.Errorf("direct path of %d = %v, want %v", tt.leaf, got, tt.direct)
		}
		if got := tr.FilteredDirectPath(tt.leaf); !slices.Equal(got, tt.fdp) {
			t.Errorf("filtered direct path of %d = %v, want %v", tt.leaf, got, tt.fdp)
		}
	}
	// Resolutions of Figure 9's kind: a blank parent concatenates.
	if got, want := tr.Resolution(U), []NodeIndex{1}; !slices.Equal(got, want) {
		t.Errorf("Resolution(U) = %v, want %v", got, want)
	}
	if got, want := tr.Resolution(Z), []NodeIndex{12}; !slices.Equal(got, want) {
		t.Errorf("Resolution(Z) = %v, want %v", got, want)
	}
	if got := tr.Resolution(5); len(got) != 0 {
		t.Errorf("Resolution(V) = %v, want empty", got)
	}
}
