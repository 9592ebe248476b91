package mls

import (
	"fmt"
	"slices"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// leafCheck is leaf node validation (RFC 9420 §7.3) under one group's
// policy. Key uniqueness against the tree is checked by the caller, which
// knows which leaves the change replaces.
type leafCheck struct {
	suite  *cipher.Suite
	as     AuthenticationService
	now    time.Time           // zero: skip the lifetime check
	maxLT  time.Duration       // zero: no maximum lifetime
	source wire.LeafNodeSource // 0: any
	// groupExt are the GroupContext extensions in force, for
	// required_capabilities (§11.1) and extension support.
	groupExt wire.Extensions
}

// check validates ln as the leaf at index i of group groupID (the context
// of update and commit leaf signatures).
func (v *leafCheck) check(ln *wire.LeafNode, groupID []byte, i LeafIndex) error {
	if v.source != 0 && ln.LeafNodeSource != v.source {
		return fmt.Errorf("%w: leaf_node_source %d, want %d", ErrInvalidLeafNode, ln.LeafNodeSource, v.source)
	}
	if err := tree.VerifyLeafNode(v.suite, ln, groupID, tree.LeafIndex(i)); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidLeafNode, err)
	}
	return v.policy(ln)
}

// policy is check without the leaf_node_source and signature checks.
func (v *leafCheck) policy(ln *wire.LeafNode) error {
	if _, err := v.suite.ParseHPKEPublicKey(ln.EncryptionKey); err != nil {
		return fmt.Errorf("%w: encryption key: %w", ErrInvalidLeafNode, err)
	}
	if err := v.credential(ln); err != nil {
		return err
	}
	if ln.LeafNodeSource == wire.LeafNodeSourceKeyPackage {
		if !covers(ln.Lifetime, v.now) {
			return ErrExpired
		}
		if tooLong(ln.Lifetime, v.maxLT) {
			return fmt.Errorf("%w: lifetime longer than the maximum", ErrInvalidLeafNode)
		}
	}
	return v.capabilities(ln)
}

// tooLong reports whether a lifetime exceeds max (zero: no maximum).
func tooLong(l wire.Lifetime, max time.Duration) bool {
	if max <= 0 || l.NotAfter < l.NotBefore {
		return max > 0
	}
	return l.NotAfter-l.NotBefore > uint64(max/time.Second)
}

// credential asks the authentication service (§5.3.1).
func (v *leafCheck) credential(ln *wire.LeafNode) error {
	if v.as == nil {
		return fmt.Errorf("%w: no authentication service", ErrCredential)
	}
	if err := v.as.ValidateCredential(credentialFromWire(&ln.Credential), ln.SignatureKey); err != nil {
		return fmt.Errorf("%w: %w", ErrCredential, err)
	}
	return nil
}

// capabilities checks §7.3's capability rules for ln: its own credential
// type and extensions are listed, it supports the group's extensions and
// the required_capabilities extension.
func (v *leafCheck) capabilities(ln *wire.LeafNode) error {
	c := &ln.Capabilities
	if !slices.Contains(c.Credentials, ln.Credential.CredentialType) {
		return fmt.Errorf("%w: credential type %d not in capabilities", ErrCapabilities, ln.Credential.CredentialType)
	}
	if t, dup := ln.Extensions.Duplicate(); dup {
		return fmt.Errorf("%w: duplicate extension %d", ErrInvalidLeafNode, t)
	}
	for _, e := range ln.Extensions {
		if !supportsExtension(c, e.ExtensionType) {
			return fmt.Errorf("%w: leaf extension %d not in capabilities", ErrCapabilities, e.ExtensionType)
		}
	}
	return supportsGroup(c, v.groupExt)
}

// defaultExtension reports whether t is one of RFC 9420's extension types,
// which capabilities need not list (§7.2).
func defaultExtension(t wire.ExtensionType) bool { return t >= 1 && t <= 5 }

// defaultProposal reports whether t is one of RFC 9420's proposal types.
func defaultProposal(t wire.ProposalType) bool { return t >= 1 && t <= 7 }

func supportsExtension(c *wire.Capabilities, t wire.ExtensionType) bool {
	return defaultExtension(t) || slices.Contains(c.Extensions, t)
}

// supportsGroup checks that capabilities c support the GroupContext
// extensions gext and its required_capabilities (§11.1).
func supportsGroup(c *wire.Capabilities, gext wire.Extensions) error {
	for _, e := range gext {
		if !supportsExtension(c, e.ExtensionType) {
			return fmt.Errorf("%w: group extension %d", ErrCapabilities, e.ExtensionType)
		}
	}
	rc, err := requiredCapabilities(gext)
	if err != nil || rc == nil {
		return err
	}
	for _, t := range rc.ExtensionTypes {
		if !supportsExtension(c, t) {
			return fmt.Errorf("%w: required extension %d", ErrCapabilities, t)
		}
	}
	for _, t := range rc.ProposalTypes {
		if !defaultProposal(t) && !slices.Contains(c.Proposals, t) {
			return fmt.Errorf("%w: required proposal %d", ErrCapabilities, t)
		}
	}
	for _, t := range rc.CredentialTypes {
		if !slices.Contains(c.Credentials, t) {
			return fmt.Errorf("%w: required credential %d", ErrCapabilities, t)
		}
	}
	return nil
}

// requiredCapabilities decodes the required_capabilities extension of
// gext, or returns nil if there is none.
func requiredCapabilities(gext wire.Extensions) (*wire.RequiredCapabilities, error) {
	e := gext.Find(wire.ExtensionTypeRequiredCapabilities)
	if e == nil {
		return nil, nil
	}
	var rc wire.RequiredCapabilities
	if err := tls.Unmarshal(e.ExtensionData, &rc); err != nil {
		return nil, fmt.Errorf("%w: required_capabilities: %w", ErrInvalidProposal, err)
	}
	return &rc, nil
}

// externalSenders decodes the external_senders extension of gext, or
// returns nil if there is none (§12.1.8.1).
func externalSenders(gext wire.Extensions) (wire.ExternalSenders, error) {
	e := gext.Find(wire.ExtensionTypeExternalSenders)
	if e == nil {
		return nil, nil
	}
	var es wire.ExternalSenders
	if err := tls.Unmarshal(e.ExtensionData, &es); err != nil {
		return nil, fmt.Errorf("%w: external_senders: %w", ErrInvalidProposal, err)
	}
	return es, nil
}
