package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/spacepanda/spacepanda/cmd/mls-client/internal/pb"
)

// The interop harness: real mls-client processes (this test binary
// re-executed with serveEnv set) driven over gRPC the way the working
// group's test-runner drives them.

const serveEnv = "MLS_CLIENT_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(serveEnv) != "" {
		if err := run(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is one running client.
type process struct {
	cmd  *exec.Cmd
	conn *grpc.ClientConn
	c    pb.MLSClientClient
}

// startClients starts n client processes and stops them at the end of t.
func startClients(t testing.TB, n int) []*process {
	t.Helper()
	ps := make([]*process, n)
	for i := range ps {
		ps[i] = startClient(t)
	}
	return ps
}

func startClient(t testing.TB) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--port", "0")
	cmd.Env = append(os.Environ(), serveEnv+"=1")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("client did not start: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("client said %q", line)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &process{cmd: cmd, conn: conn, c: pb.NewMLSClientClient(conn)}
}

// member is one participant of a scenario: a state on one process.
type member struct {
	name  string
	p     *process
	state uint32
}

// scenario drives members on processes, round robin, as the runner does.
type scenario struct {
	t       testing.TB
	ps      []*process
	suite   uint32
	encrypt bool
	members []*member // current members
	handles map[*process][]uint32
	next    int
}

func newScenario(t testing.TB, ps []*process, suite uint32, encrypt bool) *scenario {
	return &scenario{t: t, ps: ps, suite: suite, encrypt: encrypt, handles: map[*process][]uint32{}}
}

// ctx is the context of the harness's RPCs; a hung client ends the test
// through go test's -timeout.
func ctx() context.Context { return context.Background() }

// proc returns the process for the next participant.
func (s *scenario) proc() *process {
	p := s.ps[s.next%len(s.ps)]
	s.next++
	return p
}

func (s *scenario) track(p *process, h uint32) { s.handles[p] = append(s.handles[p], h) }

// free frees every handle the scenario saw, as the runner does at the end.
func (s *scenario) free() {
	s.t.Helper()
	for p, hs := range s.handles {
		for _, h := range hs {
			if _, err := p.c.Free(ctx(), &pb.FreeRequest{StateId: h}); err != nil {
				s.t.Errorf("free %d: %v", h, err)
			}
		}
	}
}

func (s *scenario) create(name string) *member {
	s.t.Helper()
	p := s.proc()
	r, err := p.c.CreateGroup(ctx(), &pb.CreateGroupRequest{GroupId: []byte("group-" + name), CipherSuite: s.suite,
		EncryptHandshake: s.encrypt, Identity: []byte(name)})
	if err != nil {
		s.t.Fatalf("create group: %v", err)
	}
	s.track(p, r.StateId)
	m := &member{name: name, p: p, state: r.StateId}
	s.members = append(s.members, m)
	return m
}

// joiner is a key package waiting for a Welcome.
type joiner struct {
	name string
	p    *process
	tx   uint32
	kp   []byte
}

func (s *scenario) keyPackage(name string) *joiner {
	s.t.Helper()
	p := s.proc()
	r, err := p.c.CreateKeyPackage(ctx(), &pb.CreateKeyPackageRequest{CipherSuite: s.suite, Identity: []byte(name)})
	if err != nil {
		s.t.Fatalf("key package %s: %v", name, err)
	}
	s.track(p, r.TransactionId)
	return &joiner{name: name, p: p, tx: r.TransactionId, kp: r.KeyPackage}
}

func (s *scenario) others(m *member) []*member {
	var out []*member
	for _, o := range s.members {
		if o != m {
			out = append(out, o)
		}
	}
	return out
}

// commit has committer commit req (by reference and by value), merges it,
// has every other current member handle it with proposals, and joins the
// joiners from the Welcome. removed leave s.members.
func (s *scenario) commit(committer *member, req *pb.CommitRequest, proposals [][]byte, joiners []*joiner, removed ...string) {
	s.t.Helper()
	req.StateId = committer.state
	req.ByReference = proposals
	out, err := committer.p.c.Commit(ctx(), req)
	if err != nil {
		s.t.Fatalf("commit by %s: %v", committer.name, err)
	}
	if _, err := committer.p.c.HandlePendingCommit(ctx(), &pb.HandlePendingCommitRequest{StateId: committer.state}); err != nil {
		s.t.Fatalf("handle pending commit: %v", err)
	}
	for _, o := range s.others(committer) {
		r, err := o.p.c.HandleCommit(ctx(), &pb.HandleCommitRequest{StateId: o.state, Proposal: proposals, Commit: out.Commit})
		if err != nil {
			s.t.Fatalf("%s handles commit: %v", o.name, err)
		}
		o.state = r.StateId
	}
	s.drop(removed...)
	for _, j := range joiners {
		s.join(j, out.Welcome, out.RatchetTree)
	}
}

func (s *scenario) drop(names ...string) {
	for _, n := range names {
		for i, m := range s.members {
			if m.name == n {
				s.members = append(s.members[:i], s.members[i+1:]...)
				break
			}
		}
	}
}

func (s *scenario) join(j *joiner, welcome, tree []byte) *member {
	s.t.Helper()
	r, err := j.p.c.JoinGroup(ctx(), &pb.JoinGroupRequest{TransactionId: j.tx, Welcome: welcome, EncryptHandshake: s.encrypt,
		Identity: []byte(j.name), RatchetTree: tree})
	if err != nil {
		s.t.Fatalf("%s joins: %v", j.name, err)
	}
	s.track(j.p, r.StateId)
	m := &member{name: j.name, p: j.p, state: r.StateId}
	s.members = append(s.members, m)
	return m
}

// addByValue has committer add joiners by value.
func (s *scenario) addByValue(committer *member, externalTree bool, js ...*joiner) {
	s.t.Helper()
	req := &pb.CommitRequest{ExternalTree: externalTree}
	for _, j := range js {
		req.ByValue = append(req.ByValue, &pb.ProposalDescription{ProposalType: []byte("add"), KeyPackage: j.kp})
	}
	s.commit(committer, req, nil, js)
}

// verify is the runner's "verify group state": every member has the same
// state authenticator and exporter output, and every member's message
// decrypts at every other member.
func (s *scenario) verify() {
	s.t.Helper()
	var auth, exp []byte
	for i, m := range s.members {
		a, err := m.p.c.StateAuth(ctx(), &pb.StateAuthRequest{StateId: m.state})
		if err != nil {
			s.t.Fatalf("state auth %s: %v", m.name, err)
		}
		e, err := m.p.c.Export(ctx(), &pb.ExportRequest{StateId: m.state, Label: "interop", Context: []byte("ctx"), KeyLength: 32})
		if err != nil {
			s.t.Fatalf("export %s: %v", m.name, err)
		}
		if i == 0 {
			auth, exp = a.StateAuthSecret, e.ExportedSecret
			continue
		}
		if !bytes.Equal(a.StateAuthSecret, auth) || !bytes.Equal(e.ExportedSecret, exp) {
			s.t.Fatalf("%s disagrees with %s on the state (auth %x vs %x)", m.name, s.members[0].name, a.StateAuthSecret, auth)
		}
	}
	for _, m := range s.members {
		s.protectAll(m, fmt.Sprintf("hello from %s", m.name))
	}
}

// protectAll has m send text and every other member decrypt it.
func (s *scenario) protectAll(m *member, text string) {
	s.t.Helper()
	aad := []byte("aad-" + m.name)
	ct, err := m.p.c.Protect(ctx(), &pb.ProtectRequest{StateId: m.state, AuthenticatedData: aad, Plaintext: []byte(text)})
	if err != nil {
		s.t.Fatalf("protect %s: %v", m.name, err)
	}
	for _, o := range s.others(m) {
		pt, err := o.p.c.Unprotect(ctx(), &pb.UnprotectRequest{StateId: o.state, Ciphertext: ct.Ciphertext})
		if err != nil {
			s.t.Fatalf("%s unprotects %s's message: %v", o.name, m.name, err)
		}
		if string(pt.Plaintext) != text || !bytes.Equal(pt.AuthenticatedData, aad) {
			s.t.Fatalf("%s read %q/%q from %s", o.name, pt.Plaintext, pt.AuthenticatedData, m.name)
		}
	}
}

func (s *scenario) member(name string) *member {
	for _, m := range s.members {
		if m.name == name {
			return m
		}
	}
	s.t.Fatalf("no member %s", name)
	return nil
}
