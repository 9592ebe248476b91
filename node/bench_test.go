package node

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkSend measures one message through the local pipeline: CRDT
// check and apply, MLS encryption, one synced Pebble batch (real disk).
func BenchmarkSend(b *testing.B) {
	ctx := context.Background()
	n := open(b, newHome(b, "alice"), false)
	if _, err := n.CreateChannel(ctx, "general"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := n.Send(ctx, "general", "a message of a typical length, about sixty bytes"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen measures opening a home with 20 channels of 500 messages
// each: the store's reads plus restoring each group and CRDT snapshot.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	home := newHome(b, "alice")
	n := open(b, home, false)
	for i := range 20 {
		ci, err := n.CreateChannel(ctx, fmt.Sprintf("c%d", i))
		if err != nil {
			b.Fatal(err)
		}
		for j := range 500 {
			if _, err := n.Send(ctx, ci.ID, fmt.Sprintf("message %d", j)); err != nil {
				b.Fatal(err)
			}
		}
	}
	n.Close()
	for b.Loop() {
		n, err := Open(ctx, Config{Home: home, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		n.Close()
	}
}
