package node

import (
	"context"
	"fmt"

	"github.com/spacepanda/spacepanda/p2p"
)

// Gate is p2p.Gate, named here for packages that may use the node but not
// p2p (the daemon command): a connection gater that makes partitions on
// purpose (Config.Gate).
type Gate = p2p.Gate

// NewGate returns a Gate that allows every peer.
func NewGate() *Gate { return p2p.NewGate() }

// ErrNoGate: the daemon was not started with a fault gate (the testbed's
// `daemon --fault-gate`), so it cannot be partitioned.
var ErrNoGate = fmt.Errorf("%w: this daemon has no fault gate (started without --fault-gate)", ErrInvalidInput)

// FaultBlock refuses connections to and from peers and closes the open
// ones: one side of a partition (the testbed, with --procs). It needs
// Config.Gate.
func (n *Node) FaultBlock(_ context.Context, peers []string) error {
	if n.cfg.Gate == nil {
		return ErrNoGate
	}
	ids := make([]p2p.PeerID, len(peers))
	for i, p := range peers {
		ids[i] = p2p.PeerID(p)
	}
	n.cfg.Gate.Block(ids...)
	return nil
}

// FaultUnblock heals what FaultBlock did.
func (n *Node) FaultUnblock(context.Context) error {
	if n.cfg.Gate == nil {
		return ErrNoGate
	}
	n.cfg.Gate.Unblock()
	return nil
}

// faulter is what the control methods fault.block and fault.unblock call.
type faulter interface {
	FaultBlock(ctx context.Context, peers []string) error
	FaultUnblock(ctx context.Context) error
}

// dispatchFault serves fault.block and fault.unblock; ok is false for
// another method.
func (s *ControlServer) dispatchFault(ctx context.Context, method string, p params) (err error, ok bool) {
	f, isFaulter := s.api.(faulter)
	switch method {
	case "fault.block":
		if !isFaulter {
			return ErrNoGate, true
		}
		return f.FaultBlock(ctx, p.Peers), true
	case "fault.unblock":
		if !isFaulter {
			return ErrNoGate, true
		}
		return f.FaultUnblock(ctx), true
	}
	return nil, false
}

// FaultBlock asks the daemon to refuse connections to and from peers (it
// must run with --fault-gate).
func (c *Client) FaultBlock(ctx context.Context, peers []string) error {
	return c.call(ctx, "fault.block", params{Peers: peers}, nil, nil)
}

// FaultUnblock asks the daemon to heal a FaultBlock.
func (c *Client) FaultUnblock(ctx context.Context) error {
	return c.call(ctx, "fault.unblock", params{}, nil, nil)
}
