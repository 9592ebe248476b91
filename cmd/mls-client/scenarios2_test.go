package main

import (
	"fmt"
	"testing"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
)

// The scenarios that need PSKs, extensions, outside senders, a second
// group or a second suite.

var advancedScenarios = []struct {
	name string
	run  func(s *scenario)
}{
	{"external PSK", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.storePSK("psk1", "secret one")
		b := s.member("B")
		p := s.propose(b, "external PSK proposal", func() (*pb.ProposalResponse, error) {
			return b.p.c.ExternalPSKProposal(ctx(), &pb.ExternalPSKProposalRequest{StateId: b.state, PskId: []byte("psk1")})
		})
		s.commit(a, &pb.CommitRequest{}, [][]byte{p}, nil)
		s.verify()
		s.commit(b, &pb.CommitRequest{ByValue: []*pb.ProposalDescription{{ProposalType: []byte("externalPSK"), PskId: []byte("psk1")}}}, nil, nil)
		s.verify()
	}},
	{"join with an external PSK", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.storePSK("psk4", "secret four")
		j := s.keyPackage("C")
		if _, err := j.p.c.StorePSK(ctx(), &pb.StorePSKRequest{StateOrTransactionId: j.tx, PskId: []byte("psk4"), PskSecret: []byte("secret four")}); err != nil {
			s.t.Fatalf("store PSK for the joiner: %v", err)
		}
		s.commit(a, &pb.CommitRequest{ByValue: []*pb.ProposalDescription{
			{ProposalType: []byte("add"), KeyPackage: j.kp}, {ProposalType: []byte("externalPSK"), PskId: []byte("psk4")}}}, nil, []*joiner{j})
		s.verify()
	}},
	{"messages across an epoch change, out of order", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		b, c := s.member("B"), s.member("C")
		var old [][]byte
		for i := range 3 {
			r, err := a.p.c.Protect(ctx(), &pb.ProtectRequest{StateId: a.state, Plaintext: []byte(fmt.Sprint("old ", i))})
			if err != nil {
				s.t.Fatal(err)
			}
			old = append(old, r.Ciphertext)
		}
		s.commit(b, &pb.CommitRequest{ForcePath: true}, nil, nil)
		s.verify()
		for _, i := range []int{2, 0, 1} { // epoch n messages, read in epoch n+1, out of order
			for _, m := range []*member{b, c} {
				r, err := m.p.c.Unprotect(ctx(), &pb.UnprotectRequest{StateId: m.state, Ciphertext: old[i]})
				if err != nil || string(r.Plaintext) != fmt.Sprint("old ", i) {
					s.t.Fatalf("%s reads old message %d: %v", m.name, i, err)
				}
			}
		}
		if _, err := b.p.c.Unprotect(ctx(), &pb.UnprotectRequest{StateId: b.state, Ciphertext: old[0]}); err == nil {
			s.t.Fatal("a replayed message decrypted twice")
		}
	}},
	{"resumption PSK", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.commit(a, &pb.CommitRequest{ForcePath: true}, nil, nil) // epoch 2
		b := s.member("B")
		p := s.propose(b, "resumption PSK proposal", func() (*pb.ProposalResponse, error) {
			return b.p.c.ResumptionPSKProposal(ctx(), &pb.ResumptionPSKProposalRequest{StateId: b.state, EpochId: 1})
		})
		s.commit(a, &pb.CommitRequest{}, [][]byte{p}, nil)
		s.verify()
		s.commit(b, &pb.CommitRequest{ByValue: []*pb.ProposalDescription{{ProposalType: []byte("resumptionPSK"), EpochId: 2}}}, nil, nil)
		s.verify()
	}},
	{"group context extensions", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		b := s.member("B")
		ext := []*pb.Extension{{ExtensionType: 3, ExtensionData: []byte{0, 0, 0}}} // required_capabilities, nothing required
		p := s.propose(b, "GCE proposal", func() (*pb.ProposalResponse, error) {
			return b.p.c.GroupContextExtensionsProposal(ctx(), &pb.GroupContextExtensionsProposalRequest{StateId: b.state, Extensions: ext})
		})
		s.commit(a, &pb.CommitRequest{}, [][]byte{p}, nil)
		s.verify()
		s.commit(b, &pb.CommitRequest{ByValue: []*pb.ProposalDescription{{ProposalType: []byte("groupContextExtensions")}}}, nil, nil)
		s.verify()
	}},
	{"external join with PSK", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.storePSK("psk2", "secret two")
		s.externalJoinPSK(a, "C", &pb.PreSharedKey{PskId: []byte("psk2"), PskSecret: []byte("secret two")})
		s.verify()
	}},
	{"external rejoin removing the prior leaf", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		s.drop("B") // B lost its state
		s.externalJoinPrior(a, "B")
		s.verify()
	}},
	{"new member add proposal", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		gi, err := a.p.c.GroupInfo(ctx(), &pb.GroupInfoRequest{StateId: a.state})
		if err != nil {
			s.t.Fatal(err)
		}
		p := s.proc()
		r, err := p.c.NewMemberAddProposal(ctx(), &pb.NewMemberAddProposalRequest{GroupInfo: gi.GroupInfo, Identity: []byte("C")})
		if err != nil {
			s.t.Fatalf("new member add proposal: %v", err)
		}
		s.track(p, r.TransactionId)
		s.commit(s.member("B"), &pb.CommitRequest{}, [][]byte{r.Proposal}, []*joiner{{name: "C", p: p, tx: r.TransactionId}})
		s.verify()
	}},
	{"external signer", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		p := s.proc()
		sg, err := p.c.CreateExternalSigner(ctx(), &pb.CreateExternalSignerRequest{CipherSuite: s.suite, Identity: []byte("DS")})
		if err != nil {
			s.t.Fatalf("create external signer: %v", err)
		}
		s.track(p, sg.SignerId)
		add := s.propose(a, "add external signer", func() (*pb.ProposalResponse, error) {
			return a.p.c.AddExternalSigner(ctx(), &pb.AddExternalSignerRequest{StateId: a.state, ExternalSender: sg.ExternalSender})
		})
		s.commit(s.member("B"), &pb.CommitRequest{}, [][]byte{add}, nil)
		s.verify()
		ext := func(d *pb.ProposalDescription) []byte {
			gi, err := a.p.c.GroupInfo(ctx(), &pb.GroupInfoRequest{StateId: a.state, ExternalTree: true})
			if err != nil {
				s.t.Fatal(err)
			}
			r, err := p.c.ExternalSignerProposal(ctx(), &pb.ExternalSignerProposalRequest{SignerId: sg.SignerId, SignerIndex: 0,
				GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree, Description: d})
			if err != nil {
				s.t.Fatalf("external signer proposal %s: %v", d.ProposalType, err)
			}
			return r.Proposal
		}
		j := s.keyPackage("D")
		s.commit(a, &pb.CommitRequest{}, [][]byte{ext(&pb.ProposalDescription{ProposalType: []byte("add"), KeyPackage: j.kp})}, []*joiner{j})
		s.verify()
		s.commit(a, &pb.CommitRequest{}, [][]byte{ext(&pb.ProposalDescription{ProposalType: []byte("remove"), RemovedId: []byte("B")})}, nil, "B")
		s.verify()
		s.storePSK("psk3", "secret three")
		s.commit(s.member("C"), &pb.CommitRequest{}, [][]byte{ext(&pb.ProposalDescription{ProposalType: []byte("externalPSK"), PskId: []byte("psk3")})}, nil)
		s.verify()
		ri := &pb.ProposalDescription{ProposalType: []byte("reinit"), GroupId: []byte("reinit-group"), CipherSuite: s.suite}
		s.reinitWith(ext(ri), a, false)
	}},
	{"reinit", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		s.reinit(s.member("B"), a, s.suite%7+1, false)
	}},
	{"reinit with external tree", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"))
		s.reinit(a, s.member("B"), s.suite, true)
	}},
	{"branch (resumption)", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		s.branch(a, []string{"B", "C"}, false)
	}},
	{"branch of two with external tree", func(s *scenario) {
		a := s.create("A")
		s.addByValue(a, false, s.keyPackage("B"), s.keyPackage("C"))
		s.branch(s.member("C"), []string{"A"}, true)
	}},
}

