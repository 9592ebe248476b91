package node

import (
	"context"

	"github.com/spacepanda/spacepanda/store"
)

// Store is the durable state the node needs: the writes of each protocol
// step as one atomic, synced batch, and the reads that restore channels at
// start and serve history. *store.DB implements it on disk and
// *store.MemDB in memory for tests. Implementations are safe for concurrent
// use; each channel's owner loop is the only writer of that channel's log
// and assigns its sequence numbers.
type Store interface {
	Committer
	ChannelReader
	// Identity returns the node's identity, or an error matching
	// store.ErrNotFound before init.
	Identity(ctx context.Context) (store.Identity, error)
	// KeyPackage returns the private bundle of the key package ref, or an
	// error matching store.ErrNotFound once it is used.
	KeyPackage(ctx context.Context, ref []byte) ([]byte, error)
	// Peers returns the known peers and their addresses.
	Peers(ctx context.Context) ([]store.Peer, error)
	// Close releases the store; it is idempotent.
	Close() error
}

// Committer applies one protocol step's writes atomically. Apply returns nil
// only once the whole batch is durable: publish or acknowledge nothing
// before it returns. ApplyNoWait lets one channel loop keep several batches
// in one fsync: it returns once the batch is ordered after every earlier
// one, and the batch may be acknowledged only when Pending.Wait returns nil.
// ApplyNoSync writes a batch whose loss in a crash is harmless (received
// messages, which peers send again): ordered like the others, durable with
// the next synced batch or Sync; what a crash keeps is always a prefix of
// the batches in order (docs/storage.md, "Durability").
type Committer interface {
	Apply(ctx context.Context, b *store.Batch) error
	ApplyNoWait(ctx context.Context, b *store.Batch) (*store.Pending, error)
	ApplyNoSync(ctx context.Context, b *store.Batch) error
	Sync(ctx context.Context) error
	// WriteSnapshot replaces a channel's CRDT snapshot with one written in
	// pieces, never held whole (store.DB.WriteSnapshot).
	WriteSnapshot(ctx context.Context, id store.ChannelID, eventSeq, logSeq uint64, write func(put func([]byte) error) error) error
	// WriteSnapshotNoSync is WriteSnapshot without waiting for the fsync
	// (store.DB.WriteSnapshotNoSync).
	WriteSnapshotNoSync(ctx context.Context, id store.ChannelID, eventSeq, logSeq uint64, write func(put func([]byte) error) error) error
}

// ChannelReader reads channels. Channels and Channel cost per channel, not
// per message: they never read the log.
type ChannelReader interface {
	// Channels returns every channel's state, for restoration at start.
	Channels(ctx context.Context) ([]store.ChannelState, error)
	// Channel returns one channel's state, or an error matching
	// store.ErrNotFound.
	Channel(ctx context.Context, id store.ChannelID) (store.ChannelState, error)
	// Log returns up to limit log entries with Seq >= from (all if limit <= 0),
	// to serve a peer that catches up.
	Log(ctx context.Context, id store.ChannelID, from uint64, limit int) ([]store.Entry, error)
	// Events returns up to limit CRDT events with Seq > after.
	Events(ctx context.Context, id store.ChannelID, after uint64, limit int) ([]store.Event, error)
	// PastEpoch returns the retained state of a past epoch, or an error
	// matching store.ErrNotFound: a commit conflict resolved further back
	// than the last epoch reads it.
	PastEpoch(ctx context.Context, id store.ChannelID, epoch uint64) ([]byte, error)
	// Invites returns the invites issued for the channel.
	Invites(ctx context.Context, id store.ChannelID) ([]store.Invite, error)
	// Admission returns the join response kept under admissionID, or an
	// error matching store.ErrNotFound.
	Admission(ctx context.Context, id store.ChannelID, admissionID []byte) ([]byte, error)
}
