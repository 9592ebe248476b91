package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// MLS wire constants (RFC 9420 §6, §17.2) read by the topic validator.
const (
	mlsVersion10         = 1
	wireFormatPublic     = 1
	wireFormatPrivate    = 2
	maxGroupIDLen        = 255
	errHeaderPrefix      = "node: MLS header"
	mlsHeaderMinimumSize = 2 + 2 + 1 + 8
)

var errHeader = errors.New(errHeaderPrefix)

// checkHeader is the validator's framing check of an MLSMessage, without
// cryptography: MLS 1.0, a PublicMessage or PrivateMessage (the only wire
// formats a channel topic carries), whose group ID is the channel's and
// whose epoch is the envelope's. Both message kinds start with
// group_id<V> and epoch (§6.2, §6.3).
func checkHeader(msg, groupID []byte, epoch uint64) error {
	if len(msg) < mlsHeaderMinimumSize {
		return fmt.Errorf("%w: %d bytes", errHeader, len(msg))
	}
	if v := binary.BigEndian.Uint16(msg); v != mlsVersion10 {
		return fmt.Errorf("%w: version %d", errHeader, v)
	}
	if wf := binary.BigEndian.Uint16(msg[2:]); wf != wireFormatPublic && wf != wireFormatPrivate {
		return fmt.Errorf("%w: wire format %d on a channel topic", errHeader, wf)
	}
	n, size, err := readVarint(msg[4:])
	if err != nil {
		return err
	}
	rest := msg[4+size:]
	if n > maxGroupIDLen || uint64(len(rest)) < n+8 {
		return fmt.Errorf("%w: group ID length %d", errHeader, n)
	}
	if !bytes.Equal(rest[:n], groupID) {
		return fmt.Errorf("%w: another group", errHeader)
	}
	if e := binary.BigEndian.Uint64(rest[n:]); e != epoch {
		return fmt.Errorf("%w: epoch %d in an envelope of epoch %d", errHeader, e, epoch)
	}
	return nil
}

// readVarint reads an RFC 9420 §2.1.2 variable-length integer (1, 2 or 4
// bytes; the 8-byte form is invalid) and returns it and its size.
func readVarint(b []byte) (v uint64, size int, err error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: truncated", errHeader)
	}
	size = 1 << (b[0] >> 6)
	if size == 8 || len(b) < size {
		return 0, 0, fmt.Errorf("%w: bad length prefix", errHeader)
	}
	v = uint64(b[0] & 0x3f)
	for _, c := range b[1:size] {
		v = v<<8 | uint64(c)
	}
	return v, size, nil
}

// privateContentType returns the content type of a PrivateMessage from its
// framing alone (RFC 9420 §6.3: group_id, epoch, content_type,
// authenticated_data, encrypted_sender_data, ciphertext), without copying
// it as mls.PeekMessage does: every received message is asked whether it
// is an application message. ok is false for any other wire format, or
// when the framing does not add up to the message's length.
func privateContentType(msg []byte) (ct uint8, ok bool) {
	if len(msg) < 4 || binary.BigEndian.Uint16(msg) != mlsVersion10 || binary.BigEndian.Uint16(msg[2:]) != wireFormatPrivate {
		return 0, false
	}
	rest := msg[4:]
	skip := func() bool { // one opaque vector
		n, size, err := readVarint(rest)
		if err != nil || uint64(len(rest)-size) < n {
			return false
		}
		rest = rest[size+int(n):]
		return true
	}
	if !skip() || len(rest) < 9 {
		return 0, false
	}
	ct, rest = rest[8], rest[9:]
	for range 3 { // authenticated_data, encrypted_sender_data, ciphertext
		if !skip() {
			return 0, false
		}
	}
	return ct, len(rest) == 0
}