func TestAdvancedScenarios(t *testing.T) {
	ps := startClients(t, 3)
	for suite := uint32(1); suite <= 7; suite++ {
		for _, encrypt := range []bool{false, true} {
			for _, sc := range advancedScenarios {
				t.Run(fmt.Sprintf("suite%d/encrypt=%v/%s", suite, encrypt, sc.name), func(t *testing.T) {
					s := newScenario(t, ps, suite, encrypt)
					defer s.free()
					sc.run(s)
				})
			}
		}
	}
}

// storePSK stores an external PSK at every member.
func (s *scenario) storePSK(id, secret string) {
	s.t.Helper()
	for _, m := range s.members {
		if _, err := m.p.c.StorePSK(ctx(), &pb.StorePSKRequest{StateOrTransactionId: m.state, PskId: []byte(id), PskSecret: []byte(secret)}); err != nil {
			s.t.Fatalf("store PSK at %s: %v", m.name, err)
		}
	}
}

func (s *scenario) externalJoinPSK(from *member, name string, psk *pb.PreSharedKey) {
	s.t.Helper()
	gi, err := from.p.c.GroupInfo(ctx(), &pb.GroupInfoRequest{StateId: from.state})
	if err != nil {
		s.t.Fatal(err)
	}
	s.externalCommit(name, &pb.ExternalJoinRequest{GroupInfo: gi.GroupInfo, Psks: []*pb.PreSharedKey{psk}})
}

