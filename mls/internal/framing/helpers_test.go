package framing

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// group is a synthetic suite-1 epoch for unit tests and benchmarks.
type group struct {
	suite            *cipher.Suite
	gc               *wire.GroupContext
	signer           *cipher.Signer
	verifier         *cipher.Verifier
	encryptionSecret []byte
	senderDataSecret []byte
	membershipKey    []byte
}

func newGroup(tb testing.TB) *group {
	tb.Helper()
	s, err := cipher.Lookup(cipher.X25519_AES128GCM_SHA256_Ed25519)
	if err != nil {
		tb.Fatal(err)
	}
	priv, pub, err := s.GenerateSignatureKey(bytes.NewReader(bytes.Repeat([]byte{3}, 64)))
	if err != nil {
		tb.Fatal(err)
	}
	g := &group{suite: s, encryptionSecret: bytes.Repeat([]byte{1}, 32), senderDataSecret: bytes.Repeat([]byte{2}, 32),
		membershipKey: bytes.Repeat([]byte{4}, 32),
		gc:            &wire.GroupContext{Version: wire.MLS10, CipherSuite: 1, GroupID: []byte("group"), Epoch: 3}}
	if g.signer, err = s.NewSigner(priv); err != nil {
		tb.Fatal(err)
	}
	if g.verifier, err = s.NewVerifier(pub); err != nil {
		tb.Fatal(err)
	}
	return g
}

// tree returns a fresh secret tree of n leaves.
func (g *group) tree(tb testing.TB, n uint32) *schedule.SecretTree {
	tb.Helper()
	t, err := schedule.NewSecretTree(g.suite, g.encryptionSecret, n, schedule.DefaultWindow)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// signed returns content of type ct from leaf, signed for wire format wf.
func (g *group) signed(tb testing.TB, wf wire.WireFormat, sender wire.Sender, ct wire.ContentType) *wire.AuthenticatedContent {
	tb.Helper()
	fc := &wire.FramedContent{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch, Sender: sender, AuthenticatedData: []byte("ad"), ContentType: ct}
	switch ct {
	case wire.ContentTypeApplication:
		fc.ApplicationData = bytes.Repeat([]byte{'m'}, 100)
	case wire.ContentTypeProposal:
		fc.Proposal = &wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: 1}}
	case wire.ContentTypeCommit:
		fc.Commit = &wire.Commit{}
	}
	ac, err := Sign(g.signer, wf, fc, g.gc)
	if err != nil {
		tb.Fatal(err)
	}
	if ct == wire.ContentTypeCommit {
		ac.Auth.ConfirmationTag = bytes.Repeat([]byte{9}, 32)
	}
	return ac
}

func member(leaf uint32) wire.Sender {
	return wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: leaf}
}
