package mls

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// validateJoinTree runs the checks a new member makes on the tree it joins
// (§12.4.3.1, §7.9.2, §7.3): the tree hash matches the GroupContext, the
// unmerged leaves, key uniqueness and parent hashes hold, every leaf
// signature verifies and every leaf passes the group's policy.
func validateJoinTree(t *tree.Tree, gc *wire.GroupContext, as AuthenticationService) error {
	if !bytes.Equal(t.TreeHash(), gc.TreeHash) {
		return fmt.Errorf("%w: tree hash does not match the group context", ErrInvalidTree)
	}
	for _, check := range []func() error{t.VerifyUnmergedLeaves, t.VerifyUniqueKeys, t.VerifyParentHashes} {
		if err := check(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidTree, err)
		}
	}
	if err := verifyLeafSignatures(t, gc.GroupID); err != nil {
		return err
	}
	// Lifetimes are not checked here (§7.3 only recommends it for a tree
	// being joined): a key package's lifetime bounds when it may be added,
	// and members stay members after it ends.
	v := leafCheck{suite: t.Suite(), as: as, groupExt: gc.Extensions}
	for i, ln := range t.Leaves() {
		if err := v.policy(ln); err != nil {
			return fmt.Errorf("%w: leaf %d: %w", ErrInvalidTree, i, err)
		}
	}
	return nil
}

// leafJob is one leaf signature to verify.
type leafJob struct {
	i  tree.LeafIndex
	ln *wire.LeafNode
}

// verifyLeafSignatures verifies every leaf signature (§7.3), in parallel
// on up to GOMAXPROCS goroutines that end before it returns: the one place
// the package uses concurrency, since a join costs one verification per
// member. The tree is only read here (leaf nodes are immutable).
func verifyLeafSignatures(t *tree.Tree, groupID []byte) error {
	var jobs []leafJob
	for i, ln := range t.Leaves() {
		jobs = append(jobs, leafJob{i, ln})
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs)/64+1)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = verifyLeafRange(t.Suite(), jobs, groupID, w, workers)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidTree, err)
		}
	}
	return nil
}

// verifyLeafRange verifies jobs w, w+n, w+2n, ...
func verifyLeafRange(suite *cipher.Suite, jobs []leafJob, groupID []byte, w, n int) error {
	for k := w; k < len(jobs); k += n {
		if err := tree.VerifyLeafNode(suite, jobs[k].ln, groupID, jobs[k].i); err != nil {
			return fmt.Errorf("leaf %d: %w", jobs[k].i, err)
		}
	}
	return nil
}
