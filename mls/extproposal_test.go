package mls

import (
	"errors"
	"fmt"
	"testing"
)

// withExternalSender commits an external_senders extension naming a new
// signer and returns the signer.
func withExternalSender(tg *testGroup, name string) Identity {
	tg.t.Helper()
	cs := tg.members[0].CipherSuite()
	priv, pub, err := GenerateSignatureKey(tg.rnd, cs)
	if err != nil {
		tg.t.Fatal(err)
	}
	id := Identity{CipherSuite: cs, SignaturePrivateKey: priv, Credential: BasicCredential([]byte(name))}
	ext := ExternalSendersExtension([]ExternalSender{{SignatureKey: pub, Credential: id.Credential}})
	tg.commit(0, CommitOptions{SetExtensions: true, GroupContextExtensions: []Extension{ext}})
	return id
}

// TestNewExternalProposal: every proposal type an external sender may
// make (§12.1.8.1) is accepted by the members and committed by reference.
func TestNewExternalProposal(t *testing.T) {
	for _, cs := range []CipherSuite{X25519_AES128GCM_SHA256_Ed25519, P384_AES256GCM_SHA384_P384} {
		t.Run(fmt.Sprint("suite", cs), func(t *testing.T) {
			tg := newTestGroup(t, cs, 3)
			for _, m := range tg.members {
				m.cfg.PSKs = PSKMap{"ext": []byte("external psk")}
			}
			signer := withExternalSender(tg, "ds")
			send := func(c ExternalProposalContent) {
				t.Helper()
				g := tg.members[0]
				msg, err := NewExternalProposal(tg.rnd, signer, 0, g.GroupID(), g.Epoch(), c)
				if err != nil {
					t.Fatal(err)
				}
				tg.deliver(msg)
			}
			bundle := tg.newBundles(1)[0]
			send(ExternalProposalContent{Add: bundle.KeyPackage()})
			out := tg.commit(1, CommitOptions{})
			j, err := JoinGroup(out.Welcome, bundle, out.RatchetTree, tg.cfg, timeZero)
			if err != nil {
				t.Fatal(err)
			}
			j.cfg.PSKs = tg.members[0].cfg.PSKs
			tg.members = append(tg.members, j)
			tg.agree()

			rm := LeafIndex(2)
			send(ExternalProposalContent{Remove: &rm})
			tg.commit(0, CommitOptions{})
			if tg.members[2].Active() {
				t.Fatal("external remove not applied")
			}
			tg.members = append(tg.members[:2], tg.members[3])

			send(ExternalProposalContent{PSK: &PSKRef{ExternalID: []byte("ext")}})
			tg.commit(1, CommitOptions{})
			send(ExternalProposalContent{PSK: &PSKRef{Epoch: tg.members[0].Epoch() - 1}})
			tg.commit(0, CommitOptions{})
			tg.agree()

			es := []Extension{tg.members[0].Extensions()[0], {Type: ExtensionRequiredCapabilities, Data: []byte{0, 0, 0}}}
			send(ExternalProposalContent{GroupContextExtensions: es, SetExtensions: true})
			tg.commit(2, CommitOptions{})
			if len(tg.members[1].Extensions()) != 2 {
				t.Fatalf("extensions %v", tg.members[1].Extensions())
			}
			send(ExternalProposalContent{ReInit: &ReInitContent{GroupID: []byte("next"), CipherSuite: cs}})
			tg.commit(0, CommitOptions{})
			for i, g := range tg.members {
				if gid, _, ok := g.ReInitParams(); g.Active() || !ok || string(gid) != "next" {
					t.Fatalf("member %d: ReInit not applied", i)
				}
			}
		})
	}
}

func TestNewExternalProposalRefused(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	signer := withExternalSender(tg, "ds")
	g := tg.members[0]
	rm := LeafIndex(1)
	if _, err := NewExternalProposal(tg.rnd, signer, 0, g.GroupID(), g.Epoch(), ExternalProposalContent{}); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("empty: %v", err)
	}
	two := ExternalProposalContent{Remove: &rm, PSK: &PSKRef{ExternalID: []byte("x")}}
	if _, err := NewExternalProposal(tg.rnd, signer, 0, g.GroupID(), g.Epoch(), two); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("two parts: %v", err)
	}
	msg, err := NewExternalProposal(tg.rnd, signer, 1, g.GroupID(), g.Epoch(), ExternalProposalContent{Remove: &rm})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.ProcessMessage(msg, timeZero); !errors.Is(err, ErrUnknownSender) || VerdictOf(err) != Reject {
		t.Fatalf("sender index 1: %v", err)
	}
	stranger := testIdentity(t, tg.rnd, X25519_AES128GCM_SHA256_Ed25519, "stranger")
	msg, _ = NewExternalProposal(tg.rnd, stranger, 0, g.GroupID(), g.Epoch(), ExternalProposalContent{Remove: &rm})
	if _, err := g.ProcessMessage(msg, timeZero); !errors.Is(err, ErrInvalidSignature) {
		t.Fatalf("a stranger's signature: %v", err)
	}
}
