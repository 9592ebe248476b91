package testbed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// opTimeout bounds one operation on a node (a send, a join, a digest).
const opTimeout = 30 * time.Second

// slot is one place in the testbed. Its node may go down and come back
// (crash, offline), or leave the channel and join it again (churn).
type slot struct {
	i       int
	gen     int    // identity generation: each new home makes one
	home    string // empty: the next start makes a new home
	peer    string
	joined  time.Time
	sending atomic.Bool
	queue   chan string
	busy    atomic.Int32 // sends in progress
	crashFS *node.CrashFS
	crashOK bool // the home is on a crashable filesystem

	mu struct {
		sync.Mutex
		m    member
		life int // bumped when the node goes down: acks after it do not count
	}
	follow     context.CancelFunc
	followDone chan struct{}
	impl       any // the runner's per-slot state
}

func (s *slot) member() (member, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.m, s.mu.life
}

func (s *slot) name() string { return slotName(s.i) }

// slotName names slot i in reports and logs.
func slotName(i int) string { return fmt.Sprintf("node%d", i) }

// runner starts and stops nodes in one mode (in process, or daemons).
type runner interface {
	// start brings s up, with a new home and identity when s.home is
	// empty, and returns the node.
	start(ctx context.Context, s *slot, bootstrap []string) (member, error)
	// crash kills s's node without any shutdown; takeDown is called at
	// the instant of the crash.
	crash(s *slot, takeDown func()) error
	// block refuses connections between s and peers; unblock heals.
	block(s *slot, peers []string) error
	unblock(s *slot) error
	// cpu is the CPU time the nodes used so far.
	cpu() time.Duration
	// close releases what the runner holds.
	close()
}

// engine runs one testbed.
type engine struct {
	cfg     Config
	run     runner
	rec     *recorder
	slots   []*slot
	channel string
	// viewDiff are the two slots whose CRDT views agree last found
	// different (explainView).
	viewDiff [2]*slot
	boot     []string
	dir      string
	insider  *insider // with --hostile
	ctx      context.Context
	rng      *rand.Rand
	t0       time.Time // workload start
	rep      *Report
	phase    atomic.Value
	seq      atomic.Int64
	failed   atomic.Int64
	skipped  atomic.Int64
	bg       sync.WaitGroup // workers, followers, closes
}

// Run runs the testbed described by cfg and returns its report. It stops
// early, cleaning up, when ctx ends; every phase is bounded in time. An
// error means the testbed could not run; a run whose checks fail returns a
// Report with OK() false.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	started := time.Now()
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "spacepanda-testbed-")
		if err != nil {
			return nil, fmt.Errorf("testbed: %w", err)
		}
		dir = d
		if !cfg.Keep {
			defer os.RemoveAll(d)
		}
	}
	bound := cfg.Duration + 3*cfg.Settle + 2*time.Minute + time.Duration(cfg.Offline)*10*time.Millisecond
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	e := &engine{cfg: cfg, rec: newRecorder(), dir: dir, ctx: ctx,
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7e57bed)),
		rep: &Report{Nodes: cfg.Nodes, Seed: cfg.Seed, Mode: "process", Faults: []FaultReport{}}}
	e.phase.Store("setup")
	if cfg.Procs {
		e.rep.Mode = "procs"
		e.run = newProcs(dir, cfg)
	} else {
		e.run = newInproc(dir, cfg)
	}
	err := e.execute()
	e.shutdown()
	e.run.close()
	switch {
	case parent.Err() != nil:
		return nil, fmt.Errorf("testbed: interrupted: %w", parent.Err())
	case ctx.Err() != nil:
		return nil, fmt.Errorf("testbed: the run exceeded its bound of %v: %w", bound, ctx.Err())
	case err != nil:
		return nil, err
	}
	if cfg.Baseline {
		e.phase.Store("baseline")
		b, err := runBaseline(ctx, cfg)
		if parent.Err() != nil {
			return nil, fmt.Errorf("testbed: interrupted: %w", parent.Err())
		}
		if err != nil {
			return nil, err
		}
		e.rep.Baseline = b
	}
	e.rep.WallS = time.Since(started).Seconds()
	return e.rep, nil
}

