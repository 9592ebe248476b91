package testbed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/spacepanda/spacepanda/node"
	"github.com/spacepanda/spacepanda/p2p"
)

// inproc runs every node in this process: its own libp2p host (with a Gate
// for partitions) and its own Pebble home on disk, or, for a node that will
// be killed, on a crashable in-memory filesystem, so that a kill loses
// exactly what was not fsynced.
type inproc struct {
	dir  string
	cfg  Config
	mu   sync.Mutex
	logs []*os.File
	bg   sync.WaitGroup // closes of crashed nodes
}

type inprocSlot struct {
	gate *p2p.Gate
	node *node.Node
}

func newInproc(dir string, cfg Config) *inproc { return &inproc{dir: dir, cfg: cfg} }

func (r *inproc) start(ctx context.Context, s *slot, boot []string) (member, error) {
	if s.home == "" {
		s.gen++
		name := fmt.Sprintf("node%d.%d", s.i, s.gen)
		s.home = filepath.Join(r.dir, name)
		s.crashFS = nil
		if s.crashOK {
			s.crashFS = node.NewCrashFS()
			s.home = "/" + name // a directory at the root: its entry is synced
		}
		if _, err := node.InitFS(ctx, s.home, name, []byte{}, s.crashFS); err != nil {
			return nil, err
		}
	}
	logger, err := r.logger(s)
	if err != nil {
		return nil, err
	}
	is := &inprocSlot{gate: p2p.NewGate()}
	n, err := openNode(ctx, s.home, boot, logger, s.crashFS, is.gate)
	if err != nil {
		return nil, err
	}
	is.node = n
	s.impl = is
	return n, nil
}

// openNode opens a node of this process on loopback, at home (on crashFS
// if not nil), behind gate if not nil: the in-process slots' nodes and the
// hostile member.
func openNode(ctx context.Context, home string, boot []string, logger *slog.Logger, crashFS *node.CrashFS, gate *p2p.Gate) (*node.Node, error) {
	return node.Open(ctx, node.Config{Home: home, Network: true, Listen: []string{"/ip4/127.0.0.1/tcp/0"},
		Bootstrap: boot, DisableMDNS: true, Holder: "spacepanda testbed", Logger: logger,
		Passphrase: func() ([]byte, error) { return nil, errors.New("testbed homes have no passphrase") },
		CrashFS:    crashFS, Gate: gate})
}

// logger returns a logger writing to the slot's log file in the run's
// directory (appended across restarts).
func (r *inproc) logger(s *slot) (*slog.Logger, error) {
	f, err := os.OpenFile(filepath.Join(r.dir, fmt.Sprintf("node%d.%d.log", s.i, s.gen)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("testbed: log: %w", err)
	}
	r.mu.Lock()
	r.logs = append(r.logs, f)
	r.mu.Unlock()
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: r.cfg.NodeLogLevel})), nil
}

// crash cuts the node off the network (nothing leaves it after the crash
// instant), takes the crash image of its filesystem — synced data only —
// and drops the node; its goroutines are stopped in the background, writing
// only to the dead filesystem.
func (r *inproc) crash(s *slot, takeDown func()) error {
	is, _ := s.impl.(*inprocSlot)
	if is == nil || s.crashFS == nil {
		return errors.New("not on a crashable filesystem")
	}
	is.gate.BlockAll()
	takeDown()
	s.crashFS = s.crashFS.Crash()
	old := is.node
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		old.Close() // releases goroutines; nothing it writes survives
	}()
	return nil
}

func (r *inproc) block(s *slot, peers []string) error {
	if is, _ := s.impl.(*inprocSlot); is != nil {
		ids := make([]p2p.PeerID, len(peers))
		for i, p := range peers {
			ids[i] = p2p.PeerID(p)
		}
		is.gate.Block(ids...)
	}
	return nil
}

func (r *inproc) unblock(s *slot) error {
	if is, _ := s.impl.(*inprocSlot); is != nil {
		is.gate.Unblock()
	}
	return nil
}

// cpu is this process's CPU time: every node, and the testbed itself.
func (r *inproc) cpu() time.Duration { return processCPU() }

func (r *inproc) close() {
	r.bg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.logs {
		f.Close()
	}
}

// processCPU returns user plus system time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
