package node

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/store"
)

// memberName returns the display name n shows for member in channel.
func memberName(n *Node, channel, member string) string {
	ms, err := n.Members(context.Background(), channel)
	if err != nil {
		return ""
	}
	for _, m := range ms {
		if m.ID == member {
			return m.Name
		}
	}
	return ""
}

// sawEvent reports whether n's event stream, from the kept events on,
// holds one that ok accepts (waiting up to 60 s for it).
func sawEvent(n *Node, ok func(Event) bool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	found := errors.New("found")
	err := n.Events(ctx, ReplayKept, func(e Event) error {
		if ok(e) {
			return found
		}
		return nil
	})
	return err == found
}

// TestSetName: a member renames itself; the other member shows the new
// name for the member and its messages, older ones too; the name survives
// a restart; a bad name changes nothing.
func TestSetName(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	if _, err := b.Send(ctx, id, "before"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "before")
	for _, bad := range []string{"", "  ", "a\nb", string(make([]byte, MaxNameLen+1))} {
		if err := b.SetName(ctx, bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("SetName(%q) = %v, want ErrInvalidInput", bad, err)
		}
	}
	if err := b.SetName(ctx, "robert"); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Status(ctx); st.Name != "robert" {
		t.Errorf("status name %q", st.Name)
	}
	waitFor(t, 60*time.Second, "alice to show bob's new name", func() bool { return memberName(a, id, b.PeerID()) == "robert" })
	if !sawEvent(a, func(e Event) bool {
		return e.Type == EventMember && e.Change == "profile" && e.Member == b.PeerID() && e.Name == "robert" && e.Channel == id
	}) {
		t.Error("alice's event stream has no profile event naming robert")
	}
	if _, err := b.Send(ctx, id, "after"); err != nil {
		t.Fatal(err)
	}
	waitTexts(t, a, id, "before", "after")
	ms, _ := a.Messages(ctx, id, 0)
	for _, m := range ms {
		if m.AuthorName != "robert" {
			t.Errorf("alice shows %q by %q, want robert", m.Text, m.AuthorName)
		}
	}

	home := b.cfg.Home
	b.Close()
	b2, err := Open(ctx, Config{Home: home, Network: true, Logger: quiet, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS: true, Bootstrap: a.host.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if st, _ := b2.Status(ctx); st.Name != "robert" {
		t.Errorf("after a restart the name is %q, want robert", st.Name)
	}
	if got := memberName(b2, id, b2.PeerID()); got != "robert" {
		t.Errorf("after a restart bob's channel names him %q", got)
	}
}

// TestSetNameFinishedAtStart: a rename stored but not announced (the node
// stopped in between) is announced at the next start.
func TestSetNameFinishedAtStart(t *testing.T) {
	ctx := ctxT(t)
	a, b, id := pair(t)
	waitFor(t, 60*time.Second, "alice to know bob's name", func() bool { return memberName(a, id, b.PeerID()) == "bob" })
	st, err := b.db.Identity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.Name = "bobby"
	batch := &store.Batch{}
	batch.PutIdentity(st)
	if err := b.db.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}
	home := b.cfg.Home
	b.Close()
	b2, err := Open(ctx, Config{Home: home, Network: true, Logger: quiet, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS: true, Bootstrap: a.host.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	waitFor(t, 60*time.Second, "alice to show bob's stored name", func() bool { return memberName(a, id, b2.PeerID()) == "bobby" })
}
