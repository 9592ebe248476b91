package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
	"github.com/spacepanda/spacepanda/mls"
)

// The RPCs that create, join and query groups, and protect messages.

// clientName is what Name returns.
const clientName = "SpacePanda (Go)"

func (s *server) Name(context.Context, *pb.NameRequest) (*pb.NameResponse, error) {
	return &pb.NameResponse{Name: clientName}, nil
}

func (s *server) SupportedCiphersuites(context.Context, *pb.SupportedCiphersuitesRequest) (*pb.SupportedCiphersuitesResponse, error) {
	out := make([]uint32, len(suites))
	for i, cs := range suites {
		out[i] = uint32(cs)
	}
	return &pb.SupportedCiphersuitesResponse{Ciphersuites: out}, nil
}

// CreateGroup: a one-member group at epoch 0 (§11).
func (s *server) CreateGroup(_ context.Context, req *pb.CreateGroupRequest) (*pb.CreateGroupResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(req.GetGroupId()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "empty group_id")
	}
	id, err := newIdentity(req.GetCipherSuite(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	psks := mls.PSKMap{}
	cfg := config(psks, req.GetEncryptHandshake())
	g, err := mls.CreateGroup(rand.Reader, bytes.Clone(req.GetGroupId()), id, nil, cfg)
	if err != nil {
		return nil, rpcError("create group", err)
	}
	return &pb.CreateGroupResponse{StateId: s.newState(g, id, psks, cfg)}, nil
}

// CreateKeyPackage: a KeyPackage (§10) kept under a transaction ID until
// JoinGroup.
func (s *server) CreateKeyPackage(_ context.Context, req *pb.CreateKeyPackageRequest) (*pb.CreateKeyPackageResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := newIdentity(req.GetCipherSuite(), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	b, err := mls.NewKeyPackage(rand.Reader, id, mls.KeyPackageOptions{})
	if err != nil {
		return nil, rpcError("key package", err)
	}
	h := s.handle()
	s.txs[h] = &transaction{bundle: b, psks: mls.PSKMap{}}
	return &pb.CreateKeyPackageResponse{TransactionId: h, KeyPackage: b.KeyPackage().Marshal(),
		InitPriv: b.InitPrivateKey(), EncryptionPriv: b.EncryptionPrivateKey(), SignaturePriv: id.SignaturePrivateKey}, nil
}

// JoinGroup: join from a Welcome (§12.4.3.1); the ratchet tree comes in
// the Welcome or in ratchet_tree.
func (s *server) JoinGroup(_ context.Context, req *pb.JoinGroupRequest) (*pb.JoinGroupResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.transaction(req.GetTransactionId())
	if err != nil {
		return nil, err
	}
	cfg := config(tx.psks, req.GetEncryptHandshake())
	g, err := mls.JoinGroup(req.GetWelcome(), tx.bundle, nilIfEmpty(req.GetRatchetTree()), cfg, time.Time{})
	if err != nil {
		return nil, rpcError("join", err)
	}
	delete(s.txs, req.GetTransactionId())
	h := s.newState(g, tx.bundle.Identity(), tx.psks, cfg)
	return &pb.JoinGroupResponse{StateId: h, EpochAuthenticator: g.EpochAuthenticator()}, nil
}

// ExternalJoin: join by external commit (§12.4.3.2), optionally removing
// the joiner's prior appearance (resync) and injecting PSKs.
func (s *server) ExternalJoin(_ context.Context, req *pb.ExternalJoinRequest) (*pb.ExternalJoinResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum, err := mls.InspectGroupInfo(req.GetGroupInfo(), nilIfEmpty(req.GetRatchetTree()))
	if err != nil {
		return nil, rpcError("group info", err)
	}
	id, err := newIdentity(uint32(sum.CipherSuite), req.GetIdentity())
	if err != nil {
		return nil, err
	}
	psks := mls.PSKMap{}
	opts := mls.ExternalJoinOptions{RatchetTree: nilIfEmpty(req.GetRatchetTree())}
	for _, p := range req.GetPsks() {
		if len(p.GetPskId()) == 0 {
			return nil, status.Error(codes.InvalidArgument, "empty psk_id")
		}
		psks[string(p.GetPskId())] = bytes.Clone(p.GetPskSecret())
		opts.PSKs = append(opts.PSKs, mls.PSKRef{ExternalID: bytes.Clone(p.GetPskId())})
	}
	if req.GetRemovePrior() {
		leaf, err := memberByIdentity(sum.Members, req.GetIdentity())
		if err != nil {
			return nil, err
		}
		opts.Resync, opts.OldLeaf = true, leaf
	}
	cfg := config(psks, req.GetEncryptHandshake())
	g, commit, err := mls.JoinExternal(rand.Reader, req.GetGroupInfo(), id, cfg, opts)
	if err != nil {
		return nil, rpcError("external join", err)
	}
	h := s.newState(g, id, psks, cfg)
	return &pb.ExternalJoinResponse{StateId: h, Commit: commit, EpochAuthenticator: g.EpochAuthenticator()}, nil
}

// GroupInfo: a signed GroupInfo with external_pub (§12.4.3), with the
// ratchet tree inside unless external_tree.
func (s *server) GroupInfo(_ context.Context, req *pb.GroupInfoRequest) (*pb.GroupInfoResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	gi, err := st.g.GroupInfo(!req.GetExternalTree())
	if err != nil {
		return nil, rpcError("group info", err)
	}
	resp := &pb.GroupInfoResponse{GroupInfo: gi}
	if req.GetExternalTree() {
		if resp.RatchetTree, err = st.g.RatchetTree(); err != nil {
			return nil, rpcError("ratchet tree", err)
		}
	}
	return resp, nil
}

// StateAuth: the epoch authenticator (§8.7).
func (s *server) StateAuth(_ context.Context, req *pb.StateAuthRequest) (*pb.StateAuthResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	return &pb.StateAuthResponse{StateAuthSecret: st.g.EpochAuthenticator()}, nil
}

// maxExport bounds Export's key_length: HKDF-Expand gives at most 255 hash
// lengths (64-byte hashes at most in suites 1-7).
const maxExport = 255 * 32

// Export: MLS-Exporter (§8.5).
func (s *server) Export(_ context.Context, req *pb.ExportRequest) (*pb.ExportResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if req.GetKeyLength() > maxExport {
		return nil, status.Errorf(codes.InvalidArgument, "key_length %d above %d", req.GetKeyLength(), maxExport)
	}
	out, err := st.g.Export(req.GetLabel(), req.GetContext(), int(req.GetKeyLength()))
	if err != nil {
		return nil, rpcError("export", err)
	}
	return &pb.ExportResponse{ExportedSecret: out}, nil
}

// Protect: application data as a PrivateMessage (§6.3).
func (s *server) Protect(_ context.Context, req *pb.ProtectRequest) (*pb.ProtectResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	ct, err := st.g.EncryptApplication(rand.Reader, req.GetPlaintext(), req.GetAuthenticatedData())
	if err != nil {
		return nil, rpcError("protect", err)
	}
	return &pb.ProtectResponse{Ciphertext: ct}, nil
}

// Unprotect: decrypt application data of the current or a kept past epoch
// (§6.3, §14).
func (s *server) Unprotect(_ context.Context, req *pb.UnprotectRequest) (*pb.UnprotectResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	h, err := mls.PeekMessage(req.GetCiphertext())
	if err != nil {
		return nil, rpcError("unprotect", err)
	}
	if h.WireFormat != mls.WireFormatPrivateMessage || h.ContentType != 1 {
		return nil, status.Errorf(codes.InvalidArgument, "unprotect: not an application PrivateMessage (wire format %d, content type %d)", h.WireFormat, h.ContentType)
	}
	r, err := st.g.ProcessMessage(req.GetCiphertext(), time.Time{})
	if err != nil {
		return nil, rpcError("unprotect", err)
	}
	am, ok := r.(*mls.ApplicationMessage)
	if !ok {
		return nil, status.Errorf(codes.Internal, "unprotect: got %T", r)
	}
	return &pb.UnprotectResponse{AuthenticatedData: am.AuthenticatedData, Plaintext: am.Data}, nil
}

// StorePSK: an external PSK (§8.4) for a state or a pending join.
func (s *server) StorePSK(_ context.Context, req *pb.StorePSKRequest) (*pb.StorePSKResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(req.GetPskId()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "empty psk_id")
	}
	h := req.GetStateOrTransactionId()
	var psks mls.PSKMap
	switch {
	case s.states[h] != nil:
		psks = s.states[h].psks
	case s.txs[h] != nil:
		psks = s.txs[h].psks
	case s.reinits[h] != nil:
		psks = s.reinits[h].old.psks
	default:
		return nil, status.Errorf(codes.NotFound, "unknown state_or_transaction_id %d", h)
	}
	psks[string(req.GetPskId())] = bytes.Clone(req.GetPskSecret())
	return &pb.StorePSKResponse{}, nil
}

// Free forgets a handle. Freeing a handle already freed succeeds (the
// runner frees every handle it saw, and a handle may have been consumed by
// a join); a handle never given out is an error.
func (s *server) Free(_ context.Context, req *pb.FreeRequest) (*pb.FreeResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := req.GetStateId()
	if h == 0 || h > s.last {
		return nil, status.Errorf(codes.NotFound, "unknown handle %d", h)
	}
	delete(s.states, h)
	delete(s.txs, h)
	delete(s.reinits, h)
	delete(s.signers, h)
	return &pb.FreeResponse{}, nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// errNotProposal is returned when a message given as a proposal is not one.
var errNotProposal = errors.New("not a proposal")

// receiveProposals processes proposals (MLSMessages) for st's group. This
// member's own proposals come back as duplicates and are skipped.
func (st *state) receiveProposals(ps [][]byte) error {
	for i, p := range ps {
		h, err := mls.PeekMessage(p)
		if err != nil {
			return rpcError(fmt.Sprintf("proposal %d", i), err)
		}
		if h.ContentType != 2 {
			return rpcError(fmt.Sprintf("proposal %d", i), fmt.Errorf("%w: %w (content type %d)", mls.ErrWrongContentType, errNotProposal, h.ContentType))
		}
		_, err = st.g.ProcessMessage(p, time.Time{})
		if errors.Is(err, mls.ErrDuplicate) {
			continue
		}
		if err != nil {
			return rpcError(fmt.Sprintf("proposal %d", i), err)
		}
	}
	return nil
}
