package welcome

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/transcript"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

type vector struct {
	CipherSuite uint16         `json:"cipher_suite"`
	InitPriv    vectortest.Hex `json:"init_priv"`
	SignerPub   vectortest.Hex `json:"signer_pub"`
	KeyPackage  vectortest.Hex `json:"key_package"`
	Welcome     vectortest.Hex `json:"welcome"`
}

// fixture is a decoded welcome.json case.
type fixture struct {
	suite    *cipher.Suite
	initPriv *cipher.HPKEPrivateKey
	signer   *cipher.Verifier
	kp       *wire.KeyPackage
	welcome  *wire.Welcome
}

func load(t *testing.T, c *vector) *fixture {
	t.Helper()
	s, err := cipher.Lookup(c.CipherSuite)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{suite: s}
	if f.initPriv, err = s.ParseHPKEPrivateKey(c.InitPriv); err != nil {
		t.Fatal(err)
	}
	if f.signer, err = s.NewVerifier(c.SignerPub); err != nil {
		t.Fatal(err)
	}
	var kp, w wire.MLSMessage
	if err := wire.Unmarshal(c.KeyPackage, &kp); err != nil || kp.KeyPackage == nil {
		t.Fatalf("key_package: %v", err)
	}
	if err := wire.Unmarshal(c.Welcome, &w); err != nil || w.Welcome == nil {
		t.Fatalf("welcome: %v", err)
	}
	f.kp, f.welcome = kp.KeyPackage, w.Welcome
	return f
}

// open runs the steps of §12.4.3.1 this package provides and returns the
// joiner secret and verified GroupInfo.
func (f *fixture) open(t *testing.T) (*wire.GroupSecrets, *wire.GroupInfo) {
	t.Helper()
	s := f.suite
	gs, err := DecryptGroupSecrets(s, f.initPriv, f.welcome, f.kp)
	if err != nil {
		t.Fatalf("group secrets: %v", err)
	}
	if len(gs.PSKs) != 0 {
		t.Fatalf("vector has %d PSKs, expected none", len(gs.PSKs))
	}
	gi, err := DecryptGroupInfo(s, Secret(s, gs.JoinerSecret, nil), f.welcome.EncryptedGroupInfo)
	if err != nil {
		t.Fatalf("group info: %v", err)
	}
	if err := VerifyGroupInfo(f.signer, gi); err != nil {
		t.Fatal(err)
	}
	return gs, gi
}

// epochSecrets runs the key schedule from the joiner secret, without PSKs.
func epochSecrets(t *testing.T, s *cipher.Suite, joiner []byte, gi *wire.GroupInfo) schedule.Secrets {
	t.Helper()
	gc, err := wire.Marshal(&gi.GroupContext)
	if err != nil {
		t.Fatal(err)
	}
	return schedule.DeriveFromJoiner(s, joiner, nil, gc)
}

// TestVectors runs welcome.json: decrypt the group secrets with the
// KeyPackage's init key, decrypt the GroupInfo, verify its signature and
// its confirmation tag with the epoch's confirmation key.
func TestVectors(t *testing.T) {
	vectortest.Run(t, "welcome", func(t *testing.T, c *vector) {
		f := load(t, c)
		gs, gi := f.open(t)
		secrets := epochSecrets(t, f.suite, gs.JoinerSecret, gi)
		if !bytes.Equal(secrets.Welcome, Secret(f.suite, gs.JoinerSecret, nil)) {
			t.Fatal("welcome secret differs from the key schedule's")
		}
		if err := VerifyConfirmationTag(f.suite, secrets.Confirmation, gi); err != nil {
			t.Fatal(err)
		}
		// Flipping one bit of the confirmation tag must fail the check.
		gi.ConfirmationTag[0] ^= 1
		if err := VerifyConfirmationTag(f.suite, secrets.Confirmation, gi); !errors.Is(err, transcript.ErrBadConfirmationTag) {
			t.Fatalf("tampered confirmation tag: err = %v", err)
		}
	})
}

