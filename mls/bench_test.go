package mls

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// fixture is a group of n members with a full tree (every parent node
// set), seen by members 0 and 1, whose states are built directly: making
// n real members commit in turn would cost O(n²) setup.
type fixture struct {
	g0, g1 *Group
	rnd    *rand.ChaCha8
}

var (
	fixturesMu sync.Mutex
	fixtures   = map[int]*fixture{}
)

// fullGroup returns the cached fixture of n members (suite 1).
func fullGroup(tb testing.TB, n int) *fixture {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	if f, ok := fixtures[n]; ok {
		return f
	}
	f := buildFixture(tb, n)
	fixtures[n] = f
	return f
}

type benchLeaf struct {
	signer *cipher.Signer
	sig    []byte
	ln     *wire.LeafNode
}

func buildFixture(tb testing.TB, n int) *fixture {
	suite, _ := cipher.Lookup(1)
	rnd := testRand(uint64(n) + 1000)
	gid := make([]byte, 16)
	rnd.Read(gid)
	leaves := make([]benchLeaf, n)
	for i := range leaves {
		leaves[i] = newBenchLeaf(tb, suite, rnd, i)
	}
	t := tree.New(suite, leaves[0].ln)
	for _, l := range leaves[1:] {
		if _, err := t.AddLeaf(l.ln); err != nil {
			tb.Fatal(err)
		}
	}
	// Every even leaf commits a path, right to left, then leaf 0 and
	// leaf 1: every parent node is set and parent-hash valid.
	var p0 *tree.Path
	for i := (n - 1) &^ 1; i >= 0; i -= 2 {
		p0 = generatePath(tb, t, rnd, i, gid, leaves[i].signer)
	}
	p1 := p0
	if n > 1 {
		p1 = generatePath(tb, t, rnd, 1, gid, leaves[1].signer)
	}
	init := make([]byte, 32)
	rnd.Read(init)
	confirmed := make([]byte, 32)
	rnd.Read(confirmed)
	k0 := p0.PrivateKeys()
	if n > 1 {
		secret, _ := p1.PathSecret(0)
		var err error
		if k0, err = t.ImportPathSecret(p0.PrivateKeys(), 1, secret); err != nil {
			tb.Fatal(err)
		}
	}
	f := &fixture{rnd: rnd, g0: benchMember(tb, t, gid, k0, leaves[0], init, confirmed)}
	if n > 1 {
		f.g1 = benchMember(tb, t, gid, p1.PrivateKeys(), leaves[1], init, confirmed)
	}
	return f
}

