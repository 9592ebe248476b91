package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/framing"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// tamper decodes a PublicMessage sent by g, lets mutate change its
// content, re-signs it with g's key (unless mutate returns false) and
// recomputes the membership tag, so that only the intended flaw remains.
func tamper(t *testing.T, g *Group, msg []byte, mutate func(ac *wire.AuthenticatedContent) (resign bool)) []byte {
	t.Helper()
	var m wire.MLSMessage
	if err := wire.Unmarshal(msg, &m); err != nil {
		t.Fatal(err)
	}
	pm := m.PublicMessage
	ac := &wire.AuthenticatedContent{WireFormat: wire.WireFormatPublicMessage, Content: pm.Content, Auth: pm.Auth}
	if mutate(ac) {
		signed, err := framing.Sign(g.signer, wire.WireFormatPublicMessage, &ac.Content, &g.gc)
		if err != nil {
			t.Fatal(err)
		}
		ac.Auth.Signature = signed.Auth.Signature
	}
	gc := g.gc
	gc.GroupID, gc.Epoch = ac.Content.GroupID, ac.Content.Epoch
	out, err := framing.EncodePublic(g.suite, g.ep.membership, ac, &gc)
	if err != nil {
		t.Fatal(err)
	}
	m.PublicMessage = out
	return tls.MustMarshal(&m)
}

// refuseEvil is an authentication service that refuses the identity "evil".
type refuseEvil struct{}

func (refuseEvil) ValidateCredential(c Credential, _ []byte) error {
	if string(c.Identity) == "evil" {
		return errors.New("not allowed")
	}
	return nil
}

// rejectCase builds a message from member 0 of a 4-member group that
// member 1 must refuse with the verdict and reason given.
type rejectCase struct {
	name    string
	build   func(t *testing.T, tg *testGroup) []byte
	now     time.Time
	verdict Verdict
	reason  error
}

func commitMsg(t *testing.T, tg *testGroup, opts CommitOptions) []byte {
	t.Helper()
	out, err := tg.members[0].Commit(tg.rnd, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.members[0].DiscardPendingCommit(); err != nil {
		t.Fatal(err)
	}
	return out.Commit
}

// mutateCommit makes a valid commit and changes it.
func mutateCommit(opts CommitOptions, f func(tg *testGroup, ac *wire.AuthenticatedContent) bool) func(*testing.T, *testGroup) []byte {
	return func(t *testing.T, tg *testGroup) []byte {
		return tamper(t, tg.members[0], commitMsg(t, tg, opts), func(ac *wire.AuthenticatedContent) bool { return f(tg, ac) })
	}
}

func kpWith(t *testing.T, tg *testGroup, suite CipherSuite, name string, opts KeyPackageOptions) *KeyPackage {
	b, err := NewKeyPackage(tg.rnd, testIdentity(t, tg.rnd, suite, name), opts)
	if err != nil {
		t.Fatal(err)
	}
	return b.KeyPackage()
}

// addByValue returns a commit mutation that appends an Add of kp.
func addByValue(kp func(t *testing.T, tg *testGroup) *KeyPackage) func(*testing.T, *testGroup) []byte {
	return func(t *testing.T, tg *testGroup) []byte {
		k := kp(t, tg)
		return mutateCommit(CommitOptions{}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
			p := wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: k.kp}}
			c := ac.Content.Commit
			c.Proposals = append(c.Proposals, wire.ProposalOrRef{Type: wire.ProposalOrRefTypeProposal, Proposal: &p})
			return true
		})(t, tg)
	}
}

