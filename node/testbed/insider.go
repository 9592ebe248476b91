package testbed

import (
	"context"
	"errors"
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
// state with no check of its own. Then it races its demotion: node 0 makes
// it admin, then member again, and it deletes another member's post and
// renames the channel, dated in its admin period. Then it races its
// removal: it keeps its group state, node 0 removes it, and for two
// seconds it goes on posting from the kept state, its posts dated before
// the removal. The honest members must apply none of it (insider.check,
// and engine.check for deleted posts).
type insider struct {
	n       *node.Node
	peer    string
	log     *os.File
	commits atomic.Int64 // rogue commits published
	posts   atomic.Int64 // posts published after its removal
	acts    atomic.Int64 // admin actions sent after its demotion, dated before it
	removed atomic.Bool  // node 0's removal of it succeeded
	wg      sync.WaitGroup
	once    sync.Once
}

// insiderPostPrefix starts the texts of the insider's posts, which the
// testbed never sends: any that shows is counted as unauthorized.
const insiderPostPrefix = "insider-after-removal-"

// insiderName is the name the insider gives the channel after its
// demotion; an honest member showing it counts as unauthorized.
const insiderName = "insider-renamed"

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
// 6, 10, 14 and 18 % of the duration, the demotion race at 22 %, the
// removal race at 30 % (or when the demotion race is over).
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
		if e.sleepUntil(0.22) {
			in.demotion(e)
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

// demotion has node 0 make the insider admin, then member again, and the
// insider delete the first acknowledged post of the workload and rename
// the channel, both dated between the two.
func (in *insider) demotion(e *engine) {
	ctx, cancel := e.opCtx()
	defer cancel()
	m0, _ := e.slots[0].member()
	if m0 == nil {
		e.rep.fail("insider: node0 is down at the demotion")
		return
	}
	if err := in.setRole(ctx, e, m0, "admin"); err != nil {
		e.rep.fail("insider: %v", err)
		return
	}
	time.Sleep(100 * time.Millisecond)
	dated := time.Now()
	time.Sleep(100 * time.Millisecond)
	if err := in.setRole(ctx, e, m0, "member"); err != nil {
		e.rep.fail("insider: %v", err)
		return
	}
	var target string // the first post of the workload
	if ms := e.rec.ackedMsgs(); len(ms) > 0 && ms[0].at.Before(dated) {
		target = ms[0].key
	}
	for _, m := range []struct {
		what   rogue.Misdeed
		target string
	}{{rogue.DeletePost, target}, {rogue.Rename, insiderName}} {
		if m.target == "" {
			e.cfg.Logger.Info("insider: no post acknowledged before its demotion to delete")
			continue
		}
		// The post may still be on its way to the insider.
		var err error
		for try := 0; try < 30; try++ {
			if err = rogue.Act(ctx, in.n, e.channel, m.what, m.target, dated); err == nil || !errors.Is(err, node.ErrNoMessage) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			e.cfg.Logger.Info("insider act", "what", m.what.String(), "err", err)
			continue
		}
		in.acts.Add(1)
	}
	// Let them reach node 0 before it removes the insider: the removal's
	// cut would void what node 0 does not hold yet, whatever the demotion
	// does. Ctrl-C (the run's context) ends the wait.
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
}

// setRole has node 0 give the insider role, and waits until the insider's
// node knows it.
func (in *insider) setRole(ctx context.Context, e *engine, m0 member, role string) error {
	if err := m0.SetRole(ctx, e.channel, in.peer, role); err != nil {
		return fmt.Errorf("node0 could not make it %s: %w", role, err)
	}
	for ctx.Err() == nil {
		ms, err := in.n.Members(ctx, e.channel)
		if err == nil && slices.ContainsFunc(ms, func(m node.MemberInfo) bool { return m.ID == in.peer && m.Role == role }) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("its node did not learn that it is %s: %w", role, ctx.Err())
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
	if chs, err := m.Channels(ctx); err != nil {
		e.rep.fail("%s: channels: %v", s.name(), err)
	} else if i := slices.IndexFunc(chs, func(c node.ChannelInfo) bool { return c.ID == e.channel }); i >= 0 && chs[i].Name == insiderName {
		bad++
		e.rep.fail("%s shows the channel renamed by the insider after its demotion", s.name())
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
