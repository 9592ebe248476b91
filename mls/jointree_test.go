package mls

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tree"
)

// TestVerifyLeafSignaturesParallel: a bad signature at any leaf of a tree
// large enough to use several goroutines is found.
func TestVerifyLeafSignaturesParallel(t *testing.T) {
	f := buildFixture(t, 300)
	tr := f.g0.tree
	if err := verifyLeafSignatures(tr, f.g0.gc.GroupID); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int{3, 150, 299} {
		t2 := tr.Clone()
		ln := *t2.Leaf(tree.LeafIndex(bad))
		ln.Signature = append([]byte(nil), ln.Signature...)
		ln.Signature[5] ^= 1
		if err := t2.UpdateLeaf(tree.LeafIndex(bad), &ln); err != nil {
			t.Fatal(err)
		}
		if err := verifyLeafSignatures(t2, f.g0.gc.GroupID); !errors.Is(err, ErrInvalidTree) || !errors.Is(err, tree.ErrSignature) {
			t.Fatalf("bad leaf %d: %v", bad, err)
		}
	}
}
