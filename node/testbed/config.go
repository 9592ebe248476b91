package testbed

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// ErrNotAvailable is returned for a feature the testbed does not have yet.
var ErrNotAvailable = errors.New("testbed: not available yet")

// ErrConfig is returned for an unusable Config.
var ErrConfig = errors.New("testbed: bad configuration")

// Config describes a run. The zero value plus Nodes, Rate and Duration is a
// fault-free run in one process.
type Config struct {
	// Nodes is how many nodes join the channel (at least 2).
	Nodes int
	// Rate is the aggregate send rate in messages per second.
	Rate float64
	// Duration is how long the workload runs (it runs on while faults are
	// still in progress).
	Duration time.Duration
	// Seed fixes which nodes the faults hit and when.
	Seed int64

	// Kill crashes one node (no shutdown; its home loses everything not
	// fsynced) and restarts it from its home after KillPause.
	Kill bool
	// Partition splits the nodes into two halves for PartitionFor.
	Partition bool
	// Churn runs concurrent commits: a member leaves, another is removed,
	// two update their keys; the two that left come back with new codes.
	Churn bool
	// Offline stops one node while this many messages are sent, then
	// restarts it and measures its catch-up. 0: no offline phase.
	Offline int
	// Hostile is the number of strangers (hosts that are not members)
	// that publish junk, replays, tampered and far-future messages on the
	// channel's topic and open streams with lying frames during the
	// workload (hostile.go); with any, one hostile member joins too
	// (insider.go).
	Hostile int

	// Procs runs every node as a `spacepanda daemon` process of Binary,
	// driven through its control socket; a kill is a SIGKILL.
	Procs  bool
	Binary string

	// Baseline runs the same workload over raw gossipsub on as many hosts
	// in the same run (Report.Baseline).
	Baseline bool

	// KillPause is how long a crashed node stays down; 0 means 2 s.
	KillPause time.Duration
	// PartitionFor is how long a partition lasts; 0 means 15% of Duration,
	// between 2 s and 10 s.
	PartitionFor time.Duration
	// Settle bounds the wait for delivery and convergence after the
	// workload and after each fault; 0 means 60 s.
	Settle time.Duration
	// Senders is how many sends each node has in progress at most; 0
	// means 1. A Send returns once the post is durable and a member took
	// it (tens of milliseconds), so one at a time does not keep up with
	// much more than 20 messages a second per node; the command uses 8.
	Senders int

	// Dir is where homes are made; empty means a new temporary directory,
	// removed at the end unless Keep.
	Dir  string
	Keep bool

	// Progress, when set, is called about once a second.
	Progress func(Progress)
	// Logger receives the testbed's own events; nil discards them. Node
	// logs go to a file per node in the run's directory.
	// NodeLogLevel is the level of the nodes' own logs (nodeK.G.log in
	// the run's directory): slog.LevelInfo by default, debug to follow
	// catch-ups, anti-entropy and deliveries.
	NodeLogLevel slog.Level
	// LatencyFile, when set, receives every delivery of the workload as
	// CSV (message, sender, sent_s, ack_ms, receiver, latency_ms): the
	// figures behind Report.Latency, to see when and where the slow ones
	// were.
	LatencyFile string
	Logger      *slog.Logger

	// wrap, in tests, replaces what the testbed sees of a node: a broken
	// member proves the testbed's checks can fail.
	wrap func(slot int, v view) view
	// tamperTree, in tests, changes what the insider check reads of a
	// node's tree and roles, to show that the check can fail.
	tamperTree func(slot int, leaves []string, roles map[string]string) []string
}

// Progress is a snapshot of a running testbed.
type Progress struct {
	Elapsed    time.Duration
	Phase      string
	Sent       int // acknowledged sends so far
	Deliveries int // (message, member) first appearances so far
	Down       int // nodes down right now
}

func (c *Config) defaults() error {
	switch {
	case c.Nodes < 2:
		return fmt.Errorf("%w: at least 2 nodes", ErrConfig)
	case c.Rate <= 0 || c.Rate > 100000:
		return fmt.Errorf("%w: rate must be in (0, 100000] messages/s", ErrConfig)
	case c.Duration <= 0:
		return fmt.Errorf("%w: duration must be positive", ErrConfig)
	case c.Offline < 0:
		return fmt.Errorf("%w: offline must not be negative", ErrConfig)
	case c.Hostile < 0 || c.Hostile > 64:
		return fmt.Errorf("%w: hostile must be in [0, 64]", ErrConfig)
	case c.Procs && c.Binary == "":
		return fmt.Errorf("%w: --procs needs the spacepanda binary", ErrConfig)
	case c.Churn && c.Nodes < 4:
		return fmt.Errorf("%w: churn needs at least 4 nodes", ErrConfig)
	}
	if c.KillPause <= 0 {
		c.KillPause = 2 * time.Second
	}
	if c.PartitionFor <= 0 {
		c.PartitionFor = min(max(c.Duration*15/100, 2*time.Second), 10*time.Second)
	}
	if c.Settle <= 0 {
		c.Settle = 60 * time.Second
	}
	if c.Senders <= 0 {
		c.Senders = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}
