package cipher

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

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
			if again, _ := s.SignWithLabel(priv, "L", []byte("content")); !bytes.Equal(again, sig) {
				t.Errorf("signing is not deterministic")
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
