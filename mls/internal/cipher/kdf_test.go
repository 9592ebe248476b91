package cipher

import (
	"bytes"
	"crypto/hmac"
	"testing"
)

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
