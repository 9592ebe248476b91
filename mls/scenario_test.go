package mls

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var seeds = flag.Int("mls.seeds", 3, "number of random seeds for TestScenario")

// testRand returns a deterministic randomness source for a test.
func testRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return rand.NewChaCha8(s)
}

// testIdentity makes an identity with a fresh key and a basic credential.
func testIdentity(t testing.TB, rnd *rand.ChaCha8, suite CipherSuite, name string) Identity {
	t.Helper()
	cs, err := cipherSuite(suite)
	if err != nil {
		t.Fatal(err)
	}
	priv, _, err := cs.GenerateSignatureKey(rnd)
	if err != nil {
		t.Fatal(err)
	}
	return Identity{CipherSuite: suite, SignaturePrivateKey: priv, Credential: BasicCredential([]byte(name))}
}

// world is a set of simulated members that exchange messages in order.
type world struct {
	t       *testing.T
	rnd     *rand.ChaCha8
	rng     *rand.Rand
	cfg     Config
	suite   CipherSuite
	members []*member // active members
	gone    []*member // removed members, with their state before removal
	next    int
	held    []heldMessage // application messages delivered late
	epochs  int           // commits applied
}

type member struct {
	name   string
	g      *Group
	before *Group // for removed members: the state before their removal
}

type heldMessage struct {
	from    *member
	data    []byte
	msg     []byte
	readers []*member // the members when it was sent
}

