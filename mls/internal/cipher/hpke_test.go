package cipher

import (
	"bytes"
	"crypto/hpke"
	"errors"
	"testing"
)

func TestHPKEErrors(t *testing.T) {
	for _, s := range allSuites(t) {
		t.Run(s.String(), func(t *testing.T) {
			priv, pub, err := s.GenerateHPKEKey(newDetReader("hpke"))
			if err != nil {
				t.Fatal(err)
			}
			enc, ct, err := s.EncryptWithLabel(newDetReader("eph"), pub, "L", []byte("ctx"), []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			enc2, ct2, _ := s.EncryptWithLabel(newDetReader("eph"), pub, "L", []byte("ctx"), []byte("hello"))
			if !bytes.Equal(enc, enc2) || !bytes.Equal(ct, ct2) {
				t.Errorf("EncryptWithLabel does not take its randomness from the reader")
			}
			badCT := append([]byte(nil), ct...)
			badCT[0] ^= 1
			badEnc := append([]byte(nil), enc...)
			badEnc[len(badEnc)-1] ^= 1
			for name, tc := range map[string]struct {
				label          string
				ctx, enc, ct   []byte
				want, wantAlso error
			}{
				"ciphertext": {"L", []byte("ctx"), enc, badCT, ErrDecryption, nil},
				"label":      {"M", []byte("ctx"), enc, ct, ErrDecryption, nil},
				"context":    {"L", []byte("ctX"), enc, ct, ErrDecryption, nil},
				"truncated":  {"L", []byte("ctx"), enc, ct[:3], ErrDecryption, nil},
				"kem length": {"L", []byte("ctx"), enc[1:], ct, ErrInvalidKey, nil},
				// A changed point is off the curve (NIST) or another point
				// (X25519, X448) whose shared secret opens nothing.
				"kem output": {"L", []byte("ctx"), badEnc, ct, ErrInvalidKey, ErrDecryption},
			} {
				_, err := s.DecryptWithLabel(priv, tc.label, tc.ctx, tc.enc, tc.ct)
				if !errors.Is(err, tc.want) && (tc.wantAlso == nil || !errors.Is(err, tc.wantAlso)) {
					t.Errorf("%s: err = %v, want %v", name, err, tc.want)
				}
			}
			if _, err := s.ParseHPKEPublicKey(pub[:5]); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("short public key: err = %v, want ErrInvalidKey", err)
			}
			if _, err := s.ParseHPKEPrivateKey(nil); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("empty private key: err = %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestHPKEExport(t *testing.T) {
	for _, s := range allSuites(t) {
		priv, pub, _ := s.GenerateHPKEKey(newDetReader("x"))
		pk, _ := s.ParseHPKEPublicKey(pub)
		sk, _ := s.ParseHPKEPrivateKey(priv)
		enc, secret, err := pk.Export(newDetReader("e"), nil, []byte("MLS 1.0 external init secret"), s.Nh())
		if err != nil {
			t.Fatal(err)
		}
		got, err := sk.Export(enc, nil, []byte("MLS 1.0 external init secret"), s.Nh())
		if err != nil || !bytes.Equal(got, secret) || len(secret) != s.Nh() {
			t.Errorf("%v: receiver export %x, %v; sender %x", s, got, err, secret)
		}
		if !bytes.Equal(sk.PublicKey(), pk.Bytes()) {
			t.Errorf("%v: private key's public key differs", s)
		}
	}
}

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
