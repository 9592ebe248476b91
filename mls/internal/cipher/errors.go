package cipher

import "errors"

// Errors of this package. Functions wrap them with %w and context that never
// includes secrets; test with errors.Is.
var (
	// ErrInvalidSignature: a signature does not verify (RFC 9420 §5.1.2).
	ErrInvalidSignature = errors.New("mls: invalid signature")
	// ErrDecryption: an AEAD or HPKE ciphertext does not open: wrong key,
	// tampered data or wrong associated data.
	ErrDecryption = errors.New("mls: decryption failed")
	// ErrInvalidKey: key bytes of the wrong size or not a valid key for the
	// suite (a point off the curve, a zero or out-of-range scalar, a
	// low-order X25519/X448 point).
	ErrInvalidKey = errors.New("mls: invalid key")
	// ErrInvalidLength: a requested output, key or nonce length the
	// algorithm cannot provide or accept.
	ErrInvalidLength = errors.New("mls: invalid length")
)
