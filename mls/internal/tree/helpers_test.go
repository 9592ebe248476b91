package tree

import (
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// member is a test client: its signing key and the HPKE key of its current
// leaf node.
type member struct {
	signer  *cipher.Signer
	encPriv []byte
	leaf    *wire.LeafNode
}

func suite1(tb testing.TB) *cipher.Suite {
	tb.Helper()
	s, err := cipher.Lookup(1)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newRand(seed uint64) io.Reader {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	return mrand.NewChaCha8(s)
}

// newMember returns a client with a key_package leaf node, signed.
func newMember(tb testing.TB, s *cipher.Suite, rnd io.Reader, id int) *member {
	tb.Helper()
	sigPriv, sigPub, err := s.GenerateSignatureKey(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	signer, err := s.NewSigner(sigPriv)
	if err != nil {
		tb.Fatal(err)
	}
	encPriv, encPub, err := s.GenerateHPKEKey(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	ln := &wire.LeafNode{
		EncryptionKey: encPub,
		SignatureKey:  sigPub,
		Credential:    wire.Credential{CredentialType: wire.CredentialTypeBasic, Identity: fmt.Appendf(nil, "member %d", id)},
		Capabilities: wire.Capabilities{
			Versions:     []wire.ProtocolVersion{wire.MLS10},
			CipherSuites: []wire.CipherSuite{wire.CipherSuite(s.ID())},
			Credentials:  []wire.CredentialType{wire.CredentialTypeBasic},
		},
		LeafNodeSource: wire.LeafNodeSourceKeyPackage,
		Lifetime:       wire.Lifetime{NotBefore: 0, NotAfter: 1 << 62},
	}
	if err := SignLeafNode(signer, ln, nil, 0); err != nil {
		tb.Fatal(err)
	}
	return &member{signer: signer, encPriv: encPriv, leaf: ln}
}

// addedTree returns a tree of n members added one by one (all parent nodes
// blank) and the members.
func addedTree(tb testing.TB, s *cipher.Suite, rnd io.Reader, n int) (*Tree, []*member) {
	tb.Helper()
	ms := []*member{newMember(tb, s, rnd, 0)}
	tr := New(s, ms[0].leaf)
	for i := 1; i < n; i++ {
		m := newMember(tb, s, rnd, i)
		if _, err := tr.AddLeaf(m.leaf); err != nil {
			tb.Fatal(err)
		}
		ms = append(ms, m)
	}
	return tr, ms
}

// fullTree returns a tree of n members whose parent nodes all hold a key
// pair derived from the path secret "parent x" (their parent hashes are not
// valid: the tree is for TreeKEM and hashing costs, not for joining), and the
// private view of leaf me.
func fullTree(tb testing.TB, s *cipher.Suite, n int, me LeafIndex) (*Tree, []*member, *PrivateKeys) {
	tb.Helper()
	tr, ms := addedTree(tb, s, newRand(uint64(n)), n)
	keys, err := NewPrivateKeys(s, me, ms[me].encPriv)
	if err != nil {
		tb.Fatal(err)
	}
	for x := 1; x < int(tr.NodeCount()); x += 2 {
		secret := fmt.Appendf(nil, "parent %d", x)
		kp, err := nodeKeyPair(s, secret)
		if err != nil {
			tb.Fatal(err)
		}
		tr.set(NodeIndex(x), node{parent: &wire.ParentNode{EncryptionKey: kp.pub, ParentHash: []byte{1}}})
		if nx := NodeIndex(x); isAncestorOf(tr, nx, me) {
			if err := keys.SetPathSecret(s, nx, secret); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return tr, ms, keys
}

func isAncestorOf(tr *Tree, x NodeIndex, l LeafIndex) bool {
	for _, p := range tr.directPath(l) {
		if p == x {
			return true
		}
	}
	return false
}

// groupContext encodes a GroupContext for tree hash th.
func groupContext(tb testing.TB, s *cipher.Suite, groupID []byte, epoch uint64, th []byte) []byte {
	tb.Helper()
	b, err := wire.Marshal(&wire.GroupContext{
		Version: wire.MLS10, CipherSuite: wire.CipherSuite(s.ID()), GroupID: groupID, Epoch: epoch, TreeHash: th,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mustEncode encodes tr.
func mustEncode(tb testing.TB, tr *Tree) []byte {
	tb.Helper()
	b, err := tr.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
