package testbed

import (
	"context"
	"fmt"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// plan is which slots the faults hit, drawn from the seed.
type plan struct {
	kill    int   // -1: none
	half    []int // the partition's second half; node 0 stays in the first
	leave   int   // churn: leaves, then joins again with a new code
	remove  int   // churn: removed by node 0, then joins again
	update  []int // churn: update their keys in the same epoch
	offline int   // -1: none
}

// plan draws the fault plan. Node 0 (the bootstrap and channel creator)
// is never hit: it is the one member every phase relies on.
func (e *engine) plan() plan {
	others := make([]int, 0, e.cfg.Nodes-1)
	for i := 1; i < e.cfg.Nodes; i++ {
		others = append(others, i)
	}
	e.rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	pick := func(k int) int { return others[k%len(others)] }
	p := plan{kill: -1, offline: -1, leave: -1, remove: -1}
	if e.cfg.Kill {
		p.kill = pick(0)
	}
	if e.cfg.Offline > 0 {
		p.offline = pick(1)
	}
	if e.cfg.Partition {
		p.half = append(p.half, others[len(others)-e.cfg.Nodes/2:]...)
	}
	if e.cfg.Churn {
		p.leave, p.remove = pick(2), pick(3)
		for _, k := range []int{4, 5, 0} {
			if c := pick(k); c != p.leave && c != p.remove && len(p.update) < 2 {
				p.update = append(p.update, c)
			}
		}
	}
	return p
}

// setup starts the nodes, creates the channel on node 0 and admits every
// other node through an invite code, then waits until all agree.
func (e *engine) setup(p plan) error {
	e.slots = make([]*slot, e.cfg.Nodes)
	for i := range e.slots {
		e.slots[i] = &slot{i: i, crashOK: i == p.kill, queue: make(chan string, 256)}
	}
	ctx, cancel := e.opCtx()
	defer cancel()
	m0, err := e.start(ctx, e.slots[0])
	if err != nil {
		return err
	}
	st, err := m0.Status(ctx)
	if err != nil {
		return fmt.Errorf("testbed: node0 status: %w", err)
	}
	e.boot = st.Addrs
	ci, err := m0.CreateChannel(ctx, "testbed")
	if err != nil {
		return fmt.Errorf("testbed: create channel: %w", err)
	}
	e.channel = ci.ID
	errs := make(chan error, len(e.slots))
	for _, s := range e.slots[1:] {
		go func() {
			_, err := e.start(ctx, s)
			errs <- err
		}()
	}
	// Wait for every start, also after a failure: a node still starting
	// when Run returns would never be closed and would write into a
	// directory being removed (TestInterrupted saw "directory not empty").
	var first error
	for range e.slots[1:] {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return first
	}
	for _, s := range e.slots[1:] {
		if err := e.join(s); err != nil {
			return err
		}
	}
	for _, s := range e.slots {
		e.startWorker(s)
		e.follow(s)
	}
	if d, ok := e.waitAgree(time.Now().Add(e.cfg.Settle)); !ok {
		return fmt.Errorf("testbed: the members did not agree after setup: %s", d)
	}
	time.Sleep(time.Second) // one gossipsub heartbeat: the topic mesh forms
	return nil
}

// start brings s up and records its identity.
func (e *engine) start(ctx context.Context, s *slot) (member, error) {
	m, err := e.run.start(ctx, s, e.boot)
	if err != nil {
		return nil, fmt.Errorf("testbed: start %s: %w", s.name(), err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("testbed: %s status: %w", s.name(), err)
	}
	s.peer = st.PeerID
	e.cfg.Logger.Debug("node started", "node", s.name(), "peer", st.PeerID)
	s.mu.Lock()
	s.mu.m = m
	s.mu.Unlock()
	return m, nil
}

// join admits s through an invite code made by node 0.
func (e *engine) join(s *slot) error {
	ctx, cancel := e.opCtx()
	defer cancel()
	m0, _ := e.slots[0].member()
	m, _ := s.member()
	code, err := m0.Invite(ctx, e.channel, node.InviteOptions{Uses: 1})
	if err != nil {
		return fmt.Errorf("testbed: invite for %s: %w", s.name(), err)
	}
	s.joined = time.Now()
	e.rec.joined(s.peer, s.i, s.joined)
	if _, err := m.Join(ctx, code); err != nil {
		return fmt.Errorf("testbed: %s join: %w", s.name(), err)
	}
	return nil
}

// follow records every message that appears in s's timeline.
func (e *engine) follow(s *slot) {
	m, _ := s.member()
	if m == nil {
		return
	}
	var v view = m
	if e.cfg.wrap != nil {
		v = e.cfg.wrap(s.i, v)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	s.follow, s.followDone = cancel, done
	peer := s.peer
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		defer close(done)
		err := v.Follow(ctx, e.channel, 0, func(msg node.Message) error {
			if !msg.Deleted {
				e.rec.see(peer, msg.Text, time.Now())
			}
			return nil
		})
		if err != nil && ctx.Err() == nil {
			e.cfg.Logger.Info("follow ended", "node", s.name(), "err", err)
		}
	}()
	s.sending.Store(true)
}

// startWorker starts the goroutines that send s's share of the workload.
func (e *engine) startWorker(s *slot) {
	for range e.cfg.Senders {
		e.bg.Add(1)
		go func() {
			defer e.bg.Done()
			for text := range s.queue {
				e.sendOne(s, text)
			}
		}()
	}
}

// drain waits, after the workload, until every node has sent what was
// queued for it (bounded by Settle): settling starts after the last send.
func (e *engine) drain() {
	deadline := time.Now().Add(e.cfg.Settle)
	for time.Now().Before(deadline) && e.ctx.Err() == nil {
		idle := true
		for _, s := range e.slots {
			if len(s.queue) > 0 || s.busy.Load() > 0 {
				idle = false
			}
		}
		if idle {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sendOne sends text from s and records the outcome. A send that returns
// after the node crashed is not acknowledged: nobody was there to hear it.
func (e *engine) sendOne(s *slot, text string) {
	s.busy.Add(1)
	defer s.busy.Add(-1)
	m, life := s.member()
	if m == nil || !s.sending.Load() {
		e.skipped.Add(1)
		return
	}
	e.rec.send(text, s.peer, s.i)
	ctx, cancel := e.opCtx()
	_, err := m.Send(ctx, e.channel, text)
	cancel()
	s.mu.Lock()
	ok := err == nil && s.mu.life == life
	if ok {
		e.rec.ack(text)
	}
	s.mu.Unlock()
	if !ok {
		e.failed.Add(1)
		e.cfg.Logger.Info("send failed", "node", s.name(), "msg", text, "err", err)
	}
}

// nextText returns a new unique message text for slot i.
func (e *engine) nextText(i int) string {
	return fmt.Sprintf("%s%07d/n%d", textPrefix, e.seq.Add(1), i)
}

// workload sends at the aggregate rate, round-robin over the nodes that
// are up, until end and until the faults are over.
func (e *engine) workload(end time.Time, faultsDone <-chan struct{}) {
	interval := time.Duration(float64(time.Second) / e.cfg.Rate)
	next := 0
	for k := 0; ; k++ {
		at := e.t0.Add(time.Duration(k) * interval)
		if !at.Before(end) {
			select {
			case <-faultsDone:
				return
			default:
			}
		}
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-e.ctx.Done():
				return
			}
		}
		for range e.slots {
			s := e.slots[next%len(e.slots)]
			next++
			if s.sending.Load() {
				select {
				case s.queue <- e.nextText(s.i):
				default:
					e.skipped.Add(1) // the node cannot keep up
				}
				break
			}
		}
	}
}

// progress calls Config.Progress once a second until the returned stop.
func (e *engine) progress() (stop func()) {
	if e.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	t := time.NewTicker(time.Second)
	go func() {
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			acked, deliv := e.rec.counts()
			e.cfg.Progress(Progress{Elapsed: time.Since(e.t0), Phase: e.phase.Load().(string),
				Sent: acked, Deliveries: deliv, Down: len(e.slots) - len(e.live())})
		}
	}()
	return func() { close(done) }
}
