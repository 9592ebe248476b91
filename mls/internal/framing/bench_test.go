package framing

import (
	"crypto/rand"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// BenchmarkProtectPrivate signs and encrypts a 100-byte application message
// (suite 1), each iteration taking the next generation of the sender's
// ratchet.
func BenchmarkProtectPrivate(b *testing.B) {
	g := newGroup(b)
	tree := g.tree(b, 2)
	fc := g.signed(b, wire.WireFormatPrivateMessage, member(1), wire.ContentTypeApplication).Content
	b.ReportAllocs()
	for b.Loop() {
		ac, err := Sign(g.signer, wire.WireFormatPrivateMessage, &fc, g.gc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := EncryptPrivate(g.suite, rand.Reader, tree, g.senderDataSecret, ac, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnprotectPrivate decrypts and verifies 100-byte application
// messages (suite 1) in generation order; the messages are made before the
// timer starts.
func BenchmarkUnprotectPrivate(b *testing.B) {
	g := newGroup(b)
	sender, receiver := g.tree(b, 2), g.tree(b, 2)
	ac := g.signed(b, wire.WireFormatPrivateMessage, member(1), wire.ContentTypeApplication)
	msgs := encryptN(b, g, sender, ac, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := DecryptPrivate(g.suite, receiver, g.senderDataSecret, msgs[i])
		if err != nil {
			b.Fatal(err)
		}
		if err := Verify(g.verifier, got, g.gc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptPrivate is BenchmarkProtectPrivate without the signature:
// the symmetric part of protection alone.
func BenchmarkEncryptPrivate(b *testing.B) {
	g := newGroup(b)
	tree := g.tree(b, 2)
	ac := g.signed(b, wire.WireFormatPrivateMessage, member(1), wire.ContentTypeApplication)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncryptPrivate(g.suite, rand.Reader, tree, g.senderDataSecret, ac, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptPrivate is BenchmarkUnprotectPrivate without the
// signature check.
func BenchmarkDecryptPrivate(b *testing.B) {
	g := newGroup(b)
	sender, receiver := g.tree(b, 2), g.tree(b, 2)
	ac := g.signed(b, wire.WireFormatPrivateMessage, member(1), wire.ContentTypeApplication)
	msgs := encryptN(b, g, sender, ac, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := DecryptPrivate(g.suite, receiver, g.senderDataSecret, msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// encryptN makes n PrivateMessages of ac from sender's tree, in generation
// order, for the decryption benchmarks to consume outside the timer.
func encryptN(b *testing.B, g *group, sender *schedule.SecretTree, ac *wire.AuthenticatedContent, n int) []*wire.PrivateMessage {
	b.Helper()
	msgs := make([]*wire.PrivateMessage, n)
	for i := range msgs {
		pm, err := EncryptPrivate(g.suite, rand.Reader, sender, g.senderDataSecret, ac, 0)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = pm
	}
	return msgs
}
