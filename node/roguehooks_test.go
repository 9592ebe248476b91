package node

import (
	"testing"

	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/node/internal/rogue"
)

// TestRogueCommits: each commit the testbed's hostile member makes is
// valid MLS, which a client without the node's policy applies (so the
// testbed counts refusals of authority, not of junk), and the owner
// refuses it.
func TestRogueCommits(t *testing.T) {
	for k := range rogue.Kinds {
		t.Run(k.String(), func(t *testing.T) {
			ctx := ctxT(t)
			a, b, _, id := offlineTrio(t)
			var env []byte
			if err := b.channel(id).do(ctx, func(s *chanState) error {
				var err error
				env, err = s.rogueCommit(k)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var state []byte
			a.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck
				state, _ = s.group.Marshal()
				return nil
			})
			g, err := unpoliced(state)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.ProcessMessageWith(mustEnv(t, env).msg, a.eng.(*mlsEngine).now(), mls.ProcessOptions{}); err != nil {
				t.Fatalf("a client without the policy refused the commit: %v", err)
			}
			ep, auth := groupState(t, a, id)
			deliver(t, a, id, [][]byte{env})
			if ep2, auth2 := groupState(t, a, id); ep2 != ep || string(auth2) != string(auth) {
				t.Fatalf("the owner applied a plain member's %s commit", k)
			}
		})
	}
}
