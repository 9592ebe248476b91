package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// Config configures a Node.
type Config struct {
	// Home is the node's home directory. Required.
	Home string
	// Network starts the libp2p host; without it the node works on its
	// store only and operations that need peers fail with ErrOffline.
	Network bool
	// Listen are libp2p listen multiaddrs; empty means p2p's defaults.
	Listen []string
	// Bootstrap are full multiaddrs of peers to dial at start.
	Bootstrap []string
	// DisableMDNS turns LAN discovery off (tests on loopback).
	DisableMDNS bool
	// Relay makes the node a server node: a circuit relay v2 for peers
	// behind NAT and an always-on DHT server. Only for publicly reachable
	// machines (docs/nat.md).
	Relay bool
	// Passphrase is asked for when the store is protected by one; nil
	// means store.PromptPassphrase.
	Passphrase func() ([]byte, error)
	// Holder names the process in the home's lock (e.g. "spacepanda daemon").
	Holder string
	// Daemon marks the long-running node of the home: only it records its
	// listen addresses as the home's (what invites carry).
	Daemon bool
	// Logger receives diagnostics; nil means slog.Default(). Message text
	// and secrets are never logged.
	Logger *slog.Logger
	// DeliveryWait is how long Send waits for a member to become reachable
	// before it reports the message queued: a command that runs the node
	// for its own length sets it, a daemon leaves it 0.
	DeliveryWait time.Duration
	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
	// CrashFS, when set, holds the home in memory on a filesystem that can
	// crash for real (the testbed's in-process kill); nil is the disk.
	CrashFS *store.CrashFS
	// Gate, when set, is the host's connection gater (testbed partitions).
	Gate *p2p.Gate
	// FaultDropLive, when set, is fault injection for tests and the
	// testbed: a channel's live message (gossip or a member's delivery)
	// for which it returns true is lost, as a full gossipsub queue loses
	// it; only a sync can bring it. It is called concurrently.
	FaultDropLive func(channel string, envelope []byte) bool
}

// Node is a running SpacePanda node: its store, identity, one owner loop per
// channel and, when Config.Network is set, its libp2p host. It implements
// API. A Node is safe for concurrent use; Close stops it and waits for
// every goroutine it started.
type Node struct {
	cfg    Config
	opened time.Time // when Open returned
	log    *slog.Logger
	db     Store
	id     identity
	// ports holds the locks of a daemon's fixed listen ports (lockPorts).
	ports io.Closer
	eng   engine

	// nameMu serialises SetName (store, then every channel); name is the
	// current display name, read without a lock by the channel loops.
	nameMu sync.Mutex
	name   atomic.Pointer[string]
	host   *p2p.Host // nil when offline

	events      *eventHub   // the event stream (events.go)
	metrics     *metrics    // Prometheus metrics (metrics.go)
	syncLimit   syncLimiter // sync pages served per peer
	discovering atomic.Bool // a discovery round is running
	unsynced    atomic.Bool // applyNoSync wrote since the last syncUnsynced

	quit      chan struct{}
	ctx       context.Context // ends when the node closes
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	mu struct {
		sync.Mutex
		channels map[string]*channel
		// joinKeys are the key packages presented per invite (keyFor).
		joinKeys map[crdt.InviteHash]joinKey
		damaged  map[string]damagedChannel // stored channels that could not be restored
	}
}

var _ API = (*Node)(nil)

// Open opens the home's store, loads the identity, restores every channel
// (MLS group state and CRDT snapshot: cost per channel, not per message)
// and, with Config.Network, starts the network and delivers the outbox.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Passphrase == nil {
		cfg.Passphrase = store.PromptPassphrase()
	}
	opts := store.Options{Passphrase: cfg.Passphrase, Holder: cfg.Holder}
	if cfg.CrashFS != nil {
		opts.FS = cfg.CrashFS.FS()
	}
	db, err := store.Open(cfg.Home, opts)
	if errors.Is(err, store.ErrNotInitialized) {
		return nil, fmt.Errorf("%w: %s", ErrNotInitialized, cfg.Home)
	}
	if errors.Is(err, store.ErrHomeInUse) {
		return nil, fmt.Errorf("%w: %w", ErrHomeInUse, err)
	}
	if errors.Is(err, store.ErrCorrupt) || err != nil && !knownOpenError(err) {
		return nil, fmt.Errorf("%w: %w", ErrStoreDamaged, err)
	}
	if err != nil {
		return nil, fmt.Errorf("node: open: %w", err)
	}
	n, err := openWith(ctx, cfg, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	return n, nil
}

func openWith(ctx context.Context, cfg Config, db Store) (*Node, error) {
	id, err := loadIdentity(ctx, db)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, opened: time.Now(), log: cfg.Logger, db: db, id: id, eng: newEngine(id.key, id.peerID, cfg.Now), quit: make(chan struct{})}
	n.name.Store(&id.name)
	n.events, n.metrics = newEventHub(cfg.Now), newMetrics(n)
	n.db = meteredStore{Store: db, m: n.metrics}
	n.mu.channels = map[string]*channel{}
	n.mu.damaged = map[string]damagedChannel{}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.restore(ctx); err != nil {
		n.stopLoops()
		return nil, err
	}
	if cfg.Network && cfg.Daemon {
		ports, err := lockPorts(cfg.Listen)
		if err != nil {
			n.stopLoops()
			return nil, err
		}
		n.ports = ports
	}
	if cfg.Network {
		if err := n.startNetwork(ctx); err != nil {
			n.cancel()
			if n.host != nil {
				_ = n.host.Close() // as in Close: the host before the loops
			}
			n.stopLoops()
			if n.ports != nil {
				n.ports.Close()
			}
			return nil, err
		}
	}
	n.announceNames(ctx)
	return n, nil
}

