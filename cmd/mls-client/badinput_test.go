package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
	"github.com/spacepanda/spacepanda/mls"
)

// fixture is a server in process with two groups: A and B in group one
// (states a, b), X alone in group two (state x), a key package (tx), a
// commit of group two (foreign) and an application message of group one
// (appMsg, from a to b).
type fixture struct {
	s            *server
	a, b, x, tx  uint32
	kp, kpSuite2 []byte
	foreign      []byte
	appMsg       []byte
	signer       uint32
	commitOfB    []byte // a valid commit of group one, not applied anywhere
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s := newServer()
	c := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{s: s}
	ra, err := s.CreateGroup(c, &pb.CreateGroupRequest{GroupId: []byte("one"), CipherSuite: 1, Identity: []byte("A")})
	must(err)
	f.a = ra.StateId
	kb, err := s.CreateKeyPackage(c, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("B")})
	must(err)
	out, err := s.Commit(c, &pb.CommitRequest{StateId: f.a, ByValue: []*pb.ProposalDescription{{ProposalType: []byte("add"), KeyPackage: kb.KeyPackage}}})
	must(err)
	_, err = s.HandlePendingCommit(c, &pb.HandlePendingCommitRequest{StateId: f.a})
	must(err)
	rb, err := s.JoinGroup(c, &pb.JoinGroupRequest{TransactionId: kb.TransactionId, Welcome: out.Welcome, Identity: []byte("B")})
	must(err)
	f.b = rb.StateId
	rx, err := s.CreateGroup(c, &pb.CreateGroupRequest{GroupId: []byte("two"), CipherSuite: 1, Identity: []byte("X")})
	must(err)
	f.x = rx.StateId
	kc, err := s.CreateKeyPackage(c, &pb.CreateKeyPackageRequest{CipherSuite: 1, Identity: []byte("C")})
	must(err)
	f.tx, f.kp = kc.TransactionId, kc.KeyPackage
	k2, err := s.CreateKeyPackage(c, &pb.CreateKeyPackageRequest{CipherSuite: 2, Identity: []byte("D")})
	must(err)
	f.kpSuite2 = k2.KeyPackage
	fc, err := s.Commit(c, &pb.CommitRequest{StateId: f.x, ForcePath: true})
	must(err)
	f.foreign = fc.Commit
	_, err = s.HandlePendingCommit(c, &pb.HandlePendingCommitRequest{StateId: f.x})
	must(err)
	pm, err := s.Protect(c, &pb.ProtectRequest{StateId: f.a, Plaintext: []byte("hi")})
	must(err)
	f.appMsg = pm.Ciphertext
	sg, err := s.CreateExternalSigner(c, &pb.CreateExternalSignerRequest{CipherSuite: 1, Identity: []byte("DS")})
	must(err)
	f.signer = sg.SignerId
	snap, err := s.states[f.b].g.MarshalBinary()
	must(err)
	cb, err := s.Commit(c, &pb.CommitRequest{StateId: f.b, ForcePath: true})
	must(err)
	f.commitOfB = cb.Commit
	s.states[f.b].g, err = mls.UnmarshalGroup(snap, s.states[f.b].cfg)
	must(err)
	return f
}

// snapshot is everything the server holds, as bytes.
func (f *fixture) snapshot(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, h := range slices.Sorted(maps.Keys(f.s.states)) {
		st, err := f.s.states[h].g.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "state %d %x %v\n", h, st, f.s.states[h].psks)
	}
	fmt.Fprintf(&b, "txs %v reinits %v signers %v", slices.Sorted(maps.Keys(f.s.txs)), slices.Sorted(maps.Keys(f.s.reinits)), slices.Sorted(maps.Keys(f.s.signers)))
	return b.String()
}

var garbage = []byte("\x00\x01garbage\xff\xff\xff\xff")

