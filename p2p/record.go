package p2p

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/routing"
)

// DHT records are signed by the peer they are stored under, so that anyone
// can publish a key package for themselves and nobody for anyone else.
//
// Key:   /spacepanda/<kind>/<peer ID>
// Value: "SPR1" | version (uint64 BE) | payload length (uint32 BE) | payload
//        | Ed25519 signature (64 bytes)
// The signature covers recordDomain | key | version | length | payload, so a
// record cannot be replayed under another key or kind. Among valid records
// for a key the highest version wins.

const (
	recordNamespace = "spacepanda"
	recordMagic     = "SPR1"
	recordDomain    = "spacepanda/p2p/record/v1\x00"
	recordHeaderLen = len(recordMagic) + 8 + 4
	// MaxRecordPayload bounds the payload of a DHT record.
	MaxRecordPayload = 64 << 10
	maxKindLen       = 32
)

// KindKeyPackage is the record kind under which a member publishes its
// MLS KeyPackage, so that others can add it to a channel by peer ID.
const KindKeyPackage = "keypackage"

// Record is a signed DHT record as returned by GetRecord.
type Record struct {
	Kind    string
	Owner   PeerID
	Version uint64 // newer records have higher versions
	Payload []byte
}

// PutRecord signs payload with the host's key and stores it in the DHT under
// (kind, own peer ID), replacing older versions. kind is 1 to 32 characters
// of [a-z0-9-]. It returns ErrBadRecord for a bad kind or an oversized
// payload, and the DHT's error when no peer could be reached.
func (h *Host) PutRecord(ctx context.Context, kind string, payload []byte) error {
	if err := h.checkOpen(); err != nil {
		return err
	}
	key, err := recordKey(kind, h.ID())
	if err != nil {
		return err
	}
	sk := h.h.Peerstore().PrivKey(h.h.ID())
	raw, err := sk.Raw()
	if err != nil {
		return fmt.Errorf("p2p: record key: %w", err)
	}
	value, err := signRecord(ed25519.PrivateKey(raw), key, h.nextRecordVersion(), payload)
	if err != nil {
		return err
	}
	if err := h.dht.PutValue(ctx, key, value); err != nil {
		return fmt.Errorf("p2p: put record %s: %w", key, err)
	}
	return nil
}

// nextRecordVersion returns the current time in nanoseconds, or one more
// than the last version if the clock has not moved on.
func (h *Host) nextRecordVersion() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := max(uint64(time.Now().UnixNano()), h.mu.lastVersion+1)
	h.mu.lastVersion = v
	return v
}

// GetRecord fetches the newest valid record of kind published by owner. It
// returns ErrNotFound when the DHT has none.
func (h *Host) GetRecord(ctx context.Context, kind string, owner PeerID) (Record, error) {
	if err := h.checkOpen(); err != nil {
		return Record{}, err
	}
	key, err := recordKey(kind, owner)
	if err != nil {
		return Record{}, err
	}
	value, err := h.dht.GetValue(ctx, key)
	if errors.Is(err, routing.ErrNotFound) {
		return Record{}, fmt.Errorf("%w: record %s", ErrNotFound, key)
	}
	if err != nil {
		return Record{}, fmt.Errorf("p2p: get record %s: %w", key, err)
	}
	version, payload, err := verifyRecord(key, value)
	if err != nil {
		return Record{}, err
	}
	return Record{Kind: kind, Owner: owner, Version: version, Payload: payload}, nil
}

func recordKey(kind string, owner PeerID) (string, error) {
	if !validKind(kind) {
		return "", fmt.Errorf("%w: kind %q", ErrBadRecord, kind)
	}
	id, err := ParsePeerID(string(owner))
	if err != nil {
		return "", err
	}
	return "/" + recordNamespace + "/" + kind + "/" + string(id), nil
}

