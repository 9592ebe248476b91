package cipher

import (
	"errors"
	"testing"
)

// TestLowOrderPoint: an all-zero X25519 or X448 kem_output gives an all-zero
// shared secret, which RFC 9180 §7.1.4 says to reject.
func TestLowOrderPoint(t *testing.T) {
	for _, id := range []uint16{1, 4} {
		s, _ := Lookup(id)
		priv, _, _ := s.GenerateHPKEKey(newDetReader("k"))
		zero := make([]byte, s.kem.npk)
		_, err := s.DecryptWithLabel(priv, "L", nil, zero, make([]byte, 32))
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("suite %d: err = %v, want ErrInvalidKey", id, err)
		}
	}
}
