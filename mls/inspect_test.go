package mls

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestInspectGroupInfo(t *testing.T) {
	for _, suite := range []CipherSuite{X25519_AES128GCM_SHA256_Ed25519, X448_AES256GCM_SHA512_Ed448} {
		tg := newTestGroup(t, suite, 3)
		g := tg.members[1]
		rt, _ := g.RatchetTree()
		for _, withTree := range []bool{true, false} {
			t.Run(fmt.Sprintf("suite%d/tree=%v", suite, withTree), func(t *testing.T) {
				gi, err := g.GroupInfo(withTree)
				if err != nil {
					t.Fatal(err)
				}
				var supplied []byte
				if !withTree {
					if s, err := InspectGroupInfo(gi, nil); err != nil || s.Members != nil || s.Epoch != g.Epoch() {
						t.Fatalf("without any tree: %+v, %v", s, err)
					}
					if _, err := InspectGroupInfo(gi, []byte{1, 2, 3}); !errors.Is(err, ErrInvalidTree) {
						t.Fatalf("with a garbage tree: %v, want ErrInvalidTree", err)
					}
					supplied = rt
				}
				s, err := InspectGroupInfo(gi, supplied)
				if err != nil {
					t.Fatal(err)
				}
				if s.CipherSuite != suite || !bytes.Equal(s.GroupID, g.GroupID()) || s.Epoch != g.Epoch() || len(s.Members) != 3 {
					t.Fatalf("summary %+v", s)
				}
				for i, m := range s.Members {
					want, _ := g.Member(LeafIndex(i))
					if !bytes.Equal(m.Credential.Identity, want.Credential.Identity) || !bytes.Equal(m.SignatureKey, want.SignatureKey) {
						t.Fatalf("member %d: %+v, want %+v", i, m, want)
					}
				}
			})
		}
	}
	for _, bad := range [][]byte{nil, {0, 1}, bytes.Repeat([]byte{0xff}, 40)} {
		if _, err := InspectGroupInfo(bad, nil); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
			t.Errorf("InspectGroupInfo(%x): %v", bad, err)
		}
	}
	kp := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 1).newBundles(1)[0].KeyPackage().Marshal()
	if _, err := InspectGroupInfo(kp, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("a key package as group info: %v", err)
	}
}

func TestExternalSenderEncoding(t *testing.T) {
	es := []ExternalSender{
		{SignatureKey: []byte{1, 2, 3}, Credential: BasicCredential([]byte("ds"))},
		{SignatureKey: []byte{4}, Credential: BasicCredential([]byte("bot"))},
	}
	one, err := UnmarshalExternalSender(es[0].Marshal())
	if err != nil || !bytes.Equal(one.SignatureKey, es[0].SignatureKey) || string(one.Credential.Identity) != "ds" {
		t.Fatalf("round trip: %+v %v", one, err)
	}
	ext := ExternalSendersExtension(es)
	got, err := ExternalSenders(ext.Data)
	if err != nil || len(got) != 2 || string(got[1].Credential.Identity) != "bot" || ext.Type != ExtensionExternalSenders {
		t.Fatalf("list: %+v %v", got, err)
	}
	if _, err := UnmarshalExternalSender([]byte{9, 9}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("garbage: %v", err)
	}
}

func TestGenerateSignatureKey(t *testing.T) {
	for cs := CipherSuite(1); cs <= 7; cs++ {
		priv, pub, err := GenerateSignatureKey(testRand(uint64(cs)), cs)
		if err != nil || len(priv) == 0 || len(pub) == 0 {
			t.Fatalf("suite %d: %v", cs, err)
		}
		id := Identity{CipherSuite: cs, SignaturePrivateKey: priv, Credential: BasicCredential([]byte("x"))}
		b, err := NewKeyPackage(testRand(9), id, KeyPackageOptions{})
		if err != nil || !bytes.Equal(b.KeyPackage().SignatureKey(), pub) {
			t.Fatalf("suite %d: key package: %v", cs, err)
		}
		if len(b.InitPrivateKey()) == 0 || len(b.EncryptionPrivateKey()) == 0 {
			t.Fatalf("suite %d: empty private keys", cs)
		}
	}
	if _, _, err := GenerateSignatureKey(testRand(1), 99); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("suite 99: %v", err)
	}
}

// TestJoinExternalWithPSK: an external commit may inject external PSKs
// (§12.4.3.2); members that lack the PSK ignore the commit.
func TestJoinExternalWithPSK(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	gi, err := tg.members[0].GroupInfo(true)
	if err != nil {
		t.Fatal(err)
	}
	psks := PSKMap{"shared": []byte("a pre-shared secret")}
	cfg := Config{AuthenticationService: AcceptAllCredentials{}, PSKs: psks}
	id := testIdentity(t, tg.rnd, X25519_AES128GCM_SHA256_Ed25519, "outsider")
	opts := ExternalJoinOptions{PSKs: []PSKRef{{ExternalID: []byte("shared")}}}
	if _, _, err := JoinExternal(tg.rnd, gi, id, tg.cfg, opts); !errors.Is(err, ErrUnknownPSK) {
		t.Fatalf("joiner without the PSK: %v, want ErrUnknownPSK", err)
	}
	if _, _, err := JoinExternal(tg.rnd, gi, id, cfg, ExternalJoinOptions{PSKs: []PSKRef{{Epoch: 0}}}); !errors.Is(err, ErrInvalidProposal) {
		t.Fatalf("resumption PSK: %v, want ErrInvalidProposal", err)
	}
	g, commit, err := JoinExternal(tg.rnd, gi, id, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tg.members[0].ProcessMessage(commit, timeZero); !errors.Is(err, ErrUnknownPSK) || VerdictOf(err) != Ignore {
		t.Fatalf("member without the PSK: %v, want an ignored ErrUnknownPSK", err)
	}
	for _, m := range tg.members {
		m.cfg.PSKs = psks
	}
	tg.deliver(commit)
	tg.members = append(tg.members, g)
	tg.agree()
}
