// Package mls implements the Messaging Layer Security protocol, RFC 9420:
// the group state machine on top of the building blocks in its internal
// packages.
//
// A client makes key packages with NewKeyPackage (§10) and keeps the
// KeyPackageBundle until a Welcome arrives. A Group (§8, §11, §12) is
// created with CreateGroup, joined with JoinGroup from a Welcome (§12.4.3.1)
// or JoinExternal from a GroupInfo (§12.4.3.2), and driven with:
//
//   - Commit, which creates a commit with proposals by value and the
//     proposals received in the epoch by reference (§12.4); the commit stays
//     pending until MergePendingCommit, or until ProcessMessage sees it
//     echoed back; another member's commit for the epoch discards it.
//   - ProposeAdd, ProposeRemove, ProposeUpdate, ProposePSK,
//     ProposeGroupContextExtensions, ProposeReInit and Leave (§12.1).
//   - EncryptApplication and ProcessMessage (§6): ProcessMessage returns an
//     *ApplicationMessage, *ProposalReceived or *CommitApplied, or a
//     *ProcessError whose Verdict (Reject or Ignore) tells a gossip
//     validator what to do.
//   - EpochAuthenticator, Export, GroupInfo, RatchetTree (§8.5, §8.7,
//     §12.4.3), and PeekMessage, which reads a message's group, epoch and
//     kind without keys, for a network validator's cheap checks.
//   - NewReInitGroup and JoinReInitGroup, which start the successor of a
//     group ended by a committed ReInit (§11.2).
//   - MarshalBinary and UnmarshalGroup: versioned, deterministic bytes that
//     hold the whole state, secrets included, and no secret the protocol
//     has deleted.
//
// Credentials are checked by the caller's AuthenticationService (§5.3.1);
// external PSKs come from its PSKStore (§8.4).
//
// The package is pure: it performs no I/O, reads no clock (times are
// passed in) and takes randomness from an io.Reader supplied by the
// caller. The one use of goroutines is bounded and local: JoinGroup
// verifies the leaf signatures of the tree it joins in parallel. A Group
// is owned by one goroutine and is not safe for concurrent use; a
// KeyPackage is immutable.
//
// Building blocks (internal packages): tls (codec, §2.1), cipher (suites,
// §5), treemath (Appendix C), tree (ratchet tree and TreeKEM, §4, §7),
// schedule (key schedule and secret tree, §8, §9), transcript (§8.2),
// framing (§6), welcome (§12.4.3.1), wire (every wire struct).
//
// docs/mls.md describes the API, the state format and its versioning, the
// validation rules applied and the choices made where the RFC leaves room.
package mls
