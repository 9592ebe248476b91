// Package store is the node's persistence layer and the only package that
// imports Pebble.
//
// A home directory holds one Pebble database and a small manifest with the
// format version and the wrapped data key (see docs/storage.md for the
// layout). Every value written to Pebble is sealed with XChaCha20-Poly1305
// under the data key, with the record's Pebble key as associated data, so a
// value copied to another key fails to open. The data key is wrapped either
// by a key derived with Argon2id from the user's passphrase or by a random
// key file readable only by its owner.
//
// Writes go through [DB.Apply]: one [Batch] becomes one Pebble batch
// committed with Sync, so a step of the protocol (new MLS group state, log
// entries, CRDT events, outbox changes and deletions of consumed secrets) is
// either wholly on disk or not at all, and Apply returns only after the
// fsync. Concurrent Apply calls share fsyncs through Pebble's commit
// pipeline.
//
// Values are opaque bytes to the store: MLS group state, CRDT events and
// snapshots are serialized by their own packages. The store adds only the
// metadata it needs to lay keys out (channel ID, sequence numbers, epochs).
//
// [MemDB] is an in-memory implementation of the same API for tests of other
// packages.
package store
