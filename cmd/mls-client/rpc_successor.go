package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
	"github.com/spacepanda/spacepanda/mls"
)

// The RPCs of reinitialization (§11.2, §12.1.5) and subgroup branching
// (§11.3).

func (s *server) ReInitProposal(_ context.Context, req *pb.ReInitProposalRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "reinit proposal", func(st *state) ([]byte, error) {
		cs, err := cipherSuite(req.GetCipherSuite())
		if err != nil {
			return nil, err
		}
		es, err := extensions(req.GetExtensions())
		if err != nil {
			return nil, err
		}
		if len(req.GetGroupId()) == 0 {
			return nil, status.Error(codes.InvalidArgument, "empty group_id")
		}
		return st.g.ProposeReInit(bytes.Clone(req.GetGroupId()), cs, es)
	})
}

// ReInitCommit commits the ReInit proposal given by reference, like Commit.
func (s *server) ReInitCommit(_ context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commitLocked(req)
}

// HandlePendingReInitCommit: this member's commit of a ReInit took effect;
// the group is over and a key package for its successor is made.
func (s *server) HandlePendingReInitCommit(_ context.Context, req *pb.HandlePendingCommitRequest) (*pb.HandleReInitCommitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	err = st.transact(func() error {
		if _, err := st.g.MergePendingCommit(); err != nil {
			return rpcError("pending commit", err)
		}
		if _, _, ok := st.g.ReInitParams(); !ok {
			return status.Error(codes.FailedPrecondition, "the pending commit is not a ReInit")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.reinitLocked(st)
}

// HandleReInitCommit: another member's commit of a ReInit.
func (s *server) HandleReInitCommit(_ context.Context, req *pb.HandleCommitRequest) (*pb.HandleReInitCommitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	err = st.transact(func() error {
		if err := st.handleCommit(req); err != nil {
			return err
		}
		if _, _, ok := st.g.ReInitParams(); !ok {
			return status.Error(codes.InvalidArgument, "the commit is not a ReInit")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.reinitLocked(st)
}

// reinitLocked makes this member's key package for the successor of st's
// group, ended by a committed ReInit, under the same identity and the
// ReInit's suite.
func (s *server) reinitLocked(st *state) (*pb.HandleReInitCommitResponse, error) {
	_, cs, ok := st.g.ReInitParams()
	if !ok {
		return nil, status.Error(codes.FailedPrecondition, "no ReInit committed")
	}
	id, err := newIdentity(uint32(cs), st.id.Credential.Identity)
	if err != nil {
		return nil, err
	}
	b, err := mls.NewKeyPackage(rand.Reader, id, mls.KeyPackageOptions{})
	if err != nil {
		return nil, rpcError("key package", err)
	}
	h := s.handle()
	s.reinits[h] = &reinitState{old: st, bundle: b}
	return &pb.HandleReInitCommitResponse{ReinitId: h, KeyPackage: b.KeyPackage().Marshal(), EpochAuthenticator: st.g.EpochAuthenticator()}, nil
}

// keyPackages decodes the key packages of a request.
func keyPackages(raw [][]byte) ([]*mls.KeyPackage, error) {
	kps := make([]*mls.KeyPackage, len(raw))
	for i, r := range raw {
		kp, err := mls.UnmarshalKeyPackage(r)
		if err != nil {
			return nil, rpcError("key package", err)
		}
		kps[i] = kp
	}
	return kps, nil
}

// ReInitWelcome: this member creates the successor group and welcomes the
// others (§11.2).
func (s *server) ReInitWelcome(_ context.Context, req *pb.ReInitWelcomeRequest) (*pb.CreateSubgroupResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.reinit(req.GetReinitId())
	if err != nil {
		return nil, err
	}
	kps, err := keyPackages(req.GetKeyPackage())
	if err != nil {
		return nil, err
	}
	psks := mls.PSKMap{}
	cfg := config(psks, r.old.cfg.PrivateHandshake)
	opts := mls.SuccessorOptions{ForcePath: req.GetForcePath(), RatchetTreeInWelcome: !req.GetExternalTree()}
	g, out, err := r.old.g.NewReInitGroupWith(rand.Reader, r.bundle.Identity(), kps, cfg, opts)
	if err != nil {
		return nil, rpcError("reinit welcome", err)
	}
	return s.subgroupResponse(g, r.bundle.Identity(), psks, cfg, out, req.GetExternalTree()), nil
}

// subgroupResponse registers a new group and describes it.
func (s *server) subgroupResponse(g *mls.Group, id mls.Identity, psks mls.PSKMap, cfg mls.Config, out *mls.CommitOutput, externalTree bool) *pb.CreateSubgroupResponse {
	resp := &pb.CreateSubgroupResponse{StateId: s.newState(g, id, psks, cfg), Welcome: out.Welcome, EpochAuthenticator: g.EpochAuthenticator()}
	if externalTree {
		resp.RatchetTree = out.RatchetTree
	}
	return resp
}

// HandleReInitWelcome: join the successor group, proving membership of the
// old one by its reinit PSK (§11.2).
func (s *server) HandleReInitWelcome(_ context.Context, req *pb.HandleReInitWelcomeRequest) (*pb.JoinGroupResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.reinit(req.GetReinitId())
	if err != nil {
		return nil, err
	}
	psks := mls.PSKMap{}
	cfg := config(psks, r.old.cfg.PrivateHandshake)
	g, err := mls.JoinReInitGroup(req.GetWelcome(), r.bundle, nilIfEmpty(req.GetRatchetTree()), r.old.g, cfg, time.Time{})
	if err != nil {
		return nil, rpcError("reinit join", err)
	}
	return &pb.JoinGroupResponse{StateId: s.newState(g, r.bundle.Identity(), psks, cfg), EpochAuthenticator: g.EpochAuthenticator()}, nil
}

// CreateBranch: a subgroup of st's group with the members whose key
// packages are given (§11.3).
func (s *server) CreateBranch(_ context.Context, req *pb.CreateBranchRequest) (*pb.CreateSubgroupResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if len(req.GetGroupId()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "empty group_id")
	}
	es, err := extensions(req.GetExtensions())
	if err != nil {
		return nil, err
	}
	kps, err := keyPackages(req.GetKeyPackages())
	if err != nil {
		return nil, err
	}
	psks := mls.PSKMap{}
	cfg := config(psks, st.cfg.PrivateHandshake)
	opts := mls.SuccessorOptions{ForcePath: req.GetForcePath(), RatchetTreeInWelcome: !req.GetExternalTree()}
	g, out, err := st.g.Branch(rand.Reader, bytes.Clone(req.GetGroupId()), es, kps, cfg, opts)
	if err != nil {
		return nil, rpcError("branch", err)
	}
	return s.subgroupResponse(g, st.id, psks, cfg, out, req.GetExternalTree()), nil
}

// HandleBranch: join a subgroup of st's group from its Welcome (§11.3).
func (s *server) HandleBranch(_ context.Context, req *pb.HandleBranchRequest) (*pb.HandleBranchResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	tx, err := s.transaction(req.GetTransactionId())
	if err != nil {
		return nil, err
	}
	cfg := config(tx.psks, st.cfg.PrivateHandshake)
	g, err := mls.JoinBranch(req.GetWelcome(), tx.bundle, nilIfEmpty(req.GetRatchetTree()), st.g, cfg, time.Time{})
	if err != nil {
		return nil, rpcError("branch join", err)
	}
	delete(s.txs, req.GetTransactionId())
	return &pb.HandleBranchResponse{StateId: s.newState(g, tx.bundle.Identity(), tx.psks, cfg), EpochAuthenticator: g.EpochAuthenticator()}, nil
}
