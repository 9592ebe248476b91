package mls

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// stateVersion is the version of the group state encoding (docs/mls.md).
// A decoder refuses other versions with ErrState.
const stateVersion = 1

// MarshalBinary encodes the group state (docs/mls.md, "State
// serialization"): deterministic bytes from which UnmarshalGroup rebuilds
// an identical group. The bytes hold the epoch's secrets and private keys:
// store them as secrets. Secrets the group has deleted (used message keys,
// dropped epochs) are not in them.
func (g *Group) MarshalBinary() ([]byte, error) {
	var w tls.Writer
	w.Grow(g.stateSize + g.stateSize/8) // one allocation, whatever grew since
	w.Uint16(stateVersion)
	g.marshalState(&w)
	w.Optional(g.pending != nil, func(w *tls.Writer) { g.pending.marshal(w) })
	g.stateSize = len(w.Bytes())
	return w.Bytes(), w.Err()
}

// marshalState writes everything but the version and pending commit.
func (g *Group) marshalState(w *tls.Writer) {
	rt, err := g.encodedTree()
	if err != nil {
		w.Fail(err)
		return
	}
	w.Opaque(g.gcRaw)
	w.Opaque(rt)
	w.Opaque(g.tree.HashCache())
	g.keys.MarshalTLS(w)
	w.Opaque(g.sigPriv)
	w.Opaque(g.interim)
	for _, s := range g.ep.list() {
		w.Opaque(*s)
	}
	w.Vector(g.st.MarshalTLS) // opaque: the encoding with its length
	w.Vector(func(w *tls.Writer) {
		for _, p := range g.past {
			p.marshal(w)
		}
	})
	w.Vector(func(w *tls.Writer) {
		for _, r := range g.resumption {
			w.Uint64(r.epoch)
			w.Opaque(r.psk)
		}
	})
	g.marshalEpochExtras(w)
}

// encodedTree returns the ratchet_tree encoding, cached per tree.
func (g *Group) encodedTree() ([]byte, error) {
	if g.treeRaw == nil {
		rt, err := g.tree.Encode()
		if err != nil {
			return nil, err
		}
		g.treeRaw = rt
	}
	return g.treeRaw, nil
}

// marshalEpochExtras writes the proposals, update keys and status.
func (g *Group) marshalEpochExtras(w *tls.Writer) {
	w.Vector(func(w *tls.Writer) {
		for _, c := range g.proposals {
			w.Opaque(c.ref)
			c.sender.MarshalTLS(w)
			c.proposal.MarshalTLS(w)
		}
	})
	w.Vector(func(w *tls.Writer) {
		for _, u := range g.updates {
			w.Opaque(u.pub)
			w.Opaque(u.priv)
		}
	})
	w.Bool(g.active)
	w.Optional(g.reinit != nil, func(w *tls.Writer) { g.reinit.MarshalTLS(w) })
}

// list returns pointers to the secrets in encoding order.
func (e *epochSecrets) list() []*[]byte {
	return []*[]byte{&e.init, &e.senderData, &e.exporter, &e.external, &e.confirmation, &e.membership, &e.resumption, &e.authenticator}
}

func (p *pastEpoch) marshal(w *tls.Writer) {
	if p.enc == nil || p.encVer != p.st.Version() {
		p.dropEnc()
		var pw tls.Writer
		p.encode(&pw)
		if pw.Err() != nil {
			w.Fail(pw.Err())
			return
		}
		p.enc, p.encVer = pw.Bytes(), p.st.Version()
	}
	w.Raw(p.enc)
}

// encode writes the past epoch (marshal caches it).
func (p *pastEpoch) encode(w *tls.Writer) {
	w.Uint64(p.epoch)
	w.Opaque(p.senderData)
	w.Opaque(tls.MustMarshal(p.st))
	w.Opaque(tls.MustMarshal(&p.gc))
	marshalChanged(w, p.changed)
}

// marshalChanged writes a leaf → optional LeafNode map in leaf order.
func marshalChanged(w *tls.Writer, m map[LeafIndex]*wire.LeafNode) {
	leaves := make([]LeafIndex, 0, len(m))
	for l := range m {
		leaves = append(leaves, l)
	}
	slices.Sort(leaves)
	w.Vector(func(w *tls.Writer) {
		for _, l := range leaves {
			w.Uint32(uint32(l))
			w.Optional(m[l] != nil, func(w *tls.Writer) { m[l].MarshalTLS(w) })
		}
	})
}

