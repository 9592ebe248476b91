package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
	"github.com/spacepanda/spacepanda/mls"
)

// The RPCs that propose, commit and process commits (§12.1, §12.4).

// propose runs a Propose method of st's group and returns the proposal.
func (s *server) propose(h uint32, what string, f func(st *state) ([]byte, error)) (*pb.ProposalResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(h)
	if err != nil {
		return nil, err
	}
	p, err := f(st)
	if err != nil {
		return nil, rpcError(what, err)
	}
	return &pb.ProposalResponse{Proposal: p}, nil
}

func (s *server) AddProposal(_ context.Context, req *pb.AddProposalRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "add proposal", func(st *state) ([]byte, error) {
		kp, err := mls.UnmarshalKeyPackage(req.GetKeyPackage())
		if err != nil {
			return nil, err
		}
		return st.g.ProposeAdd(kp)
	})
}

func (s *server) UpdateProposal(_ context.Context, req *pb.UpdateProposalRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "update proposal", func(st *state) ([]byte, error) {
		return st.g.ProposeUpdate(rand.Reader)
	})
}

func (s *server) RemoveProposal(_ context.Context, req *pb.RemoveProposalRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "remove proposal", func(st *state) ([]byte, error) {
		leaf, err := memberByIdentity(st.g.Members(), req.GetRemovedId())
		if err != nil {
			return nil, err
		}
		return st.g.ProposeRemove(leaf)
	})
}

func (s *server) ExternalPSKProposal(_ context.Context, req *pb.ExternalPSKProposalRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "external PSK proposal", func(st *state) ([]byte, error) {
		if len(req.GetPskId()) == 0 {
			return nil, status.Error(codes.InvalidArgument, "empty psk_id")
		}
		return st.g.ProposePSK(rand.Reader, mls.PSKRef{ExternalID: bytes.Clone(req.GetPskId())})
	})
}

func (s *server) ResumptionPSKProposal(_ context.Context, req *pb.ResumptionPSKProposalRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "resumption PSK proposal", func(st *state) ([]byte, error) {
		return st.g.ProposePSK(rand.Reader, mls.PSKRef{Epoch: req.GetEpochId()})
	})
}

func (s *server) GroupContextExtensionsProposal(_ context.Context, req *pb.GroupContextExtensionsProposalRequest) (*pb.ProposalResponse, error) {
	return s.propose(req.GetStateId(), "group context extensions proposal", func(st *state) ([]byte, error) {
		es, err := extensions(req.GetExtensions())
		if err != nil {
			return nil, err
		}
		return st.g.ProposeGroupContextExtensions(es)
	})
}

// commitOptions turns the proposals by value of a CommitRequest into
// mls.CommitOptions.
func commitOptions(g *mls.Group, req *pb.CommitRequest) (mls.CommitOptions, error) {
	opts := mls.CommitOptions{ForcePath: req.GetForcePath(), RatchetTreeInWelcome: !req.GetExternalTree()}
	for i, d := range req.GetByValue() {
		switch string(d.GetProposalType()) {
		case "add":
			kp, err := mls.UnmarshalKeyPackage(d.GetKeyPackage())
			if err != nil {
				return opts, rpcError(fmt.Sprintf("by_value %d: key package", i), err)
			}
			opts.Adds = append(opts.Adds, kp)
		case "remove":
			leaf, err := memberByIdentity(g.Members(), d.GetRemovedId())
			if err != nil {
				return opts, err
			}
			opts.Removes = append(opts.Removes, leaf)
		case "externalPSK":
			if len(d.GetPskId()) == 0 {
				return opts, status.Errorf(codes.InvalidArgument, "by_value %d: empty psk_id", i)
			}
			opts.PSKs = append(opts.PSKs, mls.PSKRef{ExternalID: bytes.Clone(d.GetPskId())})
		case "resumptionPSK":
			opts.PSKs = append(opts.PSKs, mls.PSKRef{Epoch: d.GetEpochId()})
		case "groupContextExtensions":
			es, err := extensions(d.GetExtensions())
			if err != nil {
				return opts, err
			}
			if opts.SetExtensions {
				return opts, status.Errorf(codes.InvalidArgument, "by_value %d: a second groupContextExtensions", i)
			}
			opts.GroupContextExtensions, opts.SetExtensions = es, true
		default:
			return opts, status.Errorf(codes.InvalidArgument, "by_value %d: unsupported proposal_type %q", i, d.GetProposalType())
		}
	}
	return opts, nil
}

// Commit: the proposals by reference are processed first (this member's
// own come back as duplicates), then a commit covers them and those by
// value (§12.4). The commit stays pending until HandlePendingCommit.
func (s *server) Commit(_ context.Context, req *pb.CommitRequest) (*pb.CommitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commitLocked(req)
}

func (s *server) commitLocked(req *pb.CommitRequest) (*pb.CommitResponse, error) {
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	var resp *pb.CommitResponse
	err = st.transact(func() error {
		if err := st.receiveProposals(req.GetByReference()); err != nil {
			return err
		}
		opts, err := commitOptions(st.g, req)
		if err != nil {
			return err
		}
		out, err := st.g.Commit(rand.Reader, opts)
		if err != nil {
			return rpcError("commit", err)
		}
		resp = &pb.CommitResponse{Commit: out.Commit, Welcome: out.Welcome}
		if req.GetExternalTree() {
			resp.RatchetTree = out.RatchetTree // set when there is a Welcome
		}
		return nil
	})
	return resp, err
}

// HandleCommit: the proposals, then the commit of another member
// (§12.4.2). The state keeps its handle in the new epoch.
func (s *server) HandleCommit(_ context.Context, req *pb.HandleCommitRequest) (*pb.HandleCommitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if err := st.handleCommit(req); err != nil {
		return nil, err
	}
	return &pb.HandleCommitResponse{StateId: req.GetStateId(), EpochAuthenticator: st.g.EpochAuthenticator()}, nil
}

// handleCommit processes the proposals and the commit of req, atomically.
func (st *state) handleCommit(req *pb.HandleCommitRequest) error {
	return st.transact(func() error {
		if err := st.receiveProposals(req.GetProposal()); err != nil {
			return err
		}
		h, err := mls.PeekMessage(req.GetCommit())
		if err != nil {
			return rpcError("commit", err)
		}
		if h.ContentType != 3 {
			return status.Errorf(codes.InvalidArgument, "commit: not a commit (wire format %d, content type %d)", h.WireFormat, h.ContentType)
		}
		r, err := st.g.ProcessMessage(req.GetCommit(), time.Time{})
		if err != nil {
			return rpcError("commit", err)
		}
		if _, ok := r.(*mls.CommitApplied); !ok {
			return status.Errorf(codes.Internal, "commit: got %T", r)
		}
		return nil
	})
}

// HandlePendingCommit: this member's own commit took effect.
func (s *server) HandlePendingCommit(_ context.Context, req *pb.HandlePendingCommitRequest) (*pb.HandleCommitResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.state(req.GetStateId())
	if err != nil {
		return nil, err
	}
	if _, err := st.g.MergePendingCommit(); err != nil {
		return nil, rpcError("pending commit", err)
	}
	return &pb.HandleCommitResponse{StateId: req.GetStateId(), EpochAuthenticator: st.g.EpochAuthenticator()}, nil
}
