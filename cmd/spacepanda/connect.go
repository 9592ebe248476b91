package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// ephemeralListen is where a command that runs the node for its own length
// listens: loopback only, on a free port. Such a node dials members; it
// need not be reachable, never takes a daemon's port, and never records its
// addresses as the home's (an invite carries the daemon's).
var ephemeralListen = []string{"/ip4/127.0.0.1/tcp/0"}

// deliveryWait is how long a command without a daemon waits for a member to
// take what it queued (docs/user-guide.md, "With and without the daemon"):
// 5 s, or SPACEPANDA_DELIVERY_WAIT (a Go duration) for slow machines and
// links.
var deliveryWait = envDuration("SPACEPANDA_DELIVERY_WAIT", 5*time.Second)

// envDuration reads a positive duration from the environment, or returns
// def when it is unset or not one.
func envDuration(name string, def time.Duration) time.Duration {
	d, err := time.ParseDuration(os.Getenv(name))
	if err != nil || d <= 0 {
		return def
	}
	return d
}

// homeWait is how long a command waits for the process that holds the home
// to start serving its control socket (a daemon starting) or let go of it
// (another command ending).
const homeWait = 15 * time.Second

// connect returns the API of the process serving the home (a daemon, or a
// command such as `messages --follow` that serves the socket) or, without
// one, a node opened for the length of the command (with the network when
// the command needs it).
func (g *globals) connect(ctx context.Context, network bool) (node.API, error) {
	deadline := time.Now().Add(homeWait)
	told := false
	for {
		c, err := node.Dial(ctx, g.home)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, node.ErrNoDaemon) {
			return nil, err
		}
		n, err := node.Open(ctx, g.nodeConfig(network))
		if !errors.Is(err, node.ErrHomeInUse) || time.Now().After(deadline) {
			return n, err
		}
		if !told && time.Until(deadline) < homeWait-time.Second {
			fmt.Fprintf(g.stderr, "spacepanda: waiting for the process that holds the home (%s)\n", clean(err.Error()))
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (g *globals) nodeConfig(network bool) node.Config {
	return node.Config{Home: g.home, Network: network, Listen: ephemeralListen, Holder: g.cmdPath,
		DisableMDNS: true, Logger: g.log, DeliveryWait: deliveryWait}
}

// with runs fn with the home's API and closes it afterwards. A node run for
// the command's length first waits (bounded, saying so) for members to take
// what is queued, and says what stays queued.
func (g *globals) with(ctx context.Context, network bool, fn func(node.API) error) error {
	a, err := g.connect(ctx, network)
	if err != nil {
		return err
	}
	err = fn(a)
	if n, ok := a.(*node.Node); ok && network && ctx.Err() == nil {
		g.drain(ctx, n)
	}
	return errors.Join(err, a.Close())
}

// drain waits up to deliveryWait for the outbox to empty.
func (g *globals) drain(ctx context.Context, n *node.Node) {
	left := n.Pending(ctx)
	if left == 0 {
		return
	}
	wctx, cancel := context.WithDeadline(ctx, n.Opened().Add(deliveryWait))
	defer cancel()
	if wctx.Err() == nil {
		fmt.Fprintf(g.stderr, "spacepanda: waiting for a member to take %s…\n", plural(left, "queued message"))
		left = n.WaitOutbox(wctx)
	}
	if left > 0 {
		verb := "stay"
		if left == 1 {
			verb = "stays"
		}
		fmt.Fprintf(g.stderr, "spacepanda: %s %s queued in the outbox; they go out the next time this home's node runs (a daemon, or a command that uses the network)\n",
			plural(left, "message"), verb)
	}
}

// plural formats a count and a noun: "1 message", "2 messages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
