package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Host is a SpacePanda network endpoint: a libp2p host with its private
// Kademlia DHT, gossipsub router, discovery and stream protocols. Create it
// with New and stop it with Close.
//
// A Host is safe for concurrent use.
type Host struct {
	cfg  Config
	log  *slog.Logger
	h    host.Host
	dht  *dht.IpfsDHT
	ps   *pubsub.PubSub
	mdns io.Closer // nil when mDNS is off
	boot []peer.AddrInfo
	// bootAttempts counts the rounds of bootstrap dials (bootstrap.go).
	bootAttempts atomic.Int64

	// ctx lives until Close; every goroutine the Host starts watches it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	abuse abuseTable // stream abuse per peer (abuse.go)
	ids   idCache    // text forms of peer IDs (peer.go)
	mu    struct {
		sync.Mutex
		closed      bool
		topics      map[string]*topicState
		adverts     map[string]context.CancelFunc
		scores      map[peer.ID]*pubsub.PeerScoreSnapshot
		streams     map[string]*streamCount // incoming streams served, per protocol
		lastVersion uint64
	}
}

// New starts a host with the identity and settings of cfg. It listens on
// cfg.ListenAddrs, starts the DHT (which dials the bootstrap peers in the
// background), gossipsub and, unless disabled, mDNS. ctx bounds only the
// start-up; the host runs until Close.
//
// It returns ErrBadKey for an unusable key and ErrBadAddr for an unusable
// listen or bootstrap address. On error nothing is left running.
func New(ctx context.Context, cfg Config) (_ *Host, err error) {
	cfg = cfg.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := &Host{cfg: cfg, log: cfg.Logger}
	h.mu.topics = map[string]*topicState{}
	h.mu.adverts = map[string]context.CancelFunc{}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			err = errors.Join(err, h.Close())
		}
	}()
	if err := h.start(cfg); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Host) start(cfg Config) error {
	boot, err := parseBootstrap(cfg.Bootstrap)
	if err != nil {
		return err
	}
	h.boot = boot
	lh, err := newLibp2pHost(cfg, h.relayPeerSource)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.h = lh
	h.mu.Unlock()
	if cfg.Gate != nil {
		cfg.Gate.attach(lh)
	}
	h.watchDirect()
	if h.dht, err = newDHT(h.h, cfg, boot); err != nil {
		return err
	}
	if h.ps, err = h.newPubSub(); err != nil {
		return err
	}
	h.keepBootstrapped()
	if !cfg.DisableMDNS {
		// LAN discovery is a convenience: a machine without a multicast
		// interface still runs, with the DHT and bootstrap peers only.
		if h.mdns, err = h.startMDNS(); err != nil {
			h.log.Warn("p2p: mDNS discovery off", "err", err)
		}
	}
	return nil
}

// Close stops discovery, gossip, the DHT and the libp2p host, and waits for
// the goroutines the Host started. It is idempotent: later calls return the
// first call's result.
func (h *Host) Close() error {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.mu.closed = true
		h.mu.Unlock()
		h.cancel()
		h.wg.Wait()
		h.closeErr = h.closeParts()
	})
	return h.closeErr
}

func (h *Host) closeParts() error {
	var errs []error
	if h.mdns != nil {
		errs = append(errs, h.mdns.Close())
	}
	if h.dht != nil {
		errs = append(errs, h.dht.Close())
	}
	if h.h != nil {
		errs = append(errs, h.h.Close())
	}
	return errors.Join(errs...)
}

// goTracked runs f in a goroutine that Close waits for. It reports false,
// and does not run f, once the Host is closing.
func (h *Host) goTracked(f func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.closed {
		return false
	}
	h.wg.Go(f)
	return true
}

// libp2p returns the libp2p host, nil while New has not built it. Only
// callbacks that libp2p may run during New need it; others read h.h.
func (h *Host) libp2p() host.Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.h
}

func (h *Host) checkOpen() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.closed {
		return ErrClosed
	}
	return nil
}

// ID returns the host's peer ID.
func (h *Host) ID() PeerID { return PeerID(h.h.ID().String()) }

// Addrs returns the host's listen addresses as full multiaddrs ending in
// /p2p/<id>, ready to hand to another peer's Config.Bootstrap or Connect.
func (h *Host) Addrs() []string {
	return h.Info().FullAddrs()
}

// Info returns the host's peer ID and addresses (without /p2p/).
func (h *Host) Info() PeerInfo {
	return fromAddrInfo(peer.AddrInfo{ID: h.h.ID(), Addrs: h.h.Addrs()})
}

// Peers returns the peers the host has a live connection to, sorted.
func (h *Host) Peers() []PeerID {
	var out []PeerID
	for _, p := range h.h.Network().Peers() {
		out = append(out, h.ids.of(p))
	}
	slices.Sort(out)
	return out
}

// Connected reports whether the host has a live connection to p, direct or
// through a relay.
func (h *Host) Connected(p PeerID) bool {
	id, err := p.decode()
	if err != nil {
		return false
	}
	c := h.h.Network().Connectedness(id)
	return c == network.Connected || c == network.Limited
}

// Connect dials p at the given addresses (and any the host already knows)
// unless a connection exists. Addresses may be relayed (/p2p-circuit). It returns ErrBadPeerID or ErrBadAddr for bad
// input, ErrClosed after Close, and otherwise the dial error.
func (h *Host) Connect(ctx context.Context, p PeerInfo) error {
	if err := h.checkOpen(); err != nil {
		return err
	}
	ai, err := p.addrInfo()
	if err != nil {
		return err
	}
	if ai.ID == h.h.ID() {
		return nil
	}
	// A connection through a relay is good enough: streams may use it.
	if err := h.h.Connect(network.WithAllowLimitedConn(ctx, "spacepanda"), ai); err != nil {
		return fmt.Errorf("p2p: connect %s: %w", p.ID, err)
	}
	return nil
}

// PeerAddrs returns the addresses the host knows for p, without /p2p/.
func (h *Host) PeerAddrs(p PeerID) []string {
	id, err := p.decode()
	if err != nil {
		return nil
	}
	return fromAddrInfo(h.h.Peerstore().PeerInfo(id)).Addrs
}

func parseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	infos, err := ParsePeerInfo(addrs...)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	out := make([]peer.AddrInfo, 0, len(infos))
	for _, pi := range infos {
		ai, err := pi.addrInfo()
		if err != nil {
			return nil, err
		}
		out = append(out, ai)
	}
	return out, nil
}

// sleepCtx waits d or until ctx is done, reporting whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
