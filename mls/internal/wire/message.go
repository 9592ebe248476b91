package wire

import "github.com/spacepanda/spacepanda/mls/internal/tls"

// MLSMessage is RFC 9420 §6, the envelope of everything MLS sends. Exactly
// the field WireFormat selects is non-nil. Unmarshal gives an
// UnsupportedError for a protocol version other than mls10 or an unknown
// wire format, whose layout this implementation cannot know.
type MLSMessage struct {
	Version        ProtocolVersion
	WireFormat     WireFormat
	PublicMessage  *PublicMessage
	PrivateMessage *PrivateMessage
	Welcome        *Welcome
	GroupInfo      *GroupInfo
	KeyPackage     *KeyPackage
}

// body returns the variant WireFormat selects, or nil.
func (m *MLSMessage) body() tls.Marshaler {
	switch m.WireFormat {
	case WireFormatPublicMessage:
		return nilIf(m.PublicMessage)
	case WireFormatPrivateMessage:
		return nilIf(m.PrivateMessage)
	case WireFormatWelcome:
		return nilIf(m.Welcome)
	case WireFormatGroupInfo:
		return nilIf(m.GroupInfo)
	case WireFormatKeyPackage:
		return nilIf(m.KeyPackage)
	}
	return nil
}

// MarshalTLS implements tls.Marshaler.
func (m *MLSMessage) MarshalTLS(w *tls.Writer) {
	w.Uint16(uint16(m.Version))
	w.Uint16(uint16(m.WireFormat))
	if b := m.body(); b != nil {
		b.MarshalTLS(w)
	} else {
		w.Fail(ErrNoBody)
	}
}

// UnmarshalTLS implements tls.Unmarshaler.
func (m *MLSMessage) UnmarshalTLS(r *tls.Reader) {
	*m = MLSMessage{Version: ProtocolVersion(r.Uint16())}
	if r.Err() == nil && m.Version != MLS10 {
		failUnsupported(r, "protocol_version", uint64(m.Version), 2)
		return
	}
	m.WireFormat = WireFormat(r.Uint16())
	var b tls.Unmarshaler
	switch m.WireFormat {
	case WireFormatPublicMessage:
		m.PublicMessage = new(PublicMessage)
		b = m.PublicMessage
	case WireFormatPrivateMessage:
		m.PrivateMessage = new(PrivateMessage)
		b = m.PrivateMessage
	case WireFormatWelcome:
		m.Welcome = new(Welcome)
		b = m.Welcome
	case WireFormatGroupInfo:
		m.GroupInfo = new(GroupInfo)
		b = m.GroupInfo
	case WireFormatKeyPackage:
		m.KeyPackage = new(KeyPackage)
		b = m.KeyPackage
	default:
		failUnsupported(r, "wire_format", uint64(m.WireFormat), 2)
		return
	}
	b.UnmarshalTLS(r)
}
