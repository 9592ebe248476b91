// Package node wires mls, crdt, store and p2p into a running SpacePanda node.
//
// A Node owns one goroutine per channel (its owner loop): every read and
// change of the channel's MLS group, CRDT state, log and outbox runs there,
// as a request from a public method (which takes a context and honours its
// cancellation) or a message from the channel's gossip topic. One protocol
// step is: check (CRDT permissions, invite state) → MLS (encrypt, or process
// a commit or application message) → CRDT → store, in one synced batch →
// publish. Nothing is published or acknowledged before its batch is
// durable.
//
// At start the node restores every channel from its MLS group state and
// CRDT snapshot (cost per channel, not per message), subscribes its topic,
// advertises its rendezvous key, delivers the outbox and catches up with
// members over the sync stream. Invites, joins (the join stream), removals,
// leaves and the commit-conflict rule are described in docs/protocol.md.
//
// The control API (ControlServer, Client) serves a Node's API on a Unix
// socket in the home so that commands reach a running daemon; both *Node
// and *Client implement API and return the same errors.
//
// Close stops everything the node started and waits for it.
package node
