package mls

import (
	"errors"
	"testing"
)

// TestCommitPolicy: a member whose policy refuses a commit rejects it with
// ErrPolicy and a reject verdict, and its group is unchanged; the policy
// sees the commit's proposals; the committer's own Commit is checked too.
func TestCommitPolicy(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	var seen *CommitView
	onlyLeaf0Removes := func(g *Group, c *CommitView) error {
		seen = c
		for _, p := range c.Proposals {
			if p.Type == ProposalReInit {
				return errors.New("no ReInit")
			}
			if p.Type == ProposalRemove && c.Committer != 0 {
				return errors.New("only leaf 0 removes")
			}
		}
		return nil
	}
	tg.members[0].cfg.CommitPolicy = onlyLeaf0Removes
	out, err := tg.members[1].Commit(tg.rnd, CommitOptions{Removes: []LeafIndex{2}})
	if err != nil {
		t.Fatal(err)
	}
	epoch, auth := tg.members[0].Epoch(), tg.members[0].EpochAuthenticator()
	_, err = tg.members[0].ProcessMessage(out.Commit, timeZero)
	if !errors.Is(err, ErrPolicy) || VerdictOf(err) != Reject {
		t.Fatalf("ProcessMessage = %v (verdict %v), want ErrPolicy rejected", err, VerdictOf(err))
	}
	if tg.members[0].Epoch() != epoch || string(tg.members[0].EpochAuthenticator()) != string(auth) {
		t.Fatal("a refused commit changed the group")
	}
	if seen == nil || seen.Committer != 1 || len(seen.Proposals) != 1 || seen.Proposals[0].Type != ProposalRemove ||
		seen.Proposals[0].Removed != 2 || seen.Proposals[0].ByReference {
		t.Fatalf("policy saw %+v", seen)
	}
	if err := tg.members[1].DiscardPendingCommit(); err != nil {
		t.Fatal(err)
	}
	// A ReInit by value is described and refused as well.
	out, err = tg.members[1].Commit(tg.rnd, CommitOptions{ReInit: &ReInitParams{GroupID: []byte("new"), CipherSuite: X25519_AES128GCM_SHA256_Ed25519}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = tg.members[0].ProcessMessage(out.Commit, timeZero); !errors.Is(err, ErrPolicy) {
		t.Fatalf("ReInit commit: %v, want ErrPolicy", err)
	}
	// The committer's own Commit runs the policy too.
	tg.members[1].cfg.CommitPolicy = onlyLeaf0Removes
	if err := tg.members[1].DiscardPendingCommit(); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.members[1].Commit(tg.rnd, CommitOptions{Removes: []LeafIndex{2}}); !errors.Is(err, ErrPolicy) {
		t.Fatalf("own Commit: %v, want ErrPolicy", err)
	}
	// An allowed commit still goes through.
	tg.members[2].cfg.CommitPolicy = onlyLeaf0Removes
	tg.commit(0, CommitOptions{Removes: []LeafIndex{1}})
}
