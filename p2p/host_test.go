package p2p

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		want error
	}{
		{"short key", func(c *Config) { c.PrivateKey = make([]byte, 31) }, ErrBadKey},
		{"no key", func(c *Config) { c.PrivateKey = nil }, ErrBadKey},
		{"bad listen addr", func(c *Config) { c.ListenAddrs = []string{"/ip4/nonsense"} }, ErrBadAddr},
		{"bootstrap without peer ID", func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/1"} }, ErrBadAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			tt.mod(&cfg)
			h, err := New(context.Background(), cfg)
			if !errors.Is(err, tt.want) {
				if h != nil {
					h.Close()
				}
				t.Fatalf("New: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIdentityFromKey(t *testing.T) {
	cfg := testConfig(t)
	want, err := PeerIDFromPrivateKey(cfg.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.ID() != want {
		t.Errorf("ID = %s, want %s", h.ID(), want)
	}
	addrs := h.Addrs()
	if len(addrs) == 0 || !strings.HasPrefix(addrs[0], "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(addrs[0], "/p2p/"+string(want)) {
		t.Errorf("Addrs = %v", addrs)
	}
}

func TestCloseIdempotentAndErrClosed(t *testing.T) {
	h, err := New(context.Background(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, err := h.Subscribe(ctx, "t", func(context.Context, PeerID, []byte) Verdict { return Accept }); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if err := h.Publish(ctx, "t", []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if err := h.Advertise(ctx, []byte("k")); !errors.Is(err, ErrClosed) {
		t.Errorf("Advertise after Close: %v", err)
	}
	if _, err := h.FindPeers(ctx, []byte("k"), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("FindPeers after Close: %v", err)
	}
	if err := h.PutRecord(ctx, KindKeyPackage, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("PutRecord after Close: %v", err)
	}
	if _, err := h.Request(ctx, h.ID(), "/p", nil, Limits{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Request after Close: %v", err)
	}
}

// TestCloseWaitsForHandlers checks that Close cancels a running stream
// handler and returns only after the handler has.
func TestCloseWaitsForHandlers(t *testing.T) {
	a, b := newTestHost(t), newTestHost(t)
	connect(t, a, b)
	var started, finished atomic.Bool
	err := b.HandleStream("/test/block/1", Limits{Timeout: time.Minute}, func(ctx context.Context, s *Stream) {
		started.Store(true)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // a slow clean-up Close must wait for
		finished.Store(true)
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.OpenStream(context.Background(), b.ID(), "/test/block/1", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Reset()
	if err := s.WriteFrame(context.Background(), []byte("hi")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "handler start", started.Load)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the stream handler finished")
	}
}

func TestConnectQUIC(t *testing.T) {
	quicOnly := func(c *Config) { c.ListenAddrs = []string{"/ip4/127.0.0.1/udp/0/quic-v1"} }
	a, b := newTestHost(t, quicOnly), newTestHost(t, quicOnly)
	connect(t, a, b)
	if !a.Connected(b.ID()) || !b.Connected(a.ID()) {
		t.Fatal("not connected over QUIC")
	}
	if got := a.Peers(); len(got) != 1 || got[0] != b.ID() {
		t.Errorf("Peers = %v, want [%s]", got, b.ID())
	}
}

// TestDefaultDHTModeServesOnLoopback checks that with the default mode
// (DHTAutoServer) loopback hosts, whose reachability AutoNAT cannot tell,
// serve the DHT: only servers enter routing tables.
func TestDefaultDHTModeServesOnLoopback(t *testing.T) {
	auto := func(c *Config) { c.DHTMode = DHTAutoServer }
	a := newTestHost(t, auto)
	b := newTestHost(t, auto, bootstrapTo(a))
	waitFor(t, 20*time.Second, "each host in the other's routing table", func() bool {
		return a.dht.RoutingTable().Find(b.h.ID()) != "" && b.dht.RoutingTable().Find(a.h.ID()) != ""
	})
}

func TestCloseUnblocksNext(t *testing.T) {
	h, err := New(context.Background(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := h.Subscribe(context.Background(), "t", acceptAll)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		done <- err
	}()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Next after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next still blocked after Close")
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("Subscription.Close after host Close: %v", err)
	}
}
