package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
	"github.com/spacepanda/spacepanda/mls"
)

// The RPCs of proposals from outside the group (§12.1.8).

// NewMemberAddProposal: a would-be member proposes its own Add
// (new_member_proposal, §12.1.8); the key package waits under a
// transaction ID for the Welcome.
func (s *server) NewMemberAddProposal(_ context.Context, req *pb.NewMemberAddProposalRequest) (*pb.NewMemberAddProposalResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum, err := mls.InspectGroupInfo(req.GetGroupInfo(), nil)
	if err != nil {
		return nil, rpcError("group info", err)
	}
	id, err := newIdentity(uint32(sum.CipherSuite), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	b, err := mls.NewKeyPackage(rand.Reader, id, mls.KeyPackageOptions{})
	if err != nil {
		return nil, rpcError("key package", err)
	}
	p, err := mls.NewMemberProposal(b, sum.GroupID, sum.Epoch)
	if err != nil {
		return nil, rpcError("new member proposal", err)
	}
	h := s.handle()
	s.txs[h] = &transaction{bundle: b, psks: mls.PSKMap{}}
	return &pb.NewMemberAddProposalResponse{TransactionId: h, Proposal: p, InitPriv: b.InitPrivateKey(),
		EncryptionPriv: b.EncryptionPrivateKey(), SignaturePriv: id.SignaturePrivateKey}, nil
}

// CreateExternalSigner: a signer outside any group (§12.1.8.1), and the
// ExternalSender entry that names it.
func (s *server) CreateExternalSigner(_ context.Context, req *pb.CreateExternalSignerRequest) (*pb.CreateExternalSignerResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, err := cipherSuite(req.GetCipherSuite())
	if err != nil {
		return nil, err
	}
	if len(req.GetIdentity()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "empty identity")
	}
	priv, pub, err := mls.GenerateSignatureKey(rand.Reader, cs)
	if err != nil {
		return nil, rpcError("signature key", err)
	}
	cred := mls.BasicCredential(bytes.Clone(req.GetIdentity()))
	h := s.handle()
	s.signers[h] = &mls.Identity{CipherSuite: cs, SignaturePrivateKey: priv, Credential: cred}
	return &pb.CreateExternalSignerResponse{SignerId: h, ExternalSender: mls.ExternalSender{SignatureKey: pub, Credential: cred}.Marshal()}, nil
}

// AddExternalSigner: a GroupContextExtensions proposal that appends the
// signer to the external_senders extension (§12.1.7, §12.1.8.1).
func (s *server) AddExternalSigner(_ context.Context, req *pb.AddExternalSignerRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "add external signer", func(st *state) ([]byte, error) {
		es, err := withExternalSender(st.g.Extensions(), req.GetExternalSender())
		if err != nil {
			return nil, err
		}
		return st.g.ProposeGroupContextExtensions(es)
	})
}

// withExternalSender returns exts with sender appended to its
// external_senders extension (added if absent).
func withExternalSender(exts []mls.Extension, sender []byte) ([]mls.Extension, error) {
	e, err := mls.UnmarshalExternalSender(sender)
	if err != nil {
		return nil, err
	}
	out := make([]mls.Extension, 0, len(exts)+1)
	var senders []mls.ExternalSender
	for _, x := range exts {
		if x.Type != mls.ExtensionExternalSenders {
			out = append(out, x)
			continue
		}
		if senders, err = mls.ExternalSenders(x.Data); err != nil {
			return nil, err
		}
	}
	return append(out, mls.ExternalSendersExtension(append(senders, e))), nil
}

// ExternalSignerProposal: a proposal by an external signer for the group of
// the GroupInfo (§12.1.8.1).
func (s *server) ExternalSignerProposal(_ context.Context, req *pb.ExternalSignerProposalRequest) (*pb.ProposalResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.signers[req.GetSignerId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown signer_id %d", req.GetSignerId())
	}
	sum, err := mls.InspectGroupInfo(req.GetGroupInfo(), nilIfEmpty(req.GetRatchetTree()))
	if err != nil {
		return nil, rpcError("group info", err)
	}
	if sum.CipherSuite != id.CipherSuite {
		return nil, status.Errorf(codes.InvalidArgument, "signer of suite %d, group of suite %d", id.CipherSuite, sum.CipherSuite)
	}
	c, err := externalContent(sum, req.GetDescription())
	if err != nil {
		return nil, err
	}
	p, err := mls.NewExternalProposal(rand.Reader, *id, req.GetSignerIndex(), sum.GroupID, sum.Epoch, c)
	if err != nil {
		return nil, rpcError("external proposal", err)
	}
	return &pb.ProposalResponse{Proposal: p}, nil
}

// externalContent turns a ProposalDescription into an external proposal.
func externalContent(sum *mls.GroupInfoSummary, d *pb.ProposalDescription) (mls.ExternalProposalContent, error) {
	var c mls.ExternalProposalContent
	if d == nil {
		return c, status.Error(codes.InvalidArgument, "no description")
	}
	switch string(d.GetProposalType()) {
	case "add":
		kp, err := mls.UnmarshalKeyPackage(d.GetKeyPackage())
		if err != nil {
			return c, rpcError("key package", err)
		}
		c.Add = kp
	case "remove":
		if sum.Members == nil {
			return c, status.Error(codes.InvalidArgument, "remove: the group info carries no ratchet tree and none was given")
		}
		leaf, err := memberByIdentity(sum.Members, d.GetRemovedId())
		if err != nil {
			return c, err
		}
		c.Remove = &leaf
	case "externalPSK":
		if len(d.GetPskId()) == 0 {
			return c, status.Error(codes.InvalidArgument, "empty psk_id")
		}
		c.PSK = &mls.PSKRef{ExternalID: bytes.Clone(d.GetPskId())}
	case "resumptionPSK":
		c.PSK = &mls.PSKRef{Epoch: d.GetEpochId()}
	case "groupContextExtensions":
		es, err := extensions(d.GetExtensions())
		if err != nil {
			return c, err
		}
		c.GroupContextExtensions, c.SetExtensions = es, true
	case "reinit":
		cs, err := cipherSuite(d.GetCipherSuite())
		if err != nil {
			return c, err
		}
		es, err := extensions(d.GetExtensions())
		if err != nil {
			return c, err
		}
		if len(d.GetGroupId()) == 0 {
			return c, status.Error(codes.InvalidArgument, "reinit: empty group_id")
		}
		c.ReInit = &mls.ReInitContent{GroupID: bytes.Clone(d.GetGroupId()), CipherSuite: cs, Extensions: es}
	default:
		return c, status.Error(codes.InvalidArgument, fmt.Sprintf("unsupported proposal_type %q", d.GetProposalType()))
	}
	return c, nil
}
