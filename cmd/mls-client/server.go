package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
	"github.com/spacepanda/spacepanda/mls"
)

// server implements pb.MLSClientServer. Every RPC holds mu for its whole
// length: the runner drives one scenario at a time, and a group must not be
// used concurrently (mls.Group is owned by one goroutine).
//
// Handles: state, transaction, ReInit and signer IDs come from one counter,
// so the spaces are disjoint (StorePSK takes a state or a transaction ID).
// A state keeps its ID across epoch changes: every RPC that changes the
// epoch returns the same ID, and the group keeps the secrets of past epochs
// (mls.Config.PastEpochs) for messages that arrive late.
type server struct {
	pb.UnimplementedMLSClientServer

	mu      sync.Mutex
	last    uint32 // last handle given out
	states  map[uint32]*state
	txs     map[uint32]*transaction
	reinits map[uint32]*reinitState
	signers map[uint32]*mls.Identity
}

// state is one member's group.
type state struct {
	g    *mls.Group
	id   mls.Identity
	psks mls.PSKMap
	cfg  mls.Config
}

// transaction is a key package waiting for its Welcome (CreateKeyPackage,
// NewMemberAddProposal), with the PSKs stored for the join.
type transaction struct {
	bundle *mls.KeyPackageBundle
	psks   mls.PSKMap
}

// reinitState is a group ended by a committed ReInit, and this member's key
// package for the successor group (§11.2).
type reinitState struct {
	old    *state
	bundle *mls.KeyPackageBundle
}

func newServer() *server {
	return &server{states: map[uint32]*state{}, txs: map[uint32]*transaction{},
		reinits: map[uint32]*reinitState{}, signers: map[uint32]*mls.Identity{}}
}

// handle returns a fresh handle.
func (s *server) handle() uint32 {
	s.last++
	return s.last
}

// config returns the group configuration of a state: credentials are
// accepted as they are (the runner checks agreement, not identities) and
// PSKs come from the state's own store.
func config(psks mls.PSKMap, encryptHandshake bool) mls.Config {
	return mls.Config{AuthenticationService: mls.AcceptAllCredentials{}, PSKs: psks, PrivateHandshake: encryptHandshake}
}

// newState registers g and returns its handle.
func (s *server) newState(g *mls.Group, id mls.Identity, psks mls.PSKMap, cfg mls.Config) uint32 {
	h := s.handle()
	s.states[h] = &state{g: g, id: id, psks: psks, cfg: cfg}
	return h
}

func (s *server) state(h uint32) (*state, error) {
	st, ok := s.states[h]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown state_id %d", h)
	}
	return st, nil
}

func (s *server) transaction(h uint32) (*transaction, error) {
	tx, ok := s.txs[h]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown transaction_id %d", h)
	}
	return tx, nil
}

func (s *server) reinit(h uint32) (*reinitState, error) {
	r, ok := s.reinits[h]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "unknown reinit_id %d", h)
	}
	return r, nil
}

// transact runs f on st and restores st's group if f fails, so that a
// failed RPC changes nothing (f may process several messages, each of which
// mls applies on its own).
func (st *state) transact(f func() error) error {
	snap, err := st.g.MarshalBinary()
	if err != nil {
		return status.Errorf(codes.Internal, "snapshot: %v", err)
	}
	if err := f(); err != nil {
		g, rerr := mls.UnmarshalGroup(snap, st.cfg)
		if rerr != nil {
			return status.Errorf(codes.Internal, "restore after %v: %v", err, rerr)
		}
		st.g = g
		return err
	}
	return nil
}

// newIdentity makes a Basic-credential identity with a fresh signature key.
func newIdentity(suite uint32, identity []byte) (mls.Identity, error) {
	cs, err := cipherSuite(suite)
	if err != nil {
		return mls.Identity{}, err
	}
	if len(identity) == 0 {
		return mls.Identity{}, status.Error(codes.InvalidArgument, "empty identity")
	}
	priv, _, err := mls.GenerateSignatureKey(rand.Reader, cs)
	if err != nil {
		return mls.Identity{}, rpcError("signature key", err)
	}
	return mls.Identity{CipherSuite: cs, SignaturePrivateKey: priv, Credential: mls.BasicCredential(bytes.Clone(identity))}, nil
}

// suites are the cipher suites of RFC 9420 §17.1, all supported by mls.
var suites = []mls.CipherSuite{1, 2, 3, 4, 5, 6, 7}

func cipherSuite(v uint32) (mls.CipherSuite, error) {
	for _, cs := range suites {
		if uint32(cs) == v {
			return cs, nil
		}
	}
	return 0, status.Errorf(codes.InvalidArgument, "unsupported cipher suite %d", v)
}

// memberByIdentity finds the leaf whose Basic credential holds identity:
// the runner names members by identity.
func memberByIdentity(members []mls.Member, identity []byte) (mls.LeafIndex, error) {
	for _, m := range members {
		if bytes.Equal(m.Credential.Identity, identity) {
			return m.Index, nil
		}
	}
	return 0, status.Errorf(codes.InvalidArgument, "no member with identity %q", identity)
}

// rpcError turns an mls error into a gRPC status whose code says whose
// fault it is: input that does not decode or is invalid is InvalidArgument,
// something the state lacks or forbids now is FailedPrecondition.
func rpcError(what string, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.InvalidArgument
	switch {
	case errors.Is(err, mls.ErrPendingCommit), errors.Is(err, mls.ErrNoPendingCommit),
		errors.Is(err, mls.ErrInactive), errors.Is(err, mls.ErrProposalsPending),
		errors.Is(err, mls.ErrStaleEpoch), errors.Is(err, mls.ErrFutureEpoch),
		errors.Is(err, mls.ErrUnknownProposal), errors.Is(err, mls.ErrUnknownPSK),
		errors.Is(err, mls.ErrDuplicate), errors.Is(err, mls.ErrTooManyProposals):
		code = codes.FailedPrecondition
	case errors.Is(err, mls.ErrState):
		code = codes.Internal
	}
	return status.Error(code, fmt.Sprintf("%s: %v", what, err))
}

// extensions converts the proto's extensions.
func extensions(es []*pb.Extension) ([]mls.Extension, error) {
	out := make([]mls.Extension, 0, len(es))
	for _, e := range es {
		if e.GetExtensionType() > 0xffff {
			return nil, status.Errorf(codes.InvalidArgument, "extension type %d out of range", e.GetExtensionType())
		}
		out = append(out, mls.Extension{Type: uint16(e.GetExtensionType()), Data: bytes.Clone(e.GetExtensionData())})
	}
	return out, nil
}
