package tree

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"slices"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// group is the state of a simulated group: one public tree (all members
// agree on it, which the test checks) and each member's private view.
type group struct {
	t       testing.TB
	tr      *Tree
	id      []byte
	epoch   uint64
	members map[LeafIndex]*member
	privs   map[LeafIndex]*PrivateKeys
	nextID  int
}

func newGroup(t testing.TB) *group {
	s := suite1(t)
	first := newMember(t, s, newRand(1000), 0)
	k, err := NewPrivateKeys(s, 0, first.encPriv)
	if err != nil {
		t.Fatal(err)
	}
	return &group{
		t: t, tr: New(s, first.leaf), id: []byte("scenario group"),
		members: map[LeafIndex]*member{0: first}, privs: map[LeafIndex]*PrivateKeys{0: k}, nextID: 1,
	}
}

// commitOps are the proposals of one commit.
type commitOps struct {
	committer LeafIndex
	external  bool // the committer joins by external commit
	updates   []LeafIndex
	removes   []LeafIndex
	adds      int
}

// commit applies ops as the committer and as every other member, checking
// that all agree on the tree and the commit secret.
func (g *group) commit(ops commitOps) {
	t, s := g.t, g.tr.Suite()
	rnd := newRand(uint64(g.epoch) + 1)
	work := g.tr.Clone()
	for _, u := range ops.updates {
		g.applyUpdate(work, u)
	}
	for _, r := range ops.removes {
		if err := work.RemoveLeaf(r); err != nil {
			t.Fatalf("epoch %d: remove %d: %v", g.epoch, r, err)
		}
		delete(g.members, r)
		delete(g.privs, r)
	}
	var added []LeafIndex
	joiners := map[LeafIndex]*member{}
	for range ops.adds {
		m := newMember(t, s, rnd, g.nextID)
		g.nextID++
		i, err := work.AddLeaf(m.leaf)
		if err != nil {
			t.Fatal(err)
		}
		added, joiners[i] = append(added, i), m
	}
	c := ops.committer
	cm := g.members[c]
	if ops.external {
		cm = newMember(t, s, rnd, g.nextID)
		g.nextID++
		c, _ = work.FreeLeaf()
	}
	committed := work.Clone()
	p, err := committed.GeneratePath(rnd, c, cm.leaf, g.id, cm.signer)
	if err != nil {
		t.Fatalf("epoch %d: GeneratePath: %v", g.epoch, err)
	}
	gc := groupContext(t, s, g.id, g.epoch+1, committed.TreeHash())
	up, err := committed.EncryptPath(rnd, p, gc, added)
	if err != nil {
		t.Fatalf("epoch %d: EncryptPath: %v", g.epoch, err)
	}
	g.receive(work, committed, c, up, gc, added, p.CommitSecret())
	g.members[c], g.privs[c] = &member{signer: cm.signer, leaf: p.LeafNode()}, p.PrivateKeys()
	for i, m := range joiners {
		g.join(committed, c, p, i, m)
	}
	g.tr = committed
	g.epoch++
	g.check()
}

// applyUpdate replaces member u's leaf with a fresh one (an Update
// proposal) in work and in u's private view.
func (g *group) applyUpdate(work *Tree, u LeafIndex) {
	t, s := g.t, g.tr.Suite()
	m := g.members[u]
	priv, pub, err := s.GenerateHPKEKey(newRand(uint64(g.epoch)<<8 | uint64(u)))
	if err != nil {
		t.Fatal(err)
	}
	ln := *m.leaf
	ln.EncryptionKey, ln.LeafNodeSource = pub, wire.LeafNodeSourceUpdate
	if err := SignLeafNode(m.signer, &ln, g.id, u); err != nil {
		t.Fatal(err)
	}
	if err := work.UpdateLeaf(u, &ln); err != nil {
		t.Fatalf("update %d: %v", u, err)
	}
	g.members[u] = &member{signer: m.signer, encPriv: priv, leaf: &ln}
	if g.privs[u], err = NewPrivateKeys(s, u, priv); err != nil {
		t.Fatal(err)
	}
}

// receive processes up as every existing member other than the committer.
func (g *group) receive(work, committed *Tree, c LeafIndex, up *wire.UpdatePath, gc []byte, added []LeafIndex, commitSecret []byte) {
	t := g.t
	recv := work.Clone()
	if err := recv.MergePath(c, up, added); err != nil {
		t.Fatalf("epoch %d: MergePath from %d: %v", g.epoch, c, err)
	}
	if !bytes.Equal(recv.TreeHash(), committed.TreeHash()) {
		t.Fatalf("epoch %d: receivers' tree differs from the committer's", g.epoch)
	}
	if err := VerifyLeafNode(recv.Suite(), &up.LeafNode, g.id, c); err != nil {
		t.Fatalf("epoch %d: committer's leaf: %v", g.epoch, err)
	}
	for j, k := range g.privs {
		if j == c {
			continue
		}
		next, cs, err := recv.DecryptPath(k, c, up, gc, added)
		if err != nil {
			t.Fatalf("epoch %d: member %d decrypting path of %d: %v", g.epoch, j, c, err)
		}
		if !bytes.Equal(cs, commitSecret) {
			t.Fatalf("epoch %d: member %d commit secret differs", g.epoch, j)
		}
		g.privs[j] = next
	}
}

