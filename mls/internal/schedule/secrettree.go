package schedule

import (
	"fmt"
	"math/bits"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
)

// SecretTree is the secret tree of one epoch with its sender ratchets
// (RFC 9420 §9). Node secrets are derived lazily, top-down, when a leaf's
// ratchets are first needed; each consumed secret is zeroed and dropped
// (§9.2). It is not safe for concurrent use.
type SecretTree struct {
	suite   *cipher.Suite
	nLeaves uint32
	window  Window
	nodes   map[treemath.NodeIndex][]byte // unconsumed node secrets
	leaves  map[treemath.LeafIndex]*leafRatchets
	version uint64 // counts the changes (Version)
}

// Version changes whenever the tree does (a key handed out or consumed):
// an encoding taken at one version is the tree's as long as Version
// returns the same.
func (t *SecretTree) Version() uint64 { return t.version }

// leafRatchets are the two ratchets of one leaf.
type leafRatchets [2]ratchet // indexed by RatchetType

// NewSecretTree returns the secret tree rooted at encryption_secret for a
// ratchet tree of nLeaves leaves (a power of two, §4.1), keeping skipped keys
// as w allows. The secret is copied. A leaf count that is not a power of two
// gives an error matching ErrLeaf; a secret that is not Nh bytes one matching
// cipher.ErrInvalidLength.
func NewSecretTree(s *cipher.Suite, encryptionSecret []byte, nLeaves uint32, w Window) (*SecretTree, error) {
	if nLeaves == 0 || bits.OnesCount32(nLeaves) != 1 {
		return nil, fmt.Errorf("schedule: secret tree of %d leaves: %w", nLeaves, ErrLeaf)
	}
	if len(encryptionSecret) != s.Nh() {
		return nil, fmt.Errorf("schedule: encryption secret of %d bytes: %w", len(encryptionSecret), cipher.ErrInvalidLength)
	}
	t := &SecretTree{
		suite:   s,
		nLeaves: nLeaves,
		window:  w,
		nodes:   map[treemath.NodeIndex][]byte{treemath.Root(nLeaves): append([]byte(nil), encryptionSecret...)},
		leaves:  map[treemath.LeafIndex]*leafRatchets{},
	}
	return t, nil
}

// pending is a leaf's ratchets derived from the tree but not yet stored,
// with the node secrets the derivation consumes and produces.
type pending struct {
	lr       *leafRatchets
	consumed treemath.NodeIndex
	siblings map[treemath.NodeIndex][]byte
}

// leaf returns the ratchets of leaf, deriving them (without storing) if
// they are not yet known.
func (t *SecretTree) leaf(leaf treemath.LeafIndex) (*pending, error) {
	if uint32(leaf) >= t.nLeaves {
		return nil, ErrLeaf
	}
	if lr, ok := t.leaves[leaf]; ok {
		return &pending{lr: lr}, nil
	}
	x := leaf.Node()
	path := append([]treemath.NodeIndex{x}, treemath.DirectPath(x, t.nLeaves)...)
	top := -1
	for i, p := range path {
		if _, ok := t.nodes[p]; ok {
			top = i
			break
		}
	}
	if top < 0 {
		return nil, ErrConsumed // cannot happen: a leaf's ratchets or an ancestor's secret always exist
	}
	p := &pending{consumed: path[top], siblings: map[treemath.NodeIndex][]byte{}}
	secret := t.nodes[path[top]]
	for i := top; i > 0; i-- {
		left, _ := treemath.Left(path[i])
		right, _ := treemath.Right(path[i])
		l, _ := t.suite.ExpandWithLabel(secret, "tree", []byte("left"), t.suite.Nh())
		r, _ := t.suite.ExpandWithLabel(secret, "tree", []byte("right"), t.suite.Nh())
		if i != top {
			clear(secret)
		}
		if path[i-1] == left {
			p.siblings[right], secret = r, l
		} else {
			p.siblings[left], secret = l, r
		}
	}
	p.lr = &leafRatchets{}
	for typ, label := range []string{"handshake", "application"} {
		p.lr[typ].secret, _ = t.suite.ExpandWithLabel(secret, label, nil, t.suite.Nh())
	}
	if top != 0 {
		clear(secret)
	}
	return p, nil
}

// discard zeroes the secrets of a derivation that will not be stored.
func (p *pending) discard() {
	if p.siblings == nil {
		return // nothing was derived
	}
	for _, s := range p.siblings {
		clear(s)
	}
	for i := range p.lr {
		clear(p.lr[i].secret)
	}
}

