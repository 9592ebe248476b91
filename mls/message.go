package mls

import (
	"errors"
	"io"

	"github.com/spacepanda/spacepanda/mls/internal/framing"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// ErrProposalsPending: application data cannot be sent while proposals
// received in the epoch are uncommitted (RFC 9420 §12.4: a member that has
// observed valid proposals MUST commit before sending application data).
var ErrProposalsPending = errors.New("mls: uncommitted proposals; commit first")

// EncryptApplication encrypts data as a PrivateMessage of the current epoch
// (RFC 9420 §6.3), signed by this member, with aad sent in the clear as
// authenticated_data. The content is padded to a multiple of
// Config.PaddingBlock. It consumes one generation of this member's
// application ratchet: a group restored from bytes marshalled afterwards
// never reuses it.
func (g *Group) EncryptApplication(random io.Reader, data, aad []byte) ([]byte, error) {
	if !g.active {
		return nil, ErrInactive
	}
	if len(g.proposals) > 0 {
		return nil, ErrProposalsPending
	}
	content := wire.FramedContent{GroupID: g.gc.GroupID, Epoch: g.gc.Epoch,
		Sender:            wire.Sender{SenderType: wire.SenderTypeMember, LeafIndex: uint32(g.OwnLeaf())},
		AuthenticatedData: aad, ContentType: wire.ContentTypeApplication, ApplicationData: data}
	ac, err := framing.Sign(g.signer, wire.WireFormatPrivateMessage, &content, &g.gc)
	if err != nil {
		return nil, err
	}
	pm, err := framing.EncryptPrivate(g.suite, random, g.st, g.ep.senderData, ac, g.cfg.padding(len(data)))
	if err != nil {
		return nil, err
	}
	return tls.Marshal(&wire.MLSMessage{Version: wire.MLS10, WireFormat: wire.WireFormatPrivateMessage, PrivateMessage: pm})
}
