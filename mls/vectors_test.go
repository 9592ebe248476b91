package mls

import (
	"bytes"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

// passiveCase is one case of the passive-client-*.json files (test-vectors.md,
// "Passive Client Scenarios").
type passiveCase struct {
	CipherSuite  uint16 `json:"cipher_suite"`
	ExternalPSKs []struct {
		PSKID vectortest.Hex `json:"psk_id"`
		PSK   vectortest.Hex `json:"psk"`
	} `json:"external_psks"`
	KeyPackage                vectortest.Hex `json:"key_package"`
	SignaturePriv             vectortest.Hex `json:"signature_priv"`
	EncryptionPriv            vectortest.Hex `json:"encryption_priv"`
	InitPriv                  vectortest.Hex `json:"init_priv"`
	Welcome                   vectortest.Hex `json:"welcome"`
	RatchetTree               vectortest.Hex `json:"ratchet_tree"`
	InitialEpochAuthenticator vectortest.Hex `json:"initial_epoch_authenticator"`
	Epochs                    []struct {
		Proposals          []vectortest.Hex `json:"proposals"`
		Commit             vectortest.Hex   `json:"commit"`
		EpochAuthenticator vectortest.Hex   `json:"epoch_authenticator"`
	} `json:"epochs"`
}

func TestVectors(t *testing.T) {
	for _, name := range []string{"passive-client-welcome", "passive-client-handling-commit"} {
		vectortest.Run(t, name, runPassive)
	}
}

// runPassive joins from the Welcome, then follows every epoch, checking
// the epoch authenticators; the group is marshalled and restored after
// every step, so the vectors also exercise state serialization.
func runPassive(t *testing.T, c *passiveCase) {
	kp, err := UnmarshalKeyPackage(c.KeyPackage)
	if err != nil {
		t.Fatal(err)
	}
	if uint16(kp.CipherSuite()) != c.CipherSuite {
		t.Fatalf("key package suite %d, case suite %d", kp.CipherSuite(), c.CipherSuite)
	}
	suite, err := cipher.Lookup(c.CipherSuite)
	if err != nil {
		t.Fatal(err)
	}
	bundle := &KeyPackageBundle{kp: kp, initPriv: padHPKE(t, suite, c.InitPriv),
		encPriv: padHPKE(t, suite, c.EncryptionPriv), sigPriv: padSig(t, suite, c.SignaturePriv)}
	if err := bundle.check(); err != nil {
		t.Fatalf("private keys do not match the key package: %v", err)
	}
	psks := PSKMap{}
	for _, p := range c.ExternalPSKs {
		psks[string(p.PSKID)] = p.PSK
	}
	cfg := Config{AuthenticationService: AcceptAllCredentials{}, PSKs: psks}
	g, err := JoinGroup(c.Welcome, bundle, c.RatchetTree, cfg, time.Time{})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	if !bytes.Equal(g.EpochAuthenticator(), c.InitialEpochAuthenticator) {
		t.Fatalf("initial epoch authenticator mismatch")
	}
	g = roundTrip(t, g, cfg)
	for e, ep := range c.Epochs {
		for k, p := range ep.Proposals {
			if _, err := g.ProcessMessage(p, time.Time{}); err != nil {
				t.Fatalf("epoch %d proposal %d: %v", e, k, err)
			}
		}
		res, err := g.ProcessMessage(ep.Commit, time.Time{})
		if err != nil {
			t.Fatalf("epoch %d commit: %v", e, err)
		}
		if _, ok := res.(*CommitApplied); !ok {
			t.Fatalf("epoch %d: result %T", e, res)
		}
		if !bytes.Equal(g.EpochAuthenticator(), ep.EpochAuthenticator) {
			t.Fatalf("epoch %d: epoch authenticator mismatch", e)
		}
		g = roundTrip(t, g, cfg)
	}
}

// roundTrip marshals g and restores it, checking that the bytes are stable.
func roundTrip(t testing.TB, g *Group, cfg Config) *Group {
	t.Helper()
	b, err := g.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	h, err := UnmarshalGroup(b, cfg)
	if err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	b2, err := h.MarshalBinary()
	if err != nil {
		t.Fatalf("marshal restored: %v", err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatalf("restored group marshals to different bytes")
	}
	if !bytes.Equal(h.EpochAuthenticator(), g.EpochAuthenticator()) || h.Epoch() != g.Epoch() {
		t.Fatalf("restored group differs")
	}
	return h
}

// padHPKE left-pads an ECDSA-curve HPKE scalar that the vectors encode
// without its leading zero bytes (some P-521 cases have 65 bytes, not 66):
// package cipher accepts only full-length scalars.
func padHPKE(t *testing.T, s *cipher.Suite, priv []byte) []byte {
	full, _, err := s.DeriveKeyPair(make([]byte, s.Nh()))
	if err != nil {
		t.Fatal(err)
	}
	return leftPad(priv, len(full))
}

// padSig is padHPKE for signature scalars.
func padSig(t *testing.T, s *cipher.Suite, priv []byte) []byte {
	full, _, err := s.GenerateSignatureKey(bytes.NewReader(bytes.Repeat([]byte{1}, 256)))
	if err != nil {
		t.Fatal(err)
	}
	return leftPad(priv, len(full))
}

func leftPad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(make([]byte, n-len(b)), b...)
}
