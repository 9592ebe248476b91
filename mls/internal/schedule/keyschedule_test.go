package schedule

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
)

func TestZeroSecrets(t *testing.T) {
	s := suite(t, 7)
	init, gc := bytes.Repeat([]byte{3}, s.Nh()), []byte("group context")
	a := Derive(s, init, nil, nil, gc)
	b := Derive(s, init, make([]byte, s.Nh()), make([]byte, s.Nh()), gc)
	if !bytes.Equal(a.EpochAuthenticator, b.EpochAuthenticator) || !bytes.Equal(a.Init, b.Init) {
		t.Fatalf("nil commit/psk secrets differ from all-zero ones")
	}
	c := DeriveFromJoiner(s, a.Joiner, nil, gc)
	if !bytes.Equal(c.Encryption, a.Encryption) || !bytes.Equal(c.Welcome, a.Welcome) {
		t.Fatalf("DeriveFromJoiner differs from Derive")
	}
	if d := Derive(s, init, nil, nil, []byte("other")); bytes.Equal(d.Joiner, a.Joiner) {
		t.Fatalf("the group context does not reach the joiner secret")
	}
	if psk, err := PSKSecret(s, nil); err != nil || !bytes.Equal(psk, make([]byte, s.Nh())) {
		t.Fatalf("PSKSecret() = %x, %v; want Nh zeros", psk, err)
	}
}

func TestExternalInit(t *testing.T) {
	for _, id := range cipher.IDs() {
		s := suite(t, id)
		sec := Derive(s, make([]byte, s.Nh()), nil, nil, []byte("gc"))
		priv, pub, err := ExternalKeyPair(s, sec.External)
		if err != nil {
			t.Fatal(err)
		}
		kemOut, joinerInit, err := ExternalInit(s, rand.Reader, pub)
		if err != nil {
			t.Fatal(err)
		}
		memberInit, err := ExternalInitSecret(s, priv, kemOut)
		if err != nil || !bytes.Equal(memberInit, joinerInit) || len(joinerInit) != s.Nh() {
			t.Fatalf("suite %d: member init %x, %v; joiner %x", id, memberInit, err, joinerInit)
		}
		if _, err := ExternalInitSecret(s, priv, kemOut[1:]); !errors.Is(err, cipher.ErrInvalidKey) {
			t.Errorf("suite %d: short kem output: err = %v", id, err)
		}
		if _, _, err := ExternalInit(s, rand.Reader, pub[1:]); !errors.Is(err, cipher.ErrInvalidKey) {
			t.Errorf("suite %d: short external pub: err = %v", id, err)
		}
	}
}

func TestWelcomeKeyNonceAndExport(t *testing.T) {
	s := suite(t, 4)
	key, nonce := WelcomeKeyNonce(s, make([]byte, s.Nh()))
	if len(key) != s.Nk() || len(nonce) != s.Nn() || bytes.Equal(key[:s.Nn()], nonce) {
		t.Fatalf("welcome key %d bytes, nonce %d", len(key), len(nonce))
	}
	if _, err := Export(s, make([]byte, s.Nh()), "x", nil, 255*s.Nh()+1); !errors.Is(err, cipher.ErrInvalidLength) {
		t.Fatalf("oversized export: err = %v", err)
	}
}
