package main

import (
	"context"
	"errors"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// ephemeralListen is where a command that runs the node for its own length
// listens: any free port, so that it never collides with a daemon's.
var ephemeralListen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}

// connect returns the API of the daemon serving the home or, without one,
// a node opened for the length of the command (with the network when the
// command needs it).
func (g *globals) connect(ctx context.Context, network bool) (node.API, error) {
	c, err := node.Dial(ctx, g.home)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, node.ErrNoDaemon) {
		return nil, err
	}
	return node.Open(ctx, node.Config{Home: g.home, Network: network, Listen: ephemeralListen,
		DisableMDNS: true, Logger: g.log, DeliveryWait: 5 * time.Second})
}

// with runs fn with the home's API and closes it afterwards.
func (g *globals) with(ctx context.Context, network bool, fn func(node.API) error) error {
	a, err := g.connect(ctx, network)
	if err != nil {
		return err
	}
	err = fn(a)
	return errors.Join(err, a.Close())
}
