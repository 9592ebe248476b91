// Package spacepanda is the root of the SpacePanda module: a peer-to-peer node for
// end-to-end encrypted group chat. The code lives in the sub-packages laid out in
// docs/architecture.md: mls, crdt, store, p2p, node and cmd/spacepanda.
//
// This package holds no code of its own; its tests enforce the import rules of
// that layout.
package spacepanda
