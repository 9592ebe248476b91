package node

// This file is the node's only seam to package mls. The group state machine
// (issue 3: key packages, groups, Welcome joins, commits, application
// messages, state to bytes and back, an authentication-service hook) has not
// landed in package mls yet, so the engine below answers ErrMLSUnavailable for
// everything that needs a group. The node never falls back to sending in the
// clear: a channel without a group keeps its messages in the local outbox,
// sealed at rest by the store, until a build with MLS can encrypt them.
//
// When mls lands, an implementation of engine and group backed by it is all
// that changes: the pipeline in channel.go already carries the group state,
// the log entries and the outbox through one synced batch.

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
	Epoch() uint64
	// Members returns the peer IDs named by the members' credentials.
	Members() []string
	// Encrypt protects application data as a PrivateMessage.
	Encrypt(plaintext []byte) ([]byte, error)
	// Process verifies and applies a message: application data comes back
	// with its sender; a commit moves the group to the next epoch. It
	// returns an error wrapping errReject or errIgnore for the validator.
	Process(msg []byte) (processed, error)
	// Add commits the addition of a key package: the commit to publish,
	// the Welcome and the ratchet tree for the joiner.
	Add(kp []byte) (commit, welcome, tree []byte, err error)
	// Remove commits the removal of the member with the given peer ID.
	Remove(member string) (commit []byte, err error)
	// Marshal serializes the group, without the secrets forward secrecy
	// says to forget.
	Marshal() ([]byte, error)
}

// processed is what group.Process returns.
type processed struct {
	Sender      string // peer ID of the sender's credential
	Application []byte // nil for a commit
	Commit      bool
	Added       []string
	Removed     []string
}

// noMLS is the engine of a build without the mls group API: every operation
// that needs a group fails with ErrMLSUnavailable.
type noMLS struct{}

func (noMLS) NewGroup([]byte) (group, error) { return nil, ErrMLSUnavailable }
func (noMLS) Load([]byte) (group, error)     { return nil, ErrMLSUnavailable }
func (noMLS) Join(_, _, _ []byte) (group, error) {
	return nil, ErrMLSUnavailable
}
func (noMLS) NewKeyPackage() (kp, ref, bundle []byte, err error) {
	return nil, nil, nil, ErrMLSUnavailable
}

// newEngine returns the MLS engine for the identity's Ed25519 key.
func newEngine(privateKey []byte) engine {
	_ = privateKey // the signature key of the mls engine, once it exists
	return noMLS{}
}