// restore starts a loop for every stored channel.
func (n *Node) restore(ctx context.Context) error {
	states, err := n.db.Channels(ctx)
	if err != nil {
		return fmt.Errorf("node: restore: %w", err)
	}
	for _, cs := range states {
		s, err := restoreState(n, cs)
		if err != nil {
			// One channel that cannot be restored never stops the node:
			// it is reported damaged, and the rest works.
			n.log.Error("channel cannot be restored", "channel", string(cs.ID), "err", err)
			n.mu.Lock()
			n.mu.damaged[string(cs.ID)] = damagedChannel{id: string(cs.ID), err: err}
			n.mu.Unlock()
			continue
		}
		n.startChannel(s)
	}
	return nil
}

// startChannel starts the owner loop of s and registers it.
func (n *Node) startChannel(s *chanState) *channel {
	c := &channel{id: s.id, reqs: make(chan func(*chanState)), quit: n.quit, stop: make(chan struct{}), done: make(chan struct{})}
	c.groupID = s.groupID()
	s.c = c
	s.publishEpoch()
	n.mu.Lock()
	n.mu.channels[s.id] = c
	n.mu.Unlock()
	n.onChannel(s.id, "added", s.crdt.Metadata().Name)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		c.loop(s)
	}()
	return c
}

// Close stops the network and the channel loops, waits for them and closes
// the store. It is idempotent.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		// Goroutines that wait on the network or on a loop end first (their
		// context), then the host (its stream handlers may still need the
		// loops), then the loops.
		n.cancel()
		var errs []error
		if n.host != nil {
			errs = append(errs, n.host.Close())
		}
		if n.ports != nil {
			n.ports.Close() // after the host: its sockets are closed
		}
		n.stopLoops()
		errs = append(errs, n.db.Close())
		n.closeErr = errors.Join(errs...)
	})
	return n.closeErr
}

func (n *Node) stopLoops() {
	n.cancel()
	select {
	case <-n.quit:
	default:
		close(n.quit)
	}
	n.wg.Wait()
}

func (n *Node) nowMs() int64 { return n.cfg.Now().UnixMilli() }

// Opened returns when the node was opened.
func (n *Node) Opened() time.Time { return n.opened }

// PeerID returns the node's peer ID.
func (n *Node) PeerID() string { return n.id.peerID }

// channelList returns the channels sorted by ID.
func (n *Node) channelList() []*channel {
	n.mu.Lock()
	defer n.mu.Unlock()
	cs := make([]*channel, 0, len(n.mu.channels))
	for _, c := range n.mu.channels {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].id < cs[j].id })
	return cs
}

func (n *Node) channel(id string) *channel {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.channels[id]
}

// minPrefix is the fewest characters of an ID that name a channel (or a
// member, or a message) by prefix: one or two characters match by chance.
const minPrefix = 4

// resolve finds a channel by full ID, name or ID prefix (at least
// minPrefix characters). A reference that matches more than one channel,
// by name or prefix, is ambiguous: never a silent choice between them.
// Channels this node left or was removed from count only when no channel
// it is a member of matches: a channel left, and another of the same name
// joined, leave the name to the one joined (docs/user-guide.md).
func (n *Node) resolve(ctx context.Context, ref string) (*channel, error) {
	return n.resolvePreferring(ctx, ref, true)
}

// resolvePreferring is resolve, the channels this node is a member of
// preferred if member, else the others (those `channel forget` drops).
func (n *Node) resolvePreferring(ctx context.Context, ref string, member bool) (*channel, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty channel reference", ErrNoChannel)
	}
	if c := n.channel(ref); c != nil {
		return c, nil
	}
	var found, others []*channel // matches: preferred ones, the others
	lower := strings.ToLower(ref)
	for _, c := range n.channelList() {
		var name string
		var in bool
		if err := c.do(ctx, func(s *chanState) error {
			name, in = s.crdt.Metadata().Name, s.state() == StateMember
			return nil
		}); err != nil {
			return nil, err
		}
		if name == ref || len(ref) >= minPrefix && strings.HasPrefix(c.id, lower) {
			if in == member {
				found = append(found, c)
			} else {
				others = append(others, c)
			}
		}
	}
	if len(found) == 0 {
		found = others
	}
	var ids []string
	for _, c := range found {
		ids = append(ids, c.id[:min(len(c.id), 8)]+"…")
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if d, ok := n.findDamaged(ref); ok {
			return nil, d.error()
		}
		if len(ref) < minPrefix {
			return nil, fmt.Errorf("%w: %q (give a name, or at least %d characters of an ID)", ErrNoChannel, ref, minPrefix)
		}
		return nil, fmt.Errorf("%w: %q", ErrNoChannel, ref)
	}
	return nil, fmt.Errorf("%w: %q matches %d channels (%s); use the ID", ErrAmbiguous, ref, len(found), strings.Join(ids, ", "))
}

// knownOpenError reports errors of store.Open that are not damage: a wrong
// or missing passphrase, a newer format, a permission problem.
func knownOpenError(err error) bool {
	for _, e := range []error{store.ErrWrongPassphrase, store.ErrPassphraseRequired, store.ErrNewerFormat, os.ErrPermission, store.ErrExists, store.ErrHomePermissions} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
