package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// procs runs every node as a `spacepanda daemon` process and drives it
// through its control socket, as the command line does; a kill is SIGKILL.
// A partition goes through the daemons' fault gates (`daemon --fault-gate`,
// the control methods fault.block and fault.unblock); key updates (not in
// the control API) are not available in this mode.
type procs struct {
	dir string
	cfg Config
	mu  sync.Mutex
	// dead is the CPU time of daemons that have exited.
	dead time.Duration
	live map[*exec.Cmd]bool
}

func newProcs(dir string, cfg Config) *procs {
	return &procs{dir: dir, cfg: cfg, live: map[*exec.Cmd]bool{}}
}

// daemon is a member reached through a daemon's control socket.
type daemon struct {
	*node.Client
	p    *procs
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

func (d *daemon) Digest(ctx context.Context, channel string) (node.Digest, error) {
	return apiDigest(ctx, d.Client, channel)
}

// Close stops the daemon with SIGTERM (SIGKILL after 20 s).
func (d *daemon) Close() error {
	d.once.Do(func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(20 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return nil
}

func (p *procs) start(ctx context.Context, s *slot, boot []string) (member, error) {
	if s.home == "" {
		s.gen++
		name := fmt.Sprintf("node%d.%d", s.i, s.gen)
		s.home = filepath.Join(p.dir, name)
		if _, err := node.Init(ctx, s.home, name, []byte{}); err != nil {
			return nil, err
		}
	}
	args := []string{"daemon", "--home", s.home, "--listen", "/ip4/127.0.0.1/tcp/0", "--no-mdns", "--fault-gate",
		"--log-level", strings.ToLower(p.cfg.NodeLogLevel.String()), "--log-file", filepath.Join(p.dir, fmt.Sprintf("node%d.%d.log", s.i, s.gen))}
	for _, b := range boot {
		args = append(args, "--bootstrap", b)
	}
	cmd := exec.Command(p.cfg.Binary, args...)
	cmd.Env = append(os.Environ(), "SPACEPANDA_PASSPHRASE=")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	d := &daemon{p: p, cmd: cmd, done: make(chan struct{})}
	p.mu.Lock()
	p.live[cmd] = true
	p.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		delete(p.live, cmd)
		if st := cmd.ProcessState; st != nil {
			p.dead += st.UserTime() + st.SystemTime()
		}
		p.mu.Unlock()
		close(d.done)
	}()
	for {
		c, err := node.Dial(ctx, s.home)
		if err == nil {
			if _, err = c.Status(ctx); err == nil {
				d.Client = c
				s.impl = d
				return d, nil
			}
		}
		select {
		case <-d.done:
			return nil, fmt.Errorf("daemon %s exited: %v", s.name(), cmd.ProcessState)
		case <-ctx.Done():
			d.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// crash sends SIGKILL: the daemon gets no chance to shut down.
func (p *procs) crash(s *slot, takeDown func()) error {
	d, _ := s.impl.(*daemon)
	if d == nil {
		return errors.New("no daemon")
	}
	takeDown()
	if err := d.cmd.Process.Kill(); err != nil {
		return err
	}
	<-d.done
	return nil
}

// block makes s's daemon refuse peers and close its connections to them.
func (p *procs) block(s *slot, peers []string) error {
	d, _ := s.impl.(*daemon)
	if d == nil {
		return errors.New("no daemon")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.FaultBlock(ctx, peers)
}

// unblock heals s's side of a partition.
func (p *procs) unblock(s *slot) error {
	d, _ := s.impl.(*daemon)
	if d == nil {
		return errors.New("no daemon")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.FaultUnblock(ctx)
}

// cpu sums the CPU time of the daemons: exited ones from their rusage, live
// ones from /proc.
func (p *procs) cpu() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	total := p.dead
	for cmd := range p.live {
		total += procCPU(cmd.Process.Pid)
	}
	return total
}

// procCPU reads utime + stime of a process from /proc (Linux; 0 elsewhere).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks
}

func (p *procs) close() {
	p.mu.Lock()
	var cmds []*exec.Cmd
	for c := range p.live {
		cmds = append(cmds, c)
	}
	p.mu.Unlock()
	for _, c := range cmds {
		_ = c.Process.Kill() // only left when a run was interrupted mid-start
	}
}