// join gives new member m at leaf i its keys from the Welcome path secret.
func (g *group) join(tr *Tree, c LeafIndex, p *Path, i LeafIndex, m *member) {
	t := g.t
	k, err := NewPrivateKeys(tr.Suite(), i, m.encPriv)
	if err != nil {
		t.Fatal(err)
	}
	ps, ok := p.PathSecret(i)
	if !ok {
		t.Fatalf("epoch %d: no path secret for joiner %d", g.epoch, i)
	}
	if k, err = tr.ImportPathSecret(k, c, ps); err != nil {
		t.Fatalf("epoch %d: joiner %d: %v", g.epoch, i, err)
	}
	g.members[i], g.privs[i] = m, k
}

// check verifies the invariants after a commit: the tree validates as a
// joiner would check it, its cached hash equals a fresh one, every private
// view fits it, and membership matches.
func (g *group) check() {
	t := g.t
	if err := g.tr.Validate(g.id); err != nil {
		t.Fatalf("epoch %d: Validate: %v", g.epoch, err)
	}
	fresh, err := Decode(g.tr.Suite(), mustEncode(t, g.tr))
	if err != nil {
		t.Fatalf("epoch %d: Decode: %v", g.epoch, err)
	}
	if !bytes.Equal(fresh.TreeHash(), g.tr.TreeHash()) {
		t.Fatalf("epoch %d: cached tree hash differs from a fresh computation", g.epoch)
	}
	if !slices.Equal(fresh.filled, g.tr.filled) {
		t.Fatalf("epoch %d: cached counts of non-blank nodes differ from a fresh count", g.epoch)
	}
	for j, k := range g.privs {
		if err := g.tr.CheckPrivateKeys(k); err != nil {
			t.Fatalf("epoch %d: member %d: %v", g.epoch, j, err)
		}
		if len(k.Nodes()) < 2 && g.tr.MemberCount() > 1 {
			t.Fatalf("epoch %d: member %d knows no parent key after a commit", g.epoch, j)
		}
	}
	if g.tr.MemberCount() != len(g.privs) {
		t.Fatalf("epoch %d: %d leaves for %d members", g.epoch, g.tr.MemberCount(), len(g.privs))
	}
}

// randomOps draws the proposals of a commit.
func (g *group) randomOps(r *mrand.Rand) commitOps {
	leaves := slices.Sorted(func(yield func(LeafIndex) bool) {
		for i := range g.members {
			if !yield(i) {
				return
			}
		}
	})
	ops := commitOps{committer: leaves[r.IntN(len(leaves))], adds: r.IntN(3)}
	if len(leaves) > 3 && r.IntN(6) == 0 {
		ops.external = true
		ops.adds = 0
	}
	for _, l := range leaves {
		switch v := r.IntN(10); {
		case l == ops.committer && !ops.external:
		case v == 0 && len(leaves)-len(ops.removes) > 2:
			ops.removes = append(ops.removes, l)
		case v == 1:
			ops.updates = append(ops.updates, l)
		}
	}
	return ops
}

// TestScenario runs random commits (adds, removes, updates, external joins,
// each with a path) through a group, checking after each that all members
// agree and that the tree validates.
func TestScenario(t *testing.T) {
	g := newGroup(t)
	r := mrand.New(mrand.NewPCG(1, 2))
	g.commit(commitOps{committer: 0, adds: 4})
	for range 40 {
		g.commit(g.randomOps(r))
	}
	if g.tr.MemberCount() < 3 {
		t.Fatalf("scenario ended with %d members", g.tr.MemberCount())
	}
}

// pathFixture is a group of five after two commits, and a fresh UpdatePath
// from leaf 1 not yet merged.
type pathFixture struct {
	g      *group
	before *Tree // the tree the path applies to
	up     *wire.UpdatePath
	gc     []byte
}

