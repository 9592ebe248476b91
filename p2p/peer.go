package p2p

import (
	"crypto/ed25519"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// PeerID is a libp2p peer ID in its canonical text form ("12D3KooW...").
// SpacePanda peers use Ed25519 keys, whose public key is inlined in the ID,
// so a PeerID can be checked against an MLS signature key with PublicKey.
type PeerID string

// String returns the canonical text form.
func (id PeerID) String() string { return string(id) }

// ParsePeerID parses and canonicalises a peer ID. It returns ErrBadPeerID
// when s is not a peer ID.
func ParsePeerID(s string) (PeerID, error) {
	p, err := peer.Decode(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPeerID, s, err)
	}
	return PeerID(p.String()), nil
}

// PublicKey returns the Ed25519 public key inlined in the peer ID, or
// ErrBadPeerID when the ID does not parse or holds another key type.
func (id PeerID) PublicKey() (ed25519.PublicKey, error) {
	p, err := id.decode()
	if err != nil {
		return nil, err
	}
	pk, err := p.ExtractPublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadPeerID, id, err)
	}
	if pk.Type() != crypto.Ed25519 {
		return nil, fmt.Errorf("%w: %s: not an Ed25519 key", ErrBadPeerID, id)
	}
	raw, err := pk.Raw()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadPeerID, id, err)
	}
	return ed25519.PublicKey(raw), nil
}

func (id PeerID) decode() (peer.ID, error) {
	decoded.Lock()
	p, ok := decoded.m[id]
	decoded.Unlock()
	if ok {
		return p, nil
	}
	p, err := peer.Decode(string(id))
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadPeerID, string(id), err)
	}
	decoded.Lock()
	if len(decoded.m) >= maxDecoded {
		clear(decoded.m)
	}
	decoded.m[id] = p
	decoded.Unlock()
	return p, nil
}

// decoded caches the peer IDs decode parsed: a node asks whether each
// member is connected on every delivery, and parsing the text form
// (base58, multihash) cost more than the lookup. Only IDs that parse are
// kept, at most maxDecoded (then the cache starts over), so junk IDs cost
// no memory.
var decoded = struct {
	sync.Mutex
	m map[PeerID]peer.ID
}{m: map[PeerID]peer.ID{}}

const maxDecoded = 4096

// PeerIDFromPublicKey returns the peer ID of an Ed25519 public key.
func PeerIDFromPublicKey(pub ed25519.PublicKey) (PeerID, error) {
	pk, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	p, err := peer.IDFromPublicKey(pk)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return PeerID(p.String()), nil
}

// PeerIDFromPrivateKey returns the peer ID of an Ed25519 private key given
// as a 32-byte seed or a 64-byte private key, the forms New accepts.
func PeerIDFromPrivateKey(key []byte) (PeerID, error) {
	sk, err := unmarshalKey(key)
	if err != nil {
		return "", err
	}
	p, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return PeerID(p.String()), nil
}

func unmarshalKey(key []byte) (crypto.PrivKey, error) {
	switch len(key) {
	case ed25519.SeedSize:
		key = ed25519.NewKeyFromSeed(key)
	case ed25519.PrivateKeySize:
	default:
		return nil, ErrBadKey
	}
	sk, err := crypto.UnmarshalEd25519PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return sk, nil
}

// PeerInfo is a peer ID with the multiaddrs it may be reached at. Addrs
// carry no /p2p/ suffix.
type PeerInfo struct {
	ID    PeerID
	Addrs []string
}

// ParsePeerInfo parses full multiaddrs ("/ip4/1.2.3.4/tcp/9742/p2p/12D3...")
// of one or more peers and groups them by peer. Every address must end in
// /p2p/<id>; otherwise it returns ErrBadAddr.
func ParsePeerInfo(addrs ...string) ([]PeerInfo, error) {
	mas := make([]ma.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadAddr, s, err)
		}
		mas = append(mas, a)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAddr, err)
	}
	out := make([]PeerInfo, 0, len(infos))
	for _, ai := range infos {
		out = append(out, fromAddrInfo(ai))
	}
	return out, nil
}

func fromAddrInfo(ai peer.AddrInfo) PeerInfo {
	pi := PeerInfo{ID: PeerID(ai.ID.String())}
	for _, a := range ai.Addrs {
		pi.Addrs = append(pi.Addrs, a.String())
	}
	return pi
}

func (pi PeerInfo) addrInfo() (peer.AddrInfo, error) {
	id, err := pi.ID.decode()
	if err != nil {
		return peer.AddrInfo{}, err
	}
	ai := peer.AddrInfo{ID: id}
	for _, s := range pi.Addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("%w: %q: %v", ErrBadAddr, s, err)
		}
		ai.Addrs = append(ai.Addrs, a)
	}
	return ai, nil
}

// FullAddrs returns the addresses with the /p2p/<id> suffix, the form
// ParsePeerInfo reads and invite codes carry.
func (pi PeerInfo) FullAddrs() []string {
	out := make([]string, 0, len(pi.Addrs))
	for _, a := range pi.Addrs {
		out = append(out, a+"/p2p/"+string(pi.ID))
	}
	return out
}

// idCache keeps the text form of the peer IDs a host meets: base58-encoding
// one costs about a microsecond and an allocation, and the validator, the
// subscriptions and TopicPeers encode the same few peers for every message
// (1.5 % of a busy node's CPU). It is bounded: past idCacheMax entries it
// starts afresh.
type idCache struct {
	mu sync.RWMutex
	m  map[peer.ID]PeerID
}

const idCacheMax = 4096

func (c *idCache) of(p peer.ID) PeerID {
	c.mu.RLock()
	id, ok := c.m[p]
	c.mu.RUnlock()
	if ok {
		return id
	}
	id = PeerID(p.String())
	c.mu.Lock()
	if c.m == nil || len(c.m) >= idCacheMax {
		c.m = make(map[peer.ID]PeerID)
	}
	c.m[p] = id
	c.mu.Unlock()
	return id
}