// execute sets up the channel, runs the workload with its faults, the
// offline phase and the final checks.
func (e *engine) execute() error {
	p := e.plan()
	if err := e.setup(p); err != nil {
		return err
	}
	if e.cfg.Hostile > 0 {
		// The hostile member joins before the workload, like the others.
		in, err := e.startInsider()
		if err != nil {
			return err
		}
		e.insider = in
		defer in.close()
	}
	stop := e.progress()
	defer stop()
	cpu0 := e.run.cpu()
	e.t0 = time.Now()
	e.phase.Store("workload")
	faultsDone := make(chan struct{})
	go func() {
		defer close(faultsDone)
		e.faults(p)
	}()
	var h *hostile
	hctx, stopHostile := context.WithCancel(e.ctx)
	defer stopHostile()
	if e.cfg.Hostile > 0 {
		var err error
		if h, err = startHostile(e.ctx, e.cfg.Hostile, e.boot, topicOf(e.channel)); err != nil {
			return err
		}
		h.run(hctx, topicOf(e.channel), max(e.cfg.Rate/2, 5))
		e.insider.run(e)
	}
	e.workload(e.t0.Add(e.cfg.Duration), faultsDone)
	e.drain()
	if h != nil {
		stopHostile()
		h.close()
		e.insider.close()
		e.rep.HostilePublished = int(h.published.Load())
		e.rep.HostileStreams = int(h.streams.Load())
		e.rep.HostileCommits = int(e.insider.commits.Load())
		e.rep.HostilePosts = int(e.insider.posts.Load())
		e.rep.HostileActs = int(e.insider.acts.Load())
	}
	if e.cfg.Offline > 0 {
		if err := e.offline(p.offline); err != nil {
			return err
		}
	}
	e.phase.Store("settle")
	// The CPU window ends, as the baseline's does, once every message
	// has reached every member: the convergence checks that follow (a
	// digest of every replica, several times) are the testbed's work.
	cpu := e.settle() - cpu0
	e.cfg.Logger.Info("node CPU", "until_all_shown", cpu, "until_settled", e.run.cpu()-cpu0)
	if _, d := e.rec.counts(); d > 0 {
		e.rep.CPUPerDeliveryUS = float64(cpu.Microseconds()) / float64(d)
	}
	e.phase.Store("check")
	return e.check()
}

// live returns the slots whose node is up.
func (e *engine) live() []*slot {
	var out []*slot
	for _, s := range e.slots {
		if m, _ := s.member(); m != nil {
			out = append(out, s)
		}
	}
	return out
}

// since is the time since the workload started, in seconds.
func (e *engine) since(t time.Time) float64 { return t.Sub(e.t0).Seconds() }

// opCtx is the context of one operation.
func (e *engine) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(e.ctx, opTimeout)
}

// shutdown stops every node and waits for the testbed's goroutines.
func (e *engine) shutdown() {
	for _, s := range e.slots {
		e.down(s, false)
		if s.queue != nil {
			close(s.queue)
		}
	}
	e.bg.Wait()
}

// down takes s's node out: stops its follower and, unless crashed already,
// closes it.
func (e *engine) down(s *slot, crashed bool) {
	s.sending.Store(false)
	s.mu.Lock()
	m := s.mu.m
	s.mu.m = nil
	s.mu.life++
	s.mu.Unlock()
	s.stopFollow()
	if m != nil && !crashed {
		m.Close()
	}
}

// stopFollow ends s's follower, if any, and waits for it.
func (s *slot) stopFollow() {
	if s.follow != nil {
		s.follow()
		<-s.followDone
		s.follow = nil
	}
}

// waitIdle waits until s has no send in progress (bounded).
func waitIdle(s *slot) {
	deadline := time.Now().Add(opTimeout)
	for s.busy.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
}

// sortedPeers returns the peer IDs of slots.
func sortedPeers(ss []*slot) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.peer)
	}
	slices.Sort(out)
	return out
}
