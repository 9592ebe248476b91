package p2p

import (
	"errors"
	"fmt"
)

// Sentinel errors. Functions wrap them with %w, so test with errors.Is.
var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("p2p: host closed")
	// ErrBadKey means the private key given to New is not an Ed25519 key.
	ErrBadKey = errors.New("p2p: private key must be an Ed25519 seed (32 bytes) or private key (64 bytes)")
	// ErrBadPeerID means a peer ID string does not parse or does not carry
	// an Ed25519 public key.
	ErrBadPeerID = errors.New("p2p: bad peer ID")
	// ErrBadAddr means a multiaddr string does not parse or lacks /p2p/<id>.
	ErrBadAddr = errors.New("p2p: bad multiaddr")
	// ErrAlreadySubscribed means the topic already has a subscription on this host.
	ErrAlreadySubscribed = errors.New("p2p: already subscribed to topic")
	// ErrMessageTooLarge means a message exceeds Config.MaxMessageSize.
	ErrMessageTooLarge = errors.New("p2p: message too large")
	// ErrFrameTooLarge means a stream frame exceeds the protocol's size limit,
	// whether we were about to send it or a peer announced it.
	ErrFrameTooLarge = errors.New("p2p: frame too large")
	// ErrMalformedFrame means a peer sent a frame that does not decode.
	ErrMalformedFrame = errors.New("p2p: malformed frame")
	// ErrBadRecord means a DHT record is malformed, badly signed or stored
	// under a key that does not name its signer.
	ErrBadRecord = errors.New("p2p: bad record")
	// ErrNotFound means a DHT look-up found nothing.
	ErrNotFound = errors.New("p2p: not found")
	// ErrNoHandler means a protocol ID has no handler or an empty name.
	ErrNoHandler = errors.New("p2p: no handler for protocol")
)

// RemoteError is what a peer's request handler answered instead of a
// response. Its message is the peer's and must be treated as untrusted text.
type RemoteError struct {
	Protocol string
	Peer     PeerID
	Message  string
}

// Error implements error.
func (e *RemoteError) Error() string {
	return fmt.Sprintf("p2p: %s from %s: remote error: %s", e.Protocol, e.Peer, e.Message)
}
