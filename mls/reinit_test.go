package mls

import (
	"bytes"
	"errors"
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
