package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestJoinExternal(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	gi, err := tg.members[1].GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	id := testIdentity(t, tg.rnd, X25519_AES128GCM_SHA256_Ed25519, "outsider")
	g, commit, err := JoinExternal(tg.rnd, gi, id, tg.cfg, ExternalJoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, m := range tg.members {
		res, err := m.ProcessMessage(commit, time.Time{})
		if err != nil {
			t.Fatalf("member %d: %v", k, err)
		}
		if ca := res.(*CommitApplied); !ca.External || ca.Committer != g.OwnLeaf() {
			t.Fatalf("result %+v", ca)
		}
	}
	tg.members = append(tg.members, g)
	tg.agree()
	msg, err := g.EncryptApplication(tg.rnd, []byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tg.members[0].ProcessMessage(msg, time.Time{})
	if err != nil || string(res.(*ApplicationMessage).Data) != "hello" {
		t.Fatalf("%v %v", res, err)
	}
	roundTrip(t, g, tg.cfg)
}

func TestJoinExternalResync(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	gi, err := tg.members[0].GroupInfo(false)
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := tg.members[0].RatchetTree()
	old, ok := tg.members[0].Member(2)
	if !ok {
		t.Fatal("no member at leaf 2")
	}
	// Another identity may not take member 2's leaf by a resync (§12.4.3.2),
	// even with member 2's signature key.
	other := Identity{CipherSuite: X25519_AES128GCM_SHA256_Ed25519, SignaturePrivateKey: tg.members[2].sigPriv,
		Credential: Credential{Type: CredentialBasic, Identity: []byte("someone else")}}
	_, forged, err := JoinExternal(tg.rnd, gi, other, tg.cfg, ExternalJoinOptions{Resync: true, OldLeaf: 2, RatchetTree: rt})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := tg.members[0].MarshalBinary()
	if _, err := tg.members[0].ProcessMessage(forged, time.Time{}); !errors.Is(err, ErrCredential) || VerdictOf(err) != Reject {
		t.Fatalf("resync by another identity: %v", err)
	}
	if after, _ := tg.members[0].MarshalBinary(); !bytes.Equal(before, after) {
		t.Fatal("a refused resync changed the state")
	}
	// Member 2 lost its state and rejoins with its identity, removing its old leaf.
	id := Identity{CipherSuite: X25519_AES128GCM_SHA256_Ed25519, SignaturePrivateKey: tg.members[2].sigPriv,
		Credential: old.Credential}
	_, _, err = JoinExternal(tg.rnd, gi, id, tg.cfg, ExternalJoinOptions{})
	if err == nil {
		t.Fatal("rejoining with a signature key in use without resync succeeded")
	}
	g, commit, err := JoinExternal(tg.rnd, gi, id, tg.cfg, ExternalJoinOptions{Resync: true, OldLeaf: 2, RatchetTree: rt})
	if err != nil {
		t.Fatal(err)
	}
	tg.members[2] = nil
	tg.deliver(commit)
	tg.members[2] = g
	tg.agree()
}

func TestExternalSenderProposal(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	ext := testIdentity(t, tg.rnd, X25519_AES128GCM_SHA256_Ed25519, "server")
	_, sg, err := ext.signer()
	if err != nil {
		t.Fatal(err)
	}
	es := wire.ExternalSenders{{SignatureKey: sg.PublicKey(), Credential: credentialToWire(ext.Credential)}}
	tg.commit(0, CommitOptions{SetExtensions: true, GroupContextExtensions: []Extension{{Type: ExtensionExternalSenders, Data: tls.MustMarshal(&es)}}})
	g := tg.members[0]
	msg, err := ExternalProposal(ext, 0, g.GroupID(), g.Epoch(), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	tg.deliver(msg)
	tg.commit(1, CommitOptions{})
	if tg.members[2].Active() || tg.members[0].MemberCount() != 2 {
		t.Fatalf("external remove not applied")
	}
	// An unknown external sender index is rejected.
	bad, _ := ExternalProposal(ext, 1, g.GroupID(), g.Epoch(), nil, 1)
	if _, err := g.ProcessMessage(bad, time.Time{}); VerdictOf(err) != Reject || !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("unknown external sender: %v", err)
	}
	// A new member proposes its own Add.
	b := tg.newBundles(1)[0]
	nm, err := NewMemberProposal(b, g.GroupID(), g.Epoch())
	if err != nil {
		t.Fatal(err)
	}
	tg.members = tg.members[:2]
	tg.deliver(nm)
	out := tg.commit(0, CommitOptions{})
	j, err := JoinGroup(out.Welcome, b, out.RatchetTree, tg.cfg, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	tg.members = append(tg.members, j)
	tg.agree()
}
