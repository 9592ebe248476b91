package node

import (
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestChurnOfflineConverges is TestChurnConverges without a network, over
// eight delivery orders: in one epoch dave leaves, alice removes erin, bob
// and carol update their keys; the test delivers every message in a random
// order (some late, some after a restart of the receiver, gaps filled by
// the sync handler). Alice, bob and carol must end with the same epoch,
// tree and CRDT view (the testbed's Digest).
func TestChurnOfflineConverges(t *testing.T) {
	for seed := range uint64(8) {
		t.Run("", func(t *testing.T) {
			ctx := ctxT(t)
			a, b, c, id := offlineTrio(t)
			w := &authSim{t: t, rnd: mrand.New(mrand.NewPCG(seed, 2)), id: id, seen: map[string]uint64{},
				pending: map[string][][]byte{}, nodes: map[string]*Node{"alice": a, "bob": b, "carol": c}}
			for _, name := range []string{"dave", "erin"} {
				n := open(t, newHome(t, name), false)
				before := outboxLen(a, id)
				resp, bundle, inv := admitOffline(t, a, n, id)
				for _, o := range w.nodes {
					if o != a {
						deliver(t, o, id, outboxSince(t, a, id, before))
					}
				}
				if _, err := n.finishJoin(ctx, id, resp, bundle, inv, a.PeerID()); err != nil {
					t.Fatal(err)
				}
				w.nodes[name] = n
			}
			w.honest = []string{"alice", "bob", "carol", "dave", "erin"}
			w.settle()
			sd := outboxLen(w.nodes["dave"], id)
			if err := w.nodes["dave"].Leave(ctx, id); err != nil {
				t.Fatal(err)
			}
			// Bob has dave's leave when he updates his keys: his commit
			// removes dave too, with a "left" line of its own, and may
			// lose; the line must not stay on bob's replica alone.
			deliver(t, w.nodes["bob"], id, outboxSince(t, w.nodes["dave"], id, sd))
			if err := w.nodes["alice"].RemoveMember(ctx, id, w.nodes["erin"].PeerID()); err != nil {
				t.Fatal(err)
			}
			for _, n := range []*Node{w.nodes["bob"], w.nodes["carol"]} {
				if err := n.UpdateKeys(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			for _, name := range []string{"alice", "bob", "carol"} {
				if _, err := w.nodes[name].Send(ctx, id, "on the branch of "+name); err != nil {
					t.Fatal(err)
				}
			}
			w.settle()
			w.honest = []string{"alice", "bob", "carol"}
			// A newcomer admitted by alice while bob's post is in flight:
			// it gets it although alice made its history without it.
			if _, err := w.nodes["bob"].Send(ctx, id, "in flight"); err != nil {
				t.Fatal(err)
			}
			f := open(t, newHome(t, "frank"), false)

			resp, bundle, inv := admitOffline(t, w.nodes["alice"], f, id)
			if _, err := f.finishJoin(ctx, id, resp, bundle, inv, w.nodes["alice"].PeerID()); err != nil {
				t.Fatal(err)
			}
			w.nodes["frank"] = f
			w.honest = []string{"alice", "bob", "carol", "frank"}
			w.settle()
			checkAgree(t, w, func(name string, dg Digest) {
				if len(dg.Members) != 4 {
					t.Errorf("seed %d: %s has %d members", seed, name, len(dg.Members))
				}
			})
		})
	}
}

// checkAgree compares the digests of w's honest members with the first
// one's: the same tree, CRDT view and view members; check sees each.
func checkAgree(t *testing.T, w *authSim, check func(name string, dg Digest)) {
	t.Helper()
	var ref Digest
	first := w.honest[0]
	for i, name := range w.honest {
		dg, err := w.nodes[name].Digest(ctxT(t), w.id)
		if err != nil {
			t.Fatal(err)
		}
		check(name, dg)
		if i == 0 {
			ref = dg
			continue
		}
		if dg.Authenticator != ref.Authenticator || dg.View != ref.View || !slices.Equal(dg.ViewMembers, ref.ViewMembers) {
			t.Errorf("%s differs from %s: epoch %d/%d, same tree %v, same view %v (%d/%d messages), %d/%d view members",
				name, first, dg.Epoch, ref.Epoch, dg.Authenticator == ref.Authenticator, dg.View == ref.View,
				dg.Messages, ref.Messages, len(dg.ViewMembers), len(ref.ViewMembers))
			t.Logf("labels:\n%s\n%s", crdtLabels(t, w.nodes[first], w.id), crdtLabels(t, w.nodes[name], w.id))
		}
	}
}

// crdtLabels describes the CRDT's member labels of n's replica and its
// timeline, for a failure message.
func crdtLabels(t *testing.T, n *Node, id string) string {
	var out []string
	n.channel(id).do(ctxT(t), func(s *chanState) error { //nolint:errcheck
		for _, m := range s.crdt.Members() {
			out = append(out, fmt.Sprintf("%s=%s", m.ID[len(m.ID)-6:], m.Role))
		}
		ms, _ := s.timeline(0)
		for _, m := range ms {
			v := s.view(m)
			out = append(out, fmt.Sprintf("%q", v.Text))
		}
		return nil
	})
	return n.id.name + ": " + strings.Join(out, " ")
}