func validKind(kind string) bool {
	if kind == "" || len(kind) > maxKindLen {
		return false
	}
	for _, c := range kind {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// parseRecordKey splits a record key into kind and the owner's public key.
func parseRecordKey(key string) (string, ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(key, "/"+recordNamespace+"/")
	kind, id, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || !validKind(kind) {
		return "", nil, fmt.Errorf("%w: key %q", ErrBadRecord, key)
	}
	canon, err := ParsePeerID(id)
	if err != nil || string(canon) != id {
		return "", nil, fmt.Errorf("%w: key %q names no canonical peer ID", ErrBadRecord, key)
	}
	pub, err := canon.PublicKey()
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	return kind, pub, nil
}

func signRecord(sk ed25519.PrivateKey, key string, version uint64, payload []byte) ([]byte, error) {
	if len(payload) > MaxRecordPayload {
		return nil, fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrBadRecord, len(payload), MaxRecordPayload)
	}
	body := make([]byte, 0, recordHeaderLen+len(payload)+ed25519.SignatureSize)
	body = append(body, recordMagic...)
	body = binary.BigEndian.AppendUint64(body, version)
	body = binary.BigEndian.AppendUint32(body, uint32(len(payload)))
	body = append(body, payload...)
	return append(body, ed25519.Sign(sk, recordSigned(key, body))...), nil
}

func recordSigned(key string, body []byte) []byte {
	m := make([]byte, 0, len(recordDomain)+len(key)+1+len(body))
	m = append(m, recordDomain...)
	m = append(m, key...)
	m = append(m, 0)
	return append(m, body[len(recordMagic):]...)
}

// decodeRecord splits a record value without checking its signature.
func decodeRecord(value []byte) (version uint64, payload, body, sig []byte, err error) {
	if len(value) < recordHeaderLen+ed25519.SignatureSize || string(value[:len(recordMagic)]) != recordMagic {
		return 0, nil, nil, nil, fmt.Errorf("%w: bad header", ErrBadRecord)
	}
	version = binary.BigEndian.Uint64(value[len(recordMagic):])
	n := binary.BigEndian.Uint32(value[len(recordMagic)+8:])
	if n > MaxRecordPayload || int(n) != len(value)-recordHeaderLen-ed25519.SignatureSize {
		return 0, nil, nil, nil, fmt.Errorf("%w: bad payload length %d", ErrBadRecord, n)
	}
	body = value[:len(value)-ed25519.SignatureSize]
	return version, body[recordHeaderLen:], body, value[len(body):], nil
}

// verifyRecord checks that value is a well-formed record for key signed by
// the peer the key names, and returns its version and payload.
func verifyRecord(key string, value []byte) (uint64, []byte, error) {
	_, pub, err := parseRecordKey(key)
	if err != nil {
		return 0, nil, err
	}
	version, payload, body, sig, err := decodeRecord(value)
	if err != nil {
		return 0, nil, err
	}
	if !ed25519.Verify(pub, recordSigned(key, body), sig) {
		return 0, nil, fmt.Errorf("%w: signature does not match %s", ErrBadRecord, key)
	}
	return version, bytes.Clone(payload), nil
}

// recordValidator is the DHT validator of the /spacepanda namespace.
// It is stateless and safe for concurrent use.
type recordValidator struct{}

// Validate implements record.Validator.
func (recordValidator) Validate(key string, value []byte) error {
	_, _, err := verifyRecord(key, value)
	return err
}

// Select implements record.Validator: the highest version wins, ties go to
// the greatest bytes so that every peer picks the same record.
func (recordValidator) Select(key string, values [][]byte) (int, error) {
	best, bestVersion := -1, uint64(0)
	for i, v := range values {
		version, _, err := verifyRecord(key, v)
		if err != nil {
			continue
		}
		if best < 0 || version > bestVersion || version == bestVersion && bytes.Compare(v, values[best]) > 0 {
			best, bestVersion = i, version
		}
	}
	if best < 0 {
		return 0, fmt.Errorf("%w: no valid record for %s", ErrBadRecord, key)
	}
	return best, nil
}