// commit stores a pending derivation: the consumed node secret is zeroed and
// dropped, its descendants' siblings stored, the ratchets kept.
func (t *SecretTree) commit(leaf treemath.LeafIndex, p *pending) {
	if p.siblings == nil {
		return // the ratchets were already stored
	}
	clear(t.nodes[p.consumed])
	delete(t.nodes, p.consumed)
	for n, s := range p.siblings {
		t.nodes[n] = s
	}
	t.leaves[leaf] = p.lr
}

// Next returns the key and nonce of the next generation of leaf's ratchet of
// type typ, for sending, and consumes it (RFC 9420 §9.1).
func (t *SecretTree) Next(leaf treemath.LeafIndex, typ RatchetType) (uint32, KeyNonce, error) {
	p, err := t.leaf(leaf)
	if err != nil {
		return 0, KeyNonce{}, errorf(uint32(leaf), typ, 0, err)
	}
	r := &p.lr[typ]
	gen := r.next
	a, err := r.advance(t.suite, t.window, gen)
	if err != nil {
		p.discard()
		return 0, KeyNonce{}, errorf(uint32(leaf), typ, gen, err)
	}
	t.commit(leaf, p)
	r.replace(a)
	t.version++
	return gen, a.kn, nil
}

// Open hands try the key and nonce of generation gen of leaf's ratchet of
// type typ, as a receiver does to decrypt a message (RFC 9420 §6.3.1). If
// try returns nil the key and every secret it came from are consumed and
// deleted (§9.2); if try fails, or the generation is out of reach, the tree
// is unchanged and the error is returned. try must not keep the key and
// nonce: they are zeroed when it returns. Generations already consumed, or
// skipped and since dropped, give ErrConsumed; generations more than
// Window.MaxForward ahead give ErrTooFarAhead.
func (t *SecretTree) Open(leaf treemath.LeafIndex, typ RatchetType, gen uint32, try func(KeyNonce) error) error {
	return t.open(leaf, typ, gen, false, try)
}

// OpenKeepSkipped is Open, except that a generation whose opening would
// delete the key of a generation not received yet (one skipped beyond
// Window.MaxSkipped, or an older skipped key pushed out of the window)
// gives ErrGap and leaves the tree unchanged: a receiver that can fetch the
// missing messages first (a member catching up) loses none of them.
func (t *SecretTree) OpenKeepSkipped(leaf treemath.LeafIndex, typ RatchetType, gen uint32, try func(KeyNonce) error) error {
	return t.open(leaf, typ, gen, true, try)
}

func (t *SecretTree) open(leaf treemath.LeafIndex, typ RatchetType, gen uint32, keep bool, try func(KeyNonce) error) error {
	p, err := t.leaf(leaf)
	if err != nil {
		return errorf(uint32(leaf), typ, gen, err)
	}
	r := &p.lr[typ]
	if keep && r.lost(t.window, gen) > 0 && gen-r.next <= t.window.MaxForward {
		p.discard()
		return errorf(uint32(leaf), typ, gen, ErrGap)
	}
	if gen < r.next || r.done {
		err := t.openSkipped(leaf, typ, r, gen, try)
		if err != nil {
			p.discard()
		}
		return err
	}
	a, err := r.advance(t.suite, t.window, gen)
	if err != nil {
		p.discard()
		return errorf(uint32(leaf), typ, gen, err)
	}
	if err := try(a.kn); err != nil {
		a.kn.clear()
		a.discard()
		p.discard()
		return err
	}
	a.kn.clear()
	t.commit(leaf, p)
	r.replace(a)
	t.version++
	return nil
}

// openSkipped is Open for a generation below the ratchet's position.
func (t *SecretTree) openSkipped(leaf treemath.LeafIndex, typ RatchetType, r *ratchet, gen uint32, try func(KeyNonce) error) error {
	i := r.findSkipped(gen)
	if i < 0 {
		return errorf(uint32(leaf), typ, gen, ErrConsumed)
	}
	kn := r.skipped[i].kn
	if err := try(kn); err != nil {
		return err
	}
	kn.clear()
	r.skipped = append(r.skipped[:i], r.skipped[i+1:]...)
	t.version++
	return nil
}

// LeafCount returns the number of leaves of the tree.
func (t *SecretTree) LeafCount() uint32 { return t.nLeaves }
