package node

import (
	"bytes"
	"slices"

	"github.com/spacepanda/spacepanda/crdt"
)

// commitRank orders the commits that compete for one epoch
// (docs/protocol.md, "Commit conflicts"). Every input is fixed by the group
// state of the epoch, not by the commit's bytes: the committer's role in
// the roles extension, then its leaf index. Only two commits by the same
// committer (same leaf) fall back to the hash of the message, which that
// committer can grind, but only to choose between its own commits.
type commitRank struct {
	Role crdt.Role `json:"role"`
	Leaf uint32    `json:"leaf"`
	Hash []byte    `json:"hash,omitempty"`
}

// beats reports whether a commit of rank r wins over one of rank o.
// A member may remove only members of a strictly lower role
// (commitPolicy), so a removal always beats a competing commit of the
// member it removes: the removed member cannot undo it.
func (r commitRank) beats(o commitRank) bool {
	if r.Role != o.Role {
		return r.Role > o.Role
	}
	if r.Leaf != o.Leaf {
		return r.Leaf < o.Leaf
	}
	return bytes.Compare(r.Hash, o.Hash) < 0
}

// commitRecord is what a commit did, stored in the channel's metadata in
// the same synced batch as the commit: the membership events that mirror
// it are checked against it (also after a restart), and the conflict rule
// compares a competing commit with it.
type commitRecord struct {
	Epoch     uint64     `json:"epoch"` // the epoch the commit made
	Committer string     `json:"committer"`
	Added     []string   `json:"added,omitempty"`
	Removed   []string   `json:"removed,omitempty"`
	Rank      commitRank `json:"rank"`
	// Intent is what this node meant by its own commit, to propose again
	// on the winning branch when the commit loses: "remove" Member, "role"
	// Member Role. Empty for a received commit.
	Intent string    `json:"intent,omitempty"`
	Member string    `json:"member,omitempty"`
	Role   crdt.Role `json:"role,omitempty"`
}

// keepCommits is how many commit records a channel keeps.
const keepCommits = 16

// recordCommit adds r to the metadata, keeping the last keepCommits.
func (s *chanState) recordCommit(r commitRecord) {
	s.meta.Commits = slices.DeleteFunc(s.meta.Commits, func(o commitRecord) bool {
		return o.Epoch >= r.Epoch || o.Epoch+keepCommits <= r.Epoch
	})
	s.meta.Commits = append(s.meta.Commits, r)
}

// commitOf returns the record of the commit that made epoch e.
func (s *chanState) commitOf(e uint64) (commitRecord, bool) {
	for _, r := range s.meta.Commits {
		if r.Epoch == e {
			return r, true
		}
	}
	return commitRecord{}, false
}

// contentCommit is the content type of a commit (RFC 9420 §6).
const contentCommit = 3
