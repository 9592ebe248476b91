package testbed

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// faults runs the planned faults one after the other, each at its share of
// the duration and after the previous one converged.
func (e *engine) faults(p plan) {
	at := func(share float64) {
		d := time.Until(e.t0.Add(time.Duration(share * float64(e.cfg.Duration))))
		if d > 0 {
			select {
			case <-time.After(d):
			case <-e.ctx.Done():
			}
		}
	}
	if p.kill >= 0 {
		at(0.2)
		e.kill(e.slots[p.kill])
	}
	if len(p.half) > 0 && e.ctx.Err() == nil {
		at(0.4)
		e.partition(p.half)
	}
	if p.leave >= 0 && e.ctx.Err() == nil {
		at(0.65)
		e.churn(p)
	}
}

// record adds a fault to the report, with its convergence time.
func (e *engine) record(kind string, nodes []*slot, begin, end time.Time, detail string) {
	f := FaultReport{Kind: kind, Nodes: []string{}, AtS: e.since(begin), EndS: e.since(end), Detail: detail}
	for _, s := range nodes {
		f.Nodes = append(f.Nodes, s.name())
	}
	conv, ok := e.waitConverged(end, nil)
	f.ConvS = conv.Seconds()
	if !ok {
		f.ConvS = -1
		e.rep.fail("%s: no convergence within %v of its end", kind, e.cfg.Settle)
	}
	e.rep.Faults = append(e.rep.Faults, f)
	if f.ConvS < 0 || e.rep.ConvergenceS < 0 {
		e.rep.ConvergenceS = -1
	} else {
		e.rep.ConvergenceS = max(e.rep.ConvergenceS, f.ConvS)
	}
}

// kill crashes s and restarts it from its home after KillPause.
func (e *engine) kill(s *slot) {
	e.phase.Store("kill " + s.name())
	begin := time.Now()
	s.sending.Store(false)
	err := e.run.crash(s, func() {
		s.mu.Lock()
		s.mu.life++ // under the lock sendOne checks: no ack after this instant
		s.mu.Unlock()
	})
	e.down(s, true)
	if err != nil {
		e.rep.fail("kill %s: %v", s.name(), err)
		return
	}
	select {
	case <-time.After(e.cfg.KillPause):
	case <-e.ctx.Done():
		return
	}
	end := e.restart(s)
	e.record("kill", []*slot{s}, begin, end, "")
}

// restart starts s again from its home and follows it.
func (e *engine) restart(s *slot) time.Time {
	ctx, cancel := e.opCtx()
	defer cancel()
	if _, err := e.start(ctx, s); err != nil {
		e.rep.fail("restart %s: %v", s.name(), err)
		return time.Now()
	}
	end := time.Now()
	e.follow(s)
	return end
}

// partition splits the nodes into two halves for PartitionFor, then heals.
func (e *engine) partition(half []int) {
	in := map[int]bool{}
	for _, i := range half {
		in[i] = true
	}
	var a, b []*slot
	for _, s := range e.slots {
		if in[s.i] {
			b = append(b, s)
		} else {
			a = append(a, s)
		}
	}
	e.phase.Store("partition")
	begin := time.Now()
	for _, s := range a {
		if err := e.run.block(s, sortedPeers(b)); err != nil {
			e.rep.fail("partition: block at %s: %v", s.name(), err)
		}
	}
	for _, s := range b {
		if err := e.run.block(s, sortedPeers(a)); err != nil {
			e.rep.fail("partition: block at %s: %v", s.name(), err)
		}
	}
	if where := e.waitCut(a, b); where != "" {
		e.rep.fail("partition: %s", where)
	}
	select {
	case <-time.After(e.cfg.PartitionFor):
	case <-e.ctx.Done():
	}
	for _, s := range e.slots {
		if err := e.run.unblock(s); err != nil {
			e.rep.fail("partition: heal at %s: %v", s.name(), err)
		}
	}
	e.record("partition", b, begin, time.Now(), fmt.Sprintf("for %v", e.cfg.PartitionFor))
}

// cutWait bounds the wait for a partition to close the connections
// across it.
const cutWait = 10 * time.Second

