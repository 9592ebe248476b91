package node

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/p2p"
)

// authSim is the randomized property test's world: honest members and one
// rogue member, all offline, with the test as the network. It delivers
// every published envelope to every node in a random order, late or after
// a restart of the receiver.
type authSim struct {
	t       *testing.T
	rnd     *mrand.Rand
	id      string
	nodes   map[string]*Node // by name
	honest  []string         // names of the honest members still in the channel
	seen    map[string]uint64
	pending map[string][][]byte // envelopes not yet delivered, per receiver
	forged  []string            // identities a rogue commit tried to add
	posts   int
}

// gather collects the envelopes each node queued since the last gather and
// queues them for every other node.
func (w *authSim) gather() int {
	total := 0
	for _, name := range w.names() {
		n := w.nodes[name]
		var items [][]byte
		n.channel(w.id).do(ctxT(w.t), func(s *chanState) error { //nolint:errcheck
			for _, it := range s.outbox {
				if it.Seq > w.seen[name] {
					items = append(items, it.Data)
					w.seen[name] = it.Seq
				}
			}
			return nil
		})
		for _, other := range w.names() {
			if other != name {
				w.pending[other] = append(w.pending[other], items...)
			}
		}
		total += len(items)
	}
	return total
}

// deliverSome delivers, to each node, a random subset of its pending
// envelopes in a random order; what is left is "lost" for now and comes
// later. Sometimes a node restarts before its delivery.
func (w *authSim) deliverSome(lose bool) {
	for _, name := range w.names() {
		q := w.pending[name]
		w.rnd.Shuffle(len(q), func(i, j int) { q[i], q[j] = q[j], q[i] })
		var now, later [][]byte
		for _, env := range q {
			if lose && w.rnd.IntN(5) == 0 {
				later = append(later, env)
			} else {
				now = append(now, env)
			}
		}
		if w.rnd.IntN(8) == 0 {
			w.restart(name)
		}
		w.pending[name] = later
		deliverQuiet(w.t, w.nodes[name], w.id, now)
	}
}

func (w *authSim) restart(name string) {
	n := w.nodes[name]
	if err := n.Close(); err != nil {
		w.t.Fatal(err)
	}
	w.nodes[name] = open(w.t, n.cfg.Home, false)
}

// settle delivers until nothing is pending and nobody queues more.
func (w *authSim) settle() {
	for range 20 {
		w.gather()
		empty := true
		for _, q := range w.pending {
			empty = empty && len(q) == 0
		}
		if empty {
			return
		}
		w.deliverSome(true)
		w.gather()
		w.deliverSome(false)
		w.syncGaps()
	}
	w.t.Fatal("the network did not settle")
}

// syncGaps does what a node's catch-up does over the network: a node that
// saw a gap (or a message of a branch it had not switched to) asks another
// member for its log from the epoch before its own (serveSync).
func (w *authSim) syncGaps() {
	ctx := ctxT(w.t)
	for _, name := range w.names() {
		n := w.nodes[name]
		var need bool
		var epoch uint64
		n.channel(w.id).do(ctx, func(s *chanState) error { //nolint:errcheck
			need, epoch, s.needSync = s.needSync, s.group.Epoch(), false
			return nil
		})
		if !need {
			continue
		}
		// A switch sets several catch-up rounds, which reach different
		// peers: ask each other member once.
		for _, peer := range w.honest {
			if peer == name {
				continue
			}
			req := syncRequest{Channel: w.id, Epoch: max(epoch, 1) - 1}
			for range 8 {
				rawReq, _ := json.Marshal(req)
				raw, err := w.nodes[peer].serveSync(ctx, p2p.PeerID(n.PeerID()), rawReq)
				if err != nil {
					break // not a member (any more)
				}
				page, err := decodeSyncPage(raw)
				if err != nil {
					w.t.Fatal(err)
				}
				deliverQuiet(w.t, n, w.id, page.Entries)
				if !page.More || page.Next <= req.Cursor {
					break
				}
				req.Cursor = page.Next
			}
		}
	}
}

