package cipher

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
)

type hexb = vectortest.Hex

// basicsVector is one case of crypto-basics.json.
type basicsVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	RefHash     struct {
		Label string `json:"label"`
		Value hexb   `json:"value"`
		Out   hexb   `json:"out"`
	} `json:"ref_hash"`
	ExpandWithLabel struct {
		Secret  hexb   `json:"secret"`
		Label   string `json:"label"`
		Context hexb   `json:"context"`
		Length  int    `json:"length"`
		Out     hexb   `json:"out"`
	} `json:"expand_with_label"`
	DeriveSecret struct {
		Secret hexb   `json:"secret"`
		Label  string `json:"label"`
		Out    hexb   `json:"out"`
	} `json:"derive_secret"`
	DeriveTreeSecret struct {
		Secret     hexb   `json:"secret"`
		Label      string `json:"label"`
		Generation uint32 `json:"generation"`
		Length     int    `json:"length"`
		Out        hexb   `json:"out"`
	} `json:"derive_tree_secret"`
	SignWithLabel struct {
		Priv      hexb   `json:"priv"`
		Pub       hexb   `json:"pub"`
		Content   hexb   `json:"content"`
		Label     string `json:"label"`
		Signature hexb   `json:"signature"`
	} `json:"sign_with_label"`
	EncryptWithLabel struct {
		Priv       hexb   `json:"priv"`
		Pub        hexb   `json:"pub"`
		Label      string `json:"label"`
		Context    hexb   `json:"context"`
		Plaintext  hexb   `json:"plaintext"`
		KEMOutput  hexb   `json:"kem_output"`
		Ciphertext hexb   `json:"ciphertext"`
	} `json:"encrypt_with_label"`
}

// TestVectors runs crypto-basics.json: every labeled operation on all seven
// suites.
func TestVectors(t *testing.T) {
	vectortest.Run(t, "crypto-basics", func(t *testing.T, c *basicsVector) {
		s, err := Lookup(c.CipherSuite)
		if err != nil {
			t.Fatal(err)
		}
		checkDerivations(t, s, c)
		checkSignature(t, s, c)
		checkEncryption(t, s, c)
	})
}

func checkDerivations(t *testing.T, s *Suite, c *basicsVector) {
	t.Helper()
	if got := s.RefHash(c.RefHash.Label, c.RefHash.Value); !bytes.Equal(got, c.RefHash.Out) {
		t.Errorf("RefHash = %x, want %x", got, c.RefHash.Out)
	}
	e := c.ExpandWithLabel
	if got, err := s.ExpandWithLabel(e.Secret, e.Label, e.Context, e.Length); err != nil || !bytes.Equal(got, e.Out) {
		t.Errorf("ExpandWithLabel = %x, %v; want %x", got, err, e.Out)
	}
	d := c.DeriveSecret
	if got := s.DeriveSecret(d.Secret, d.Label); !bytes.Equal(got, d.Out) {
		t.Errorf("DeriveSecret = %x, want %x", got, d.Out)
	}
	ts := c.DeriveTreeSecret
	if got, err := s.DeriveTreeSecret(ts.Secret, ts.Label, ts.Generation, ts.Length); err != nil || !bytes.Equal(got, ts.Out) {
		t.Errorf("DeriveTreeSecret = %x, %v; want %x", got, err, ts.Out)
	}
}

func checkSignature(t *testing.T, s *Suite, c *basicsVector) {
	t.Helper()
	v := c.SignWithLabel
	if err := s.VerifyWithLabel(v.Pub, v.Label, v.Content, v.Signature); err != nil {
		t.Errorf("VerifyWithLabel(vector signature): %v", err)
	}
	sg, err := s.NewSigner(v.Priv)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	if !bytes.Equal(sg.PublicKey(), v.Pub) {
		t.Errorf("public key of priv = %x, want %x", sg.PublicKey(), v.Pub)
	}
	sig, err := sg.SignWithLabel(v.Label, v.Content)
	if err != nil {
		t.Fatalf("SignWithLabel: %v", err)
	}
	if err := s.VerifyWithLabel(v.Pub, v.Label, v.Content, sig); err != nil {
		t.Errorf("VerifyWithLabel(own signature): %v", err)
	}
	if err := s.VerifyWithLabel(v.Pub, v.Label+"x", v.Content, sig); err == nil {
		t.Errorf("signature verified under another label")
	}
}

func checkEncryption(t *testing.T, s *Suite, c *basicsVector) {
	t.Helper()
	v := c.EncryptWithLabel
	pt, err := s.DecryptWithLabel(v.Priv, v.Label, v.Context, v.KEMOutput, v.Ciphertext)
	if err != nil || !bytes.Equal(pt, v.Plaintext) {
		t.Fatalf("DecryptWithLabel(vector) = %x, %v; want %x", pt, err, v.Plaintext)
	}
	kemOut, ct, err := s.EncryptWithLabel(rand.Reader, v.Pub, v.Label, v.Context, v.Plaintext)
	if err != nil {
		t.Fatalf("EncryptWithLabel: %v", err)
	}
	pt, err = s.DecryptWithLabel(v.Priv, v.Label, v.Context, kemOut, ct)
	if err != nil || !bytes.Equal(pt, v.Plaintext) {
		t.Fatalf("DecryptWithLabel(own) = %x, %v; want %x", pt, err, v.Plaintext)
	}
}
