package tree

import (
	"fmt"
	"sync"
	"syscall"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// benchTree is a full tree (every node non-blank) shared by the benchmarks,
// with the private view of leaf 0; building one costs about a second per
// 10,000 leaves.
type benchTree struct {
	tr      *Tree
	members []*member
	keys    *PrivateKeys
}

var (
	benchMu    sync.Mutex
	benchTrees = map[int]*benchTree{}
)

func getBenchTree(b *testing.B, n int) *benchTree {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if bt := benchTrees[n]; bt != nil {
		return bt
	}
	tr, ms, keys := fullTree(b, suite1(b), n, 0)
	tr.TreeHash() // clones share the warm cache
	bt := &benchTree{tr: tr, members: ms, keys: keys}
	benchTrees[n] = bt
	return bt
}

// BenchmarkTreeHash computes the tree hash of a full tree from scratch
// (every node hashed, as when joining or loading a group).
func BenchmarkTreeHash(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("leaves=%d", n), func(b *testing.B) {
			tr := getBenchTree(b, n).tr.Clone()
			b.ResetTimer()
			defer reportCPU(b)()
			for range b.N {
				clear(tr.hashed)
				tr.TreeHash()
			}
		})
	}
}

// BenchmarkTreeHashPath re-hashes a full tree after one leaf and its direct
// path changed, as after a commit: O(log n) hashes from the cache.
func BenchmarkTreeHashPath(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("leaves=%d", n), func(b *testing.B) {
			bt := getBenchTree(b, n)
			tr := bt.tr.Clone()
			tr.TreeHash()
			leaf := LeafIndex(n / 3)
			path := tr.directPath(leaf)
			alt := [2]*wire.LeafNode{tr.Leaf(leaf), bt.members[0].leaf}
			b.ResetTimer()
			defer reportCPU(b)()
			for i := range b.N {
				tr.set(leaf.Node(), node{leaf: alt[i%2]})
				for _, x := range path {
					pn := *tr.Parent(x)
					pn.ParentHash = []byte{byte(i)}
					tr.set(x, node{parent: &pn})
				}
				tr.TreeHash()
			}
		})
	}
}

// BenchmarkTreeKEM creates an UpdatePath from leaf 1 (generate, tree hash,
// encrypt) and processes it as leaf 0 (merge, tree hash, decrypt) in a full
// tree: one HPKE encryption per filtered-direct-path node. Each iteration
// first copies the tree into a spare with CloneInto, as a commit would.
func BenchmarkTreeKEM(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		bt := getBenchTree(b, n)
		sender := bt.members[1]
		gid := []byte("bench group")
		b.Run(fmt.Sprintf("leaves=%d/create", n), func(b *testing.B) {
			rnd := newRand(1)
			var tr *Tree
			b.ResetTimer()
			defer reportCPU(b)()
			for range b.N {
				tr = bt.tr.CloneInto(tr)
				p, err := tr.GeneratePath(rnd, 1, sender.leaf, gid, sender.signer)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tr.EncryptPath(rnd, p, groupContext(b, tr.Suite(), gid, 1, tr.TreeHash()), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("leaves=%d/process", n), func(b *testing.B) {
			tr := bt.tr.Clone()
			tr.TreeHash()
			rnd := newRand(2)
			p, err := tr.GeneratePath(rnd, 1, sender.leaf, gid, sender.signer)
			if err != nil {
				b.Fatal(err)
			}
			gc := groupContext(b, tr.Suite(), gid, 1, tr.TreeHash())
			up, err := tr.EncryptPath(rnd, p, gc, nil)
			if err != nil {
				b.Fatal(err)
			}
			base := bt.tr.Clone()
			base.TreeHash()
			var recv *Tree
			b.ResetTimer()
			defer reportCPU(b)()
			for range b.N {
				recv = base.CloneInto(recv)
				if err := recv.MergePath(1, up, nil); err != nil {
					b.Fatal(err)
				}
				recv.TreeHash()
				if _, _, err := recv.DecryptPath(bt.keys, 1, up, gc, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode decodes a ratchet_tree extension and hashes it, as a
// joiner does before validating it; /cached installs a saved hash cache
// instead of hashing, as a member restoring its own state may.
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		bt := getBenchTree(b, n)
		enc, cache := mustEncode(b, bt.tr), bt.tr.HashCache()
		for _, cached := range []bool{false, true} {
			name := fmt.Sprintf("leaves=%d", n)
			if cached {
				name += "/cached"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(enc)))
				b.ResetTimer()
				defer reportCPU(b)()
				for range b.N {
					tr, err := Decode(suite1(b), enc)
					if err != nil {
						b.Fatal(err)
					}
					if cached {
						err = tr.SetHashCache(cache)
					}
					if tr.TreeHash(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkClone copies a tree, as a commit does before applying proposals.
func BenchmarkClone(b *testing.B) {
	tr := getBenchTree(b, 10000).tr
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		tr.Clone()
	}
}

// BenchmarkCloneInto copies a tree into a spare one, without allocating.
func BenchmarkCloneInto(b *testing.B) {
	tr := getBenchTree(b, 10000).tr
	spare := tr.Clone()
	b.ResetTimer()
	defer reportCPU(b)()
	for range b.N {
		spare = tr.CloneInto(spare)
	}
}

// reportCPU measures the process's CPU time from now until the returned
// function runs and reports it per operation as cpu-ns/op: on a machine
// shared with other work, wall time per operation overstates the cost,
// CPU time does not (it includes the garbage collector's).
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkVerifyParentHashes checks the parent-hash chains of a full tree
// whose parent nodes were all set by commits (every member, left to right,
// generated a path), as a joiner must (§7.9.2); /validate adds the unmerged
// leaves, key uniqueness and every leaf signature (Tree.Validate).
func BenchmarkVerifyParentHashes(b *testing.B) {
	const n = 1024 // a power of two, so that no parent node is blank
	s := suite1(b)
	tr, ms := addedTree(b, s, newRand(5), n)
	gid := []byte("bench group")
	rnd := newRand(6)
	for i, m := range ms {
		if _, err := tr.GeneratePath(rnd, LeafIndex(i), tr.Leaf(LeafIndex(i)), gid, m.signer); err != nil {
			b.Fatal(err)
		}
	}
	if err := tr.Validate(gid); err != nil {
		b.Fatal(err)
	}
	for x := 1; x < int(tr.NodeCount()); x += 2 {
		if tr.Blank(NodeIndex(x)) {
			b.Fatalf("node %d is blank: the fixture is not full", x)
		}
	}
	b.Run(fmt.Sprintf("leaves=%d", n), func(b *testing.B) {
		defer reportCPU(b)()
		for range b.N {
			if err := tr.VerifyParentHashes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("leaves=%d/validate", n), func(b *testing.B) {
		defer reportCPU(b)()
		for range b.N {
			if err := tr.Validate(gid); err != nil {
				b.Fatal(err)
			}
		}
	})
}
