package schedule

import (
	"fmt"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
)

// BenchmarkSenderRatchet measures one step of a sender ratchet: the next
// generation's key and nonce and the following ratchet secret (RFC 9420 §9.1),
// as Next does for every message sent.
func BenchmarkSenderRatchet(b *testing.B) {
	for _, id := range []uint16{1, 7, 4} {
		s, _ := cipher.Lookup(id)
		b.Run(fmt.Sprintf("suite=%d", id), func(b *testing.B) {
			b.ReportAllocs()
			tree, err := NewSecretTree(s, make([]byte, s.Nh()), 2, DefaultWindow)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, _, err := tree.Next(1, Application); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeySchedule measures the derivation of one epoch's secrets (§8).
func BenchmarkKeySchedule(b *testing.B) {
	s, _ := cipher.Lookup(1)
	init, gc := make([]byte, 32), make([]byte, 120)
	for b.Loop() {
		Derive(s, init, init, nil, gc)
	}
}
