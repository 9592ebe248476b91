// Package node wires mls, crdt, store and p2p into a running SpacePanda node.
package node
