package p2p

import (
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/autorelay"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	libp2ptls "github.com/libp2p/go-libp2p/p2p/security/tls"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// DefaultPort is the TCP and UDP (QUIC) port a host listens on when
// Config.ListenAddrs is empty. It is fixed so that the addresses peers
// remember stay valid across restarts.
const DefaultPort = 9742

// DefaultListenAddrs are the listen addresses used when Config.ListenAddrs
// is empty: TCP and QUIC v1 on DefaultPort, IPv4 and IPv6, all interfaces.
var DefaultListenAddrs = []string{
	fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", DefaultPort),
	fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", DefaultPort),
	fmt.Sprintf("/ip6/::/tcp/%d", DefaultPort),
	fmt.Sprintf("/ip6/::/udp/%d/quic-v1", DefaultPort),
}

// DHTProtocolPrefix is the protocol prefix of SpacePanda's private DHT
// (/spacepanda/kad/1.0.0): SpacePanda nodes do not join the public IPFS DHT.
const DHTProtocolPrefix = "/spacepanda"

// DHTMode says whether the host answers DHT queries.
type DHTMode int

const (
	// DHTAutoServer serves DHT queries unless AutoNAT finds the host
	// unreachable. Loopback and LAN hosts, whose reachability AutoNAT
	// cannot establish, stay servers. It is the default.
	DHTAutoServer DHTMode = iota
	// DHTServer always serves DHT queries.
	DHTServer
	// DHTClient never serves DHT queries.
	DHTClient
)

// Config configures a Host. The zero value, plus a PrivateKey, is the
// production configuration.
type Config struct {
	// PrivateKey is the node's Ed25519 key: a 32-byte seed or a 64-byte
	// crypto/ed25519 private key. It fixes the peer ID. Required.
	PrivateKey []byte
	// ListenAddrs are multiaddrs to listen on; empty means DefaultListenAddrs.
	// Tests use "/ip4/127.0.0.1/tcp/0" (port 0: any free port).
	ListenAddrs []string
	// Bootstrap are full multiaddrs (with /p2p/<id>) of DHT peers to dial at
	// start and whenever the routing table runs empty.
	Bootstrap []string
	// DisableMDNS turns off LAN discovery by multicast DNS (on by default).
	DisableMDNS bool
	// DisableNATPortMap turns off UPnP/NAT-PMP port mapping on the gateway.
	DisableNATPortMap bool
	// RelayService makes the host a circuit relay v2 for others, with the
	// limits RelayLimitDuration and RelayLimitData per relayed connection;
	// enable it only on publicly reachable nodes (server nodes).
	RelayService bool
	// DHTMode chooses whether the host serves DHT queries.
	DHTMode DHTMode
	// PublicAddrsOnly drops private and loopback addresses from what the DHT
	// stores and hands out. Set it on nodes of an internet-wide network;
	// leave it off on LAN and loopback testbeds, whose only addresses are
	// private.
	PublicAddrsOnly bool
	// MaxMessageSize bounds gossip messages; 0 means 1 MiB.
	MaxMessageSize int
	// AdvertiseInterval is how often rendezvous keys are announced again;
	// 0 means one hour. Provider records live ProviderTTL (3 hours).
	AdvertiseInterval time.Duration
	// ConnLow and ConnHigh are the connection manager's watermarks; 0 means
	// 64 and 256.
	ConnLow, ConnHigh int
	// Logger receives the host's diagnostics; nil means slog.Default().
	Logger *slog.Logger
	// Gate, when set, refuses the connections it blocks (testbed
	// partitions); nil allows every peer.
	Gate *Gate
	// Metrics, when set, receives libp2p's own Prometheus metrics (the
	// host's: swarm, identify, hole punching, AutoNAT, relay) and
	// gossipsub's event counters (libp2p_pubsub_events_total); nil turns
	// them off.
	Metrics prometheus.Registerer

	// scoreInspectInterval overrides how often peer scores are sampled.
	scoreInspectInterval time.Duration
	// hideAddrs makes the host announce no direct address (tests only: it
	// keeps a connection through a relay from being replaced by a direct
	// one on loopback).
	hideAddrs bool
	// recordValidator replaces the DHT record validator (tests only: it lets
	// a test host behave as a forger).
	recordValidator record.Validator
}

// ProviderTTL is how long DHT peers keep a rendezvous announcement.
const ProviderTTL = 3 * time.Hour

// DefaultMaxMessageSize bounds gossip messages when Config.MaxMessageSize is 0.
const DefaultMaxMessageSize = 1 << 20

func (c Config) withDefaults() Config {
	if len(c.ListenAddrs) == 0 {
		c.ListenAddrs = DefaultListenAddrs
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.AdvertiseInterval <= 0 {
		c.AdvertiseInterval = time.Hour
	}
	if c.ConnLow <= 0 {
		c.ConnLow = 64
	}
	if c.ConnHigh <= c.ConnLow {
		c.ConnHigh = max(256, 2*c.ConnLow)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.scoreInspectInterval <= 0 {
		c.scoreInspectInterval = time.Second
	}
	return c
}

func newLibp2pHost(cfg Config, relays autorelay.PeerSource) (host.Host, error) {
	sk, err := unmarshalKey(cfg.PrivateKey)
	if err != nil {
		return nil, err
	}
	for _, a := range cfg.ListenAddrs {
		if _, err := ma.NewMultiaddr(a); err != nil {
			return nil, fmt.Errorf("listen: %w: %q: %v", ErrBadAddr, a, err)
		}
	}
	cm, err := connmgr.NewConnManager(cfg.ConnLow, cfg.ConnHigh, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	rm, err := newResourceManager()
	if err != nil {
		cm.Close()
		return nil, err
	}
	opts := []libp2p.Option{
		libp2p.Identity(sk),
		libp2p.ListenAddrStrings(cfg.ListenAddrs...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Security(libp2ptls.ID, libp2ptls.New),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(rm),
		libp2p.UserAgent("spacepanda"),
		libp2p.EnableNATService(),
		libp2p.EnableAutoNATv2(),
		libp2p.EnableRelay(),
		autoRelayOptions(relays),
		libp2p.EnableHolePunching(),
	}
	if !cfg.DisableNATPortMap {
		opts = append(opts, libp2p.NATPortMap())
	}
	if cfg.hideAddrs {
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return nil }))
	}
	if cfg.RelayService {
		// A server node is public by its operator's word: the relay
		// service runs only on a host that believes it is reachable, and
		// AutoNAT needs peers that dial back to find that out.
		opts = append(opts, libp2p.EnableRelayService(relay.WithResources(relayResources())), libp2p.ForceReachabilityPublic())
	}
	if cfg.Gate != nil {
		opts = append(opts, libp2p.ConnectionGater(cfg.Gate))
	}
	if cfg.Metrics != nil {
		opts = append(opts, libp2p.PrometheusRegisterer(cfg.Metrics))
	} else {
		opts = append(opts, libp2p.DisableMetrics())
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("p2p: libp2p host: %w", err)
	}
	return h, nil
}

// newResourceManager scales libp2p's default limits to the machine, with
// the defaults for libp2p's own services (identify, relay, autonat...).
func newResourceManager() (network.ResourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.AutoScale()))
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	return rm, nil
}

