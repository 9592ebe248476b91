package cipher

import (
	"fmt"
	"testing"
)

// BenchmarkHPKE measures EncryptWithLabel (seal) and DecryptWithLabel (open)
// of a 256-byte plaintext with parsed keys, the path TreeKEM and Welcome use.
func BenchmarkHPKE(b *testing.B) {
	for _, s := range allSuites(b) {
		priv, pub, _ := s.GenerateHPKEKey(newDetReader("b"))
		pk, _ := s.ParseHPKEPublicKey(pub)
		sk, _ := s.ParseHPKEPrivateKey(priv)
		ctx, pt := make([]byte, 32), make([]byte, 256)
		rnd := newDetReader("r")
		enc, ct, _ := pk.EncryptWithLabel(rnd, "UpdatePathNode", ctx, pt)
		b.Run(fmt.Sprintf("suite=%d/seal", s.ID()), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := pk.EncryptWithLabel(rnd, "UpdatePathNode", ctx, pt); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("suite=%d/open", s.ID()), func(b *testing.B) {
			for b.Loop() {
				if _, err := sk.DecryptWithLabel("UpdatePathNode", ctx, enc, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSign measures SignWithLabel over 1 KiB with a parsed key.
func BenchmarkSign(b *testing.B) {
	for _, s := range allSuites(b) {
		priv, _, _ := s.GenerateSignatureKey(newDetReader("b"))
		sg, _ := s.NewSigner(priv)
		msg := make([]byte, 1024)
		b.Run(fmt.Sprintf("suite=%d", s.ID()), func(b *testing.B) {
			for b.Loop() {
				if _, err := sg.SignWithLabel("FramedContentTBS", msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures VerifyWithLabel over 1 KiB with a parsed key.
func BenchmarkVerify(b *testing.B) {
	for _, s := range allSuites(b) {
		priv, pub, _ := s.GenerateSignatureKey(newDetReader("b"))
		msg := make([]byte, 1024)
		sig, _ := s.SignWithLabel(priv, "FramedContentTBS", msg)
		v, _ := s.NewVerifier(pub)
		b.Run(fmt.Sprintf("suite=%d", s.ID()), func(b *testing.B) {
			for b.Loop() {
				if err := v.VerifyWithLabel("FramedContentTBS", msg, sig); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExpandWithLabel measures one ExpandWithLabel to Nh bytes, the
// unit of every key-schedule and ratchet step.
func BenchmarkExpandWithLabel(b *testing.B) {
	for _, id := range []uint16{1, 7, 4} {
		s, _ := Lookup(id)
		secret := make([]byte, s.Nh())
		b.Run(fmt.Sprintf("suite=%d", id), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.DeriveSecret(secret, "secret")
			}
		})
	}
}
