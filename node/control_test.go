package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestControlAPI drives a node through its control socket: the same results
// and the same typed errors as in process, and an owner-only socket.
func TestControlAPI(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	srv, err := Serve(n, home)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fi, err := os.Stat(filepath.Join(home, SocketName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi.Mode(), err)
	}
	if _, err := Serve(n, home); err == nil {
		t.Fatal("a second server on the same home started")
	}
	c, err := Dial(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := c.CreateChannel(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, "general", "hi"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Messages(ctx, ci.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := n.Messages(ctx, ci.ID, 0)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages via socket (-direct +socket):\n%s", diff)
	}
	if _, err := c.Send(ctx, "nope", "x"); !errors.Is(err, ErrNoChannel) {
		t.Errorf("unknown channel via socket: %v", err)
	}
	if _, err := c.Join(ctx, "sp1garbage"); !errors.Is(err, ErrBadInvite) {
		t.Errorf("bad code via socket: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.Daemon || st.PID != os.Getpid() || st.PeerID != n.PeerID() || len(st.Channels) != 1 { // a node that is not a daemon, served
		t.Errorf("status = %+v, %v", st, err)
	}
}

// TestControlFollow: a follower gets messages sent after it subscribed, and
// hanging up ends the daemon's side.
func TestControlFollow(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	srv, err := Serve(n, home)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, _ := Dial(ctx, home)
	if _, err := c.CreateChannel(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	got := make(chan Message, 4)
	done := make(chan error, 1)
	go func() {
		done <- c.Follow(fctx, "general", 0, func(m Message) error {
			select { // the loop below stops reading after the first
			case got <- m:
				return nil
			case <-fctx.Done():
				return fctx.Err()
			}
		})
	}()
	// Send until the follower has subscribed and seen one: no fixed sleep.
	var m Message
	for received := false; !received; {
		if _, err := n.Send(ctx, "general", "ping"); err != nil {
			t.Fatal(err)
		}
		select {
		case m = <-got:
			received = true
		case <-ctx.Done():
			t.Fatal("follower received nothing")
		default:
		}
	}
	if m.Text != "ping" || m.AuthorName != "alice" {
		t.Errorf("followed %+v", m)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Follow ended with %v", err)
	}
}

func TestDialNoDaemon(t *testing.T) {
	if _, err := Dial(context.Background(), t.TempDir()); !errors.Is(err, ErrNoDaemon) {
		t.Fatalf("Dial: %v, want ErrNoDaemon", err)
	}
}

// TestControlFollowServerStops: when the daemon stops, a follower learns
// that the daemon is gone (ErrClosed or ErrNoDaemon), never a bare
// "context canceled" that would end `messages --follow` instead of letting
// it follow on. The race between the server's context and its hang-up is
// tried many times.
func TestControlFollowServerStops(t *testing.T) {
	ctx := ctxT(t)
	home := newHome(t, "alice")
	n := open(t, home, false)
	if _, err := n.CreateChannel(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		srv, err := Serve(n, home)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Dial(ctx, home)
		if err != nil {
			t.Fatal(err)
		}
		subscribed := make(chan struct{}, 1)
		done := make(chan error, 1)
		go func() {
			done <- c.Follow(ctx, "general", 1, func(Message) error {
				select {
				case subscribed <- struct{}{}:
				default:
				}
				return nil
			})
		}()
		if _, err := n.Send(ctx, "general", "ping"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-subscribed:
		case <-ctx.Done():
			t.Fatal("follower received nothing")
		}
		srv.Close()
		if err := <-done; !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNoDaemon) {
			t.Fatalf("run %d: Follow ended with %v, want ErrClosed or ErrNoDaemon", i, err)
		}
	}
}