// waitCut waits until no node of a is connected to a node of b (as each
// node's Peers lists them) and returns "" then, or which connection
// stayed open.
func (e *engine) waitCut(a, b []*slot) string {
	side := map[string]int{}
	for _, s := range a {
		side[s.peer] = 1
	}
	for _, s := range b {
		side[s.peer] = 2
	}
	deadline := time.Now().Add(cutWait)
	for {
		open := e.crossConnection(side)
		if open == "" || time.Now().After(deadline) || e.ctx.Err() != nil {
			return open
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// crossConnection names a connection between the two sides, or "".
func (e *engine) crossConnection(side map[string]int) string {
	for _, s := range e.slots {
		m, _ := s.member()
		if m == nil || side[s.peer] == 0 {
			continue
		}
		ctx, cancel := e.opCtx()
		peers, err := m.Peers(ctx)
		cancel()
		if err != nil {
			return fmt.Sprintf("%s: peers: %v", s.name(), err)
		}
		for _, p := range peers {
			if k := side[p.ID]; k != 0 && k != side[s.peer] {
				return fmt.Sprintf("%s still connected to %s across the partition", s.name(), p.ID)
			}
		}
	}
	return ""
}

// churn makes concurrent commits in one epoch — a member leaves, node 0
// removes another, two update their keys — and then admits the two that
// went with new codes, as the same nodes (their homes and peer IDs).
func (e *engine) churn(p plan) {
	e.phase.Store("churn")
	begin := time.Now()
	leave, remove := e.slots[p.leave], e.slots[p.remove]
	for _, s := range []*slot{leave, remove} {
		s.sending.Store(false)
		waitIdle(s)
	}
	m0, _ := e.slots[0].member()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var notes []string
	op := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				mu.Lock()
				notes = append(notes, fmt.Sprintf("%s: %v", what, err))
				mu.Unlock()
			}
		}()
	}
	ctx, cancel := e.opCtx()
	defer cancel()
	if m, _ := leave.member(); m != nil {
		op(leave.name()+" leave", func() error { return m.Leave(ctx, e.channel) })
	}
	removed := remove.peer
	op("node0 remove "+remove.name(), func() error { return m0.RemoveMember(ctx, e.channel, removed) })
	for _, i := range p.update {
		if m, _ := e.slots[i].member(); m != nil {
			op(e.slots[i].name()+" update", func() error { return m.UpdateKeys(ctx, e.channel) })
		}
	}
	wg.Wait()
	// A leaver proposes its removal again in every epoch until a member
	// commits it (a proposal can lose a commit conflict): keep both up
	// until node 0 no longer lists them, or Settle passes.
	if !e.waitGone(m0, leave.peer, remove.peer) {
		notes = append(notes, "node0 still lists a member who went")
	}
	// The two that went come back, from their own homes, with new codes.
	var rejoined []*slot
	for _, s := range []*slot{leave, remove} {
		s.stopFollow()
		if err := e.join(s); err != nil {
			notes = append(notes, fmt.Sprintf("%s rejoin: %v", s.name(), err))
			continue
		}
		e.follow(s)
		rejoined = append(rejoined, s)
	}
	detail := fmt.Sprintf("leave %s, remove %s, update %v", leave.name(), remove.name(), p.update)
	if len(notes) > 0 {
		detail += "; " + strings.Join(notes, "; ")
	}
	e.record("churn", rejoined, begin, time.Now(), detail)
}

// waitGone waits until m no longer lists any of peers as a member.
func (e *engine) waitGone(m member, peers ...string) bool {
	deadline := time.Now().Add(e.cfg.Settle)
	for time.Now().Before(deadline) && e.ctx.Err() == nil {
		ctx, cancel := e.opCtx()
		ms, err := m.Members(ctx, e.channel)
		cancel()
		gone := err == nil
		for _, x := range ms {
			for _, p := range peers {
				gone = gone && !strings.HasPrefix(x.ID, p)
			}
		}
		if gone {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// offline stops slot o while Offline messages are sent at the workload's
// rate, restarts it and measures how long it takes to show them all.
func (e *engine) offline(o int) error {
	s := e.slots[o]
	e.phase.Store("offline " + s.name())
	waitIdle(s)
	e.down(s, false)
	begin := time.Now()
	senders := e.live()
	if len(senders) == 0 {
		return errors.New("testbed: no node up to send while one is offline")
	}
	// At the workload's rate: the catch-up case, not a load test (a burst
	// makes gossip drop messages, which the live members then lack too).
	interval := time.Duration(float64(time.Second) / e.cfg.Rate)
	for k := 0; k < e.cfg.Offline && e.ctx.Err() == nil; k++ {
		time.Sleep(time.Until(begin.Add(time.Duration(k) * interval)))
		x := senders[k%len(senders)]
		select {
		case x.queue <- e.nextText(x.i):
		case <-e.ctx.Done():
		}
	}
	for _, x := range senders {
		for len(x.queue) > 0 && e.ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		waitIdle(x)
	}
	end := e.restart(s)
	keys := e.rec.ackedBefore(end)
	deadline := end.Add(max(e.cfg.Settle, time.Duration(e.cfg.Offline)*5*time.Millisecond))
	for {
		n, first := e.missingRefresh(s, keys, false)
		if n == 0 {
			e.rep.CatchupS = time.Since(end).Seconds()
			break
		}
		if time.Now().After(deadline) || e.ctx.Err() != nil {
			e.rep.CatchupS = -1
			e.rep.fail("offline %s: still missing %d messages (first %s) after %v", s.name(), n, first, time.Since(end))
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.record("offline", []*slot{s}, begin, end, fmt.Sprintf("%d messages sent while down", e.cfg.Offline))
	return nil
}
