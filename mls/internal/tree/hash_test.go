package tree

import (
	"bytes"
	"errors"
	mrand "math/rand/v2"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// TestHashCache changes random nodes of a tree and checks after each change
// that the cached tree hashes equal those of a tree hashed from scratch.
func TestHashCache(t *testing.T) {
	s := suite1(t)
	tr, ms := addedTree(t, s, newRand(1), 13)
	r := mrand.New(mrand.NewPCG(3, 4))
	for step := range 200 {
		x := NodeIndex(r.IntN(int(tr.NodeCount())))
		switch {
		case r.IntN(4) == 0:
			tr.set(x, node{})
		case x.IsLeaf():
			tr.set(x, node{leaf: ms[r.IntN(len(ms))].leaf})
		default:
			tr.set(x, node{parent: &wire.ParentNode{EncryptionKey: []byte{byte(step)}, UnmergedLeaves: []uint32{uint32(step % 16)}}})
		}
		if r.IntN(3) == 0 {
			continue // let changes pile up before the next hash
		}
		enc := tr.RatchetTree()
		if len(enc) == 0 {
			continue
		}
		fresh, err := FromRatchetTree(s, enc)
		if err != nil {
			t.Fatal(err)
		}
		for y := range tr.NodeCount() {
			if y < fresh.NodeCount() && !bytes.Equal(tr.NodeHash(NodeIndex(y)), fresh.NodeHash(NodeIndex(y))) {
				t.Fatalf("step %d: cached hash of node %d is stale", step, y)
			}
		}
	}
	if tr.NodeHash(NodeIndex(tr.NodeCount())) != nil {
		t.Fatal("NodeHash outside the tree is not nil")
	}
	h := tr.TreeHash()
	h[0] ^= 1
	if bytes.Equal(h, tr.TreeHash()) {
		t.Fatal("TreeHash returned the cache itself")
	}
}

// TestOriginalHash checks original_sibling_tree_hash (§7.9): with nothing
// excluded it is the tree hash; excluding a leaf equals hashing the tree
// with that leaf blanked and removed from unmerged_leaves.
func TestOriginalHash(t *testing.T) {
	s := suite1(t)
	tr, _ := addedTree(t, s, newRand(1), 4)
	tr.set(1, node{parent: &wire.ParentNode{EncryptionKey: []byte("a"), UnmergedLeaves: []uint32{1}}})
	tr.set(3, node{parent: &wire.ParentNode{EncryptionKey: []byte("b"), UnmergedLeaves: []uint32{1, 3}}})
	if !bytes.Equal(tr.originalHash(3, nil), tr.TreeHash()) {
		t.Fatal("original hash without exclusions differs from the tree hash")
	}
	want := tr.Clone()
	want.set(2, node{})
	want.set(1, node{parent: &wire.ParentNode{EncryptionKey: []byte("a")}})
	want.set(3, node{parent: &wire.ParentNode{EncryptionKey: []byte("b"), UnmergedLeaves: []uint32{3}}})
	if !bytes.Equal(tr.originalHash(3, []uint32{1}), want.TreeHash()) {
		t.Fatal("original hash excluding leaf 1 is wrong")
	}
	if !bytes.Equal(tr.originalHash(5, []uint32{1}), tr.NodeHash(5)) {
		t.Fatal("a subtree without excluded leaves does not use its tree hash")
	}
}

func TestHashCacheRoundTrip(t *testing.T) {
	g := committedGroup(t)
	saved, cache := mustEncode(t, g.tr), g.tr.HashCache()
	tr, err := Decode(g.tr.Suite(), saved)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetHashCache(cache[1:]); !errors.Is(err, ErrHashCache) {
		t.Fatalf("short cache: err = %v, want ErrHashCache", err)
	}
	if err := tr.SetHashCache(cache); err != nil {
		t.Fatal(err)
	}
	for x := range tr.NodeCount() {
		if !tr.hashed[x] {
			t.Fatalf("node %d not marked hashed", x)
		}
	}
	if !bytes.Equal(tr.TreeHash(), g.tr.TreeHash()) {
		t.Fatal("restored root hash differs")
	}
	// The restored cache is live: a change re-hashes as usual.
	if err := tr.RemoveLeaf(3); err != nil {
		t.Fatal(err)
	}
	fresh, err := Decode(tr.Suite(), mustEncode(t, tr))
	if err != nil || !bytes.Equal(fresh.TreeHash(), tr.TreeHash()) {
		t.Fatalf("after a change: restored cache gives a stale hash (%v)", err)
	}
}
