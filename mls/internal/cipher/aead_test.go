package cipher

import (
	"errors"
	"testing"
)

func TestAEADAndMAC(t *testing.T) {
	for _, s := range allSuites(t) {
		key, nonce := make([]byte, s.Nk()), make([]byte, s.Nn())
		ct, err := s.Seal(key, nonce, []byte("aad"), []byte("msg"))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := s.Open(key, nonce, []byte("aad"), ct); err != nil || string(pt) != "msg" {
			t.Errorf("%v: Open = %q, %v", s, pt, err)
		}
		if _, err := s.Open(key, nonce, []byte("aaD"), ct); !errors.Is(err, ErrDecryption) {
			t.Errorf("%v: wrong aad: err = %v", s, err)
		}
		if _, err := s.Open(key[1:], nonce, nil, ct); !errors.Is(err, ErrInvalidLength) {
			t.Errorf("%v: short key: err = %v", s, err)
		}
		if _, err := s.Seal(key, nonce[1:], nil, nil); !errors.Is(err, ErrInvalidLength) {
			t.Errorf("%v: short nonce: err = %v", s, err)
		}
		tag := s.MAC(key, []byte("data"))
		if len(tag) != s.Nh() || !s.VerifyMAC(key, []byte("data"), tag) || s.VerifyMAC(key, []byte("Data"), tag) {
			t.Errorf("%v: MAC/VerifyMAC disagree", s)
		}
		if _, err := s.ExpandWithLabel(key, "L", nil, 255*s.Nh()+1); !errors.Is(err, ErrInvalidLength) {
			t.Errorf("%v: ExpandWithLabel too long: err = %v", s, err)
		}
		if out, err := s.Expand(key, nil, 255*s.Nh()); err != nil || len(out) != 255*s.Nh() {
			t.Errorf("%v: Expand to the maximum: %d bytes, %v", s, len(out), err)
		}
	}
}
