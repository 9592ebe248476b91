package cipher

import (
	"bytes"
	"testing"
)

// TestShortScalars checks that ECDSA and NIST HPKE private keys written as
// minimal big-endian integers (the leading zero byte dropped, as the mlswg
// vectors do) parse to the same key as their fixed-length form.
func TestShortScalars(t *testing.T) {
	for _, id := range []uint16{2, 5, 7} {
		s, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		full := bytes.Repeat([]byte{7}, s.sigSeedSize())
		full[0] = 0
		long, err := s.NewSigner(full)
		if err != nil {
			t.Fatalf("suite %d: %v", id, err)
		}
		short, err := s.NewSigner(full[1:])
		if err != nil {
			t.Fatalf("suite %d: short signature scalar: %v", id, err)
		}
		if !bytes.Equal(long.pub, short.pub) {
			t.Fatalf("suite %d: short signature scalar gives another key", id)
		}
		hk, err := s.ParseHPKEPrivateKey(full)
		if err != nil {
			t.Fatalf("suite %d: %v", id, err)
		}
		hs, err := s.ParseHPKEPrivateKey(full[1:])
		if err != nil {
			t.Fatalf("suite %d: short HPKE scalar: %v", id, err)
		}
		if !bytes.Equal(hk.PublicKey(), hs.PublicKey()) {
			t.Fatalf("suite %d: short HPKE scalar gives another key", id)
		}
	}
}
