package mls

import (
	"bytes"
	"errors"
	"testing"
)

func TestCreateGroup(t *testing.T) {
	rnd := testRand(11)
	id := testIdentity(t, rnd, X25519_AES128GCM_SHA256_Ed25519, "creator")
	if _, err := CreateGroup(rnd, []byte("g"), id, nil, Config{}); !errors.Is(err, ErrCredential) {
		t.Fatalf("no authentication service: %v", err)
	}
	if _, err := CreateGroup(rnd, []byte("g"), id, nil, Config{AuthenticationService: refuseAll{}}); !errors.Is(err, ErrCredential) {
		t.Fatalf("refused creator: %v", err)
	}
	bad := id
	bad.CipherSuite = 99
	if _, err := CreateGroup(rnd, []byte("g"), bad, nil, Config{AuthenticationService: AcceptAllCredentials{}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unknown suite: %v", err)
	}
	g, err := CreateGroup(rnd, []byte("g"), id, []Extension{{Type: 0xff01, Data: []byte("app")}}, Config{AuthenticationService: AcceptAllCredentials{}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Epoch() != 0 || g.MemberCount() != 1 || g.OwnLeaf() != 0 || !g.Active() || string(g.GroupID()) != "g" {
		t.Fatal("new group state")
	}
	if es := g.Extensions(); len(es) != 1 || es[0].Type != 0xff01 {
		t.Fatalf("extensions %v", es)
	}
	m, ok := g.Member(0)
	if !ok || string(m.Credential.Identity) != "creator" {
		t.Fatal("member 0")
	}
	if i, ok := g.FindMember(m.SignatureKey); !ok || i != 0 {
		t.Fatal("FindMember")
	}
	if _, ok := g.Member(1); ok {
		t.Fatal("member 1 exists")
	}
}

func TestExportAndMembers(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	a, err := tg.members[0].Export("label", []byte("ctx"), 32)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tg.members[2].Export("label", []byte("ctx"), 32)
	c, _ := tg.members[2].Export("other", []byte("ctx"), 32)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) || len(a) != 32 {
		t.Fatal("exporter")
	}
	ms := tg.members[1].Members()
	if len(ms) != 3 || ms[2].Index != 2 {
		t.Fatalf("members %v", ms)
	}
	rt, err := tg.members[1].RatchetTree()
	if err != nil || len(rt) == 0 {
		t.Fatal(err)
	}
	if !bytes.Equal(tg.members[0].TreeHash(), tg.members[1].TreeHash()) || tg.members[0].CipherSuite() != 1 {
		t.Fatal("tree hash")
	}
}

// TestAllSuites runs create, add, commit and messages on every suite.
func TestAllSuites(t *testing.T) {
	for _, cs := range []CipherSuite{1, 2, 3, 4, 5, 6, 7} {
		tg := newTestGroup(t, cs, 3)
		tg.commit(1, CommitOptions{ForcePath: true, Removes: []LeafIndex{2}})
		msg, err := tg.members[0].EncryptApplication(tg.rnd, []byte("hi"), nil)
		if err != nil {
			t.Fatalf("suite %d: %v", cs, err)
		}
		if res, err := tg.members[1].ProcessMessage(msg, timeZero); err != nil || string(res.(*ApplicationMessage).Data) != "hi" {
			t.Fatalf("suite %d: %v", cs, err)
		}
		tg.members = tg.members[:2]
		tg.agree()
	}
}
