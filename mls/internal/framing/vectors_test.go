package framing

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

type vector struct {
	CipherSuite             uint16         `json:"cipher_suite"`
	GroupID                 vectortest.Hex `json:"group_id"`
	Epoch                   uint64         `json:"epoch"`
	TreeHash                vectortest.Hex `json:"tree_hash"`
	ConfirmedTranscriptHash vectortest.Hex `json:"confirmed_transcript_hash"`
	SignaturePriv           vectortest.Hex `json:"signature_priv"`
	SignaturePub            vectortest.Hex `json:"signature_pub"`
	EncryptionSecret        vectortest.Hex `json:"encryption_secret"`
	SenderDataSecret        vectortest.Hex `json:"sender_data_secret"`
	MembershipKey           vectortest.Hex `json:"membership_key"`
	Proposal                vectortest.Hex `json:"proposal"`
	ProposalPub             vectortest.Hex `json:"proposal_pub"`
	ProposalPriv            vectortest.Hex `json:"proposal_priv"`
	Commit                  vectortest.Hex `json:"commit"`
	CommitPub               vectortest.Hex `json:"commit_pub"`
	CommitPriv              vectortest.Hex `json:"commit_priv"`
	Application             vectortest.Hex `json:"application"`
	ApplicationPriv         vectortest.Hex `json:"application_priv"`
}

// env is the group epoch a message-protection case describes.
type env struct {
	suite    *cipher.Suite
	gc       *wire.GroupContext
	signer   *cipher.Signer
	verifier *cipher.Verifier
	c        *vector
}

func newEnv(t *testing.T, c *vector) *env {
	t.Helper()
	s, err := cipher.Lookup(c.CipherSuite)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{suite: s, c: c, gc: &wire.GroupContext{Version: wire.MLS10, CipherSuite: wire.CipherSuite(c.CipherSuite),
		GroupID: c.GroupID, Epoch: c.Epoch, TreeHash: c.TreeHash, ConfirmedTranscriptHash: c.ConfirmedTranscriptHash}}
	if e.signer, err = s.NewSigner(c.SignaturePriv); err != nil {
		t.Fatal(err)
	}
	if e.verifier, err = s.NewVerifier(c.SignaturePub); err != nil {
		t.Fatal(err)
	}
	return e
}

// tree returns a fresh secret tree of two members (the vector's sender is
// leaf 1).
func (e *env) tree(t *testing.T) *schedule.SecretTree {
	t.Helper()
	tr, err := schedule.NewSecretTree(e.suite, e.c.EncryptionSecret, 2, schedule.DefaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// content builds the FramedContent of leaf 1 carrying raw of type ct.
func (e *env) content(t *testing.T, ct wire.ContentType, raw []byte) *wire.FramedContent {
	t.Helper()
	fc := &wire.FramedContent{GroupID: e.c.GroupID, Epoch: e.c.Epoch, ContentType: ct,
		Sender: wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: 1}}
	var err error
	switch ct {
	case wire.ContentTypeApplication:
		fc.ApplicationData = raw
	case wire.ContentTypeProposal:
		fc.Proposal = new(wire.Proposal)
		err = wire.Unmarshal(raw, fc.Proposal)
	case wire.ContentTypeCommit:
		fc.Commit = new(wire.Commit)
		err = wire.Unmarshal(raw, fc.Commit)
	}
	if err != nil {
		t.Fatalf("decode raw content: %v", err)
	}
	return fc
}

// body returns the encoding of the content ac carries.
func body(t *testing.T, ac *wire.AuthenticatedContent) []byte {
	t.Helper()
	switch ac.Content.ContentType {
	case wire.ContentTypeApplication:
		return ac.Content.ApplicationData
	case wire.ContentTypeProposal:
		b, _ := wire.Marshal(ac.Content.Proposal)
		return b
	case wire.ContentTypeCommit:
		b, _ := wire.Marshal(ac.Content.Commit)
		return b
	}
	t.Fatalf("content type %d", ac.Content.ContentType)
	return nil
}

func decodeMessage(t *testing.T, b []byte) *wire.MLSMessage {
	t.Helper()
	var m wire.MLSMessage
	if err := wire.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode MLSMessage: %v", err)
	}
	return &m
}

