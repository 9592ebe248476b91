// Package crdt is the replicated state of a channel: messages, edits,
// deletes, reactions, metadata, roles and invites. It is pure and
// deterministic: standard library only, no I/O, no goroutines, no clock.
//
// A channel's state is a set of events (Event), each identified by its
// author, as authenticated by MLS and passed in by the caller, and the
// author's counter (ID), and stamped by a hybrid logical clock (Clock,
// Time). State.Apply adds an event; everything a reader sees (Messages,
// Members, Metadata, Invites), the snapshot bytes (State.Snapshot) and the
// version vector depend only on the set of events applied, never on their
// arrival order, duplicates or gaps. Permissions are evaluated for each
// event against the events before it in the total order (HLC, then ID), so
// every replica reaches the same verdict; State.Check is the gate a node
// calls before it authors an event or commits the MLS change a membership
// event mirrors.
//
// Encodings (Event.MarshalPayload, Event.MarshalBinary, State.Snapshot,
// VersionVector.MarshalBinary) are versioned, bounded and canonical; their
// decoders return typed errors (ErrMalformed, ErrVersion, *FieldError,
// ErrInvalid) and never panic.
//
// State and Clock are not safe for concurrent use: the channel's owner loop
// owns them. The model, with the permission rules, clock skew handling,
// invites, tombstones and sync, is described in docs/crdt.md.
package crdt
