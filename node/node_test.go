package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInitTwice: a second init is refused and changes nothing.
func TestInitTwice(t *testing.T) {
	home := newHome(t, "alice")
	before, err := os.ReadFile(filepath.Join(home, "store.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := open(t, home, false)
	id := n.PeerID()
	n.Close()
	if _, err := Init(context.Background(), home, "bob", nil); !errors.Is(err, ErrInitialized) {
		t.Fatalf("second Init: %v, want ErrInitialized", err)
	}
	after, _ := os.ReadFile(filepath.Join(home, "store.json"))
	if string(before) != string(after) {
		t.Error("store.json changed")
	}
	n = open(t, home, false)
	if n.PeerID() != id || n.id.name != "alice" {
		t.Errorf("identity changed: %s %q", n.PeerID(), n.id.name)
	}
}

func TestOpenUninitialized(t *testing.T) {
	_, err := Open(context.Background(), Config{Home: t.TempDir(), Logger: quiet})
	if !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("Open: %v, want ErrNotInitialized", err)
	}
}

// TestChannelSurvivesRestart is the seed's scenario in one process: create,
// close, reopen; the channel is listed and sending works, with full history.
func TestChannelSurvivesRestart(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	ci, err := n.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, "general", "one"); err != nil {
		t.Fatal(err)
	}
	n.Close()

	n = open(t, home, false)
	chans, err := n.Channels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ChannelInfo{ci}, chans); diff != "" {
		t.Errorf("channels after restart (-want +got):\n%s", diff)
	}
	if _, err := n.Send(ctx, ci.ID[:6], "two"); err != nil {
		t.Fatal(err)
	}
	ms, err := n.Messages(ctx, ci.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"one", "two"}, texts(ms)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if ms[0].AuthorName != "alice" || ms[0].Author != n.PeerID() {
		t.Errorf("author = %q %q", ms[0].Author, ms[0].AuthorName)
	}
}

// TestManyMessagesRestoreFromSnapshot sends past a snapshot boundary and
// checks that the restored timeline is whole and in order.
func TestManyMessagesRestoreFromSnapshot(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	if _, err := n.CreateChannel(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range snapshotEvery + 20 {
		text := "m" + string(rune('a'+i%26))
		want = append(want, text)
		if _, err := n.Send(ctx, "general", text); err != nil {
			t.Fatal(err)
		}
	}
	n.Close()
	n = open(t, home, false)
	ms, err := n.Messages(ctx, "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, texts(ms)); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	last, err := n.Messages(ctx, "general", 5)
	if err != nil || len(last) != 5 || last[4].Text != want[len(want)-1] {
		t.Errorf("Messages(limit 5) = %v, %v", texts(last), err)
	}
}

func TestEditDeleteReactRename(t *testing.T) {
	ctx := ctxT(t)
	n := open(t, newHome(t, "alice"), false)
	if _, err := n.CreateChannel(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	r, err := n.Send(ctx, "general", "helo")
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := n.Send(ctx, "general", "bye")
	if _, err := n.Edit(ctx, "general", r.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.React(ctx, "general", r.ID[:6], "👍"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Delete(ctx, "general", r2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Rename(ctx, "general", "lobby"); err != nil {
		t.Fatal(err)
	}
	ms, err := n.Messages(ctx, "lobby", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{
		{ID: r.ID, Author: n.PeerID(), AuthorName: "alice", Text: "hello", Edited: true,
			Reactions: []Reaction{{Emoji: "👍", Authors: []string{n.PeerID()}}}, Delivery: DeliverySent}, // alone: stored is sent
		{ID: r2.ID, Author: n.PeerID(), AuthorName: "alice", Deleted: true, Delivery: DeliverySent},
	}
	if diff := cmp.Diff(want, ms, cmpIgnoreTime); diff != "" {
		t.Errorf("timeline (-want +got):\n%s", diff)
	}
	if _, err := n.Messages(ctx, "general", 0); !errors.Is(err, ErrNoChannel) {
		t.Errorf("old name still resolves: %v", err)
	}
}

var cmpIgnoreTime = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Time" }, cmp.Ignore())

// TestBadInputChangesNothing: typos and bad values give typed errors and
// leave the channel as it was.
func TestBadInputChangesNothing(t *testing.T) {
	ctx := ctxT(t)
	n := open(t, newHome(t, "alice"), false)
	a, _ := n.CreateChannel(ctx, "general")
	b, _ := n.CreateChannel(ctx, "general")
	if _, err := n.Send(ctx, a.ID, "keep"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"ambiguous name", func() error { _, err := n.Send(ctx, "general", "x"); return err }, ErrAmbiguous},
		{"unknown channel", func() error { _, err := n.Send(ctx, "nope", "x"); return err }, ErrNoChannel},
		{"empty text", func() error { _, err := n.Send(ctx, a.ID, "  "); return err }, ErrInvalidInput},
		{"huge text", func() error { _, err := n.Send(ctx, a.ID, string(make([]byte, 20000))); return err }, ErrInvalidInput},
		{"bad utf8", func() error { _, err := n.Send(ctx, a.ID, "\xff"); return err }, ErrInvalidInput},
		{"unknown message", func() error { _, err := n.Edit(ctx, a.ID, "abcdef", "x"); return err }, ErrNoMessage},
		{"short message id", func() error { _, err := n.Delete(ctx, a.ID, "a"); return err }, ErrNoMessage},
		{"empty name", func() error { _, err := n.Rename(ctx, a.ID, ""); return err }, ErrInvalidInput},
		{"bad emoji", func() error { _, err := n.React(ctx, a.ID, "abcd", ""); return err }, ErrInvalidInput},
		{"unknown member", func() error { return n.RemoveMember(ctx, a.ID, "bob") }, ErrNoMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	ms, _ := n.Messages(ctx, a.ID, 0)
	if diff := cmp.Diff([]string{"keep"}, texts(ms)); diff != "" {
		t.Errorf("timeline changed (-want +got):\n%s", diff)
	}
	if ms, _ := n.Messages(ctx, b.ID, 0); len(ms) != 0 {
		t.Errorf("other channel got %v", texts(ms))
	}
}

func TestCloseIdempotent(t *testing.T) {
	n := open(t, newHome(t, "alice"), false)
	if _, err := n.CreateChannel(context.Background(), "general"); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Channels(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Channels after Close: %v, want ErrClosed", err)
	}
}
