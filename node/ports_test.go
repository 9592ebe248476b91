package node

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
)

// TestLockPorts: a daemon's fixed ports are locked for its life, so a
// second daemon started at the same moment cannot also bind them with
// SO_REUSEPORT (the bind check alone let both through when neither had
// bound yet); the lock goes with Close.
func TestLockPorts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addrs := []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port)}
	// Eight daemons at once: exactly one gets the port.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*portLocks
	refused := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := lockPorts(addrs)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				pl := l.(portLocks)
				won = append(won, &pl)
			case errors.Is(err, ErrPortInUse):
				refused++
			default:
				t.Errorf("lockPorts: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(won) != 1 || refused != 7 {
		t.Fatalf("%d of 8 daemons got port %d, %d were refused; want 1 and 7", len(won), port, refused)
	}
	if len(*won[0]) != 1 {
		t.Fatalf("the winner holds %d locks, want 1", len(*won[0]))
	}
	won[0].Close()
	l, err := lockPorts(addrs)
	if err != nil {
		t.Fatalf("after the holder closed: %v", err)
	}
	l.Close()
	// Port 0 is never locked.
	if l, err := lockPorts([]string{"/ip4/127.0.0.1/tcp/0"}); err != nil || len(l.(portLocks)) != 0 {
		t.Fatalf("port 0: %v, %v", l, err)
	}
}
