package p2p

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	mh "github.com/multiformats/go-multihash"
)

// MDNSServiceName is the DNS-SD service under which hosts find each other on
// the LAN.
const MDNSServiceName = "_spacepanda-p2p._udp"

// Rendezvous: a caller-derived key (per channel) is hashed with SHA-256 into
// a CID, and hosts announce themselves as its providers in the DHT. Provider
// records expire after ProviderTTL; each advertised key is announced again
// every Config.AdvertiseInterval, well before that.

const (
	// rtPollInterval is how often the advertiser checks whether the routing
	// table has peers yet.
	rtPollInterval = 250 * time.Millisecond
	// retryInterval is the wait after a failed announcement.
	retryInterval = 10 * time.Second
	// provideTimeout bounds one announcement.
	provideTimeout = time.Minute
)

func rendezvousCID(key []byte) (cid.Cid, error) {
	if len(key) == 0 {
		return cid.Undef, fmt.Errorf("p2p: empty rendezvous key")
	}
	sum, err := mh.Sum(key, mh.SHA2_256, -1)
	if err != nil {
		return cid.Undef, fmt.Errorf("p2p: rendezvous key: %w", err)
	}
	return cid.NewCidV1(cid.Raw, sum), nil
}

// Advertise announces the host in the DHT under the rendezvous key and
// keeps announcing it every Config.AdvertiseInterval until StopAdvertising
// or Close. It returns at once: the first announcement goes out as soon as
// the routing table has a peer. Advertising a key twice is a no-op.
func (h *Host) Advertise(ctx context.Context, key []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := rendezvousCID(key)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.closed {
		return ErrClosed
	}
	if _, ok := h.mu.adverts[string(key)]; ok {
		return nil
	}
	actx, cancel := context.WithCancel(h.ctx)
	h.mu.adverts[string(key)] = cancel
	h.wg.Go(func() { h.advertiseLoop(actx, c) })
	return nil
}

// StopAdvertising stops re-announcing key. Existing provider records expire
// on their own after ProviderTTL.
func (h *Host) StopAdvertising(key []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cancel, ok := h.mu.adverts[string(key)]; ok {
		cancel()
		delete(h.mu.adverts, string(key))
	}
}

func (h *Host) advertiseLoop(ctx context.Context, c cid.Cid) {
	for {
		if !h.waitRoutingTable(ctx) {
			return
		}
		wait := h.cfg.AdvertiseInterval
		if err := h.provide(ctx, c); err != nil {
			h.log.Debug("p2p: advertise failed", "cid", c, "err", err)
			wait = retryInterval
		}
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

func (h *Host) provide(ctx context.Context, c cid.Cid) error {
	ctx, cancel := context.WithTimeout(ctx, provideTimeout)
	defer cancel()
	return h.dht.Provide(ctx, c, true)
}

// waitRoutingTable polls until the DHT routing table is non-empty, so that
// an announcement reaches someone. It reports false if ctx ends first.
func (h *Host) waitRoutingTable(ctx context.Context) bool {
	for h.dht.RoutingTable().Size() == 0 {
		if !sleepCtx(ctx, rtPollInterval) {
			return false
		}
	}
	return true
}

// FindPeers looks up the hosts advertising key, up to limit (0: no limit),
// leaving out this host. It returns what it found when ctx ends, with ctx's
// error only if it found nothing.
func (h *Host) FindPeers(ctx context.Context, key []byte, limit int) ([]PeerInfo, error) {
	if err := h.checkOpen(); err != nil {
		return nil, err
	}
	c, err := rendezvousCID(key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	count := 0 // the DHT's "no limit"
	if limit > 0 {
		count = limit + 1 // we may be among the providers
	}
	var out []PeerInfo
	for ai := range h.dht.FindProvidersAsync(ctx, c, count) {
		if ai.ID == h.h.ID() || ai.ID == "" {
			continue
		}
		out = append(out, fromAddrInfo(ai))
		if limit > 0 && len(out) == limit {
			break
		}
	}
	if len(out) == 0 && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return out, nil
}

// mdnsNotifee connects to hosts found on the LAN.
type mdnsNotifee struct{ h *Host }

// HandlePeerFound implements mdns.Notifee.
func (n mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	h := n.h
	if ai.ID == h.h.ID() {
		return
	}
	h.goTracked(func() {
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		defer cancel()
		if err := h.h.Connect(ctx, ai); err != nil {
			h.log.Debug("p2p: mdns connect failed", "peer", ai.ID, "err", err)
		}
	})
}

func (h *Host) startMDNS() (io.Closer, error) {
	s := mdns.NewMdnsService(h.h, MDNSServiceName, mdnsNotifee{h})
	if err := s.Start(); err != nil {
		return nil, fmt.Errorf("p2p: mdns: %w", err)
	}
	return s, nil
}