func rejectCases() []rejectCase {
	suite1 := X25519_AES128GCM_SHA256_Ed25519
	return []rejectCase{
		{name: "malformed", verdict: Reject, reason: ErrMalformed,
			build: func(t *testing.T, tg *testGroup) []byte { return []byte{0, 1, 0, 1, 0xff} }},
		{name: "wrong group", verdict: Reject, reason: ErrWrongGroup,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.GroupID = []byte("another group")
				return true
			})},
		{name: "future epoch", verdict: Ignore, reason: ErrFutureEpoch,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.Epoch++
				return true
			})},
		{name: "stale epoch", verdict: Ignore, reason: ErrStaleEpoch,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.Epoch--
				return true
			})},
		{name: "bad signature", verdict: Reject, reason: ErrInvalidSignature,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Auth.Signature[3] ^= 1
				return false
			})},
		{name: "bad membership tag", verdict: Reject, reason: ErrInvalidMembershipTag,
			build: func(t *testing.T, tg *testGroup) []byte {
				msg := commitMsg(t, tg, CommitOptions{ForcePath: true})
				msg[len(msg)-1] ^= 1 // the tag is the last field
				return msg
			}},
		{name: "bad confirmation tag", verdict: Reject, reason: ErrInvalidConfirmationTag,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Auth.ConfirmationTag[0] ^= 1
				return false
			})},
		{name: "unknown sender", verdict: Reject, reason: ErrUnknownSender,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.Sender.LeafIndex = 9
				return true
			})},
		{name: "duplicate add", verdict: Reject, reason: ErrInvalidProposal,
			build: func(t *testing.T, tg *testGroup) []byte {
				kp := kpWith(t, tg, suite1, "twice", KeyPackageOptions{})
				return mutateCommit(CommitOptions{Adds: []*KeyPackage{kp}}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
					c := ac.Content.Commit
					c.Proposals = append(c.Proposals, c.Proposals[0])
					return true
				})(t, tg)
			}},
		{name: "add of an existing member", verdict: Reject, reason: ErrInvalidProposal,
			build: addByValue(func(t *testing.T, tg *testGroup) *KeyPackage {
				b := tg.newBundles(1)[0]
				id := b.Identity()
				id.SignaturePrivateKey = tg.members[2].sigPriv
				nb, err := NewKeyPackage(tg.rnd, id, KeyPackageOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return nb.KeyPackage()
			})},
		{name: "remove of a blank leaf", verdict: Reject, reason: ErrInvalidProposal,
			build: mutateCommit(CommitOptions{Removes: []LeafIndex{2}}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.Commit.Proposals[0].Proposal.Remove.Removed = 6
				return true
			})},
		{name: "committer removes itself", verdict: Reject, reason: ErrInvalidCommit,
			build: mutateCommit(CommitOptions{Removes: []LeafIndex{2}}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.Commit.Proposals[0].Proposal.Remove.Removed = 0
				return true
			})},
		{name: "path missing", verdict: Reject, reason: ErrInvalidCommit,
			build: mutateCommit(CommitOptions{Removes: []LeafIndex{2}}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.Commit.Path = nil
				return true
			})},
		{name: "empty commit without path", verdict: Reject, reason: ErrInvalidCommit,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				ac.Content.Commit.Path = nil
				return true
			})},
		{name: "invalid parent hash", verdict: Reject, reason: tree.ErrParentHash,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(tg *testGroup, ac *wire.AuthenticatedContent) bool {
				ln := &ac.Content.Commit.Path.LeafNode
				ln.ParentHash = bytes.Repeat([]byte{7}, len(ln.ParentHash))
				g := tg.members[0]
				if err := tree.SignLeafNode(g.signer, ln, g.gc.GroupID, 0); err != nil {
					panic(err)
				}
				return true
			})},
		{name: "unknown proposal reference", verdict: Ignore, reason: ErrUnknownProposal,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				c := ac.Content.Commit
				c.Proposals = append(c.Proposals, wire.ProposalOrRef{Type: wire.ProposalOrRefTypeReference, Reference: make([]byte, 32)})
				return true
			})},
		{name: "unsupported cipher suite in key package", verdict: Reject, reason: ErrInvalidKeyPackage,
			build: addByValue(func(t *testing.T, tg *testGroup) *KeyPackage {
				return kpWith(t, tg, P256_AES128GCM_SHA256_P256, "p256", KeyPackageOptions{})
			})},
		{name: "expired key package", verdict: Reject, reason: ErrExpired, now: time.Unix(2_000_000_000, 0),
			build: addByValue(func(t *testing.T, tg *testGroup) *KeyPackage {
				return kpWith(t, tg, suite1, "old", KeyPackageOptions{Lifetime: Lifetime{NotBefore: 1, NotAfter: 1_000_000_000}})
			})},
		{name: "refused credential", verdict: Reject, reason: ErrCredential,
			build: addByValue(func(t *testing.T, tg *testGroup) *KeyPackage {
				return kpWith(t, tg, suite1, "evil", KeyPackageOptions{})
			})},
		{name: "unsupported group extension", verdict: Reject, reason: ErrCapabilities,
			build: mutateCommit(CommitOptions{ForcePath: true}, func(_ *testGroup, ac *wire.AuthenticatedContent) bool {
				p := wire.Proposal{ProposalType: wire.ProposalTypeGroupContextExtensions,
					GroupContextExtensions: &wire.GroupContextExtensions{Extensions: wire.Extensions{{ExtensionType: 0xff00}}}}
				c := ac.Content.Commit
				c.Proposals = append(c.Proposals, wire.ProposalOrRef{Type: wire.ProposalOrRefTypeProposal, Proposal: &p})
				return true
			})},
		{name: "tampered application message", verdict: Reject, reason: ErrDecryption,
			build: func(t *testing.T, tg *testGroup) []byte {
				msg, err := tg.members[0].EncryptApplication(tg.rnd, []byte("hi"), nil)
				if err != nil {
					t.Fatal(err)
				}
				msg[len(msg)-5] ^= 1
				return msg
			}},
	}
}