func newDHT(h host.Host, cfg Config, boot []peer.AddrInfo) (*dht.IpfsDHT, error) {
	var v record.Validator = record.NamespacedValidator{recordNamespace: recordValidator{}}
	if cfg.recordValidator != nil {
		v = cfg.recordValidator
	}
	opts := []dht.Option{
		dht.ProtocolPrefix(DHTProtocolPrefix),
		dht.Mode(dhtMode(cfg.DHTMode)),
		dht.Validator(v),
		dht.ProviderManagerOpts(records.ProvideValidity(ProviderTTL)),
		dht.BootstrapPeers(boot...),
	}
	if cfg.PublicAddrsOnly {
		opts = append(opts, dht.AddressFilter(publicAddrs), dht.QueryFilter(dht.PublicQueryFilter),
			dht.RoutingTableFilter(dht.PublicRoutingTableFilter))
	}
	d, err := dht.New(h, opts...)
	if err != nil {
		return nil, fmt.Errorf("p2p: dht: %w", err)
	}
	return d, nil
}

func dhtMode(m DHTMode) dht.ModeOpt {
	switch m {
	case DHTServer:
		return dht.ModeServer
	case DHTClient:
		return dht.ModeClient
	default:
		return dht.ModeAutoServer
	}
}

func publicAddrs(addrs []ma.Multiaddr) []ma.Multiaddr {
	return ma.FilterAddrs(addrs, manet.IsPublicAddr)
}
