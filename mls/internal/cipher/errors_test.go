package cipher

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

// detReader is a deterministic byte stream for tests: SHA-256 in counter mode
// over a seed.
type detReader struct {
	seed string
	n    int
	buf  []byte
}

func newDetReader(seed string) *detReader { return &detReader{seed: seed} }

func (r *detReader) Read(p []byte) (int, error) {
	for len(r.buf) < len(p) {
		h := sha256.Sum256([]byte(r.seed + strconv.Itoa(r.n)))
		r.n++
		r.buf = append(r.buf, h[:]...)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func allSuites(t testing.TB) []*Suite {
	t.Helper()
	var out []*Suite
	for _, id := range IDs() {
		s, err := Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestLookupUnsupported(t *testing.T) {
	for _, id := range []uint16{0, 8, 0x0a0a, 0xf000, 0xffff} {
		s, err := Lookup(id)
		if s != nil || !errors.Is(err, tls.ErrUnsupported) {
			t.Errorf("Lookup(0x%04x) = %v, %v; want ErrUnsupported", id, s, err)
		}
	}
	if len(IDs()) != 7 {
		t.Fatalf("IDs() = %v", IDs())
	}
}

func TestSignatureErrors(t *testing.T) {
	for _, s := range allSuites(t) {
		t.Run(s.String(), func(t *testing.T) {
			priv, pub, err := s.GenerateSignatureKey(newDetReader("sig"))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.SignWithLabel(priv, "L", []byte("content"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.VerifyWithLabel(pub, "L", []byte("content"), sig); err != nil {
				t.Fatalf("verify own signature: %v", err)
			}
			bad := append([]byte(nil), sig...)
			bad[len(bad)/2] ^= 1
			for name, tc := range map[string]struct{ content, sig []byte }{
				"flipped": {[]byte("content"), bad},
				"content": {[]byte("Content"), sig},
				"empty":   {[]byte("content"), nil},
			} {
				err := s.VerifyWithLabel(pub, "L", tc.content, tc.sig)
				if !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("%s: err = %v, want ErrInvalidSignature", name, err)
				}
			}
			if err := s.VerifyWithLabel(pub[:len(pub)-1], "L", nil, sig); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("short public key: err = %v, want ErrInvalidKey", err)
			}
			if _, err := s.NewSigner(append(priv, 0)); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("long private key: err = %v, want ErrInvalidKey", err)
			}
		})
	}
}

func TestGenerateSignatureKeyUsesReader(t *testing.T) {
	for _, s := range allSuites(t) {
		p1, _, err1 := s.GenerateSignatureKey(newDetReader("a"))
		p2, _, err2 := s.GenerateSignatureKey(newDetReader("a"))
		p3, _, err3 := s.GenerateSignatureKey(newDetReader("b"))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("%v: %v %v %v", s, err1, err2, err3)
		}
		if !bytes.Equal(p1, p2) || bytes.Equal(p1, p3) {
			t.Errorf("%v: key generation does not follow the reader", s)
		}
	}
	s, _ := Lookup(1)
	if _, _, err := s.GenerateSignatureKey(bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Errorf("empty reader: err = %v, want EOF", err)
	}
}

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
