// Package p2p is the node's network layer and the only package that imports
// libp2p. It moves bytes and peer IDs and knows nothing of MLS or CRDTs.
package p2p