func newWorld(t *testing.T, seed uint64, suite CipherSuite) *world {
	w := &world{t: t, rnd: testRand(seed), rng: rand.New(rand.NewPCG(seed, 1)), suite: suite}
	w.cfg = Config{AuthenticationService: AcceptAllCredentials{}, PSKs: PSKMap{"shared-psk": []byte("0123456789abcdef0123456789abcdef")},
		PrivateHandshake: seed%2 == 1}
	id := testIdentity(t, w.rnd, suite, "m0")
	gid := make([]byte, 16)
	w.rnd.Read(gid)
	g, err := CreateGroup(w.rnd, gid, id, nil, w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.members = []*member{{name: "m0", g: g}}
	w.next = 1
	return w
}

// deliver processes msg at every member but the sender, and merges the
// sender's pending commit by processing its own echo.
func (w *world) deliverCommit(from *member, msg []byte) {
	w.t.Helper()
	var kept []*member
	for _, m := range w.members {
		before := m.g
		cp := *m.g
		m.g = &cp
		res, err := m.g.ProcessMessage(msg, time.Time{})
		if err != nil {
			w.t.Fatalf("%s: process commit: %v", m.name, err)
		}
		ca := res.(*CommitApplied)
		if ca.Own != (m == from) {
			w.t.Fatalf("%s: Own = %v", m.name, ca.Own)
		}
		if ca.SelfRemoved {
			m.before = before
			w.gone = append(w.gone, m)
			if m.g.Active() {
				w.t.Fatalf("%s: removed but active", m.name)
			}
			continue
		}
		kept = append(kept, m)
	}
	w.members = kept
}

// commit has a random member commit opts, delivers it and the Welcome.
func (w *world) commit(from *member, opts CommitOptions, bundles []*KeyPackageBundle) {
	w.t.Helper()
	opts.RatchetTreeInWelcome = w.rng.IntN(2) == 0
	out, err := from.g.Commit(w.rnd, opts)
	if err != nil {
		w.t.Fatalf("%s: commit: %v", from.name, err)
	}
	w.deliverCommit(from, out.Commit)
	w.epochs++
	for i, b := range bundles {
		tree := out.RatchetTree
		if opts.RatchetTreeInWelcome {
			tree = nil
		}
		g, err := JoinGroup(out.Welcome, b, tree, w.cfg, time.Time{})
		if err != nil {
			w.t.Fatalf("join %d: %v", i, err)
		}
		w.members = append(w.members, &member{name: string(b.KeyPackage().Credential().Identity), g: g})
	}
	w.releaseHeld()
}

// newBundle makes a key package for a new member.
func (w *world) newBundle() *KeyPackageBundle {
	name := fmt.Sprintf("m%d", w.next)
	w.next++
	b, err := NewKeyPackage(w.rnd, testIdentity(w.t, w.rnd, w.suite, name), KeyPackageOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func (w *world) pick() *member { return w.members[w.rng.IntN(len(w.members))] }

// send has a member send an application message; every other member reads
// it now, or (held) after the next commit; removed members read nothing.
func (w *world) send(hold bool) {
	from := w.pick()
	data := fmt.Appendf(nil, "%s says %d", from.name, w.rng.Uint64())
	msg, err := from.g.EncryptApplication(w.rnd, data, []byte("aad"))
	if err != nil {
		w.t.Fatalf("%s: encrypt: %v", from.name, err)
	}
	if hold {
		w.held = append(w.held, heldMessage{from: from, data: data, msg: msg, readers: w.members})
		return
	}
	w.readAll(from, data, msg, w.members)
}

// readAll checks that every member but the sender decrypts msg, and that
// no removed member does.
func (w *world) readAll(from *member, data, msg []byte, readers []*member) {
	w.t.Helper()
	for _, m := range readers {
		if !w.isMember(m) {
			continue
		}
		if m == from {
			if _, err := m.g.ProcessMessage(msg, time.Time{}); VerdictOf(err) != Ignore {
				w.t.Fatalf("%s: own message: %v, want ignore", m.name, err)
			}
			continue
		}
		res, err := m.g.ProcessMessage(msg, time.Time{})
		if err != nil {
			w.t.Fatalf("%s: decrypt from %s: %v", m.name, from.name, err)
		}
		am := res.(*ApplicationMessage)
		if !bytes.Equal(am.Data, data) || am.Sender.Index != from.g.OwnLeaf() || string(am.Sender.Credential.Identity) != from.name {
			w.t.Fatalf("%s: wrong message", m.name)
		}
		if _, err := m.g.ProcessMessage(msg, time.Time{}); VerdictOf(err) != Ignore {
			w.t.Fatalf("%s: replay: %v, want ignore", m.name, err)
		}
	}
	for _, m := range w.gone {
		if slices.Contains(readers, m) {
			continue // removed after the message was sent
		}
		for _, g := range []*Group{m.g, m.before} {
			if res, err := g.ProcessMessage(msg, time.Time{}); err == nil {
				w.t.Fatalf("removed %s read a message: %T", m.name, res)
			}
		}
	}
}

// releaseHeld delivers the held messages, now one epoch late.
func (w *world) releaseHeld() {
	held := w.held
	w.held = nil
	for _, h := range held {
		if !w.isMember(h.from) {
			continue
		}
		w.readAll(h.from, h.data, h.msg, h.readers)
	}
}

func (w *world) isMember(m *member) bool {
	for _, x := range w.members {
		if x == m {
			return true
		}
	}
	return false
}

// restoreAll marshals and restores every member, checking the bytes are
// deterministic, and that all members agree on the epoch authenticator.
func (w *world) restoreAll() {
	w.t.Helper()
	for _, m := range w.members {
		m.g = roundTrip(w.t, m.g, w.cfg)
	}
	for _, m := range w.members[1:] {
		if !bytes.Equal(m.g.EpochAuthenticator(), w.members[0].g.EpochAuthenticator()) {
			w.t.Fatalf("%s and %s disagree on epoch %d", m.name, w.members[0].name, m.g.Epoch())
		}
	}
}

// step runs one random operation.
func (w *world) step() {
	from := w.pick()
	switch op := w.rng.IntN(12); {
	case op < 3 || len(w.members) < 3:
		n := 1 + w.rng.IntN(2)
		var bs []*KeyPackageBundle
		var kps []*KeyPackage
		for range n {
			b := w.newBundle()
			bs, kps = append(bs, b), append(kps, b.KeyPackage())
		}
		w.commit(from, CommitOptions{Adds: kps, ForcePath: w.rng.IntN(2) == 0}, bs)
	case op < 5:
		victim := w.pick()
		if victim == from {
			return
		}
		w.commit(from, CommitOptions{Removes: []LeafIndex{victim.g.OwnLeaf()}}, nil)
	case op < 6:
		w.updateByReference(from)
	case op < 7:
		w.leave(from)
	case op < 8:
		psk := PSKRef{ExternalID: []byte("shared-psk")}
		if w.rng.IntN(2) == 0 {
			psk = PSKRef{Epoch: from.g.Epoch()} // every member holds it
		}
		w.commit(from, CommitOptions{PSKs: []PSKRef{psk}}, nil)
	case op < 9:
		w.send(w.rng.IntN(3) == 0)
		w.send(false)
	case op < 10:
		w.commit(from, CommitOptions{SetExtensions: true,
			GroupContextExtensions: []Extension{{Type: ExtensionApplicationID, Data: fmt.Appendf(nil, "app-%d", w.rng.IntN(100))}}}, nil)
	case op < 11:
		w.joinExternal(from)
	default:
		w.send(false)
	}
}

// joinExternal has a newcomer join by external commit from the GroupInfo
// of member from.
func (w *world) joinExternal(from *member) {
	w.t.Helper()
	gi, err := from.g.GroupInfo(w.rng.IntN(2) == 0)
	if err != nil {
		w.t.Fatal(err)
	}
	tree, _ := from.g.RatchetTree()
	name := fmt.Sprintf("m%d", w.next)
	w.next++
	g, commit, err := JoinExternal(w.rnd, gi, testIdentity(w.t, w.rnd, w.suite, name), w.cfg, ExternalJoinOptions{RatchetTree: tree})
	if err != nil {
		w.t.Fatalf("%s: external join: %v", name, err)
	}
	for _, m := range w.members {
		if _, err := m.g.ProcessMessage(commit, time.Time{}); err != nil {
			w.t.Fatalf("%s: external commit: %v", m.name, err)
		}
	}
	w.members = append(w.members, &member{name: name, g: g})
	w.epochs++
	w.releaseHeld()
}

// updateByReference has one member propose an Update and another commit
// it by reference (or the proposer commits with a path, if alone).
func (w *world) updateByReference(committer *member) {
	proposer := w.pick()
	if proposer == committer {
		w.commit(committer, CommitOptions{ForcePath: true}, nil)
		return
	}
	w.propose(proposer, func(g *Group) ([]byte, error) { return g.ProposeUpdate(w.rnd) })
	w.commit(committer, CommitOptions{}, nil)
}

// leave has a member leave: it proposes its removal and another commits.
func (w *world) leave(committer *member) {
	leaver := w.pick()
	if leaver == committer {
		return
	}
	w.propose(leaver, (*Group).Leave)
	w.commit(committer, CommitOptions{}, nil)
}

// propose sends a proposal to every member.
func (w *world) propose(from *member, f func(*Group) ([]byte, error)) {
	w.t.Helper()
	msg, err := f(from.g)
	if err != nil {
		w.t.Fatalf("%s: propose: %v", from.name, err)
	}
	for _, m := range w.members {
		_, err := m.g.ProcessMessage(msg, time.Time{})
		if m == from && VerdictOf(err) == Ignore {
			continue
		}
		if err != nil {
			w.t.Fatalf("%s: proposal: %v", m.name, err)
		}
	}
}

// TestScenario runs random groups: adds, removes, updates, leaves, PSKs and
// application messages (some delivered an epoch late), marshalling and
// restoring every member after every step. Odd seeds send handshake
// messages as PrivateMessages.
func TestScenario(t *testing.T) {
	for seed := range uint64(*seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newWorld(t, seed, X25519_AES128GCM_SHA256_Ed25519)
			for range 40 {
				w.step()
				w.restoreAll()
			}
			w.send(false)
			if len(w.members) < 2 || w.epochs < 20 {
				t.Fatalf("%d members left after %d epochs", len(w.members), w.epochs)
			}
			t.Logf("%d epochs, %d members at the end, %d removed, %d joined in all", w.epochs, len(w.members), len(w.gone), w.next)
		})
	}
}
