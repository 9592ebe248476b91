package cipher

import (
	"crypto/aes"
	stdcipher "crypto/cipher"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// nk returns the key size of the AEAD (RFC 9180 §7.3).
func (a aeadAlg) nk() int {
	if a == aesGCM128 {
		return 16
	}
	return 32
}

// new returns the AEAD keyed with key, whose length the caller checked.
func (a aeadAlg) new(key []byte) (stdcipher.AEAD, error) {
	if a == chaCha20Poly1305 {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return stdcipher.NewGCM(b)
}

// keyed checks the lengths of key and nonce and returns the keyed AEAD.
func (a aeadAlg) keyed(key, nonce []byte) (stdcipher.AEAD, error) {
	if len(key) != a.nk() || len(nonce) != 12 {
		return nil, fmt.Errorf("cipher: AEAD key of %d bytes, nonce of %d: %w", len(key), len(nonce), ErrInvalidLength)
	}
	return a.new(key)
}

// Seal is the suite's AEAD encryption (RFC 9420 §5.1, §6.3.1): it returns
// the ciphertext with its tag. key must be Nk bytes and nonce Nn bytes, or the
// error matches ErrInvalidLength.
func (s *Suite) Seal(key, nonce, aad, plaintext []byte) ([]byte, error) {
	a, err := s.aead.keyed(key, nonce)
	if err != nil {
		return nil, err
	}
	return a.Seal(nil, nonce, plaintext, aad), nil
}

// Open is the suite's AEAD decryption (RFC 9420 §5.1, §6.3.1). A ciphertext
// that does not authenticate gives an error matching ErrDecryption; key and
// nonce of the wrong size one matching ErrInvalidLength.
func (s *Suite) Open(key, nonce, aad, ciphertext []byte) ([]byte, error) {
	a, err := s.aead.keyed(key, nonce)
	if err != nil {
		return nil, err
	}
	pt, err := a.Open(nil, nonce, ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("cipher: AEAD open: %w", ErrDecryption)
	}
	return pt, nil
}
