package mls

import (
	"fmt"
	"io"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// GenerateSignatureKey draws a fresh signature key pair for suite from
// random (§5.1.2): the private key in the form Identity.SignaturePrivateKey
// takes, and the public key as it appears in a leaf node.
func GenerateSignatureKey(random io.Reader, suite CipherSuite) (priv, pub []byte, err error) {
	cs, err := cipherSuite(suite)
	if err != nil {
		return nil, nil, err
	}
	return cs.GenerateSignatureKey(random)
}

// InitPrivateKey returns the HPKE private key of the key package's init key
// (§10). Like the other private keys of a bundle, it is a secret.
func (b *KeyPackageBundle) InitPrivateKey() []byte { return slices.Clone(b.initPriv) }

// EncryptionPrivateKey returns the HPKE private key of the leaf node's
// encryption key (§7.2).
func (b *KeyPackageBundle) EncryptionPrivateKey() []byte { return slices.Clone(b.encPriv) }

// GroupInfoSummary is what a GroupInfo says about its group, read without
// verifying anything (see InspectGroupInfo).
type GroupInfoSummary struct {
	CipherSuite CipherSuite
	GroupID     []byte
	Epoch       uint64
	Extensions  []Extension // GroupContext extensions (§8.1)
	Members     []Member    // the leaves of the ratchet tree; nil without a tree
}

// InspectGroupInfo decodes a GroupInfo MLSMessage (§12.4.3) and its
// ratchet tree (ratchetTree, the ratchet_tree contents, when the GroupInfo
// does not carry the extension) and reports the group's suite, ID, epoch,
// extensions and members (none if neither carries a tree). It verifies
// nothing: a non-member uses it to address the group (an external
// proposal, a removal by credential) and the group's members verify what
// it then sends. Errors match ErrMalformed, ErrUnsupported or
// ErrInvalidTree (a tree that does not decode).
func InspectGroupInfo(groupInfo, ratchetTree []byte) (*GroupInfoSummary, error) {
	var m wire.MLSMessage
	if err := wire.Unmarshal(groupInfo, &m); err != nil {
		return nil, fmt.Errorf("mls: group info: %w", err)
	}
	if m.WireFormat != wire.WireFormatGroupInfo || m.GroupInfo == nil {
		return nil, fmt.Errorf("%w: mls: not a group info", ErrMalformed)
	}
	gc := &m.GroupInfo.GroupContext
	suite, err := cipherSuite(CipherSuite(gc.CipherSuite))
	if err != nil {
		return nil, err
	}
	s := &GroupInfoSummary{CipherSuite: CipherSuite(gc.CipherSuite), GroupID: slices.Clone(gc.GroupID),
		Epoch: gc.Epoch, Extensions: extensionsFromWire(gc.Extensions)}
	if ratchetTree == nil && m.GroupInfo.Extensions.Find(wire.ExtensionTypeRatchetTree) == nil {
		return s, nil
	}
	t, err := groupTree(suite, m.GroupInfo, ratchetTree)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTree, err)
	}
	for i, ln := range t.Leaves() {
		s.Members = append(s.Members, memberOf(LeafIndex(i), ln))
	}
	return s, nil
}

// ExternalSender is an entry of the external_senders GroupContext
// extension (§12.1.8.1): a signer outside the group whose proposals the
// members accept.
type ExternalSender struct {
	SignatureKey []byte
	Credential   Credential
}

// Marshal encodes the ExternalSender struct of §12.1.8.1.
func (e ExternalSender) Marshal() []byte {
	b, _ := tls.Marshal(&wire.ExternalSender{SignatureKey: e.SignatureKey, Credential: credentialToWire(e.Credential)})
	return b
}

// UnmarshalExternalSender decodes an ExternalSender struct (§12.1.8.1).
// Errors match ErrMalformed.
func UnmarshalExternalSender(data []byte) (ExternalSender, error) {
	var w wire.ExternalSender
	if err := wire.Unmarshal(data, &w); err != nil {
		return ExternalSender{}, fmt.Errorf("mls: external sender: %w", err)
	}
	return ExternalSender{SignatureKey: w.SignatureKey, Credential: credentialFromWire(&w.Credential)}, nil
}

// ExternalSenders decodes the body of an external_senders extension
// (§12.1.8.1). Errors match ErrMalformed.
func ExternalSenders(data []byte) ([]ExternalSender, error) {
	var ws wire.ExternalSenders
	if err := wire.Unmarshal(data, &ws); err != nil {
		return nil, fmt.Errorf("mls: external senders: %w", err)
	}
	out := make([]ExternalSender, len(ws))
	for i, w := range ws {
		out[i] = ExternalSender{SignatureKey: w.SignatureKey, Credential: credentialFromWire(&w.Credential)}
	}
	return out, nil
}

// ExternalSendersExtension encodes es as an external_senders GroupContext
// extension (§12.1.8.1).
func ExternalSendersExtension(es []ExternalSender) Extension {
	ws := make(wire.ExternalSenders, len(es))
	for i, e := range es {
		ws[i] = wire.ExternalSender{SignatureKey: e.SignatureKey, Credential: credentialToWire(e.Credential)}
	}
	b, _ := tls.Marshal(&ws)
	return Extension{Type: ExtensionExternalSenders, Data: b}
}
