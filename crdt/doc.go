// Package crdt is the replicated state of a channel: messages, edits, deletes,
// reactions, metadata, roles and invites. It is pure and deterministic.
package crdt
