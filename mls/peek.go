package mls

import (
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// MessageHeader is what an MLSMessage shows without keys (RFC 9420 §6):
// enough for a network validator's cheap checks (group, epoch, size, kind)
// before the group's owner processes it.
type MessageHeader struct {
	WireFormat  uint16 // 1 PublicMessage, 2 PrivateMessage, 3 Welcome, 4 GroupInfo, 5 KeyPackage
	GroupID     []byte // Public/PrivateMessage and GroupInfo
	Epoch       uint64 // Public/PrivateMessage and GroupInfo
	ContentType uint8  // Public/PrivateMessage: 1 application, 2 proposal, 3 commit
}

// Wire formats of MessageHeader (§17.2).
const (
	WireFormatPublicMessage  uint16 = 1
	WireFormatPrivateMessage uint16 = 2
	WireFormatWelcome        uint16 = 3
	WireFormatGroupInfo      uint16 = 4
	WireFormatKeyPackage     uint16 = 5
)

// PeekMessage decodes an MLSMessage and returns its header, without
// verifying anything. A message that does not decode gives an error
// matching ErrMalformed or ErrUnsupported.
func PeekMessage(data []byte) (*MessageHeader, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("mls: message: %w", err)
	}
	if m.Version != wire.MLS10 {
		return nil, fmt.Errorf("%w: protocol version %d", ErrUnsupported, m.Version)
	}
	h := &MessageHeader{WireFormat: uint16(m.WireFormat)}
	switch {
	case m.PublicMessage != nil:
		c := &m.PublicMessage.Content
		h.GroupID, h.Epoch, h.ContentType = c.GroupID, c.Epoch, uint8(c.ContentType)
	case m.PrivateMessage != nil:
		p := m.PrivateMessage
		h.GroupID, h.Epoch, h.ContentType = p.GroupID, p.Epoch, uint8(p.ContentType)
	case m.GroupInfo != nil:
		h.GroupID, h.Epoch = m.GroupInfo.GroupContext.GroupID, m.GroupInfo.GroupContext.Epoch
	}
	return h, nil
}
