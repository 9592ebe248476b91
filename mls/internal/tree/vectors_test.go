package tree

import (
	"bytes"
	mrand "math/rand/v2"
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

type treeKEMVector struct {
	CipherSuite             uint16         `json:"cipher_suite"`
	GroupID                 vectortest.Hex `json:"group_id"`
	Epoch                   uint64         `json:"epoch"`
	ConfirmedTranscriptHash vectortest.Hex `json:"confirmed_transcript_hash"`
	RatchetTree             vectortest.Hex `json:"ratchet_tree"`
	LeavesPrivate           []struct {
		Index          uint32         `json:"index"`
		EncryptionPriv vectortest.Hex `json:"encryption_priv"`
		SignaturePriv  vectortest.Hex `json:"signature_priv"`
		PathSecrets    []struct {
			Node       uint32         `json:"node"`
			PathSecret vectortest.Hex `json:"path_secret"`
		} `json:"path_secrets"`
	} `json:"leaves_private"`
	UpdatePaths []struct {
		Sender        uint32           `json:"sender"`
		UpdatePath    vectortest.Hex   `json:"update_path"`
		PathSecrets   []vectortest.Hex `json:"path_secrets"`
		CommitSecret  vectortest.Hex   `json:"commit_secret"`
		TreeHashAfter vectortest.Hex   `json:"tree_hash_after"`
	} `json:"update_paths"`
}

// groupContext encodes the GroupContext of a treekem.json case for the tree
// hash th.
func (c *treeKEMVector) groupContext(t *testing.T, th []byte) []byte {
	t.Helper()
	b, err := wire.Marshal(&wire.GroupContext{
		Version: wire.MLS10, CipherSuite: wire.CipherSuite(c.CipherSuite), GroupID: c.GroupID,
		Epoch: c.Epoch, TreeHash: th, ConfirmedTranscriptHash: c.ConfirmedTranscriptHash,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testTreeKEM(t *testing.T) {
	vectortest.Run(t, "treekem", func(t *testing.T, c *treeKEMVector) {
		t.Parallel() // the P-521 cases cost seconds of ECDH each
		s := lookupSuite(t, c.CipherSuite)
		tr := decodeTree(t, s, c.RatchetTree)
		privs := map[LeafIndex]*PrivateKeys{}
		signers := map[LeafIndex]*cipher.Signer{}
		for _, lp := range c.LeavesPrivate {
			i := LeafIndex(lp.Index)
			k, err := NewPrivateKeys(s, i, lp.EncryptionPriv)
			if err != nil {
				t.Fatal(err)
			}
			for _, ps := range lp.PathSecrets {
				if err := k.SetPathSecret(s, NodeIndex(ps.Node), ps.PathSecret); err != nil {
					t.Fatal(err)
				}
			}
			if err := tr.CheckPrivateKeys(k); err != nil {
				t.Fatalf("leaf %d: private keys do not fit the tree: %v", i, err)
			}
			privs[i] = k
			if signers[i], err = s.NewSigner(lp.SignaturePriv); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range c.UpdatePaths {
			var up wire.UpdatePath
			if err := wire.Unmarshal(u.UpdatePath, &up); err != nil {
				t.Fatalf("update_path: %v", err)
			}
			sender := LeafIndex(u.Sender)
			after := tr.Clone()
			if err := after.MergePath(sender, &up, nil); err != nil {
				t.Fatalf("sender %d: MergePath: %v", sender, err)
			}
			if h := after.TreeHash(); !bytes.Equal(h, u.TreeHashAfter) {
				t.Fatalf("sender %d: tree hash after = %x, want %x", sender, h, u.TreeHashAfter)
			}
			if err := VerifyLeafNode(s, &up.LeafNode, c.GroupID, sender); err != nil {
				t.Fatalf("sender %d: leaf: %v", sender, err)
			}
			if err := after.VerifyParentHashes(); err != nil {
				t.Fatalf("sender %d: merged tree: %v", sender, err)
			}
			gc := c.groupContext(t, after.TreeHash())
			checked := 0
			for j, k := range privs {
				if j == sender {
					continue
				}
				keys, ps, cs, err := after.decryptPath(k, sender, &up, gc, nil)
				if err != nil {
					t.Fatalf("sender %d, receiver %d: %v", sender, j, err)
				}
				if !bytes.Equal(ps, u.PathSecrets[j]) || !bytes.Equal(cs, u.CommitSecret) {
					t.Fatalf("sender %d, receiver %d: path secret %x commit secret %x, want %x %x",
						sender, j, ps, cs, u.PathSecrets[j], u.CommitSecret)
				}
				if err := after.CheckPrivateKeys(keys); err != nil {
					t.Fatalf("sender %d, receiver %d: new keys: %v", sender, j, err)
				}
				checked++
			}
			if checked == 0 || checked != tr.MemberCount()-1 {
				t.Fatalf("sender %d: processed by %d of %d members", sender, checked, tr.MemberCount()-1)
			}
			roundTrip(t, c, tr, sender, signers[sender], privs)
		}
	})
}

// roundTrip creates a new UpdatePath from sender over tr and processes it
// as every other member.
func roundTrip(t *testing.T, c *treeKEMVector, tr *Tree, sender LeafIndex, signer *cipher.Signer, privs map[LeafIndex]*PrivateKeys) {
	t.Helper()
	if signer == nil {
		t.Fatalf("no private data for sender %d", sender)
	}
	rnd := mrand.NewChaCha8([32]byte{byte(sender)})
	mine := tr.Clone()
	p, err := mine.GeneratePath(rnd, sender, tr.Leaf(sender), c.GroupID, signer)
	if err != nil {
		t.Fatalf("GeneratePath from %d: %v", sender, err)
	}
	gc := c.groupContext(t, mine.TreeHash())
	up, err := mine.EncryptPath(rnd, p, gc, nil)
	if err != nil {
		t.Fatalf("EncryptPath from %d: %v", sender, err)
	}
	if err := mine.CheckPrivateKeys(p.PrivateKeys()); err != nil {
		t.Fatalf("committer's keys: %v", err)
	}
	for j, k := range privs {
		if j == sender {
			continue
		}
		theirs := tr.Clone()
		if err := theirs.MergePath(sender, up, nil); err != nil {
			t.Fatalf("created path from %d: MergePath: %v", sender, err)
		}
		if !bytes.Equal(theirs.TreeHash(), mine.TreeHash()) {
			t.Fatalf("created path from %d: receiver %d has another tree hash", sender, j)
		}
		_, cs, err := theirs.DecryptPath(k, sender, up, gc, nil)
		if err != nil || !bytes.Equal(cs, p.CommitSecret()) {
			t.Fatalf("created path from %d: receiver %d: commit secret %x (err %v), want %x", sender, j, cs, err, p.CommitSecret())
		}
	}
}
