package main

import (
	"bytes"
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
)

// FuzzRPC calls one RPC of a fixture server with fuzzed handles and bytes
// (fresh, or a valid message of the fixture with fuzzed bytes XORed in):
// no call panics, every error is a gRPC status other than Unknown and
// Unimplemented, and a call that fails changes nothing.
func FuzzRPC(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(0), []byte{})
	f.Add(uint8(5), uint8(1), uint8(1), []byte{0, 0, 0, 1})
	f.Add(uint8(9), uint8(0), uint8(2), []byte{0xff})
	f.Add(uint8(14), uint8(1), uint8(3), []byte("add"))
	f.Add(uint8(20), uint8(2), uint8(0), []byte{1, 2, 3})
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, op, handle, base uint8, data []byte) {
		if len(data) > 4096 {
			return
		}
		fx := fx.clone(t)
		h := []uint32{fx.a, fx.b, fx.x, fx.tx, fx.signer, 0, 9999}[int(handle)%7]
		msg := fx.message(base, data)
		before := fx.snapshot(t)
		err := fx.call(op, h, msg, data)
		if err == nil {
			return
		}
		st, ok := status.FromError(err)
		if !ok || st.Code() == codes.Unknown || st.Code() == codes.Unimplemented || st.Message() == "" {
			t.Fatalf("op %d: error %v is not a clear gRPC status", op, err)
		}
		if fx.snapshot(t) != before {
			t.Fatalf("op %d failed (%v) and changed the state", op, err)
		}
	})
}

// clone returns a copy of the fixture with its own server: the groups are
// copied through their serialized state, so one fuzz input cannot affect
// the next.
func (f *fixture) clone(t *testing.T) *fixture {
	t.Helper()
	c := *f
	c.s = newServer()
	c.s.last = f.s.last
	for h, st := range f.s.states {
		b, err := st.g.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		cp := *st
		if cp.g, err = unmarshalLike(b, st); err != nil {
			t.Fatal(err)
		}
		c.s.states[h] = &cp
	}
	for h, tx := range f.s.txs {
		c.s.txs[h] = tx
	}
	for h, sg := range f.s.signers {
		c.s.signers[h] = sg
	}
	return &c
}

// message is a fuzzed message: data alone, or a valid message of the
// fixture with data XORed into it.
func (f *fixture) message(base uint8, data []byte) []byte {
	var m []byte
	switch base % 5 {
	case 0:
		return data
	case 1:
		m = bytes.Clone(f.appMsg)
	case 2:
		m = bytes.Clone(f.commitOfB)
	case 3:
		m = bytes.Clone(f.kp)
	default:
		m = bytes.Clone(f.foreign)
	}
	for i, b := range data {
		m[i%len(m)] ^= b
	}
	return m
}

// call runs RPC op with handle h and the fuzzed bytes.
func (f *fixture) call(op uint8, h uint32, msg, data []byte) error {
	c, s := context.Background(), f.s
	var err error
	switch op % 24 {
	case 0:
		_, err = s.JoinGroup(c, &pb.JoinGroupRequest{TransactionId: h, Welcome: msg, RatchetTree: data})
	case 1:
		_, err = s.ExternalJoin(c, &pb.ExternalJoinRequest{GroupInfo: msg, RatchetTree: data, Identity: []byte("E")})
	case 2:
		_, err = s.Unprotect(c, &pb.UnprotectRequest{StateId: h, Ciphertext: msg})
	case 3:
		_, err = s.AddProposal(c, &pb.AddProposalRequest{StateId: h, KeyPackage: msg})
	case 4:
		_, err = s.RemoveProposal(c, &pb.RemoveProposalRequest{StateId: h, RemovedId: data})
	case 5:
		_, err = s.Commit(c, &pb.CommitRequest{StateId: h, ByReference: [][]byte{msg}})
	case 6:
		_, err = s.Commit(c, &pb.CommitRequest{StateId: h, ByValue: []*pb.ProposalDescription{{ProposalType: data, KeyPackage: msg, RemovedId: data, PskId: data}}})
	case 7:
		_, err = s.HandleCommit(c, &pb.HandleCommitRequest{StateId: h, Commit: msg})
	case 8:
		_, err = s.HandleCommit(c, &pb.HandleCommitRequest{StateId: h, Proposal: [][]byte{msg}, Commit: f.commitOfB})
	case 9:
		_, err = s.HandleReInitCommit(c, &pb.HandleCommitRequest{StateId: h, Commit: msg})
	case 10:
		_, err = s.GroupContextExtensionsProposal(c, &pb.GroupContextExtensionsProposalRequest{StateId: h, Extensions: []*pb.Extension{{ExtensionType: uint32(len(data)), ExtensionData: data}}})
	case 11:
		_, err = s.ReInitProposal(c, &pb.ReInitProposalRequest{StateId: h, CipherSuite: uint32(len(data)), GroupId: data})
	case 12:
		_, err = s.CreateBranch(c, &pb.CreateBranchRequest{StateId: h, GroupId: data, KeyPackages: [][]byte{msg}})
	case 13:
		_, err = s.HandleBranch(c, &pb.HandleBranchRequest{StateId: h, TransactionId: f.tx, Welcome: msg, RatchetTree: data})
	case 14:
		_, err = s.NewMemberAddProposal(c, &pb.NewMemberAddProposalRequest{GroupInfo: msg, Identity: data})
	case 15:
		_, err = s.AddExternalSigner(c, &pb.AddExternalSignerRequest{StateId: h, ExternalSender: msg})
	case 16:
		_, err = s.ExternalSignerProposal(c, &pb.ExternalSignerProposalRequest{SignerId: h, GroupInfo: msg, RatchetTree: data,
			Description: &pb.ProposalDescription{ProposalType: data, KeyPackage: msg, RemovedId: data}})
	case 17:
		_, err = s.Export(c, &pb.ExportRequest{StateId: h, Label: string(data), Context: msg, KeyLength: uint32(len(data)) * 97})
	case 18:
		_, err = s.StorePSK(c, &pb.StorePSKRequest{StateOrTransactionId: h, PskId: data, PskSecret: msg})
	case 19:
		_, err = s.ExternalPSKProposal(c, &pb.ExternalPSKProposalRequest{StateId: h, PskId: data})
	case 20:
		_, err = s.ResumptionPSKProposal(c, &pb.ResumptionPSKProposalRequest{StateId: h, EpochId: uint64(len(data))})
	case 21:
		_, err = s.HandleReInitWelcome(c, &pb.HandleReInitWelcomeRequest{ReinitId: h, Welcome: msg, RatchetTree: data})
	case 22:
		_, err = s.CreateGroup(c, &pb.CreateGroupRequest{GroupId: data, CipherSuite: uint32(len(msg)), Identity: data})
	default:
		_, err = s.Free(c, &pb.FreeRequest{StateId: h})
	}
	return err
}
