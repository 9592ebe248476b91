package store

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// sealVersion is the first byte of every sealed value: the AEAD and layout of
// the value. A new AEAD gets a new byte, so old values stay readable.
const sealVersion = 0x01

// sealOverhead is the size a sealed value adds to its plaintext.
const sealOverhead = 1 + chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead

// DataKeySize is the size of the key that seals every value.
const DataKeySize = chacha20poly1305.KeySize

// sealer seals and opens values under the data key with
// XChaCha20-Poly1305. The record's Pebble key is the associated data, so a
// value moved to another key does not open. Nonces are random: 192 bits make
// collisions negligible without any state. A sealer is safe for concurrent
// use.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(dataKey []byte) (*sealer, error) {
	aead, err := chacha20poly1305.NewX(dataKey)
	if err != nil {
		return nil, fmt.Errorf("store: data key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// seal appends the sealed form of plaintext, bound to key, to dst.
func (s *sealer) seal(dst, key, plaintext []byte) []byte {
	start := len(dst)
	dst = append(dst, sealVersion)
	dst = append(dst, make([]byte, chacha20poly1305.NonceSizeX)...)
	nonce := dst[start+1:]
	if _, err := rand.Read(nonce); err != nil {
		// crypto/rand.Read never returns an error on supported platforms.
		panic("store: crypto/rand failed: " + err.Error())
	}
	return s.aead.Seal(dst, nonce, plaintext, key)
}

// open returns the plaintext of a value sealed under key. Any change to the
// value or a different key gives a *CorruptError.
func (s *sealer) open(key, sealed []byte) ([]byte, error) {
	if len(sealed) < sealOverhead {
		return nil, &CorruptError{Key: describeKey(key), Reason: "sealed value too short"}
	}
	if sealed[0] != sealVersion {
		return nil, &CorruptError{Key: describeKey(key), Reason: fmt.Sprintf("unknown seal version %#x", sealed[0])}
	}
	nonce := sealed[1 : 1+chacha20poly1305.NonceSizeX]
	pt, err := s.aead.Open(nil, nonce, sealed[1+len(nonce):], key)
	if err != nil {
		return nil, &CorruptError{Key: describeKey(key), Reason: "authentication failed"}
	}
	return pt, nil
}
