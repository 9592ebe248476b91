// Package p2p is the node's network layer and the only package that imports
// libp2p. It moves bytes and peer IDs and knows nothing of MLS or CRDTs.
//
// A Host (New) is a libp2p host built from the node's Ed25519 key, listening
// on TCP and QUIC, with a private Kademlia DHT (/spacepanda/kad/1.0.0) for
// rendezvous (Advertise, FindPeers) and signed records (PutRecord,
// GetRecord), gossipsub topics whose messages the caller's Validator
// judges (Subscribe, Publish), and request/response and framed streams on
// caller-named protocols (HandleRequest, Request, HandleStream,
// OpenStream). The API speaks plain Go types: peer IDs are PeerID strings
// and addresses are multiaddr strings, so callers never import libp2p.
//
// A Host is safe for concurrent use and its Close is idempotent and waits
// for every goroutine the Host started. The design, the gossip signing
// policy and the scoring parameters are explained in docs/p2p.md.
package p2p
