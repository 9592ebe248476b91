// Package rogue lets the testbed's hostile member do what a modified
// client could: commits a plain member may not make, admin actions dated
// back into an admin period it lost, and posts from the epoch before its
// own removal. Package node fills in the hooks when it is
// linked; only packages under node can import this one (it is internal),
// so the public API (node.API) offers none of it.
//
// Everything here is what any member could do with its own keys and its
// own code; the honest nodes must refuse it. The testbed counts what they
// did not refuse (docs/testbed.md, "--hostile").
package rogue

import (
	"context"
	"time"
)

// Kind is a commit a plain member may not make.
type Kind int

const (
	// AddHidden adds a fresh identity that nobody admitted: a hidden
	// reader.
	AddHidden Kind = iota
	// RemoveOwner removes the channel's first owner.
	RemoveOwner
	// RemoveMember removes another plain member.
	RemoveMember
	// GrantOwner makes the member an owner through the roles extension.
	GrantOwner
	// Kinds is the number of kinds.
	Kinds
)

func (k Kind) String() string {
	return [...]string{"add-hidden", "remove-owner", "remove-member", "grant-owner"}[k]
}

// Misdeed is an admin action a demoted admin dates back into the period
// when it was admin.
type Misdeed int

const (
	// DeletePost deletes another member's post.
	DeletePost Misdeed = iota
	// Rename renames the channel.
	Rename
)

func (m Misdeed) String() string { return [...]string{"delete-post", "rename"}[m] }

// Poster publishes posts in the epoch of the group state it was made
// from, dated at, whatever its node has learned since.
type Poster func(ctx context.Context, text string, at time.Time) error

// Hooks set by package node (node/rogue.go). n is a *node.Node.
var (
	// Commit makes n commit k in channel from its current group state,
	// with no authorization check of its own, and publishes the commit
	// on the channel's topic. n's own state does not change.
	Commit func(ctx context.Context, n any, channel string, k Kind) error
	// Act makes n send misdeed m in channel, dated at, with no check of
	// its own, through its node's usual path (stored, queued, delivered).
	// target is the text of the post to delete, or the new name.
	Act func(ctx context.Context, n any, channel string, m Misdeed, target string, at time.Time) error
	// Keep returns a Poster for n's current group state of channel.
	Keep func(ctx context.Context, n any, channel string) (Poster, error)
	// Tree returns the peer ID of every leaf of n's MLS tree of channel,
	// in leaf order, and the roles its group context grants.
	Tree func(ctx context.Context, n any, channel string) (leaves []string, roles map[string]string, err error)
)
