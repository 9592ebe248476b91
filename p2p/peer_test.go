package p2p

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

func TestPeerIDKeyRoundTrip(t *testing.T) {
	sk := newKey(t)
	fromPriv, err := PeerIDFromPrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	fromSeed, err := PeerIDFromPrivateKey(sk.Seed())
	if err != nil {
		t.Fatal(err)
	}
	fromPub, err := PeerIDFromPublicKey(sk.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if fromPriv != fromSeed || fromPriv != fromPub {
		t.Fatalf("peer IDs differ: %s %s %s", fromPriv, fromSeed, fromPub)
	}
	pub, err := fromPriv.PublicKey()
	if err != nil || !bytes.Equal(pub, sk.Public().(ed25519.PublicKey)) {
		t.Fatalf("PublicKey = %x, %v", pub, err)
	}
	parsed, err := ParsePeerID(string(fromPriv))
	if err != nil || parsed != fromPriv {
		t.Fatalf("ParsePeerID = %s, %v", parsed, err)
	}
}

func TestPeerIDErrors(t *testing.T) {
	if _, err := ParsePeerID("not-a-peer"); !errors.Is(err, ErrBadPeerID) {
		t.Errorf("ParsePeerID: %v", err)
	}
	if _, err := PeerID("junk").PublicKey(); !errors.Is(err, ErrBadPeerID) {
		t.Errorf("PublicKey of junk: %v", err)
	}
	// A peer ID of a non-inlined (hashed) key carries no extractable key.
	if _, err := PeerID("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").PublicKey(); !errors.Is(err, ErrBadPeerID) {
		t.Errorf("PublicKey of an RSA-style ID: %v", err)
	}
	for _, n := range []int{0, 31, 33, 63, 65} {
		if _, err := PeerIDFromPrivateKey(make([]byte, n)); !errors.Is(err, ErrBadKey) {
			t.Errorf("%d-byte key: %v", n, err)
		}
	}
	if _, err := PeerIDFromPublicKey(make([]byte, 5)); !errors.Is(err, ErrBadKey) {
		t.Errorf("short public key: %v", err)
	}
}

func TestParsePeerInfo(t *testing.T) {
	id, _ := PeerIDFromPrivateKey(newKey(t))
	a1, a2 := "/ip4/127.0.0.1/tcp/9742", "/ip4/127.0.0.1/udp/9742/quic-v1"
	infos, err := ParsePeerInfo(a1+"/p2p/"+string(id), a2+"/p2p/"+string(id))
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].ID != id || len(infos[0].Addrs) != 2 {
		t.Fatalf("ParsePeerInfo = %+v", infos)
	}
	full := infos[0].FullAddrs()
	if full[0] != a1+"/p2p/"+string(id) {
		t.Errorf("FullAddrs = %v", full)
	}
	for _, bad := range []string{"/ip4/127.0.0.1/tcp/9742", "garbage", "/ip4/1.2.3.4/tcp/1/p2p/notapeer"} {
		if _, err := ParsePeerInfo(bad); !errors.Is(err, ErrBadAddr) {
			t.Errorf("ParsePeerInfo(%q): %v", bad, err)
		}
	}
}
