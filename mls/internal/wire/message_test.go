package wire

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestMLSMessageVariants(t *testing.T) {
	msgs := []MLSMessage{
		{Version: MLS10, WireFormat: WireFormatPublicMessage, PublicMessage: &PublicMessage{Content: testContent(Sender{SenderType: SenderTypeExternal}, ContentTypeProposal)}},
		{Version: MLS10, WireFormat: WireFormatPrivateMessage, PrivateMessage: &PrivateMessage{ContentType: ContentTypeApplication}},
		{Version: MLS10, WireFormat: WireFormatWelcome, Welcome: &Welcome{CipherSuite: 1}},
		{Version: MLS10, WireFormat: WireFormatGroupInfo, GroupInfo: &GroupInfo{}},
		{Version: MLS10, WireFormat: WireFormatKeyPackage, KeyPackage: &KeyPackage{LeafNode: testLeaf(LeafNodeSourceKeyPackage)}},
	}
	for _, m := range msgs {
		var got MLSMessage
		roundTrip(t, &m, &got)
		if got.WireFormat != m.WireFormat || got.body() == nil {
			t.Errorf("wire format %d decoded as %+v", m.WireFormat, got)
		}
	}
}

func TestMLSMessageUnsupported(t *testing.T) {
	wantUnsupported(t, Unmarshal([]byte{0, 2, 0, 1}, new(MLSMessage)), "protocol_version", 2, 0)
	wantUnsupported(t, Unmarshal([]byte{0, 1, 0, 6}, new(MLSMessage)), "wire_format", 6, 2)
	wantUnsupported(t, Unmarshal([]byte{0, 1, 0xf0, 0}, new(MLSMessage)), "wire_format", 0xf000, 2)
	wantMalformed(t, Unmarshal([]byte{0, 1}, new(MLSMessage)), tls.ErrTruncated)
	wantMalformed(t, Unmarshal(nil, new(MLSMessage)), tls.ErrTruncated)
	if _, err := Marshal(&MLSMessage{Version: MLS10, WireFormat: WireFormatWelcome}); !errors.Is(err, ErrNoBody) {
		t.Fatalf("message without body: err = %v", err)
	}
}
