package cipher

import (
	"bytes"
	"crypto/hmac"
	"crypto/hpke"
	"testing"
)

// TestAgainstStdlibHPKE checks this package's HPKE against crypto/hpke for
// the suites the standard library covers (1, 2, 3, 5, 7): DeriveKeyPair gives
// the same public key, and each side opens what the other sealed.
func TestAgainstStdlibHPKE(t *testing.T) {
	for _, s := range allSuites(t) {
		if s.kem == kemX448 {
			continue // crypto/hpke has no X448 KEM; the vectors cover it
		}
		kem, err1 := hpke.NewKEM(s.kem.id)
		kdf, err2 := hpke.NewKDF(s.kdfID())
		aead, err3 := hpke.NewAEAD(uint16(s.aead))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("%v: %v %v %v", s, err1, err2, err3)
		}
		ikm := bytes.Repeat([]byte{7}, 64)
		priv, pub, err := s.DeriveKeyPair(ikm)
		if err != nil {
			t.Fatal(err)
		}
		std, err := kem.DeriveKeyPair(ikm)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(std.PublicKey().Bytes(), pub) {
			t.Fatalf("%v: DeriveKeyPair public key differs from crypto/hpke", s)
		}
		info, msg := []byte("info"), []byte("message")
		pk, _ := s.ParseHPKEPublicKey(pub)
		enc, ct, err := pk.Seal(newDetReader("s"), info, nil, msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := hpke.Open(std, kdf, aead, info, append(enc, ct...)); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%v: crypto/hpke cannot open our ciphertext: %v", s, err)
		}
		sealed, err := hpke.Seal(std.PublicKey(), kdf, aead, info, msg)
		if err != nil {
			t.Fatal(err)
		}
		sk, _ := s.ParseHPKEPrivateKey(priv)
		n := s.kem.npk
		if got, err := sk.Open(sealed[:n], info, nil, sealed[n:]); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("%v: cannot open crypto/hpke's ciphertext: %v", s, err)
		}
	}
}

// TestMACAgainstStdlib checks the stack-buffer HMAC against crypto/hmac at
// the edges of its key and message handling.
func TestMACAgainstStdlib(t *testing.T) {
	for _, s := range allSuites(t) {
		for _, kl := range []int{0, 1, 32, 64, 65, 128, 129, 300} {
			for _, ml := range []int{0, 1, 64, 128, hmacMaxInline, hmacMaxInline + 1, 5000} {
				key, msg := bytes.Repeat([]byte{0xa5}, kl), bytes.Repeat([]byte{0x3c}, ml)
				m := hmac.New(s.newHash, key)
				m.Write(msg)
				if got := s.MAC(key, msg); !bytes.Equal(got, m.Sum(nil)) {
					t.Errorf("%v: MAC with %d-byte key over %d bytes differs from crypto/hmac", s, kl, ml)
				}
			}
		}
	}
}
