package mls

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// testGroup is a small group for unit tests: members[i] is at leaf i.
type testGroup struct {
	t       testing.TB
	rnd     *rand.ChaCha8
	cfg     Config
	members []*Group
}

// newTestGroup creates a group of n members of suite, added by member 0
// in one commit.
func newTestGroup(t testing.TB, suite CipherSuite, n int) *testGroup {
	t.Helper()
	tg := &testGroup{t: t, rnd: testRand(uint64(n)), cfg: Config{AuthenticationService: AcceptAllCredentials{}}}
	gid := make([]byte, 16)
	tg.rnd.Read(gid)
	g, err := CreateGroup(tg.rnd, gid, testIdentity(t, tg.rnd, suite, "m0"), nil, tg.cfg)
	if err != nil {
		t.Fatal(err)
	}
	tg.members = []*Group{g}
	if n > 1 {
		tg.add(n - 1)
	}
	return tg
}

// newBundles makes n key packages.
func (tg *testGroup) newBundles(n int) []*KeyPackageBundle {
	suite := tg.members[0].CipherSuite()
	bs := make([]*KeyPackageBundle, n)
	for i := range bs {
		id := testIdentity(tg.t, tg.rnd, suite, fmt.Sprintf("new%d-%d", len(tg.members), i))
		b, err := NewKeyPackage(tg.rnd, id, KeyPackageOptions{})
		if err != nil {
			tg.t.Fatal(err)
		}
		bs[i] = b
	}
	return bs
}

// add has member 0 add n new members, delivered to everyone.
func (tg *testGroup) add(n int) {
	tg.t.Helper()
	bs := tg.newBundles(n)
	kps := make([]*KeyPackage, n)
	for i, b := range bs {
		kps[i] = b.KeyPackage()
	}
	out := tg.commit(0, CommitOptions{Adds: kps})
	for _, b := range bs {
		g, err := JoinGroup(out.Welcome, b, out.RatchetTree, tg.cfg, time.Time{})
		if err != nil {
			tg.t.Fatalf("join: %v", err)
		}
		tg.members = append(tg.members, g)
	}
}

// commit has member i commit opts and every member process it.
func (tg *testGroup) commit(i int, opts CommitOptions) *CommitOutput {
	tg.t.Helper()
	out, err := tg.members[i].Commit(tg.rnd, opts)
	if err != nil {
		tg.t.Fatalf("commit: %v", err)
	}
	tg.deliver(out.Commit)
	return out
}

// deliver processes msg at every active member.
func (tg *testGroup) deliver(msg []byte) {
	tg.t.Helper()
	for k, g := range tg.members {
		if g == nil || !g.Active() {
			continue
		}
		if _, err := g.ProcessMessage(msg, time.Time{}); err != nil {
			tg.t.Fatalf("member %d: %v", k, err)
		}
	}
}

// agree checks that every active member has the same epoch authenticator.
func (tg *testGroup) agree() {
	tg.t.Helper()
	var want []byte
	for k, g := range tg.members {
		if g == nil || !g.Active() {
			continue
		}
		if want == nil {
			want = g.EpochAuthenticator()
		} else if !bytes.Equal(g.EpochAuthenticator(), want) {
			tg.t.Fatalf("member %d disagrees", k)
		}
	}
}

// timeZero skips lifetime checks.
var timeZero time.Time
