package node

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// quiet is a logger for tests that discards everything.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newHome initialises a home on disk (real Pebble) and returns its path.
func newHome(t testing.TB, name string) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), name)
	if _, err := Init(context.Background(), home, name, nil); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return home
}

// open opens a node on home, closed when the test ends.
func open(t testing.TB, home string, network bool) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Home: home, Network: network, Logger: quiet,
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// openDropping opens an online node whose live gossip and deliveries go
// through drop first (Config.FaultDropLive).
func openDropping(t testing.TB, home string, drop func(channel string, envelope []byte) bool) *Node {
	t.Helper()
	n, err := Open(context.Background(), Config{Home: home, Network: true, Logger: quiet,
		Listen: []string{"/ip4/127.0.0.1/tcp/0"}, DisableMDNS: true, FaultDropLive: drop})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// texts returns the texts of a timeline.
func texts(ms []Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}
