package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
)

// The deep random run of the test-runner: random adds, removes, updates
// and empty commits, by value and by reference, proposed and committed by
// random members across the processes, with the group state verified
// after every step. make test runs a short one with a fixed seed;
// -mls.deep=N runs N steps per suite (and -mls.seed another seed).
var (
	deepSteps = flag.Int("mls.deep", 0, "steps per suite of TestDeepRandom (0: the short run of make test)")
	deepSeed  = flag.Uint64("mls.seed", 16, "seed of TestDeepRandom")
)

func TestDeepRandom(t *testing.T) {
	steps := 25
	if *deepSteps > 0 {
		steps = *deepSteps
	}
	ps := startClients(t, 3)
	for suite := uint32(1); suite <= 7; suite++ {
		t.Run(fmt.Sprintf("suite%d", suite), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(*deepSeed, uint64(suite)))
			s := newScenario(t, ps, suite, rng.IntN(2) == 0)
			defer s.free()
			d := &deep{s: s, rng: rng}
			s.addByValue(s.create(d.name()), false, s.keyPackage(d.name()), s.keyPackage(d.name()))
			for i := range steps {
				op := d.step()
				t.Logf("step %d: %s, %d members", i, op, len(s.members))
				s.verify()
			}
		})
	}
}

type deep struct {
	s   *scenario
	rng *rand.Rand
	n   int
}

func (d *deep) name() string {
	d.n++
	return fmt.Sprint("M", d.n)
}

func (d *deep) pick() *member { return d.s.members[d.rng.IntN(len(d.s.members))] }

// other picks a member other than m.
func (d *deep) other(m *member) *member {
	os := d.s.others(m)
	return os[d.rng.IntN(len(os))]
}

// maxMembers keeps the short run short.
const maxMembers = 6

// step does one random operation and says which.
func (d *deep) step() string {
	s := d.s
	n := len(s.members)
	op := d.rng.IntN(8)
	switch {
	case n >= maxMembers && op <= 1:
		op = 2
	case n <= 2 && (op == 2 || op == 3):
		op = 0
	}
	switch op {
	case 0:
		c := d.pick()
		js := []*joiner{s.keyPackage(d.name())}
		if d.rng.IntN(2) == 0 && n+2 <= maxMembers {
			js = append(js, s.keyPackage(d.name()))
		}
		s.addByValue(c, d.rng.IntN(2) == 0, js...)
		return fmt.Sprintf("%s adds %d by value", c.name, len(js))
	case 1:
		p, c := d.pick(), d.pick()
		j := s.keyPackage(d.name())
		prop := s.propose(p, "add", func() (*pb.ProposalResponse, error) {
			return p.p.c.AddProposal(ctx(), &pb.AddProposalRequest{StateId: p.state, KeyPackage: j.kp})
		})
		s.commit(c, &pb.CommitRequest{ExternalTree: d.rng.IntN(2) == 0}, [][]byte{prop}, []*joiner{j})
		return fmt.Sprintf("%s adds %s proposed by %s", c.name, j.name, p.name)
	case 2:
		c := d.pick()
		r := d.other(c)
		s.commit(c, &pb.CommitRequest{ByValue: []*pb.ProposalDescription{{ProposalType: []byte("remove"), RemovedId: []byte(r.name)}}}, nil, nil, r.name)
		return fmt.Sprintf("%s removes %s by value", c.name, r.name)
	case 3:
		c := d.pick()
		r := d.other(c)
		p := d.pick()
		prop := s.propose(p, "remove", func() (*pb.ProposalResponse, error) {
			return p.p.c.RemoveProposal(ctx(), &pb.RemoveProposalRequest{StateId: p.state, RemovedId: []byte(r.name)})
		})
		s.commit(c, &pb.CommitRequest{}, [][]byte{prop}, nil, r.name)
		return fmt.Sprintf("%s removes %s proposed by %s", c.name, r.name, p.name)
	case 4, 5:
		p := d.pick()
		c := d.other(p)
		prop := s.propose(p, "update", func() (*pb.ProposalResponse, error) {
			return p.p.c.UpdateProposal(ctx(), &pb.UpdateProposalRequest{StateId: p.state})
		})
		s.commit(c, &pb.CommitRequest{ForcePath: d.rng.IntN(2) == 0}, [][]byte{prop}, nil)
		return fmt.Sprintf("%s commits %s's update", c.name, p.name)
	case 6:
		c := d.pick()
		s.commit(c, &pb.CommitRequest{ForcePath: true}, nil, nil)
		return fmt.Sprintf("%s commits with a path", c.name)
	default:
		if n >= maxMembers {
			return d.step()
		}
		name := d.name()
		s.externalJoin(d.pick(), name, d.rng.IntN(2) == 0)
		return fmt.Sprintf("%s joins by external commit", name)
	}
}
