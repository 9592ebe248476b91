package store

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"
)

var (
	crashSeeds    = flag.Int("crash.seeds", 6, "number of random seeds for TestCrash")
	crashSeedBase = flag.Uint64("crash.seedbase", 1, "first seed of TestCrash")
)

// crashPoint is a crash image of the filesystem, with what each writer had
// been told (acked) and had started when it was taken.
type crashPoint struct {
	fs      *vfs.MemFS
	acked   []int // batches whose Apply had returned before the image
	started []int // batches whose Apply had begun by the end of the image
}

// TestCrash runs concurrent random workloads on a crashable in-memory
// filesystem, takes crash images at random moments (keeping a random part
// of the unsynced data), and reopens each: every writer's records must equal
// a model of that writer after some prefix of its batches that includes
// every batch whose Apply had returned. Writers use disjoint IDs, so each
// is checked on its own. Writers use Apply, keep up to four ApplyNoWait
// batches pending, or apply with ApplyNoSync and every second or third
// batch with Apply (an ApplyNoSync batch counts as acked only once a later
// synced one returned). Run more seeds with -crash.seeds=1000.
func TestCrash(t *testing.T) {
	for i := range uint64(*crashSeeds) {
		seed := *crashSeedBase + i
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runCrash(t, seed) })
	}
}

func runCrash(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xc4a5))
	fs := vfs.NewCrashableMem()
	db, err := Create("/home", nil, memOptions(fs))
	if err != nil {
		t.Fatal(err)
	}
	nw := 1 + rng.IntN(4)
	work := make([][]*Batch, nw)
	for w := range work {
		work[w] = newWorkload(seed, w).batches(10 + rng.IntN(60))
	}
	acked, started := make([]atomic.Int64, nw), make([]atomic.Int64, nw)
	var wg sync.WaitGroup
	for w := range nw {
		wg.Add(1)
		// 0: Apply; 1..4: ApplyNoWait with this many pending; -2, -3:
		// ApplyNoSync, every second or third batch with Apply.
		depth := rng.IntN(7)
		if depth > 4 {
			depth = 3 - depth
		}
		go func() {
			defer wg.Done()
			if err := runWriter(db, work[w], depth, &acked[w], &started[w]); err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
		}()
	}
	points := takeCrashPoints(rng, seed, fs, acked, started, work)
	wg.Wait()
	points = append(points, crashImage(fs, rng, acked, started))
	db.Close()
	for i, p := range points {
		checkCrashPoint(t, i, p, work)
	}
}

// runWriter applies batches in order, with Apply (depth 0), with up to
// depth ApplyNoWait batches pending, or (depth -k) with ApplyNoSync and
// every k-th batch and the last with Apply; a batch counts as acked only
// once its sync, or a later batch's, has returned.
func runWriter(db *DB, batches []*Batch, depth int, acked, started *atomic.Int64) error {
	if depth < 0 {
		for i, b := range batches {
			started.Add(1)
			if (i+1)%-depth != 0 && i != len(batches)-1 {
				if err := db.ApplyNoSync(ctx, b); err != nil {
					return err
				}
				continue
			}
			if err := db.Apply(ctx, b); err != nil {
				return err
			}
			acked.Store(int64(i + 1))
		}
		return nil
	}
	if depth == 0 {
		for _, b := range batches {
			started.Add(1)
			if err := db.Apply(ctx, b); err != nil {
				return err
			}
			acked.Add(1)
		}
		return nil
	}
	var pending []*Pending
	for i, b := range batches {
		started.Add(1)
		p, err := db.ApplyNoWait(ctx, b)
		if err != nil {
			return err
		}
		pending = append(pending, p)
		for len(pending) > depth || (i == len(batches)-1 && len(pending) > 0) {
			if err := pending[0].Wait(); err != nil {
				return err
			}
			acked.Add(1)
			pending = pending[1:]
		}
	}
	return nil
}

// takeCrashPoints takes up to three crash images while the writers run, each
// after a random number of acknowledged batches.
func takeCrashPoints(rng *rand.Rand, seed uint64, fs *vfs.MemFS, acked, started []atomic.Int64, work [][]*Batch) []crashPoint {
	total := 0
	for _, w := range work {
		total += len(w)
	}
	var points []crashPoint
	for range 1 + rng.IntN(3) {
		target := rng.IntN(total)
		for sum(acked) < target && sum(started) < total {
			runtime.Gosched()
		}
		points = append(points, crashImage(fs, rng, acked, started))
	}
	return points
}

// crashImage clones fs as a crash would leave it. acked is read before the
// clone and started after, so that the truth lies between them.
func crashImage(fs *vfs.MemFS, rng *rand.Rand, acked, started []atomic.Int64) crashPoint {
	p := crashPoint{acked: load(acked)}
	p.fs = fs.CrashClone(vfs.CrashCloneCfg{
		UnsyncedDataPercent: rng.IntN(101),
		RNG:                 rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())),
	})
	p.started = load(started)
	return p
}

func load(xs []atomic.Int64) []int {
	out := make([]int, len(xs))
	for i := range xs {
		out[i] = int(xs[i].Load())
	}
	return out
}

func sum(xs []atomic.Int64) int {
	n := 0
	for i := range xs {
		n += int(xs[i].Load())
	}
	return n
}

// checkCrashPoint reopens a crash image and matches each writer's records
// to a prefix of its batches.
func checkCrashPoint(t *testing.T, i int, p crashPoint, work [][]*Batch) {
	t.Helper()
	db, err := Open("/home", memOptions(p.fs))
	if err != nil {
		t.Fatalf("crash point %d: reopen: %v", i, err)
	}
	got := dumpDB(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for w, batches := range work {
		have := ownedBy(got, byte('a'+w))
		if n, ok := matchPrefix(have, batches, p.acked[w], p.started[w]); !ok {
			t.Errorf("crash point %d, writer %d: records match no prefix of %d..%d batches; nearest diff (-model +disk) at %d:\n%s",
				i, w, p.acked[w], p.started[w], p.acked[w], n)
		}
	}
}

// matchPrefix reports whether have equals the model after applying the
// first n batches for some n in [lo, hi]; if not, it returns the diff at lo.
func matchPrefix(have map[string][]byte, batches []*Batch, lo, hi int) (string, bool) {
	model := NewMemDBWithRetention(testRetention)
	var first string
	for n := 0; n <= hi; n++ {
		if n > 0 {
			model.Apply(ctx, batches[n-1])
		}
		if n < lo {
			continue
		}
		diff := cmp.Diff(dumpMem(model), have)
		if diff == "" {
			return "", true
		}
		if n == lo {
			first = diff
		}
	}
	return first, false
}
