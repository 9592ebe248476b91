package testbed

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacepanda/spacepanda/node"
	"github.com/spacepanda/spacepanda/node/internal/rogue"
)

// insider is the hostile member of --hostile: a node of this process,
// admitted with an invite code like any member, whose client is modified.
// During the workload it publishes, one of each in turn, the commits a
// plain member may not make (a hidden reader added, the owner removed,
// another member removed, itself made owner), made from its current group
// state with no check of its own. Then it races its removal: it keeps its
// group state, node 0 removes it, and for two seconds it goes on posting
// from the kept state, its posts dated before the removal. The honest
// members must apply none of it (insider.check).
type insider struct {
	n       *node.Node
	peer    string
	log     *os.File
	commits atomic.Int64 // rogue commits published
	posts   atomic.Int64 // posts published after its removal
	removed atomic.Bool  // node 0's removal of it succeeded
	wg      sync.WaitGroup
	once    sync.Once
}

// insiderPostPrefix starts the texts of the insider's posts, which the
// testbed never sends: any that shows is counted as unauthorized.
const insiderPostPrefix = "insider-after-removal-"

// startInsider starts the insider's node and admits it through an invite
// code from node 0.
func (e *engine) startInsider() (*insider, error) {
	ctx, cancel := e.opCtx()
	defer cancel()
	home := filepath.Join(e.dir, "insider")
	if _, err := node.InitFS(ctx, home, "insider", []byte{}, nil); err != nil {
		return nil, fmt.Errorf("testbed: insider: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(e.dir, "insider.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testbed: insider log: %w", err)
	}
	n, err := openNode(ctx, home, e.boot, slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: e.cfg.NodeLogLevel})), nil, nil)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("testbed: insider: %w", err)
	}
	in := &insider{n: n, peer: n.PeerID(), log: f}
	m0, _ := e.slots[0].member()
	code, err := m0.Invite(ctx, e.channel, node.InviteOptions{Uses: 1})
	if err == nil {
		_, err = n.Join(ctx, code)
	}
	if err != nil {
		in.close()
		return nil, fmt.Errorf("testbed: insider join: %w", err)
	}
	return in, nil
}

// run schedules the insider's attacks over the workload: a rogue commit at
// 6, 10, 14 and 18 % of the duration, the removal race at 30 %.
func (in *insider) run(e *engine) {
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		for k := range rogue.Kinds {
			if !e.sleepUntil(0.06 + 0.04*float64(k)) {
				return
			}
			ctx, cancel := e.opCtx()
			if err := rogue.Commit(ctx, in.n, e.channel, k); err != nil {
				e.cfg.Logger.Info("insider commit", "kind", k.String(), "err", err)
			} else {
				in.commits.Add(1)
			}
			cancel()
		}
		if e.sleepUntil(0.3) {
			in.race(e)
		}
	}()
}

// race keeps the insider's group state, has node 0 remove the insider, and
// posts from the kept state for two seconds, dated just before the removal.
func (in *insider) race(e *engine) {
	ctx, cancel := e.opCtx()
	defer cancel()
	post, err := rogue.Keep(ctx, in.n, e.channel)
	if err != nil {
		e.rep.fail("insider: keep its group state: %v", err)
		return
	}
	dated := time.Now()
	m0, _ := e.slots[0].member()
	if m0 == nil {
		e.rep.fail("insider: node0 is down at the removal")
		return
	}
	if err := m0.RemoveMember(ctx, e.channel, in.peer); err != nil {
		e.rep.fail("insider: node0 could not remove it: %v", err)
		return
	}
	in.removed.Store(true)
	for k := range 10 {
		select {
		case <-time.After(200 * time.Millisecond):
		case <-e.ctx.Done():
			return
		}
		if post(ctx, fmt.Sprintf("%s%d", insiderPostPrefix, k), dated) == nil {
			in.posts.Add(1)
		}
	}
}

// sleepUntil waits until share of the workload's duration has passed; it
// returns false if the run ends first.
func (e *engine) sleepUntil(share float64) bool {
	select {
	case <-time.After(time.Until(e.t0.Add(time.Duration(share * float64(e.cfg.Duration))))):
		return true
	case <-e.ctx.Done():
		return false
	}
}

// check counts, at one honest member, what the insider got applied: a
// leaf of its MLS tree that no slot ever had (the hidden reader), the
// insider itself once removed, node 0 missing from it (the owner
// removed), and a role granted to anyone but node 0 (the testbed grants
// none). An in-process member is read through its MLS tree; a daemon
// through its member list.
func (in *insider) check(e *engine, s *slot) int {
	m, _ := s.member()
	ctx, cancel := e.opCtx()
	defer cancel()
	var leaves []string
	roles := map[string]string{}
	if n, ok := m.(*node.Node); ok {
		var err error
		if leaves, roles, err = rogue.Tree(ctx, n, e.channel); err != nil {
			e.rep.fail("%s: tree: %v", s.name(), err)
			return 0
		}
	} else {
		ms, err := m.Members(ctx, e.channel)
		if err != nil {
			e.rep.fail("%s: members: %v", s.name(), err)
			return 0
		}
		for _, mi := range ms {
			leaves = append(leaves, mi.ID)
			if mi.Role != "member" {
				roles[mi.ID] = mi.Role
			}
		}
	}
	if e.cfg.tamperTree != nil {
		leaves = e.cfg.tamperTree(s.i, leaves, roles)
	}
	bad := 0
	for _, l := range leaves {
		switch {
		case l == in.peer && in.removed.Load():
			bad++
			e.rep.fail("%s still has the insider, which node0 removed", s.name())
		case l != in.peer && !e.knownPeer(l):
			bad++
			e.rep.fail("%s has a member nobody admitted (%s)", s.name(), short([]string{l})[0])
		}
	}
	p0 := e.slots[0].peer
	if !slices.Contains(leaves, p0) {
		bad++
		e.rep.fail("%s lost node0, the owner", s.name())
	}
	for id, r := range roles {
		if id != p0 && r != "member" {
			bad++
			e.rep.fail("%s makes %s %s", s.name(), short([]string{id})[0], r)
		}
	}
	return bad
}

// close stops the insider once its attacks are over; it may be called
// more than once.
func (in *insider) close() {
	in.wg.Wait()
	in.once.Do(func() {
		in.n.Close()
		in.log.Close()
	})
}
