package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/spacepanda/spacepanda/store"
)

// Digest is what the replicas of a channel must agree on once they can talk
// to each other: the testbed compares it across members to decide
// convergence (docs/testbed.md).
type Digest struct {
	Epoch uint64 `json:"epoch"`
	// Authenticator is the MLS epoch authenticator, in hex: equal at
	// members that agree on the epoch, its tree and its secrets.
	Authenticator string `json:"authenticator"`
	// Members are the peer IDs of the MLS group's members, sorted.
	Members []string `json:"members"`
	// View is a hash of the CRDT view: the channel's name, its members and
	// roles, and the timeline (IDs, authors, texts, edits, deletions,
	// reactions). Local display names are left out.
	View     string `json:"view"`
	Messages int    `json:"messages"`
	// ViewMembers are the CRDT view's members as "peer/role", sorted: the
	// part of View that tells a failure which member differs.
	ViewMembers []string `json:"view_members"`
	// Removed is true once this node left or was removed.
	Removed bool `json:"removed"`
}

// Digest summarises the node's replica of the channel.
func (n *Node) Digest(ctx context.Context, channel string) (Digest, error) {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return Digest{}, err
	}
	var d Digest
	err = c.do(ctx, func(s *chanState) error {
		ms, err := s.timeline(0)
		if err != nil {
			return err
		}
		type entry struct {
			ID, Author, Text string
			Edited, Deleted  bool
			Reactions        []Reaction
		}
		view := struct {
			Name     string
			Members  [][2]string
			Timeline []entry
		}{Name: s.crdt.Metadata().Name}
		var vm []string
		for _, m := range s.crdt.Members() {
			view.Members = append(view.Members, [2]string{m.ID, m.Role.String()})
			vm = append(vm, m.ID+"/"+m.Role.String())
		}
		sort.Strings(vm)
		for _, m := range ms {
			v := s.view(m)
			view.Timeline = append(view.Timeline, entry{v.ID, v.Author, v.Text, v.Edited, v.Deleted, v.Reactions})
		}
		b, err := json.Marshal(view)
		if err != nil {
			return fmt.Errorf("node: digest: %w", err)
		}
		h := sha256.Sum256(b)
		members := s.group.Members()
		sort.Strings(members)
		d = Digest{Epoch: s.group.Epoch(), Authenticator: hex.EncodeToString(s.group.EpochAuthenticator()),
			Members: members, View: hex.EncodeToString(h[:]), Messages: len(ms), ViewMembers: vm,
			Removed: s.meta.Removed || !s.group.Active()}
		return nil
	})
	return d, err
}

// UpdateKeys commits an update of our own leaf (an empty commit with a
// path, RFC 9420 §12.4): fresh keys for this member, forward secrecy and
// post-compromise security for the group.
func (n *Node) UpdateKeys(ctx context.Context, channel string) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error {
		if s.meta.Removed || !s.group.Active() {
			return errRemoved
		}
		epoch := s.group.Epoch()
		commit, err := s.group.CommitPending()
		if err != nil {
			s.rollback()
			return fmt.Errorf("node: update commit: %w", err)
		}
		return s.run(ctx, step{commit: commit, commitEpoch: epoch})
	})
}

// CrashFS is store.CrashFS, named here for packages that may use the node
// but not the store (the testbed).
type CrashFS = store.CrashFS

// NewCrashFS returns an empty crashable in-memory filesystem.
func NewCrashFS() *CrashFS { return store.NewCrashFS() }

// TopicOf returns the gossip topic of a channel (a hash of its ID), for
// tools that watch or attack a channel's topic: the testbed's hostile
// peers.
func TopicOf(channelID string) string { return topicOf(channelID) }
