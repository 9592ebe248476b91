package node

// This file is the node's seam to package mls: two small interfaces that
// the channel pipeline is written against. mlsgroup.go implements them with
// package mls; a build of mls that lacks the group state machine would make
// newEngine return noMLS, and then every operation that needs a group fails
// with ErrMLSUnavailable: the node never falls back to sending in the clear.

// engine creates and restores MLS groups for one identity.
type engine interface {
	// NewGroup creates a group with the given ID whose only member is us.
	NewGroup(id []byte) (group, error)
	// Load restores a group from bytes written by group.Marshal.
	Load(state []byte) (group, error)
	// NewKeyPackage returns a fresh key package (to send), its reference and
	// its private bundle (to store until the Welcome arrives).
	NewKeyPackage() (kp, ref, bundle []byte, err error)
	// Join processes a Welcome (and the ratchet tree, if not in-band) with
	// the private bundle of the key package it was made for.
	Join(welcome, tree, bundle []byte) (group, error)
}

// group is one channel's MLS group. It is owned by the channel's loop.
type group interface {
	// GroupID is the MLS group ID; a channel's ID is its hex form.
	GroupID() []byte
	Epoch() uint64
	// Members returns the peer IDs named by the members' credentials.
	Members() []string
	// Encrypt protects application data as a PrivateMessage.
	Encrypt(plaintext []byte) ([]byte, error)
	// Process verifies and applies a message: application data comes back
	// with its sender; a commit moves the group to the next epoch. Errors
	// carry the verdict: see verdictOf. With keepSkipped, a message whose
	// reading would delete the keys of messages not received yet is
	// refused with mls.ErrGenerationGap (mls.ProcessOptions).
	Process(msg []byte, keepSkipped bool) (processed, error)
	// Add commits the addition of a key package: the commit to publish,
	// the Welcome and the ratchet tree for the joiner.
	Add(kp []byte) (commit, welcome, tree []byte, err error)
	// Remove commits the removal of the member with the given peer ID.
	Remove(member string) (commit []byte, err error)
	// Leave returns a proposal to remove ourselves, for a member to commit.
	Leave() (proposal []byte, err error)
	// CommitPending commits the proposals received in the epoch (a leaver's
	// Remove): the commit to publish, nil if there is none.
	CommitPending() (commit []byte, err error)
	// Roles returns the roles of the current epoch (the roles extension).
	Roles() roleSet
	// SetRoles commits new roles.
	SetRoles(r roleSet) (commit []byte, err error)
	// LastCommit is what the last commit this member made did.
	LastCommit() processed
	// OwnRank is the rank of a commit by this member in the current epoch
	// (docs/protocol.md, "Commit conflicts").
	OwnRank() commitRank
	// Active is false once a commit removed us.
	Active() bool
	// EpochAuthenticator is equal at members that agree on the epoch.
	EpochAuthenticator() []byte
	// Marshal serializes the group, without the secrets forward secrecy
	// says to forget.
	Marshal() ([]byte, error)
}

// processed is what group.Process returns.
type processed struct {
	Sender      string // peer ID of the sender's credential
	Application []byte // nil for a commit
	Commit      bool
	Proposal    bool
	Leave       bool // the proposal is the sender's Remove of itself
	Added       []string
	Removed     []string
	SelfRemoved bool
	// Rank is a commit's rank in the conflict rule; RolesChanged says that
	// it changed the roles.
	Rank         commitRank
	RolesChanged bool
}
