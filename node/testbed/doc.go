// Package testbed runs many SpacePanda nodes on loopback, drives a message
// workload through them, injects faults (crash, partition, churn, an
// offline member) scheduled from a seed, and reports what was delivered, how
// fast, and whether every replica converged — next to a raw-gossipsub
// baseline measured in the same run.
//
// Nodes run in this process by default, each with its own libp2p host and
// its own Pebble home; with Config.Procs they are `spacepanda daemon`
// processes driven through their control sockets. Every member is admitted
// through an invite code, and every delivery is observed through Follow, as
// a user sees it. docs/testbed.md explains each figure of the Report.
package testbed