func newPathFixture(t testing.TB) *pathFixture {
	g := newGroup(t)
	g.commit(commitOps{committer: 0, adds: 4})
	g.commit(commitOps{committer: 2})
	before := g.tr.Clone()
	committed := g.tr.Clone()
	rnd := newRand(99)
	p, err := committed.GeneratePath(rnd, 1, g.members[1].leaf, g.id, g.members[1].signer)
	if err != nil {
		t.Fatal(err)
	}
	gc := groupContext(t, committed.Suite(), g.id, g.epoch+1, committed.TreeHash())
	up, err := committed.EncryptPath(rnd, p, gc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pathFixture{g: g, before: before, up: up, gc: gc}
}

// clonePath deep-copies an UpdatePath so a test can tamper with it.
func clonePath(t *testing.T, up *wire.UpdatePath) *wire.UpdatePath {
	b, err := wire.Marshal(up)
	if err != nil {
		t.Fatal(err)
	}
	var c wire.UpdatePath
	if err := wire.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestMergePathRejects(t *testing.T) {
	f := newPathFixture(t)
	tests := []struct {
		name   string
		tamper func(up *wire.UpdatePath)
		want   error
	}{
		{"missing node", func(up *wire.UpdatePath) { up.Nodes = up.Nodes[1:] }, ErrPathLength},
		{"extra ciphertext", func(up *wire.UpdatePath) {
			up.Nodes[0].EncryptedPathSecret = append(up.Nodes[0].EncryptedPathSecret, up.Nodes[0].EncryptedPathSecret[0])
		}, ErrPathLength},
		{"leaf source update", func(up *wire.UpdatePath) { up.LeafNode.LeafNodeSource = wire.LeafNodeSourceUpdate }, ErrLeafSource},
		{"tampered parent hash", func(up *wire.UpdatePath) { up.LeafNode.ParentHash[0] ^= 1 }, ErrParentHash},
		{"swapped node keys", func(up *wire.UpdatePath) {
			up.Nodes[0].EncryptionKey, up.Nodes[1].EncryptionKey = up.Nodes[1].EncryptionKey, up.Nodes[0].EncryptionKey
		}, ErrParentHash},
		{"key already in tree", func(up *wire.UpdatePath) { up.Nodes[1].EncryptionKey = f.before.Leaf(3).EncryptionKey }, ErrDuplicateKey},
		{"leaf key reused", func(up *wire.UpdatePath) { up.LeafNode.EncryptionKey = f.before.Leaf(1).EncryptionKey }, ErrDuplicateKey},
		{"invalid key", func(up *wire.UpdatePath) { up.Nodes[0].EncryptionKey = []byte{1, 2, 3} }, ErrPublicKey},
	}
	want := mustEncode(t, f.before)
	wantHash := f.before.TreeHash()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := clonePath(t, f.up)
			tt.tamper(up)
			tr := f.before.Clone()
			err := tr.MergePath(1, up, nil)
			var ne *NodeError
			if !errors.Is(err, tt.want) || !errors.As(err, &ne) {
				t.Fatalf("MergePath: err = %v, want %v in a *NodeError", err, tt.want)
			}
			if !bytes.Equal(mustEncode(t, tr), want) || !bytes.Equal(tr.TreeHash(), wantHash) {
				t.Fatalf("MergePath changed the tree on error")
			}
		})
	}
	// The untampered path merges: the table's failures are the tampering.
	if err := f.before.Clone().MergePath(1, f.up, nil); err != nil {
		t.Fatalf("untampered MergePath: %v", err)
	}
}

