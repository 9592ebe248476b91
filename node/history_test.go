package node

import (
	"context"
	"fmt"
	"testing"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/store"
)

// fillChannel appends n posts to the channel directly on its loop, stored
// in large batches (the benchmark needs the data, not n fsyncs), then
// snapshots, so that a reopened node restores it as a real one would.
func fillChannel(tb testing.TB, nd *Node, ch string, n int) {
	tb.Helper()
	ctx := context.Background()
	err := nd.channel(ch).do(ctx, func(s *chanState) error {
		b := &store.Batch{}
		for i := range n {
			e := crdt.Event{ID: s.crdt.Next(nd.id.peerID), Time: s.clock.Now(nd.nowMs()), Kind: crdt.KindPost,
				Text: fmt.Sprintf("message %06d", i)}
			bin, err := e.MarshalBinary()
			if err != nil {
				return err
			}
			b.PutEvent(store.ChannelID(s.id), store.Event{Seq: s.lastEventSeq + 1, Data: bin})
			s.commitApplied(e)
			if b.Len() >= 5000 || i == n-1 {
				if err := nd.db.Apply(ctx, b); err != nil {
					return err
				}
				b = &store.Batch{}
			}
		}
		s.maybeSnapshot(ctx)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestHistoryPages: History walks a channel back page by page to its first
// message, each page oldest first, with no message twice or missing.
func TestHistoryPages(t *testing.T) {
	ctx := ctxT(t)
	n := open(t, newHome(t, "alice"), false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	fillChannel(t, n, ci.ID, 250)
	var all []string
	before := ""
	for pages := 0; ; pages++ {
		p, err := n.History(ctx, ci.ID, before, 100)
		if err != nil {
			t.Fatal(err)
		}
		all = append(texts(p.Messages), all...)
		if p.Before == "" {
			break
		}
		before = p.Before
		if pages > 5 {
			t.Fatal("History does not reach the start")
		}
	}
	if len(all) != 250 || all[0] != "message 000000" || all[249] != "message 000249" {
		t.Fatalf("paged %d messages: first %q last %q", len(all), all[0], all[len(all)-1])
	}
	for i, s := range all {
		if s != fmt.Sprintf("message %06d", i) {
			t.Fatalf("message %d is %q", i, s)
		}
	}
	for _, bad := range []string{"x", "12", "1.", "a.b"} {
		if _, err := n.History(ctx, ci.ID, bad, 100); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
	if _, err := n.History(ctx, ci.ID, "", 0); err == nil {
		t.Error("page size 0 accepted")
	}
}

// BenchmarkHistory100k: a channel of 100,000 messages, restored from disk.
// "first-page" is what the TUI does when the channel is opened (the latest
// PageSize messages); "page-back" is one PgUp past the loaded pages.
func BenchmarkHistory100k(b *testing.B) {
	ctx := context.Background()
	home := newHome(b, "alice")
	n := open(b, home, false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		b.Fatal(err)
	}
	fillChannel(b, n, ci.ID, 100_000)
	n.Close()
	n = open(b, home, false)
	b.Run("first-page", func(b *testing.B) {
		for b.Loop() {
			p, err := n.History(ctx, ci.ID, "", 100)
			if err != nil || len(p.Messages) != 100 {
				b.Fatal(len(p.Messages), err)
			}
		}
	})
	p, _ := n.History(ctx, ci.ID, "", 100)
	b.Run("page-back", func(b *testing.B) {
		before := p.Before
		for b.Loop() {
			q, err := n.History(ctx, ci.ID, before, 100)
			if err != nil || len(q.Messages) != 100 {
				b.Fatal(len(q.Messages), err)
			}
			if before = q.Before; before == "" {
				before = p.Before
			}
		}
	})
	b.Run("middle-page", func(b *testing.B) {
		var mid string
		for before := p.Before; ; {
			q, _ := n.History(ctx, ci.ID, before, 1000)
			if len(q.Messages) == 0 || q.Before == "" {
				break
			}
			before = q.Before
			if mid == "" && len(q.Messages) > 0 {
				mid = q.Before
			}
			if q.Messages[0].Text <= "message 050000" {
				mid = q.Before
				break
			}
		}
		for b.Loop() {
			if _, err := n.History(ctx, ci.ID, mid, 100); err != nil {
				b.Fatal(err)
			}
		}
	})
}