func newBenchLeaf(tb testing.TB, suite *cipher.Suite, rnd *rand.ChaCha8, i int) benchLeaf {
	sigPriv, sigPub, err := suite.GenerateSignatureKey(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	_, encPub, err := suite.GenerateHPKEKey(rnd)
	if err != nil {
		tb.Fatal(err)
	}
	sg, _ := suite.NewSigner(sigPriv)
	ln := &wire.LeafNode{EncryptionKey: encPub, SignatureKey: sigPub,
		Credential:     credentialToWire(BasicCredential(fmt.Appendf(nil, "member-%d", i))),
		Capabilities:   defaultCapabilities(1, CredentialBasic, nil),
		LeafNodeSource: wire.LeafNodeSourceKeyPackage, Lifetime: wire.Lifetime{NotAfter: ^uint64(0)}}
	if err := tree.SignLeafNode(sg, ln, nil, 0); err != nil {
		tb.Fatal(err)
	}
	return benchLeaf{signer: sg, sig: sigPriv, ln: ln}
}

func generatePath(tb testing.TB, t *tree.Tree, rnd *rand.ChaCha8, i int, gid []byte, sg *cipher.Signer) *tree.Path {
	tmpl := *t.Leaf(tree.LeafIndex(i))
	p, err := t.GeneratePath(rnd, tree.LeafIndex(i), &tmpl, gid, sg)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// benchMember builds a member's group state at epoch 1 over tree t.
func benchMember(tb testing.TB, t *tree.Tree, gid []byte, keys *tree.PrivateKeys, l benchLeaf, init, confirmed []byte) *Group {
	suite := t.Suite()
	g := &Group{cfg: Config{AuthenticationService: AcceptAllCredentials{}}, suite: suite, tree: t.Clone(), keys: keys,
		sigPriv: l.sig, signer: l.signer, interim: confirmed, active: true}
	g.gc = wire.GroupContext{Version: wire.MLS10, CipherSuite: 1, GroupID: gid, Epoch: 1, TreeHash: t.TreeHash(), ConfirmedTranscriptHash: confirmed}
	if _, err := g.startEpoch(init, nil, nil); err != nil {
		tb.Fatal(err)
	}
	if err := g.tree.CheckPrivateKeys(keys); err != nil {
		tb.Fatal(err)
	}
	g.index = newKeyIndex(g.tree)
	return g
}

// cpuTime returns the CPU time (user and system) the process has used. The
// benchmarks report it per operation as cpu-ns/op beside the wall time:
// on a machine shared by many jobs the wall time mostly measures waiting.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs op under b.Loop and reports cpu-ns/op.
func loop(b *testing.B, op func()) {
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkApplicationMessage(b *testing.B) {
	tg := newTestGroup(b, X25519_AES128GCM_SHA256_Ed25519, 2)
	data := make([]byte, 100)
	loop(b, func() {
		msg, err := tg.members[0].EncryptApplication(tg.rnd, data, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tg.members[1].ProcessMessage(msg, time.Time{}); err != nil {
			b.Fatal(err)
		}
	})
}

var benchSizes = []int{2, 10, 100, 1000, 10000}

func BenchmarkCommit(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			f := fullGroup(b, n)
			b.Run("create", func(b *testing.B) {
				loop(b, func() {
					if _, err := f.g0.Commit(f.rnd, CommitOptions{ForcePath: true}); err != nil {
						b.Fatal(err)
					}
					f.g0.DiscardPendingCommit()
				})
			})
			b.Run("process", func(b *testing.B) {
				out, err := f.g0.Commit(f.rnd, CommitOptions{ForcePath: true})
				if err != nil {
					b.Fatal(err)
				}
				f.g0.DiscardPendingCommit()
				loop(b, func() {
					h := *f.g1
					if _, err := h.ProcessMessage(out.Commit, time.Time{}); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
	}
}

func BenchmarkAddMember(b *testing.B) {
	b.Run("members=1000", func(b *testing.B) {
		f := fullGroup(b, 1000)
		kp := newJoiner(b, f).KeyPackage()
		loop(b, func() {
			out, err := f.g0.Commit(f.rnd, CommitOptions{Adds: []*KeyPackage{kp}})
			if err != nil || out.Welcome == nil {
				b.Fatal(err)
			}
			f.g0.DiscardPendingCommit()
		})
	})
}

func newJoiner(tb testing.TB, f *fixture) *KeyPackageBundle {
	kb, err := NewKeyPackage(f.rnd, testIdentity(tb, f.rnd, 1, "joiner"), KeyPackageOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return kb
}

func BenchmarkJoin(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			f := fullGroup(b, n)
			kb := newJoiner(b, f)
			out, err := f.g0.Commit(f.rnd, CommitOptions{Adds: []*KeyPackage{kb.KeyPackage()}})
			if err != nil {
				b.Fatal(err)
			}
			f.g0.DiscardPendingCommit()
			cfg := Config{AuthenticationService: AcceptAllCredentials{}}
			loop(b, func() {
				if _, err := JoinGroup(out.Welcome, kb, out.RatchetTree, cfg, time.Time{}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkMarshalGroup measures the first marshal of an epoch, which
// encodes the ratchet tree; BenchmarkMarshalGroupCached the following ones.
func BenchmarkMarshalGroup(b *testing.B) {
	b.Run("members=1000", func(b *testing.B) {
		g := fullGroup(b, 1000).g1
		loop(b, func() {
			g.treeRaw = nil
			if _, err := g.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkMarshalGroupCached(b *testing.B) {
	b.Run("members=1000", func(b *testing.B) {
		g := fullGroup(b, 1000).g1
		loop(b, func() {
			if _, err := g.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		})
	})
}

func BenchmarkUnmarshalGroup(b *testing.B) {
	b.Run("members=1000", func(b *testing.B) {
		g := fullGroup(b, 1000).g1
		data, err := g.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		loop(b, func() {
			if _, err := UnmarshalGroup(data, g.cfg); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// TestFixture checks the benchmark fixture: a full tree that a new member
// can join, and members 0 and 1 that agree and follow each other's commits.
func TestFixture(t *testing.T) {
	f := buildFixture(t, 9)
	for x := range f.g0.tree.NodeCount() {
		if f.g0.tree.Blank(tree.NodeIndex(x)) && x < 17 {
			t.Fatalf("node %d blank", x)
		}
	}
	kb := newJoiner(t, f)
	out, err := f.g0.Commit(f.rnd, CommitOptions{Adds: []*KeyPackage{kb.KeyPackage()}})
	if err != nil {
		t.Fatal(err)
	}
	j, err := JoinGroup(out.Welcome, kb, out.RatchetTree, Config{AuthenticationService: AcceptAllCredentials{}}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.g1.ProcessMessage(out.Commit, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.g0.MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	tg := &testGroup{t: t, rnd: f.rnd, members: []*Group{f.g0, f.g1, j}}
	tg.agree()
	tg.commit(2, CommitOptions{ForcePath: true})
	tg.agree()
}

// BenchmarkSignVerifyFloor is one Ed25519 SignWithLabel and VerifyWithLabel
// of 100 bytes: the floor of BenchmarkApplicationMessage, measured in the
// same run so that the two can be compared on a loaded machine.
func BenchmarkSignVerifyFloor(b *testing.B) {
	suite, _ := cipher.Lookup(1)
	priv, pub, err := suite.GenerateSignatureKey(testRand(1))
	if err != nil {
		b.Fatal(err)
	}
	sg, _ := suite.NewSigner(priv)
	v, _ := suite.NewVerifier(pub)
	data := make([]byte, 100)
	loop(b, func() {
		sig, err := sg.SignWithLabel("FramedContentTBS", data)
		if err != nil || v.VerifyWithLabel("FramedContentTBS", data, sig) != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkMarshalGroupPastEpochs is the state a channel's node writes
// after each batch of received messages: ten members, the default three
// past epochs (each a member's join, as in the testbed), and messages of
// every member read in the current epoch. The past epochs' encodings are
// cached between writes; the current epoch's secret tree changes.
func BenchmarkMarshalGroupPastEpochs(b *testing.B) {
	tg := newTestGroup(b, X25519_AES128GCM_SHA256_Ed25519, 2)
	for len(tg.members) < 10 {
		tg.add(1)
	}
	r := tg.members[1]
	for _, m := range tg.members {
		if m == r {
			continue
		}
		msg, err := m.EncryptApplication(tg.rnd, []byte("hello"), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.ProcessMessage(msg, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	if len(r.past) == 0 {
		b.Fatal("no past epochs: the benchmark would not measure them")
	}
	loop(b, func() {
		if _, err := r.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	})
}