// TestBadInput: every RPC given bad input returns a gRPC error with a
// clear message and changes nothing.
func TestBadInput(t *testing.T) {
	f := newFixture(t)
	c := context.Background()
	s := f.s
	const unknown = 9999
	cases := []struct {
		name string
		code codes.Code
		call func() error
	}{
		{"create group, suite 0", codes.InvalidArgument, func() error {
			_, err := s.CreateGroup(c, &pb.CreateGroupRequest{GroupId: []byte("g"), CipherSuite: 0, Identity: []byte("A")})
			return err
		}},
		{"create group, suite 8", codes.InvalidArgument, func() error {
			_, err := s.CreateGroup(c, &pb.CreateGroupRequest{GroupId: []byte("g"), CipherSuite: 8, Identity: []byte("A")})
			return err
		}},
		{"create group, no group ID", codes.InvalidArgument, func() error {
			_, err := s.CreateGroup(c, &pb.CreateGroupRequest{CipherSuite: 1, Identity: []byte("A")})
			return err
		}},
		{"key package, no identity", codes.InvalidArgument, func() error {
			_, err := s.CreateKeyPackage(c, &pb.CreateKeyPackageRequest{CipherSuite: 1})
			return err
		}},
		{"join, unknown transaction", codes.NotFound, func() error {
			_, err := s.JoinGroup(c, &pb.JoinGroupRequest{TransactionId: unknown, Welcome: garbage})
			return err
		}},
		{"join, garbage welcome", codes.InvalidArgument, func() error {
			_, err := s.JoinGroup(c, &pb.JoinGroupRequest{TransactionId: f.tx, Welcome: garbage})
			return err
		}},
		{"join, a commit as welcome", codes.InvalidArgument, func() error {
			_, err := s.JoinGroup(c, &pb.JoinGroupRequest{TransactionId: f.tx, Welcome: f.foreign})
			return err
		}},
		{"external join, garbage", codes.InvalidArgument, func() error {
			_, err := s.ExternalJoin(c, &pb.ExternalJoinRequest{GroupInfo: garbage, Identity: []byte("E")})
			return err
		}},
		{"group info, unknown state", codes.NotFound, func() error {
			_, err := s.GroupInfo(c, &pb.GroupInfoRequest{StateId: unknown})
			return err
		}},
		{"group info, a transaction handle", codes.NotFound, func() error {
			_, err := s.GroupInfo(c, &pb.GroupInfoRequest{StateId: f.tx})
			return err
		}},
		{"state auth, unknown state", codes.NotFound, func() error {
			_, err := s.StateAuth(c, &pb.StateAuthRequest{StateId: unknown})
			return err
		}},
		{"export, too long", codes.InvalidArgument, func() error {
			_, err := s.Export(c, &pb.ExportRequest{StateId: f.a, Label: "l", KeyLength: 1 << 30})
			return err
		}},
		{"protect, unknown state", codes.NotFound, func() error {
			_, err := s.Protect(c, &pb.ProtectRequest{StateId: unknown})
			return err
		}},
		{"unprotect, garbage", codes.InvalidArgument, func() error {
			_, err := s.Unprotect(c, &pb.UnprotectRequest{StateId: f.b, Ciphertext: garbage})
			return err
		}},
		{"unprotect, a commit", codes.InvalidArgument, func() error {
			_, err := s.Unprotect(c, &pb.UnprotectRequest{StateId: f.b, Ciphertext: f.foreign})
			return err
		}},
		{"unprotect, another group's member", codes.InvalidArgument, func() error {
			_, err := s.Unprotect(c, &pb.UnprotectRequest{StateId: f.x, Ciphertext: f.appMsg})
			return err
		}},
		{"unprotect, tampered", codes.InvalidArgument, func() error {
			m := bytes.Clone(f.appMsg)
			m[len(m)-1] ^= 1
			_, err := s.Unprotect(c, &pb.UnprotectRequest{StateId: f.b, Ciphertext: m})
			return err
		}},
		{"store PSK, unknown handle", codes.NotFound, func() error {
			_, err := s.StorePSK(c, &pb.StorePSKRequest{StateOrTransactionId: unknown, PskId: []byte("p")})
			return err
		}},
		{"store PSK, empty ID", codes.InvalidArgument, func() error {
			_, err := s.StorePSK(c, &pb.StorePSKRequest{StateOrTransactionId: f.a})
			return err
		}},
		{"add proposal, garbage", codes.InvalidArgument, func() error {
			_, err := s.AddProposal(c, &pb.AddProposalRequest{StateId: f.a, KeyPackage: garbage})
			return err
		}},
		{"add proposal, wrong suite", codes.InvalidArgument, func() error {
			_, err := s.AddProposal(c, &pb.AddProposalRequest{StateId: f.a, KeyPackage: f.kpSuite2})
			return err
		}},
		{"remove proposal, no such member", codes.InvalidArgument, func() error {
			_, err := s.RemoveProposal(c, &pb.RemoveProposalRequest{StateId: f.a, RemovedId: []byte("nobody")})
			return err
		}},
		{"external PSK proposal, unknown PSK", codes.FailedPrecondition, func() error {
			_, err := s.ExternalPSKProposal(c, &pb.ExternalPSKProposalRequest{StateId: f.a, PskId: []byte("none")})
			return err
		}},
		{"resumption PSK proposal, future epoch", codes.FailedPrecondition, func() error {
			_, err := s.ResumptionPSKProposal(c, &pb.ResumptionPSKProposalRequest{StateId: f.a, EpochId: 99})
			return err
		}},
		{"GCE proposal, extension type out of range", codes.InvalidArgument, func() error {
			_, err := s.GroupContextExtensionsProposal(c, &pb.GroupContextExtensionsProposalRequest{StateId: f.a, Extensions: []*pb.Extension{{ExtensionType: 1 << 20}}})
			return err
		}},
		{"commit, garbage by reference", codes.InvalidArgument, func() error {
			_, err := s.Commit(c, &pb.CommitRequest{StateId: f.a, ByReference: [][]byte{garbage}})
			return err
		}},
		{"commit, application message by reference", codes.InvalidArgument, func() error {
			_, err := s.Commit(c, &pb.CommitRequest{StateId: f.b, ByReference: [][]byte{f.appMsg}})
			return err
		}},
		{"commit, unknown proposal type", codes.InvalidArgument, func() error {
			_, err := s.Commit(c, &pb.CommitRequest{StateId: f.a, ByValue: []*pb.ProposalDescription{{ProposalType: []byte("frobnicate")}}})
			return err
		}},
		{"commit, add of the wrong suite after a valid add", codes.InvalidArgument, func() error {
			_, err := s.Commit(c, &pb.CommitRequest{StateId: f.a, ByValue: []*pb.ProposalDescription{
				{ProposalType: []byte("add"), KeyPackage: f.kp}, {ProposalType: []byte("add"), KeyPackage: f.kpSuite2}}})
			return err
		}},
		{"handle commit, garbage", codes.InvalidArgument, func() error {
			_, err := s.HandleCommit(c, &pb.HandleCommitRequest{StateId: f.b, Commit: garbage})
			return err
		}},
		{"handle commit, another group's commit", codes.InvalidArgument, func() error {
			_, err := s.HandleCommit(c, &pb.HandleCommitRequest{StateId: f.b, Commit: f.foreign})
			return err
		}},
		{"handle commit, an application message", codes.InvalidArgument, func() error {
			_, err := s.HandleCommit(c, &pb.HandleCommitRequest{StateId: f.b, Commit: f.appMsg})
			return err
		}},
		{"handle pending commit, none pending", codes.FailedPrecondition, func() error {
			_, err := s.HandlePendingCommit(c, &pb.HandlePendingCommitRequest{StateId: f.b})
			return err
		}},
		{"reinit proposal, suite 99", codes.InvalidArgument, func() error {
			_, err := s.ReInitProposal(c, &pb.ReInitProposalRequest{StateId: f.a, CipherSuite: 99, GroupId: []byte("n")})
			return err
		}},
		{"reinit commit, unknown state", codes.NotFound, func() error {
			_, err := s.ReInitCommit(c, &pb.CommitRequest{StateId: unknown})
			return err
		}},
		{"handle reinit commit, not a ReInit", codes.InvalidArgument, func() error {
			_, err := s.HandleReInitCommit(c, &pb.HandleCommitRequest{StateId: f.a, Commit: f.commitOfB})
			return err
		}},
		{"handle pending reinit commit, none pending", codes.FailedPrecondition, func() error {
			_, err := s.HandlePendingReInitCommit(c, &pb.HandlePendingCommitRequest{StateId: f.a})
			return err
		}},
		{"reinit welcome, unknown reinit", codes.NotFound, func() error {
			_, err := s.ReInitWelcome(c, &pb.ReInitWelcomeRequest{ReinitId: f.a})
			return err
		}},
		{"handle reinit welcome, unknown reinit", codes.NotFound, func() error {
			_, err := s.HandleReInitWelcome(c, &pb.HandleReInitWelcomeRequest{ReinitId: unknown, Welcome: garbage})
			return err
		}},
		{"create branch, garbage key package", codes.InvalidArgument, func() error {
			_, err := s.CreateBranch(c, &pb.CreateBranchRequest{StateId: f.a, GroupId: []byte("br"), KeyPackages: [][]byte{garbage}})
			return err
		}},
		{"create branch, a non-member's key package", codes.InvalidArgument, func() error {
			_, err := s.CreateBranch(c, &pb.CreateBranchRequest{StateId: f.a, GroupId: []byte("br"), KeyPackages: [][]byte{f.kp}})
			return err
		}},
		{"handle branch, garbage welcome", codes.InvalidArgument, func() error {
			_, err := s.HandleBranch(c, &pb.HandleBranchRequest{StateId: f.b, TransactionId: f.tx, Welcome: garbage})
			return err
		}},
		{"new member add proposal, garbage", codes.InvalidArgument, func() error {
			_, err := s.NewMemberAddProposal(c, &pb.NewMemberAddProposalRequest{GroupInfo: garbage, Identity: []byte("N")})
			return err
		}},
		{"external signer, suite 99", codes.InvalidArgument, func() error {
			_, err := s.CreateExternalSigner(c, &pb.CreateExternalSignerRequest{CipherSuite: 99, Identity: []byte("S")})
			return err
		}},
		{"add external signer, garbage", codes.InvalidArgument, func() error {
			_, err := s.AddExternalSigner(c, &pb.AddExternalSignerRequest{StateId: f.a, ExternalSender: garbage})
			return err
		}},
		{"external signer proposal, unknown signer", codes.NotFound, func() error {
			_, err := s.ExternalSignerProposal(c, &pb.ExternalSignerProposalRequest{SignerId: f.a})
			return err
		}},
		{"external signer proposal, garbage group info", codes.InvalidArgument, func() error {
			_, err := s.ExternalSignerProposal(c, &pb.ExternalSignerProposalRequest{SignerId: f.signer, GroupInfo: garbage})
			return err
		}},
		{"free, never given", codes.NotFound, func() error {
			_, err := s.Free(c, &pb.FreeRequest{StateId: unknown})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot(t)
			err := tc.call()
			st, ok := status.FromError(err)
			if err == nil || !ok || st.Code() != tc.code || st.Message() == "" {
				t.Fatalf("got %v, want a %v status", err, tc.code)
			}
			if after := f.snapshot(t); after != before {
				t.Fatalf("the failed call changed the state (%v)", err)
			}
		})
	}
	// After all that, the group still works: B's commit made before the
	// bad input applies at A, and they talk.
	if _, err := s.HandleCommit(c, &pb.HandleCommitRequest{StateId: f.a, Commit: f.commitOfB}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.Unprotect(c, &pb.UnprotectRequest{StateId: f.b, Ciphertext: f.appMsg}); err != nil || string(u.Plaintext) != "hi" {
		t.Fatalf("B reads A's message: %v", err)
	}
}

// TestEveryRPCImplemented calls every method of the service over gRPC with
// an empty request: none may answer Unimplemented (most refuse the empty
// input with InvalidArgument or NotFound).
func TestEveryRPCImplemented(t *testing.T) {
	p := startClient(t)
	for _, m := range pb.MLSClient_ServiceDesc.Methods {
		err := p.conn.Invoke(context.Background(), "/"+pb.MLSClient_ServiceDesc.ServiceName+"/"+m.MethodName, &emptypb.Empty{}, &emptypb.Empty{})
		if status.Code(err) == codes.Unimplemented || status.Code(err) == codes.Unknown {
			t.Errorf("%s: %v", m.MethodName, err)
		}
	}
	if n := len(pb.MLSClient_ServiceDesc.Methods); n != 34 {
		t.Errorf("%d methods in the service, the proto has 34", n)
	}
}

// unmarshalLike restores a state's group from bytes with its config.
func unmarshalLike(b []byte, st *state) (*mls.Group, error) { return mls.UnmarshalGroup(b, st.cfg) }