// TestRejections checks that each invalid message gets its verdict and
// reason and leaves the receiver's marshalled state unchanged.
func TestRejections(t *testing.T) {
	for _, c := range rejectCases() {
		t.Run(c.name, func(t *testing.T) {
			tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 4)
			tg.commit(0, CommitOptions{Removes: []LeafIndex{3}}) // leaf 3 is blank now
			recv := tg.members[1]
			recv.cfg.AuthenticationService = refuseEvil{}
			msg := c.build(t, tg)
			before, err := recv.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			_, err = recv.ProcessMessage(msg, c.now)
			if VerdictOf(err) != c.verdict || !errors.Is(err, c.reason) {
				t.Fatalf("got %v (verdict %v), want %v %v", err, VerdictOf(err), c.verdict, c.reason)
			}
			after, err := recv.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Fatal("state changed")
			}
		})
	}
}

// TestReplayIgnored checks duplicates: an application message and a
// proposal delivered twice are ignored the second time.
func TestReplayIgnored(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	msg, err := tg.members[0].EncryptApplication(tg.rnd, []byte("once"), nil)
	if err != nil {
		t.Fatal(err)
	}
	recv := tg.members[1]
	if _, err := recv.ProcessMessage(msg, time.Time{}); err != nil {
		t.Fatal(err)
	}
	before, _ := recv.MarshalBinary()
	_, err = recv.ProcessMessage(msg, time.Time{})
	if VerdictOf(err) != Ignore || !errors.Is(err, ErrDuplicate) {
		t.Fatalf("replay: %v", err)
	}
	after, _ := recv.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("state changed")
	}
	prop, err := tg.members[2].ProposeRemove(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recv.ProcessMessage(prop, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := recv.ProcessMessage(prop, time.Time{}); VerdictOf(err) != Ignore {
		t.Fatalf("proposal replay: %v", err)
	}
	if _, err := recv.EncryptApplication(tg.rnd, []byte("x"), nil); !errors.Is(err, ErrProposalsPending) {
		t.Fatalf("send with proposals pending: %v", err)
	}
}

// TestExternalSenderCredentialRefused: a GroupContextExtensions that names
// an external sender the authentication service refuses is rejected.
func TestExternalSenderCredentialRefused(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	ext := testIdentity(t, tg.rnd, X25519_AES128GCM_SHA256_Ed25519, "evil")
	_, sg, _ := ext.signer()
	es := wire.ExternalSenders{{SignatureKey: sg.PublicKey(), Credential: credentialToWire(ext.Credential)}}
	recv := tg.members[1]
	recv.cfg.AuthenticationService = refuseEvil{}
	msg := commitMsg(t, tg, CommitOptions{SetExtensions: true, GroupContextExtensions: []Extension{{Type: ExtensionExternalSenders, Data: tls.MustMarshal(&es)}}})
	before, _ := recv.MarshalBinary()
	if _, err := recv.ProcessMessage(msg, timeZero); VerdictOf(err) != Reject || !errors.Is(err, ErrCredential) {
		t.Fatalf("refused external sender: %v", err)
	}
	if after, _ := recv.MarshalBinary(); !bytes.Equal(before, after) {
		t.Fatal("state changed")
	}
}
