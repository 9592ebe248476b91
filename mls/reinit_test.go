package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestReInit: a committed ReInit ends the group for everyone.
func TestReInit(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	p, err := tg.members[1].ProposeReInit([]byte("new-group"), X25519_AES128GCM_SHA256_Ed25519, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.members[0].ProcessMessage(p, time.Time{}); err != nil {
		t.Fatal(err)
	}
	out, err := tg.members[0].Commit(tg.rnd, CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Result.ReInit {
		t.Fatal("ReInit not reported")
	}
	tg.deliver(out.Commit)
	for i, g := range tg.members {
		if g.Active() {
			t.Fatal("group still active after ReInit")
		}
		tg.members[i] = roundTrip(t, g, tg.cfg)
	}
	// Member 0 starts the new group; member 1 joins it with a fresh key
	// package, proving membership of the old group by its reinit PSK.
	gid, suite, ok := tg.members[0].ReInitParams()
	if !ok || string(gid) != "new-group" || suite != X25519_AES128GCM_SHA256_Ed25519 {
		t.Fatalf("ReInitParams %q %d %v", gid, suite, ok)
	}
	id0 := Identity{CipherSuite: suite, SignaturePrivateKey: tg.members[0].sigPriv, Credential: BasicCredential([]byte("m0"))}
	kb, err := NewKeyPackage(tg.rnd, Identity{CipherSuite: suite, SignaturePrivateKey: tg.members[1].sigPriv,
		Credential: BasicCredential([]byte("m1"))}, KeyPackageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ng, out2, err := tg.members[0].NewReInitGroup(tg.rnd, id0, []*KeyPackage{kb.KeyPackage()}, tg.cfg, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JoinGroup(out2.Welcome, kb, out2.RatchetTree, tg.cfg, time.Time{}); !errors.Is(err, ErrUnknownPSK) {
		t.Fatalf("join without the old group: %v", err)
	}
	j, err := JoinReInitGroup(out2.Welcome, kb, out2.RatchetTree, tg.members[1], tg.cfg, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(j.EpochAuthenticator(), ng.EpochAuthenticator()) || string(j.GroupID()) != "new-group" {
		t.Fatal("successor groups differ")
	}
}

// reinitGroup commits a ReInit to groupID and suite in a two-member group
// of suite from.
func reinitGroup(t *testing.T, from, to CipherSuite, es []Extension) *testGroup {
	t.Helper()
	tg := newTestGroup(t, from, 2)
	p, err := tg.members[1].ProposeReInit([]byte("new-group"), to, es)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.members[0].ProcessMessage(p, timeZero); err != nil {
		t.Fatal(err)
	}
	tg.commit(0, CommitOptions{})
	return tg
}

// TestReInitChangesSuite: ReInit end to end into another suite (§11.2),
// with the tree in the Welcome and a path.
func TestReInitChangesSuite(t *testing.T) {
	for _, to := range []CipherSuite{P256_AES128GCM_SHA256_P256, X448_CHACHA20POLY1305_SHA512_Ed448} {
		t.Run(fmt.Sprint("to suite ", to), func(t *testing.T) {
			tg := reinitGroup(t, X25519_AES128GCM_SHA256_Ed25519, to, nil)
			b0, b1 := memberBundle(tg, 0, to), memberBundle(tg, 1, to)
			ng, out, err := tg.members[0].NewReInitGroupWith(tg.rnd, b0.Identity(), []*KeyPackage{b1.KeyPackage()}, tg.cfg,
				SuccessorOptions{ForcePath: true, RatchetTreeInWelcome: true})
			if err != nil {
				t.Fatal(err)
			}
			j, err := JoinReInitGroup(out.Welcome, b1, nil, tg.members[1], tg.cfg, timeZero)
			if err != nil {
				t.Fatal(err)
			}
			if j.CipherSuite() != to || j.Epoch() != 1 {
				t.Fatalf("suite %d epoch %d", j.CipherSuite(), j.Epoch())
			}
			sameEpoch(t, tg.rnd, ng, j)
		})
	}
}

// TestJoinReInitGroupChecks: the successor must match the ReInit: group
// ID, suite, extensions, and epoch 1 (§11.2). A creator that does not
// check is refused by the joiner.
func TestJoinReInitGroupChecks(t *testing.T) {
	cs := X25519_AES128GCM_SHA256_Ed25519
	want := []Extension{{Type: ExtensionRequiredCapabilities, Data: []byte{0, 0, 0}}}
	cases := []struct {
		name    string
		groupID string
		es      []Extension
		err     error
	}{
		{"as the ReInit says", "new-group", want, nil},
		{"other extensions", "new-group", nil, ErrInvalidProposal},
		{"other group ID", "another-group", want, ErrInvalidProposal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := reinitGroup(t, cs, cs, want)
			old := tg.members[0]
			b1 := memberBundle(tg, 1, cs)
			pskID, psk, err := old.reinitPSK()
			if err != nil {
				t.Fatal(err)
			}
			self, _ := old.Member(old.OwnLeaf())
			id := Identity{CipherSuite: cs, SignaturePrivateKey: old.sigPriv, Credential: self.Credential}
			_, out, err := successor(tg.rnd, id, []byte(c.groupID), c.es, pskID, psk, []*KeyPackage{b1.KeyPackage()}, tg.cfg, SuccessorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = JoinReInitGroup(out.Welcome, b1, out.RatchetTree, tg.members[1], tg.cfg, timeZero)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("join: %v, want %v", err, c.err)
			}
		})
	}
}