func (s *scenario) externalJoinPrior(from *member, name string) {
	s.t.Helper()
	gi, err := from.p.c.GroupInfo(ctx(), &pb.GroupInfoRequest{StateId: from.state, ExternalTree: true})
	if err != nil {
		s.t.Fatal(err)
	}
	s.externalCommit(name, &pb.ExternalJoinRequest{GroupInfo: gi.GroupInfo, RatchetTree: gi.RatchetTree, RemovePrior: true})
}

// externalCommit sends req from a new process and has every member handle
// the commit.
func (s *scenario) externalCommit(name string, req *pb.ExternalJoinRequest) {
	s.t.Helper()
	req.Identity, req.EncryptHandshake = []byte(name), s.encrypt
	p := s.proc()
	r, err := p.c.ExternalJoin(ctx(), req)
	if err != nil {
		s.t.Fatalf("external join %s: %v", name, err)
	}
	s.track(p, r.StateId)
	for _, o := range s.members {
		if _, err := o.p.c.HandleCommit(ctx(), &pb.HandleCommitRequest{StateId: o.state, Commit: r.Commit}); err != nil {
			s.t.Fatalf("%s handles external commit: %v", o.name, err)
		}
	}
	s.members = append(s.members, &member{name: name, p: p, state: r.StateId})
}

// reinit: proposer proposes a ReInit into suite, committer commits it,
// every member makes a key package for the new group, the committer
// welcomes the others there, and the new group is verified.
func (s *scenario) reinit(proposer, committer *member, suite uint32, externalTree bool) {
	s.t.Helper()
	p := s.propose(proposer, "reinit proposal", func() (*pb.ProposalResponse, error) {
		return proposer.p.c.ReInitProposal(ctx(), &pb.ReInitProposalRequest{StateId: proposer.state, CipherSuite: suite, GroupId: []byte("reinit-group")})
	})
	s.reinitWith(p, committer, externalTree)
}