// TestVectorTampering checks that each protected part of a real Welcome is
// checked: the secrets entry, the group info ciphertext and the signature.
func TestVectorTampering(t *testing.T) {
	var cases []vector
	vectortest.Load(t, "welcome", &cases)
	f := load(t, &cases[0])
	s := f.suite

	other := *f.kp
	other.Signature = append([]byte{1}, other.Signature...)
	if _, err := DecryptGroupSecrets(s, f.initPriv, f.welcome, &other); !errors.Is(err, ErrNotForUs) {
		t.Fatalf("other key package: err = %v", err)
	}
	w := *f.welcome
	w.CipherSuite++
	if _, err := DecryptGroupSecrets(s, f.initPriv, &w, f.kp); !errors.Is(err, ErrCipherSuiteMismatch) {
		t.Fatalf("suite mismatch: err = %v", err)
	}
	// The group secrets are bound to the encrypted group info (§12.4.3.1).
	w = *f.welcome
	w.EncryptedGroupInfo = append([]byte{}, w.EncryptedGroupInfo...)
	w.EncryptedGroupInfo[0] ^= 1
	if _, err := DecryptGroupSecrets(s, f.initPriv, &w, f.kp); !errors.Is(err, cipher.ErrDecryption) {
		t.Fatalf("tampered encrypted group info: err = %v", err)
	}
	gs, gi := f.open(t)
	if _, err := DecryptGroupInfo(s, Secret(s, gs.JoinerSecret, nil), w.EncryptedGroupInfo); !errors.Is(err, cipher.ErrDecryption) {
		t.Fatalf("tampered group info ciphertext: err = %v", err)
	}
	gi.Signer++
	if err := VerifyGroupInfo(f.signer, gi); !errors.Is(err, cipher.ErrInvalidSignature) {
		t.Fatalf("tampered group info: err = %v", err)
	}
}

// TestSealOpen builds a Welcome with the sender's functions and opens it.
func TestSealOpen(t *testing.T) {
	s, err := cipher.Lookup(cipher.P256_AES128GCM_SHA256_P256)
	if err != nil {
		t.Fatal(err)
	}
	rnd := bytes.NewReader(bytes.Repeat([]byte{7, 1, 3}, 1000))
	initPriv, initPub, err := s.GenerateHPKEKey(rnd)
	if err != nil {
		t.Fatal(err)
	}
	sigPriv, _, err := s.GenerateSignatureKey(rnd)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := s.NewSigner(sigPriv)
	verifier, _ := s.NewVerifier(signer.PublicKey())
	kp := &wire.KeyPackage{Version: wire.MLS10, CipherSuite: wire.CipherSuite(s.ID()), InitKey: initPub,
		LeafNode: wire.LeafNode{Credential: wire.Credential{CredentialType: wire.CredentialTypeBasic}, LeafNodeSource: wire.LeafNodeSourceKeyPackage}}

	joiner := bytes.Repeat([]byte{9}, s.Nh())
	psk := bytes.Repeat([]byte{5}, s.Nh())
	gi := &wire.GroupInfo{GroupContext: wire.GroupContext{Version: wire.MLS10, CipherSuite: wire.CipherSuite(s.ID()), GroupID: []byte("g"), Epoch: 1}, Signer: 2}
	if err := SignGroupInfo(signer, gi); err != nil {
		t.Fatal(err)
	}
	egi, err := EncryptGroupInfo(s, Secret(s, joiner, psk), gi)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := s.ParseHPKEPublicKey(initPub)
	ct, err := EncryptGroupSecrets(rnd, pub, egi, &wire.GroupSecrets{JoinerSecret: joiner})
	if err != nil {
		t.Fatal(err)
	}
	ref := s.MakeKeyPackageRef(mustMarshal(t, kp))
	w := &wire.Welcome{CipherSuite: kp.CipherSuite, Secrets: []wire.EncryptedGroupSecrets{{NewMember: ref, EncryptedGroupSecrets: *ct}}, EncryptedGroupInfo: egi}

	priv, _ := s.ParseHPKEPrivateKey(initPriv)
	gs, err := DecryptGroupSecrets(s, priv, w, kp)
	if err != nil || !bytes.Equal(gs.JoinerSecret, joiner) {
		t.Fatalf("group secrets: %v", err)
	}
	// The PSK secret enters the welcome secret: without it the GroupInfo
	// does not open.
	if _, err := DecryptGroupInfo(s, Secret(s, joiner, nil), egi); !errors.Is(err, cipher.ErrDecryption) {
		t.Fatalf("open without the PSK: err = %v", err)
	}
	if want := schedule.DeriveFromJoiner(s, joiner, psk, nil).Welcome; !bytes.Equal(Secret(s, joiner, psk), want) {
		t.Fatal("welcome secret with a PSK differs from the key schedule's")
	}
	got, err := DecryptGroupInfo(s, Secret(s, joiner, psk), egi)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyGroupInfo(verifier, got); err != nil || got.Signer != 2 {
		t.Fatalf("verify: %v, signer %d", err, got.Signer)
	}
}

func mustMarshal(t *testing.T, v *wire.KeyPackage) []byte {
	t.Helper()
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
