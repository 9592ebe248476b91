package treemath

import (
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// TestVectors runs tree-math.json: every relation of every node for trees of
// 1 to 512 leaves.
func TestVectors(t *testing.T) {
	type vector struct {
		NLeaves uint32    `json:"n_leaves"`
		NNodes  uint32    `json:"n_nodes"`
		Root    uint32    `json:"root"`
		Left    []*uint32 `json:"left"`
		Right   []*uint32 `json:"right"`
		Parent  []*uint32 `json:"parent"`
		Sibling []*uint32 `json:"sibling"`
	}
	vectortest.Run(t, "tree-math", func(t *testing.T, c *vector) {
		n := c.NLeaves
		if got := NodeWidth(n); got != c.NNodes {
			t.Fatalf("NodeWidth(%d) = %d, want %d", n, got, c.NNodes)
		}
		if got := Root(n); uint32(got) != c.Root {
			t.Fatalf("Root(%d) = %d, want %d", n, got, c.Root)
		}
		if len(c.Left) != int(c.NNodes) || len(c.Right) != int(c.NNodes) ||
			len(c.Parent) != int(c.NNodes) || len(c.Sibling) != int(c.NNodes) {
			t.Fatalf("vector arrays do not have n_nodes entries")
		}
		for i := range c.NNodes {
			x := NodeIndex(i)
			check(t, "Left", x, c.Left[i], func() (NodeIndex, bool) { return Left(x) })
			check(t, "Right", x, c.Right[i], func() (NodeIndex, bool) { return Right(x) })
			check(t, "Parent", x, c.Parent[i], func() (NodeIndex, bool) { return Parent(x, n) })
			check(t, "Sibling", x, c.Sibling[i], func() (NodeIndex, bool) { return Sibling(x, n) })
		}
	})
}

func check(t *testing.T, name string, x NodeIndex, want *uint32, f func() (NodeIndex, bool)) {
	t.Helper()
	got, ok := f()
	switch {
	case want == nil && ok:
		t.Errorf("%s(%d) = %d, want none", name, x, got)
	case want != nil && !ok:
		t.Errorf("%s(%d) = none, want %d", name, x, *want)
	case want != nil && uint32(got) != *want:
		t.Errorf("%s(%d) = %d, want %d", name, x, got, *want)
	}
}

func TestLevelAndLeaf(t *testing.T) {
	for _, tt := range []struct {
		x     NodeIndex
		level int
	}{{0, 0}, {1, 1}, {3, 2}, {5, 1}, {7, 3}, {14, 0}, {15, 4}} {
		if got := Level(tt.x); got != tt.level {
			t.Errorf("Level(%d) = %d, want %d", tt.x, got, tt.level)
		}
	}
	if l, ok := NodeIndex(6).Leaf(); !ok || l != 3 || l.Node() != 6 {
		t.Errorf("NodeIndex(6).Leaf() = %d, %v", l, ok)
	}
	if _, ok := NodeIndex(5).Leaf(); ok {
		t.Errorf("NodeIndex(5).Leaf() reported a leaf")
	}
}

func TestPaths(t *testing.T) {
	// The eight-leaf tree of RFC 9420 Appendix C.
	tests := []struct {
		x              NodeIndex
		direct, copath []NodeIndex
	}{
		{0, []NodeIndex{1, 3, 7}, []NodeIndex{2, 5, 11}},
		{10, []NodeIndex{9, 11, 7}, []NodeIndex{8, 13, 3}},
		{5, []NodeIndex{3, 7}, []NodeIndex{1, 11}},
		{7, nil, nil},
		{15, nil, nil}, // outside the tree
	}
	for _, tt := range tests {
		if got := DirectPath(tt.x, 8); !slices.Equal(got, tt.direct) {
			t.Errorf("DirectPath(%d) = %v, want %v", tt.x, got, tt.direct)
		}
		if got := Copath(tt.x, 8); !slices.Equal(got, tt.copath) {
			t.Errorf("Copath(%d) = %v, want %v", tt.x, got, tt.copath)
		}
	}
	if _, ok := Parent(15, 8); ok {
		t.Errorf("Parent(15, 8) exists outside the tree")
	}
}

// TestCommonAncestor compares CommonAncestor and IsAncestor with their
// definitions over direct paths, for every pair of nodes of a 32-leaf tree.
func TestCommonAncestor(t *testing.T) {
	const n = 32
	for x := range NodeIndex(NodeWidth(n)) {
		px := append([]NodeIndex{x}, DirectPath(x, n)...)
		for y := range NodeIndex(NodeWidth(n)) {
			py := append([]NodeIndex{y}, DirectPath(y, n)...)
			want := NodeIndex(0)
			for _, a := range px { // px runs upwards: the first shared is lowest
				if slices.Contains(py, a) {
					want = a
					break
				}
			}
			if got := CommonAncestor(x, y); got != want {
				t.Fatalf("CommonAncestor(%d, %d) = %d, want %d", x, y, got, want)
			}
			if got := IsAncestor(y, x); got != slices.Contains(px, y) {
				t.Fatalf("IsAncestor(%d, %d) = %v", y, x, got)
			}
		}
	}
}