// reinitWith goes on from the ReInit proposal p.
func (s *scenario) reinitWith(p []byte, committer *member, externalTree bool) {
	s.t.Helper()
	out, err := committer.p.c.ReInitCommit(ctx(), &pb.CommitRequest{StateId: committer.state, ByReference: [][]byte{p}})
	if err != nil {
		s.t.Fatalf("reinit commit: %v", err)
	}
	type next struct {
		m  *member
		id uint32
		kp []byte
	}
	var ns []next
	var auth []byte
	for _, m := range s.members {
		var r *pb.HandleReInitCommitResponse
		if m == committer {
			r, err = m.p.c.HandlePendingReInitCommit(ctx(), &pb.HandlePendingCommitRequest{StateId: m.state})
		} else {
			r, err = m.p.c.HandleReInitCommit(ctx(), &pb.HandleCommitRequest{StateId: m.state, Proposal: [][]byte{p}, Commit: out.Commit})
		}
		if err != nil {
			s.t.Fatalf("%s handles the reinit commit: %v", m.name, err)
		}
		if auth == nil {
			auth = r.EpochAuthenticator
		} else if string(auth) != string(r.EpochAuthenticator) {
			s.t.Fatalf("%s: different final epoch of the old group", m.name)
		}
		s.track(m.p, r.ReinitId)
		ns = append(ns, next{m, r.ReinitId, r.KeyPackage})
	}
	var kps [][]byte
	var creator next
	for _, n := range ns {
		if n.m == committer {
			creator = n
		} else {
			kps = append(kps, n.kp)
		}
	}
	w, err := committer.p.c.ReInitWelcome(ctx(), &pb.ReInitWelcomeRequest{ReinitId: creator.id, KeyPackage: kps, ExternalTree: externalTree})
	if err != nil {
		s.t.Fatalf("reinit welcome: %v", err)
	}
	s.track(committer.p, w.StateId)
	members := []*member{{name: committer.name, p: committer.p, state: w.StateId}}
	for _, n := range ns {
		if n.m == committer {
			continue
		}
		r, err := n.m.p.c.HandleReInitWelcome(ctx(), &pb.HandleReInitWelcomeRequest{ReinitId: n.id, Welcome: w.Welcome, RatchetTree: w.RatchetTree})
		if err != nil {
			s.t.Fatalf("%s joins the reinit group: %v", n.m.name, err)
		}
		if string(r.EpochAuthenticator) != string(w.EpochAuthenticator) {
			s.t.Fatalf("%s: different epoch authenticator in the new group", n.m.name)
		}
		s.track(n.m.p, r.StateId)
		members = append(members, &member{name: n.m.name, p: n.m.p, state: r.StateId})
	}
	s.members = members
	s.verify()
}

// branch: creator branches a subgroup with the named members, each of
// which makes a fresh key package and joins; the subgroup is verified.
func (s *scenario) branch(creator *member, names []string, externalTree bool) {
	s.t.Helper()
	var kps [][]byte
	var txs []*joiner
	for _, n := range names {
		m := s.member(n)
		r, err := m.p.c.CreateKeyPackage(ctx(), &pb.CreateKeyPackageRequest{CipherSuite: s.suite, Identity: []byte(n)})
		if err != nil {
			s.t.Fatal(err)
		}
		s.track(m.p, r.TransactionId)
		kps = append(kps, r.KeyPackage)
		txs = append(txs, &joiner{name: n, p: m.p, tx: r.TransactionId})
	}
	w, err := creator.p.c.CreateBranch(ctx(), &pb.CreateBranchRequest{StateId: creator.state, GroupId: []byte("branch"), KeyPackages: kps, ExternalTree: externalTree})
	if err != nil {
		s.t.Fatalf("create branch: %v", err)
	}
	s.track(creator.p, w.StateId)
	members := []*member{{name: creator.name, p: creator.p, state: w.StateId}}
	for _, j := range txs {
		r, err := j.p.c.HandleBranch(ctx(), &pb.HandleBranchRequest{StateId: s.member(j.name).state, TransactionId: j.tx, Welcome: w.Welcome, RatchetTree: w.RatchetTree})
		if err != nil {
			s.t.Fatalf("%s joins the branch: %v", j.name, err)
		}
		if string(r.EpochAuthenticator) != string(w.EpochAuthenticator) {
			s.t.Fatalf("%s: different epoch authenticator in the branch", j.name)
		}
		s.track(j.p, r.StateId)
		members = append(members, &member{name: j.name, p: j.p, state: r.StateId})
	}
	old := s.members
	s.members = members
	s.verify()
	s.members = old
	s.verify() // the old group goes on
}
