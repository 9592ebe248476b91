package cipher

import (
	"errors"
	"testing"
)

// fuzzSuite picks a suite from a fuzzer byte.
func fuzzSuite(t *testing.T, b byte) *Suite {
	s, err := Lookup(uint16(b%7) + 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzDecryptWithLabel feeds arbitrary kem outputs and ciphertexts to
// DecryptWithLabel: it must not panic, and must fail with ErrInvalidKey or
// ErrDecryption (a forgery that opens would be a break of the AEAD).
func FuzzDecryptWithLabel(f *testing.F) {
	type keys struct{ priv, pub []byte }
	var ks [7]keys
	for i := range byte(7) {
		s := fuzzSuite(nil, i)
		ks[i].priv, ks[i].pub, _ = s.GenerateHPKEKey(newDetReader("fuzz"))
		enc, ct, _ := s.EncryptWithLabel(newDetReader("e"), ks[i].pub, "L", nil, []byte("pt"))
		f.Add(i, enc, ct)
	}
	f.Fuzz(func(t *testing.T, suite byte, enc, ct []byte) {
		s := fuzzSuite(t, suite)
		k := ks[suite%7]
		pt, err := s.DecryptWithLabel(k.priv, "L", nil, enc, ct)
		if err == nil {
			// Only the seed (our own ciphertext) may open.
			enc2, ct2, _ := s.EncryptWithLabel(newDetReader("e"), k.pub, "L", nil, pt)
			if string(enc2) != string(enc) || string(ct2) != string(ct) {
				t.Fatalf("a ciphertext not made by the seed opened")
			}
			return
		}
		if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrDecryption) {
			t.Fatalf("error %v is neither ErrInvalidKey nor ErrDecryption", err)
		}
	})
}

// FuzzVerifyWithLabel feeds arbitrary public keys and signatures to
// VerifyWithLabel: it must not panic and must fail with ErrInvalidKey or
// ErrInvalidSignature unless given the seed's own key and signature.
func FuzzVerifyWithLabel(f *testing.F) {
	for i := range byte(7) {
		s := fuzzSuite(nil, i)
		priv, pub, _ := s.GenerateSignatureKey(newDetReader("fuzz"))
		sig, _ := s.SignWithLabel(priv, "L", []byte("c"))
		f.Add(i, pub, sig)
	}
	f.Fuzz(func(t *testing.T, suite byte, pub, sig []byte) {
		s := fuzzSuite(t, suite)
		err := s.VerifyWithLabel(pub, "L", []byte("c"), sig)
		if err != nil && !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("error %v is neither ErrInvalidKey nor ErrInvalidSignature", err)
		}
	})
}