// names returns the nodes' names in order, so that a seed replays.
func (w *authSim) names() []string {
	out := make([]string, 0, len(w.nodes))
	for k := range w.nodes {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// deliverQuiet is deliver without the log of dropped messages.
func deliverQuiet(t *testing.T, n *Node, id string, envs [][]byte) {
	ctx := ctxT(t)
	for _, raw := range envs {
		env := mustEnv(t, raw)
		n.channel(id).do(ctx, func(s *chanState) error { return s.receive(ctx, env) }) //nolint:errcheck
	}
}

// rogueOnly crafts, from the rogue's current state, a commit it is not
// allowed to make, without changing the rogue's own state.
func (w *authSim) rogueOnly() {
	r := w.nodes["rogue"]
	var out []byte
	r.channel(w.id).do(ctxT(w.t), func(s *chanState) error { //nolint:errcheck
		g, err := mls.UnmarshalGroup(s.stored, mls.Config{AuthenticationService: peerAuth{}})
		if err != nil {
			return err
		}
		var opts mls.CommitOptions
		switch w.rnd.IntN(4) {
		case 0:
			x := open(w.t, newHome(w.t, fmt.Sprintf("forged%d", len(w.forged))), false)
			kpRaw, _, _, _ := x.eng.NewKeyPackage()
			kp, _ := mls.UnmarshalKeyPackage(kpRaw)
			w.forged = append(w.forged, x.PeerID())
			opts.Adds = []*mls.KeyPackage{kp}
		case 1:
			target := w.nodes[w.honest[w.rnd.IntN(len(w.honest))]]
			for _, m := range g.Members() {
				if string(m.Credential.Identity) == target.PeerID() {
					opts.Removes = []mls.LeafIndex{m.Index}
				}
			}
		case 2:
			roles, _ := rolesIn(g.Extensions())
			roles[r.PeerID()] = crdt.RoleOwner
			opts.GroupContextExtensions, opts.SetExtensions = withRoles(g.Extensions(), roles), true
		case 3:
			opts.ReInit = &mls.ReInitParams{GroupID: []byte("elsewhere"), CipherSuite: suite}
		}
		c, err := g.Commit(rand.Reader, opts)
		if err == nil {
			out = envelope{epoch: g.Epoch(), msg: c.Commit}.encode()
		}
		return nil
	})
	if out != nil {
		for _, name := range w.names() {
			if name != "rogue" {
				w.pending[name] = append(w.pending[name], out)
			}
		}
	}
}

// step runs one random operation and lets the network settle.
func (w *authSim) step() {
	ctx := ctxT(w.t)
	pick := func() *Node { return w.nodes[w.honest[w.rnd.IntN(len(w.honest))]] }
	switch op := w.rnd.IntN(10); {
	case op < 4: // a post
		w.posts++
		if _, err := pick().Send(ctx, w.id, "post "+strconv.Itoa(w.posts)); err != nil {
			w.t.Fatal(err)
		}
	case op < 6: // an owner's role change
		m := pick()
		if m == w.nodes["alice"] {
			break
		}
		role := []string{"admin", "member"}[w.rnd.IntN(2)]
		if err := w.nodes["alice"].SetRole(ctx, w.id, m.PeerID(), role); err != nil {
			w.t.Fatal(err)
		}
	case op < 8: // two concurrent commits, each with a post on its branch
		x, y := pick(), pick()
		if x == y {
			break
		}
		commitAndPost(w.t, x, w.id, "concurrent by "+x.id.name+" "+strconv.Itoa(w.posts))
		commitAndPost(w.t, y, w.id, "concurrent by "+y.id.name+" "+strconv.Itoa(w.posts))
		w.posts++
	default: // the rogue's unauthorized commit
		w.rogueOnly()
	}
	w.settle()
}

// check asserts that every honest member has the same tree, roles, epoch
// authenticator and timeline, and that no forged member got in.
func (w *authSim) check(round int) {
	type view struct {
		auth    []byte
		members []string
		roles   []byte
		texts   []string
	}
	var first *view
	for _, name := range w.honest {
		n := w.nodes[name]
		var v view
		n.channel(w.id).do(ctxT(w.t), func(s *chanState) error { //nolint:errcheck
			v.auth, v.members, v.roles = s.group.EpochAuthenticator(), slices.Sorted(slices.Values(s.group.Members())), s.group.Roles().encode()
			return nil
		})
		ms, err := n.Messages(ctxT(w.t), w.id, 0)
		if err != nil {
			w.t.Fatal(err)
		}
		v.texts = slices.Sorted(slices.Values(texts(ms)))
		for _, f := range w.forged {
			if slices.Contains(v.members, f) {
				w.t.Fatalf("round %d: %s's tree holds a member a rogue commit added", round, name)
			}
		}
		if first == nil {
			first = &v
			continue
		}
		switch {
		case !bytes.Equal(v.auth, first.auth):
			w.t.Fatalf("round %d: %s's epoch differs from %s's", round, name, w.honest[0])
		case !slices.Equal(v.members, first.members), !bytes.Equal(v.roles, first.roles):
			w.t.Fatalf("round %d: %s's members or roles differ", round, name)
		case !slices.Equal(v.texts, first.texts):
			w.t.Fatalf("round %d: %s's timeline differs:\n%q\n%q", round, name, v.texts, first.texts)
		}
	}
	roles, _ := decodeRoles(first.roles)
	if roles[w.nodes["rogue"].PeerID()] != 0 {
		w.t.Fatalf("round %d: the rogue holds a role", round)
	}
}

// TestAuthorityProperty: random posts, role changes by the owner, concurrent
// commits, unauthorized commits by a rogue member, restarts and late or
// reordered delivery. After every round, every honest member has the same
// MLS member list, the same roles, the same epoch and the same timeline,
// and no unauthorized change was applied. SPACEPANDA_PROPERTY_SEED and
// SPACEPANDA_PROPERTY_ROUNDS vary it.
func TestAuthorityProperty(t *testing.T) {
	seed, rounds := uint64(10), 12
	if v, err := strconv.ParseUint(os.Getenv("SPACEPANDA_PROPERTY_SEED"), 10, 64); err == nil {
		seed = v
	}
	if v, err := strconv.Atoi(os.Getenv("SPACEPANDA_PROPERTY_ROUNDS")); err == nil {
		rounds = v
	}
	t.Logf("seed %d, %d rounds", seed, rounds)
	a, b, c, id := offlineTrio(t)
	w := &authSim{t: t, rnd: mrand.New(mrand.NewPCG(seed, 1)), id: id, seen: map[string]uint64{},
		pending: map[string][][]byte{}, nodes: map[string]*Node{"alice": a, "bob": b, "carol": c}}
	// The rogue is a member like any other, admitted by alice.
	r := open(t, newHome(t, "rogue"), false)
	before := outboxLen(a, id)
	resp, bundle, inv := admitOffline(t, a, r, id)
	deliver(t, b, id, outboxSince(t, a, id, before))
	deliver(t, c, id, outboxSince(t, a, id, before))
	if _, err := r.finishJoin(ctxT(t), id, resp, bundle, inv, a.PeerID()); err != nil {
		t.Fatal(err)
	}
	w.nodes["rogue"] = r
	w.honest = []string{"alice", "bob", "carol"}
	// Everything queued so far was delivered by offlineTrio's calls or is
	// the joiners' own announcements: deliver it once.
	w.settle()
	for round := range rounds {
		w.step()
		w.check(round)
	}
}