// checkPublic unprotects the vector's PublicMessage, then protects raw and
// unprotects the result.
func (e *env) checkPublic(t *testing.T, ct wire.ContentType, raw, pub []byte) {
	m := decodeMessage(t, pub)
	if m.PublicMessage == nil {
		t.Fatalf("wire format %d, want public message", m.WireFormat)
	}
	e.unprotectPublic(t, m.PublicMessage, raw)
	ac, err := Sign(e.signer, wire.WireFormatPublicMessage, e.content(t, ct, raw), e.gc)
	if err != nil {
		t.Fatal(err)
	}
	if ct == wire.ContentTypeCommit {
		ac.Auth.ConfirmationTag = m.PublicMessage.Auth.ConfirmationTag
	}
	pm, err := EncodePublic(e.suite, e.c.MembershipKey, ac, e.gc)
	if err != nil {
		t.Fatal(err)
	}
	e.unprotectPublic(t, pm, raw)
}

func (e *env) unprotectPublic(t *testing.T, pm *wire.PublicMessage, raw []byte) {
	t.Helper()
	ac, err := DecodePublic(e.suite, e.c.MembershipKey, pm, e.gc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(e.verifier, ac, e.gc); err != nil {
		t.Fatal(err)
	}
	if got := body(t, ac); !bytes.Equal(got, raw) {
		t.Fatalf("public content %x, want %x", got, raw)
	}
}

// checkPrivate unprotects the vector's PrivateMessage, then protects raw
// and unprotects the result, each with fresh secret trees.
func (e *env) checkPrivate(t *testing.T, ct wire.ContentType, raw, priv []byte) {
	m := decodeMessage(t, priv)
	if m.PrivateMessage == nil {
		t.Fatalf("wire format %d, want private message", m.WireFormat)
	}
	e.unprotectPrivate(t, e.tree(t), m.PrivateMessage, raw)
	ac, err := Sign(e.signer, wire.WireFormatPrivateMessage, e.content(t, ct, raw), e.gc)
	if err != nil {
		t.Fatal(err)
	}
	if ct == wire.ContentTypeCommit {
		ac.Auth.ConfirmationTag = bytes.Repeat([]byte{1}, e.suite.Nh())
	}
	pm, err := EncryptPrivate(e.suite, rand.Reader, e.tree(t), e.c.SenderDataSecret, ac, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm})
	if err != nil {
		t.Fatal(err)
	}
	e.unprotectPrivate(t, e.tree(t), decodeMessage(t, b).PrivateMessage, raw)
}

func (e *env) unprotectPrivate(t *testing.T, tree *schedule.SecretTree, pm *wire.PrivateMessage, raw []byte) {
	t.Helper()
	ac, err := DecryptPrivate(e.suite, tree, e.c.SenderDataSecret, pm)
	if err != nil {
		t.Fatal(err)
	}
	if s := ac.Content.Sender; s.SenderType != wire.SenderTypeMember || s.LeafIndex != 1 {
		t.Fatalf("sender %+v, want member 1", s)
	}
	if err := Verify(e.verifier, ac, e.gc); err != nil {
		t.Fatal(err)
	}
	if got := body(t, ac); !bytes.Equal(got, raw) {
		t.Fatalf("private content %x, want %x", got, raw)
	}
}

// TestVectors runs message-protection.json.
func TestVectors(t *testing.T) {
	vectortest.Run(t, "message-protection", func(t *testing.T, c *vector) {
		e := newEnv(t, c)
		e.checkPublic(t, wire.ContentTypeProposal, c.Proposal, c.ProposalPub)
		e.checkPublic(t, wire.ContentTypeCommit, c.Commit, c.CommitPub)
		e.checkPrivate(t, wire.ContentTypeProposal, c.Proposal, c.ProposalPriv)
		e.checkPrivate(t, wire.ContentTypeCommit, c.Commit, c.CommitPriv)
		e.checkPrivate(t, wire.ContentTypeApplication, c.Application, c.ApplicationPriv)
		// Application data cannot be protected as a PublicMessage.
		ac, err := Sign(e.signer, wire.WireFormatPublicMessage, e.content(t, wire.ContentTypeApplication, c.Application), e.gc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := EncodePublic(e.suite, c.MembershipKey, ac, e.gc); err != ErrPublicApplication {
			t.Fatalf("application as PublicMessage: err = %v", err)
		}
	})
}