func (p *pendingCommit) marshal(w *tls.Writer) {
	w.Opaque(p.message)
	var nw tls.Writer
	p.next.marshalState(&nw)
	if err := nw.Err(); err != nil {
		w.Fail(err)
	}
	w.Opaque(nw.Bytes())
	marshalChanged(w, p.changed)
	r := p.result
	w.Uint32(uint32(r.Committer))
	flags := []bool{r.External, r.SelfRemoved, r.ReInit}
	for _, f := range flags {
		w.Bool(f)
	}
	for _, ls := range [][]LeafIndex{memberLeaves(r.Added), r.Updated, memberLeaves(r.Removed)} {
		w.Vector(func(w *tls.Writer) {
			for _, l := range ls {
				w.Uint32(uint32(l))
			}
		})
	}
}

func memberLeaves(ms []Member) []LeafIndex {
	out := make([]LeafIndex, len(ms))
	for i, m := range ms {
		out[i] = m.Index
	}
	return out
}

// UnmarshalGroup restores a group from MarshalBinary's bytes, with the
// hooks and bounds of cfg. It checks the state's consistency: the tree
// matches the GroupContext's tree hash, the private keys match the tree and
// the signature key this member's leaf. Errors match ErrMalformed
// (undecodable bytes), ErrUnsupported, or ErrState (another version, or
// inconsistent state). The result does not alias data.
func UnmarshalGroup(data []byte, cfg Config) (*Group, error) {
	if cfg.AuthenticationService == nil {
		return nil, fmt.Errorf("%w: no authentication service", ErrCredential)
	}
	r := tls.NewReader(slices.Clone(data))
	if v := r.Uint16(); r.Err() == nil && v != stateVersion {
		return nil, fmt.Errorf("%w: state version %d, want %d", ErrState, v, stateVersion)
	}
	g, err := unmarshalState(r, cfg)
	if err != nil {
		return nil, err
	}
	var pend *pendingRaw
	if r.Optional() {
		pend = readPending(r)
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("mls: group state: %w", err)
	}
	if pend != nil {
		if g.pending, err = pend.build(g, cfg); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// stateRaw is the decoded fields before the group is assembled.
type stateRaw struct {
	gc, rt, hashes, sigPriv, interim, st []byte
	keys                                 tree.PrivateKeys
	ep                                   epochSecrets
	past                                 []pastRaw
	resumption                           []resumptionPSK
}

type pastRaw struct {
	epoch              uint64
	senderData, st, gc []byte
	changed            map[LeafIndex]*wire.LeafNode
}

// unmarshalState reads marshalState's output and assembles the group.
func unmarshalState(r *tls.Reader, cfg Config) (*Group, error) {
	var s stateRaw
	s.gc, s.rt, s.hashes = r.Opaque(), r.Opaque(), r.Opaque()
	s.keys.UnmarshalTLS(r)
	s.sigPriv, s.interim = r.Opaque(), r.Opaque()
	for _, p := range s.ep.list() {
		*p = r.Opaque()
	}
	s.st = r.Opaque()
	r.Vector(func(r *tls.Reader) { s.past = append(s.past, readPast(r)) })
	r.Vector(func(r *tls.Reader) {
		s.resumption = append(s.resumption, resumptionPSK{epoch: r.Uint64(), psk: r.Opaque()})
	})
	g := &Group{cfg: cfg}
	r.Vector(func(r *tls.Reader) {
		c := &cachedProposal{ref: r.Opaque()}
		c.sender.UnmarshalTLS(r)
		c.proposal.UnmarshalTLS(r)
		g.proposals = append(g.proposals, c)
	})
	r.Vector(func(r *tls.Reader) { g.updates = append(g.updates, updateKey{pub: r.Opaque(), priv: r.Opaque()}) })
	g.active = r.Bool()
	if r.Optional() {
		g.reinit = new(wire.ReInit)
		g.reinit.UnmarshalTLS(r)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("mls: group state: %w", err)
	}
	return g, s.assemble(g)
}

func readPast(r *tls.Reader) pastRaw {
	p := pastRaw{epoch: r.Uint64(), senderData: r.Opaque(), st: r.Opaque(), gc: r.Opaque()}
	p.changed = readChanged(r)
	return p
}

func readChanged(r *tls.Reader) map[LeafIndex]*wire.LeafNode {
	m := map[LeafIndex]*wire.LeafNode{}
	r.Vector(func(r *tls.Reader) {
		l := LeafIndex(r.Uint32())
		var ln *wire.LeafNode
		if r.Optional() {
			ln = new(wire.LeafNode)
			ln.UnmarshalTLS(r)
		}
		m[l] = ln
	})
	return m
}

// assemble builds g from the decoded fields and checks consistency.
func (s *stateRaw) assemble(g *Group) error {
	if err := tls.Unmarshal(s.gc, &g.gc); err != nil {
		return fmt.Errorf("mls: group state: group context: %w", err)
	}
	g.gcRaw = s.gc
	suite, err := cipher.Lookup(uint16(g.gc.CipherSuite))
	if err != nil {
		return err
	}
	g.suite = suite
	if g.tree, err = tree.Decode(suite, s.rt); err != nil {
		return fmt.Errorf("mls: group state: %w", err)
	}
	// The saved tree hashes spare a restore O(n) hashing; they come from
	// this member's own state, and the root is checked below.
	if err := g.tree.SetHashCache(s.hashes); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if !bytes.Equal(g.tree.TreeHash(), g.gc.TreeHash) {
		return fmt.Errorf("%w: tree hash", ErrState)
	}
	g.keys, g.sigPriv, g.interim, g.ep, g.resumption = &s.keys, s.sigPriv, s.interim, s.ep, s.resumption
	if err := g.checkKeys(); err != nil {
		return err
	}
	if g.st, err = schedule.UnmarshalSecretTree(s.st); err != nil {
		return fmt.Errorf("mls: group state: %w", err)
	}
	for _, p := range s.past {
		pe, err := p.build()
		if err != nil {
			return err
		}
		g.past = append(g.past, pe)
	}
	g.index = newKeyIndex(g.tree)
	return nil
}

// checkKeys checks the private keys and signature key against the tree.
func (g *Group) checkKeys() error {
	if !g.active && g.ownLeafNode() == nil {
		var err error
		g.signer, err = g.suite.NewSigner(g.sigPriv) // removed: nothing to match
		return err
	}
	if err := g.tree.CheckPrivateKeys(g.keys); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	var err error
	if g.signer, err = g.suite.NewSigner(g.sigPriv); err != nil {
		return fmt.Errorf("%w: signature key: %w", ErrState, err)
	}
	if ln := g.ownLeafNode(); ln == nil || !bytes.Equal(ln.SignatureKey, g.signer.PublicKey()) {
		return fmt.Errorf("%w: signature key does not match the own leaf", ErrState)
	}
	return nil
}

func (p *pastRaw) build() (*pastEpoch, error) {
	pe := &pastEpoch{epoch: p.epoch, senderData: p.senderData, changed: p.changed}
	var err error
	if pe.st, err = schedule.UnmarshalSecretTree(p.st); err != nil {
		return nil, fmt.Errorf("mls: group state: past epoch: %w", err)
	}
	if err := tls.Unmarshal(p.gc, &pe.gc); err != nil {
		return nil, fmt.Errorf("mls: group state: past epoch: %w", err)
	}
	return pe, nil
}

// pendingRaw is a decoded pending commit.
type pendingRaw struct {
	message, next           []byte
	changed                 map[LeafIndex]*wire.LeafNode
	committer               LeafIndex
	external, self, reinit  bool
	added, updated, removed []LeafIndex
}

func readPending(r *tls.Reader) *pendingRaw {
	p := &pendingRaw{message: r.Opaque(), next: r.Opaque()}
	p.changed = readChanged(r)
	p.committer = LeafIndex(r.Uint32())
	p.external, p.self, p.reinit = r.Bool(), r.Bool(), r.Bool()
	for _, ls := range []*[]LeafIndex{&p.added, &p.updated, &p.removed} {
		r.Vector(func(r *tls.Reader) { *ls = append(*ls, LeafIndex(r.Uint32())) })
	}
	return p
}

// build assembles the pending commit of g.
func (p *pendingRaw) build(g *Group, cfg Config) (*pendingCommit, error) {
	r := tls.NewReader(p.next)
	next, err := unmarshalState(r, cfg)
	if err != nil {
		return nil, err
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("mls: group state: pending: %w", err)
	}
	next.index = g.index
	res := &CommitApplied{Epoch: next.gc.Epoch, Committer: p.committer, External: p.external, Updated: p.updated,
		SelfRemoved: p.self, ReInit: p.reinit, Own: true}
	for _, l := range p.added {
		if m, ok := next.Member(l); ok {
			res.Added = append(res.Added, m)
		}
	}
	for _, l := range p.removed {
		if m, ok := g.Member(l); ok {
			res.Removed = append(res.Removed, m)
		}
	}
	return &pendingCommit{message: p.message, next: next, changed: p.changed, result: res}, nil
}
