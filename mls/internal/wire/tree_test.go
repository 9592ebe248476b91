package wire

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestRatchetTreeBlanks(t *testing.T) {
	leaf := testLeaf(LeafNodeSourceCommit)
	tree := RatchetTree{
		{NodeType: NodeTypeLeaf, Leaf: &leaf},
		nil,
		{NodeType: NodeTypeParent, Parent: &ParentNode{EncryptionKey: []byte{1}, UnmergedLeaves: []uint32{2, 1}}},
	}
	var got RatchetTree
	roundTrip(t, &tree, &got)
	if len(got) != 3 || got[1] != nil || got[0].Leaf == nil || got[2].Parent == nil {
		t.Fatalf("decoded tree shape wrong: %+v", got)
	}
	// Decoding does not sort or validate unmerged leaves.
	if ul := got[2].Parent.UnmergedLeaves; len(ul) != 2 || ul[0] != 2 {
		t.Fatalf("unmerged leaves %v", ul)
	}
}

func TestNodeErrors(t *testing.T) {
	wantMalformed(t, Unmarshal([]byte{3}, new(Node)), tls.ErrInvalidValue)
	wantMalformed(t, Unmarshal([]byte{1, 2}, new(RatchetTree)), tls.ErrInvalidValue) // presence byte 2
	// A parent node's unmerged_leaves must hold whole uint32s.
	wantMalformed(t, Unmarshal([]byte{0, 0, 3, 0, 0, 0}, new(ParentNode)), tls.ErrTruncated)
	if _, err := Marshal(&Node{NodeType: NodeTypeLeaf}); !errors.Is(err, ErrNoBody) {
		t.Fatalf("leaf node without leaf: err = %v", err)
	}
}

func TestUpdatePath(t *testing.T) {
	p := UpdatePath{
		LeafNode: testLeaf(LeafNodeSourceCommit),
		Nodes: []UpdatePathNode{
			{EncryptionKey: []byte{1}, EncryptedPathSecret: []HPKECiphertext{{KEMOutput: []byte{2}, Ciphertext: []byte{3}}}},
			{EncryptionKey: []byte{4}},
		},
	}
	var got UpdatePath
	roundTrip(t, &p, &got)
	if len(got.Nodes) != 2 || len(got.Nodes[0].EncryptedPathSecret) != 1 || got.Nodes[0].EncryptedPathSecret[0].Ciphertext[0] != 3 {
		t.Fatalf("decoded path %+v", got)
	}
}