func TestDecryptPathRejects(t *testing.T) {
	f := newPathFixture(t)
	merged := f.before.Clone()
	if err := merged.MergePath(1, f.up, nil); err != nil {
		t.Fatal(err)
	}
	k := f.g.privs[0] // leaf 0 decrypts the first node's secret
	t.Run("tampered ciphertext", func(t *testing.T) {
		up := clonePath(t, f.up)
		up.Nodes[0].EncryptedPathSecret[0].Ciphertext[0] ^= 1
		if _, _, err := merged.DecryptPath(k, 1, up, f.gc, nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
	t.Run("wrong group context", func(t *testing.T) {
		gc := append(slices.Clone(f.gc), 0)
		if _, _, err := merged.DecryptPath(k, 1, f.up, gc, nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
	t.Run("public key mismatch", func(t *testing.T) {
		up := clonePath(t, f.up)
		up.Nodes[len(up.Nodes)-1].EncryptionKey = f.before.Leaf(4).EncryptionKey
		if _, _, err := merged.DecryptPath(k, 1, up, f.gc, nil); !errors.Is(err, ErrPublicKey) {
			t.Fatalf("err = %v, want ErrPublicKey", err)
		}
	})
	t.Run("own path", func(t *testing.T) {
		if _, _, err := merged.DecryptPath(f.g.privs[1], 1, f.up, f.gc, nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
	t.Run("no key", func(t *testing.T) {
		m := newMember(t, merged.Suite(), newRand(77), 77)
		stranger, err := NewPrivateKeys(merged.Suite(), 3, m.encPriv)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := merged.DecryptPath(stranger, 1, f.up, f.gc, nil); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("err = %v, want ErrDecrypt", err)
		}
	})
	before, _ := marshalKeys(t, k)
	if _, _, err := merged.DecryptPath(k, 1, f.up, f.gc, nil); err != nil {
		t.Fatalf("untampered DecryptPath: %v", err)
	}
	if after, _ := marshalKeys(t, k); !bytes.Equal(before, after) {
		t.Fatalf("DecryptPath modified the receiver's PrivateKeys")
	}
}

func TestGeneratePathExternal(t *testing.T) {
	// A joiner beyond a full tree extends it.
	s := suite1(t)
	full, _ := addedTree(t, s, newRand(6), 4)
	m := newMember(t, s, newRand(7), 60)
	i, _ := full.FreeLeaf()
	if i != 4 {
		t.Fatalf("FreeLeaf of a full 4-leaf tree = %d, want 4", i)
	}
	if _, err := full.GeneratePath(newRand(8), i, m.leaf, []byte("g"), m.signer); err != nil {
		t.Fatal(err)
	}
	if full.Width() != 8 || full.Leaf(4) == nil {
		t.Fatalf("after an external path: width %d, leaf 4 %v", full.Width(), full.Leaf(4))
	}
	if got := full.FilteredDirectPath(4); len(got) != 1 || got[0] != 7 {
		t.Fatalf("filtered direct path of the joiner = %v, want [7]", got)
	}
	// Further out is refused, and changes nothing.
	before := mustEncode(t, full)
	if _, err := full.GeneratePath(newRand(9), 9, m.leaf, []byte("g"), m.signer); !errors.Is(err, ErrBlankLeaf) {
		t.Fatalf("GeneratePath from leaf 9 of 8: err = %v, want ErrBlankLeaf", err)
	}
	if err := full.MergePath(9, &wire.UpdatePath{LeafNode: *m.leaf}, nil); !errors.Is(err, ErrBlankLeaf) {
		t.Fatalf("MergePath from leaf 9 of 8: err = %v, want ErrBlankLeaf", err)
	}
	if !bytes.Equal(mustEncode(t, full), before) {
		t.Fatal("a refused path changed the tree")
	}
}

func marshalKeys(t *testing.T, k *PrivateKeys) ([]byte, error) {
	t.Helper()
	b, err := wire.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return b, nil
}

// FuzzMergePath feeds arbitrary UpdatePaths to MergePath and DecryptPath
// on a fixed tree: no panic; errors are typed and leave the tree unchanged.
func FuzzMergePath(f *testing.F) {
	fx := newPathFixture(f)
	seed, err := wire.Marshal(fx.up)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(1), seed)
	f.Add(uint8(3), seed[:len(seed)/2])
	before := mustEncode(f, fx.before)
	f.Fuzz(func(t *testing.T, sender uint8, b []byte) {
		var up wire.UpdatePath
		if err := wire.Unmarshal(b, &up); err != nil {
			return
		}
		tr := fx.before.Clone()
		if err := tr.MergePath(LeafIndex(sender), &up, nil); err != nil {
			var ne *NodeError
			if !errors.As(err, &ne) {
				t.Fatalf("MergePath error %v is not a *NodeError", err)
			}
			if !bytes.Equal(mustEncode(t, tr), before) {
				t.Fatal("MergePath changed the tree on error")
			}
			return
		}
		tr.TreeHash()
		for _, k := range fx.g.privs {
			if _, _, err := tr.DecryptPath(k, LeafIndex(sender), &up, fx.gc, nil); err != nil {
				var ne *NodeError
				if !errors.As(err, &ne) {
					t.Fatalf("DecryptPath error %v is not a *NodeError", err)
				}
			}
		}
	})
}

func TestImportPathSecretRejects(t *testing.T) {
	f := newPathFixture(t)
	merged := f.before.Clone()
	if err := merged.MergePath(1, f.up, nil); err != nil {
		t.Fatal(err)
	}
	m := newMember(t, merged.Suite(), newRand(31), 31)
	k, err := NewPrivateKeys(merged.Suite(), 3, m.encPriv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := merged.ImportPathSecret(k, 1, []byte("not the path secret of node 3")); !errors.Is(err, ErrPublicKey) {
		t.Fatalf("wrong path secret: err = %v, want ErrPublicKey", err)
	}
	if _, err := merged.ImportPathSecret(k, 3, []byte("x")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("joiner is the committer: err = %v, want ErrDecrypt", err)
	}
	if len(k.Nodes()) != 1 {
		t.Fatalf("a failed import changed the private keys: %v", k.Nodes())
	}
}
