package tree

import (
	"bytes"
	"testing"
)

// TestParentHashChains checks, on a tree built by commits, that each
// non-blank parent has exactly one parent-hash link and that the path
// computation gives each committer's leaf its signed parent hash.
func TestParentHashChains(t *testing.T) {
	g := committedGroup(t)
	tr := g.tr
	parents := 0
	for x := NodeIndex(1); x < NodeIndex(tr.NodeCount()); x += 2 {
		if tr.Parent(x) == nil {
			continue
		}
		parents++
		if n := tr.parentHashLinks(x); n != 1 {
			t.Errorf("node %d has %d parent-hash links, want 1", x, n)
		}
	}
	if parents < 3 {
		t.Fatalf("fixture has only %d parent nodes", parents)
	}
	// The last committer's leaf carries the parent hash of its path.
	last := LeafIndex(4)
	fdp := tr.FilteredDirectPath(last)
	keys := make([][]byte, len(fdp))
	for i, x := range fdp {
		keys[i] = tr.EncryptionKey(x)
	}
	nodes, leaf := tr.pathParentHashes(last.Node(), fdp, keys)
	if !bytes.Equal(leaf, tr.Leaf(last).ParentHash) {
		t.Fatal("recomputed leaf parent hash differs from the committed one")
	}
	for i, x := range fdp {
		if !bytes.Equal(nodes[i], tr.Parent(x).ParentHash) {
			t.Errorf("recomputed parent hash of node %d differs", x)
		}
	}
	if len(nodes[len(nodes)-1]) != 0 {
		t.Error("the top of the path has a non-empty parent hash")
	}
}
