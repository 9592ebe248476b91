package mls

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// TestConcurrentCommits: two members commit in the same epoch; the one
// delivered first wins, the other's pending commit is discarded, and its
// late commit is ignored.
func TestConcurrentCommits(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	a, b, c := tg.members[0], tg.members[1], tg.members[2]
	outA, err := a.Commit(tg.rnd, CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Commit(tg.rnd, CommitOptions{}); !errors.Is(err, ErrPendingCommit) {
		t.Fatalf("second commit while pending: %v", err)
	}
	outB, err := b.Commit(tg.rnd, CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	a = roundTrip(t, a, tg.cfg) // the pending commit survives a restore
	for _, g := range []*Group{a, b, c} {
		res, err := g.ProcessMessage(outB.Commit, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if res.(*CommitApplied).Own != (g == b) {
			t.Fatal("Own is wrong")
		}
	}
	if a.PendingCommit() != nil {
		t.Fatal("losing pending commit kept")
	}
	for _, g := range []*Group{a, b, c} {
		if _, err := g.ProcessMessage(outA.Commit, time.Time{}); VerdictOf(err) != Ignore || !errors.Is(err, ErrStaleEpoch) {
			t.Fatalf("losing commit: %v", err)
		}
	}
	tg.members = []*Group{a, b, c}
	tg.agree()
}

// TestPendingCommitRestoredAndMerged: a commit made, marshalled, restored
// and merged gives the same epoch as the members that processed it.
func TestPendingCommitRestoredAndMerged(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	bs := tg.newBundles(1)
	out, err := tg.members[0].Commit(tg.rnd, CommitOptions{Adds: []*KeyPackage{bs[0].KeyPackage()}, Removes: []LeafIndex{1}})
	if err != nil {
		t.Fatal(err)
	}
	a := roundTrip(t, tg.members[0], tg.cfg)
	res, err := a.MergePendingCommit()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Added) != 1 || len(res.Removed) != 1 || res.Removed[0].Index != 1 || !res.Own {
		t.Fatalf("result %+v", res)
	}
	if _, err := a.MergePendingCommit(); !errors.Is(err, ErrNoPendingCommit) {
		t.Fatalf("second merge: %v", err)
	}
	if _, err := tg.members[2].ProcessMessage(out.Commit, time.Time{}); err != nil {
		t.Fatal(err)
	}
	res2, err := tg.members[1].ProcessMessage(out.Commit, time.Time{})
	if err != nil || !res2.(*CommitApplied).SelfRemoved || tg.members[1].Active() {
		t.Fatalf("removed member: %v %+v", err, res2)
	}
	j, err := JoinGroup(out.Welcome, bs[0], out.RatchetTree, tg.cfg, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*Group{tg.members[2], j} {
		if !bytes.Equal(g.EpochAuthenticator(), a.EpochAuthenticator()) {
			t.Fatal("epoch authenticators differ")
		}
	}
	if _, err := tg.members[1].EncryptApplication(tg.rnd, []byte("x"), nil); !errors.Is(err, ErrInactive) {
		t.Fatalf("removed member sends: %v", err)
	}
}

// TestCommitRejectsInvalidOwnProposals: Commit validates its own list.
func TestCommitRejectsInvalidOwnProposals(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 2)
	g := tg.members[0]
	before, _ := g.MarshalBinary()
	for _, opts := range []CommitOptions{
		{Removes: []LeafIndex{0}},
		{Removes: []LeafIndex{5}},
		{Removes: []LeafIndex{1, 1}},
		{PSKs: []PSKRef{{ExternalID: []byte("nope")}}},
	} {
		if _, err := g.Commit(tg.rnd, opts); err == nil {
			t.Fatalf("%+v accepted", opts)
		}
	}
	after, _ := g.MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("state changed")
	}
}

// TestPrivateHandshake: with Config.PrivateHandshake proposals and commits
// are PrivateMessages, processed by the members and recognised by the
// committer when echoed.
func TestPrivateHandshake(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	for _, g := range tg.members {
		g.cfg.PrivateHandshake = true
	}
	prop, err := tg.members[2].ProposeRemove(1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tg.members[0].Commit(tg.rnd, CommitOptions{ForcePath: true})
	if err != nil {
		t.Fatal(err)
	}
	tg.members[0].DiscardPendingCommit()
	for _, msg := range [][]byte{prop, out.Commit} {
		var m wire.MLSMessage
		if err := wire.Unmarshal(msg, &m); err != nil || m.WireFormat != wire.WireFormatPrivateMessage {
			t.Fatalf("wire format %d, %v", m.WireFormat, err)
		}
	}
	for _, g := range tg.members[:2] {
		if _, err := g.ProcessMessage(prop, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	out = tg.commit(0, CommitOptions{})
	if !out.Result.Own || len(out.Result.Removed) != 1 || tg.members[1].Active() {
		t.Fatalf("remove by reference in a PrivateMessage: %+v", out.Result)
	}
	tg.members = []*Group{tg.members[0], tg.members[2]}
	tg.agree()
}

// TestCommitSkipsConflictingProposals: two stored GroupContextExtensions
// and two Adds of one key package cannot all be committed; the commit
// keeps the first of each and still succeeds.
func TestCommitSkipsConflictingProposals(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	kb := tg.newBundles(1)[0]
	var msgs [][]byte
	for i, f := range []func() ([]byte, error){
		func() ([]byte, error) {
			return tg.members[1].ProposeGroupContextExtensions([]Extension{{Type: ExtensionApplicationID, Data: []byte("a")}})
		},
		func() ([]byte, error) {
			return tg.members[2].ProposeGroupContextExtensions([]Extension{{Type: ExtensionApplicationID, Data: []byte("b")}})
		},
		func() ([]byte, error) { return tg.members[1].ProposeAdd(kb.KeyPackage()) },
		func() ([]byte, error) { return tg.members[2].ProposeAdd(kb.KeyPackage()) },
	} {
		m, err := f()
		if err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
		msgs = append(msgs, m)
	}
	for _, m := range msgs {
		if _, err := tg.members[0].ProcessMessage(m, timeZero); err != nil {
			t.Fatal(err)
		}
	}
	out, err := tg.members[0].Commit(tg.rnd, CommitOptions{})
	if err != nil {
		t.Fatalf("commit with conflicting proposals: %v", err)
	}
	if len(out.Result.Added) != 1 {
		t.Fatalf("added %d", len(out.Result.Added))
	}
	if _, err := tg.members[0].MergePendingCommit(); err != nil {
		t.Fatal(err)
	}
	if es := tg.members[0].Extensions(); len(es) != 1 || string(es[0].Data) != "a" {
		t.Fatalf("extensions %v", es)
	}
}

// TestRemovedMemberStateRestores: the state a member keeps after a commit
// removed it is consistent (its encoded GroupContext matches the tree the
// commit left), so it survives a round trip through MarshalBinary, and the
// restored group stays inactive.
func TestRemovedMemberStateRestores(t *testing.T) {
	tg := newTestGroup(t, X25519_AES128GCM_SHA256_Ed25519, 3)
	out, err := tg.members[0].Commit(tg.rnd, CommitOptions{Removes: []LeafIndex{1}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tg.members[1].ProcessMessage(out.Commit, time.Time{})
	if err != nil || !res.(*CommitApplied).SelfRemoved {
		t.Fatalf("removed member: %v %+v", err, res)
	}
	g := roundTrip(t, tg.members[1], tg.cfg)
	if g.Active() || g.Epoch() != tg.members[1].Epoch() {
		t.Fatalf("restored removed member: active %v epoch %d, want inactive at %d", g.Active(), g.Epoch(), tg.members[1].Epoch())
	}
}
