package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests. No
// goleak.Ignore option is needed: every goroutine libp2p, the DHT and
// gossipsub start for a Host ends once Host.Close returns (pubsub's score
// inspector goroutines end within microseconds, which goleak's retries
// absorb). Add an ignore only with the reason it is unavoidable.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newKey returns a fresh Ed25519 private key.
func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// testConfig is the configuration of a loopback test host: TCP on a free
// port of 127.0.0.1, DHT server, no multicast or UPnP traffic (tests must
// only talk to loopback).
func testConfig(t testing.TB) Config {
	return Config{
		PrivateKey:           newKey(t),
		ListenAddrs:          []string{"/ip4/127.0.0.1/tcp/0"},
		DisableMDNS:          true,
		DisableNATPortMap:    true,
		DHTMode:              DHTServer,
		scoreInspectInterval: 100 * time.Millisecond,
	}
}

// newTestHost starts a loopback host, closed when the test ends.
func newTestHost(t testing.TB, mods ...func(*Config)) *Host {
	t.Helper()
	cfg := testConfig(t)
	for _, m := range mods {
		m(&cfg)
	}
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// bootstrapTo makes a host dial b at start.
func bootstrapTo(b *Host) func(*Config) {
	return func(c *Config) { c.Bootstrap = b.Addrs() }
}

// connect connects a to b or fails the test. On this shared, loaded test
// machine a security handshake occasionally times out, so a failed dial is
// retried until a one-minute deadline; a host that cannot be reached at all
// still fails the test.
func connect(t testing.TB, a, b *Host) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := a.Connect(ctx, b.Info())
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or timeout passes, then fails with msg.
// Polling with a deadline, never a fixed sleep, is how these tests wait.
func waitFor(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %s", timeout, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
