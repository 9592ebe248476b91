package main

import (
	"fmt"
	"testing"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
)

// The scenarios of test-scenarios.md, on every suite, with handshake
// messages as PublicMessages and as PrivateMessages, across three client
// processes.

// basicScenarios are the scenarios of test-scenarios.md that need one
// group and one suite.
var basicScenarios = []struct {
	name string
	run  func(s *scenario)
}{
	{"1:1 join", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.verify()
	}},
	{"3-party join", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.addByValue(a, false, s.keyPackage("C"))
		s.verify()
	}},
	{"multiple joins at once", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, true, s.keyPackage("B"), s.keyPackage("C"))
		s.verify()
	}},
	{"external join", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.externalJoin(a, "C", false)
		s.verify()
	}},
	{"external join with external tree", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.externalJoin(a, "C", true)
		s.verify()
	}},
	{"update", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		b := s.member("B")
		p := s.propose(b, "update proposal", func() (*pb.ProposalResponse, error) {
			return b.p.c.UpdateProposal(ctx(), &pb.UpdateProposalRequest{StateId: b.state})
		})
		s.commit(a, &pb.CommitRequest{}, [][]byte{p}, nil)
		s.verify()
		s.commit(b, &pb.CommitRequest{ForcePath: true}, nil, nil) // empty commit with path
		s.verify()
	}},
	{"remove", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		s.commit(a, &pb.CommitRequest{ByValue: []*pb.ProposalDescription{{ProposalType: []byte("remove"), RemovedId: []byte("B")}}}, nil, nil, "B")
		s.verify()
	}},
	{"remove by reference", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		c := s.member("C")
		p := s.propose(c, "remove proposal", func() (*pb.ProposalResponse, error) {
			return c.p.c.RemoveProposal(ctx(), &pb.RemoveProposalRequest{StateId: c.state, RemovedId: []byte("B")})
		})
		s.commit(a, &pb.CommitRequest{}, [][]byte{p}, nil, "B")
		s.verify()
	}},
	{"add by reference", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		b := s.member("B")
		j := s.keyPackage("C")
		p := s.propose(b, "add proposal", func() (*pb.ProposalResponse, error) {
			return b.p.c.AddProposal(ctx(), &pb.AddProposalRequest{StateId: b.state, KeyPackage: j.kp})
		})
		s.commit(a, &pb.CommitRequest{}, [][]byte{p}, []*joiner{j})
		s.verify()
	}},
}

func TestScenarios(t *testing.T) {
	ps := startClients(t, 3)
	for suite := uint32(1); suite <= 7; suite++ {
		for _, encrypt := range []bool{false, true} {
			for _, sc := range basicScenarios {
				t.Run(fmt.Sprintf("suite%d/encrypt=%v/%s", suite, encrypt, sc.name), func(t *testing.T) {
					s := newScenario(t, ps, suite, encrypt)
					defer s.free()
					sc.run(s)
				})
			}
		}
	}
}

// propose runs a proposal RPC.
func (s *scenario) propose(m *member, what string, f func() (*pb.ProposalResponse, error)) []byte {
	s.t.Helper()
	r, err := f()
	if err != nil {
		s.t.Fatalf("%s by %s: %v", what, m.name, err)
	}
	return r.Proposal
}

// externalJoin has name join by external commit from from's GroupInfo.
func (s *scenario) externalJoin(from *member, name string, externalTree bool) *member {
	s.t.Helper()
	gi, err := from.p.c.GroupInfo(ctx(), &pb.GroupInfoRequest{StateId: from.state, ExternalTree: externalTree})
	if err != nil {
		s.t.Fatalf("group info: %v", err)
	}
	p := s.proc()
	r, err := p.c.ExternalJoin(ctx(), &pb.ExternalJoinRequest{GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree,
		EncryptHandshake: s.encrypt, Identity: []byte(name)})
	if err != nil {
		s.t.Fatalf("external join %s: %v", name, err)
	}
	s.track(p, r.StateId)
	for _, o := range s.members {
		if _, err := o.p.c.HandleCommit(ctx(), &pb.HandleCommitRequest{StateId: o.state, Commit: r.Commit}); err != nil {
			s.t.Fatalf("%s handles external commit: %v", o.name, err)
		}
	}
	m := &member{name: name, p: p, state: r.StateId}
	s.members = append(s.members, m)
	return m
}
