package mls

import (
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tree"
)

// TestPruneKeys: keys of nodes a change blanked are dropped (§7.5), the
// others kept, and a clean view is returned as it is.
func TestPruneKeys(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 4)
	tg.commit(1, CommitOptions{ForcePath: true}) // sets the path of leaf 1
	g := tg.members[0]
	if n := len(g.keys.Nodes()); n < 3 {
		t.Fatalf("member 0 holds %d keys", n)
	}
	same, err := pruneKeys(g.tree, g.keys)
	if err != nil || same != g.keys {
		t.Fatal("pruning a clean view copied it")
	}
	t2 := g.tree.Clone()
	if err := t2.RemoveLeaf(1); err != nil { // blanks nodes 1 and 3, above leaf 0 too
		t.Fatal(err)
	}
	k, err := pruneKeys(t2, g.keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := t2.CheckPrivateKeys(k); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.PrivateKey(tree.NodeIndex(0)); !ok || len(k.Nodes()) != 1 {
		t.Fatalf("kept nodes %v, want the leaf only", k.Nodes())
	}
	if err := g.tree.CheckPrivateKeys(g.keys); err != nil || len(g.keys.Nodes()) < 3 {
		t.Fatal("pruning changed the original view")
	}
}
