package nattest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// NAT kinds of a private segment's router.
type natKind int

const (
	// eim maps an inside address and port to the same outside port for
	// every destination (nftables masquerade keeps the source port):
	// endpoint-independent mapping, the "full cone"-like home router.
	// Filtering is by connection (conntrack), as on real routers.
	eim natKind = iota
	// symmetric maps every new connection to a random outside port
	// (masquerade fully-random): the port a peer observes is useless to
	// anyone else, so hole punching cannot work.
	symmetric
)

func (k natKind) String() string {
	if k == symmetric {
		return "symmetric"
	}
	return "endpoint-independent"
}

// Addresses. The "public" segment uses 11.15.0.0/16: libp2p treats only
// public addresses as worth announcing and hole punching, so the test's
// internet must look public. These addresses exist only inside the test's
// namespaces, which have no link to the host: nothing is routed beyond
// them.
const (
	relayIP   = "11.15.1.2"
	publicNet = "11.15"
)

func natWAN(i int) string { return fmt.Sprintf("%s.%d.2", publicNet, i+2) }
func lanNet(i int) string { return fmt.Sprintf("10.0.%d", i+2) }

// spPort is the port every daemon listens on (TCP and QUIC), as in
// production: a port-preserving NAT then keeps it.
const spPort = 9742

// nsPrefix starts the name of every namespace the tests create; the process
// ID follows, so that a later run can sweep what a killed run left.
const nsPrefix = "spnat-"

var nsSeq atomic.Int64

// requireNetns skips the test, saying why, unless it can build namespaces.
func requireNetns(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("nattest: skipped in -short mode (multi-process network namespace tests)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("nattest: skipped: network namespaces are Linux only")
	}
	if os.Geteuid() != 0 {
		t.Skip("nattest: skipped: needs root to create network namespaces (CI runs as root)")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("nattest: skipped: %q not found (apt-get install iproute2 nftables; .ci/run does)", tool)
		}
	}
	name := fmt.Sprintf("%s%d-probe%d", nsPrefix, os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("nattest: skipped: cannot create a network namespace: %v: %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", name).Run() //nolint:errcheck
	if out, err := exec.Command("ip", "netns", "exec", name, "nft", "list", "ruleset").CombinedOutput(); err != nil {
		t.Skipf("nattest: skipped: nftables unusable in a namespace: %v: %s", err, out)
	}
}

// sweepOnce removes namespaces left by test processes that no longer run
// (a run killed before its cleanup), once per test binary.
var sweepOnce sync.Once

func sweepStale(t testing.TB) {
	sweepOnce.Do(func() {
		out, err := exec.Command("ip", "netns", "list").Output()
		if err != nil {
			return
		}
		re := regexp.MustCompile(`^` + nsPrefix + `(\d+)-\S+`)
		for _, line := range strings.Split(string(out), "\n") {
			m := re.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			if pid, _ := strconv.Atoi(m[1]); pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
				continue // ours, or a run still going
			}
			killNetnsPids(m[0])
			if err := exec.Command("ip", "netns", "del", m[0]).Run(); err == nil {
				t.Logf("swept stale namespace %s", m[0])
			}
		}
	})
}

// killNetnsPids kills the processes left in a stale namespace of ours:
// daemons a killed test run started there.
func killNetnsPids(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// binary builds the spacepanda command once per test binary.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func spacepanda(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nattest-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "spacepanda")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/spacepanda/spacepanda/cmd/spacepanda").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// topo is one test's network: a public router namespace, a relay on its
// own segment, and for each private segment a NAT router and a desktop.
type topo struct {
	t      testing.TB
	id     string // unique per topology
	pub    string // namespace of the public router
	relay  *daemon
	nats   []string // NAT router namespaces
	desks  []*daemon
	kinds  []natKind
	bin    string
	nsList []string
}

// run runs f as a subtest whose failures the topology's helpers report.
func (tp *topo) run(name string, f func(t *testing.T)) bool {
	return tp.t.(*testing.T).Run(name, func(t *testing.T) {
		parent := tp.t
		tp.t = t
		defer func() { tp.t = parent }()
		f(t)
	})
}

func (tp *topo) ns(role string) string { return tp.id + "-" + role }

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// newTopo builds the namespaces: the public router, the relay's segment
// 11.15.1.0/24, and per kind a NAT router with WAN 11.15.(i+2).2 and a LAN
// 10.0.(i+2).0/24 with one desktop at .2. Everything is torn down by
// t.Cleanup, also after a failure.
func newTopo(t testing.TB, kinds ...natKind) *topo {
	t.Helper()
	requireNetns(t)
	sweepStale(t)
	tp := &topo{t: t, id: fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), nsSeq.Add(1)), kinds: kinds, bin: spacepanda(t)}
	t.Cleanup(tp.teardown)
	tp.pub = tp.addNS("pub")
	must := func(args ...string) {
		t.Helper()
		if err := run(args...); err != nil {
			t.Fatal(err)
		}
	}
	sysctl := func(ns string) { must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1") }
	sysctl(tp.pub)
	// The relay's segment.
	rns := tp.addNS("relay")
	tp.link(tp.pub, "r", publicNet+".1.1/24", rns, "eth0", relayIP+"/24")
	must("ip", "-n", rns, "route", "add", "default", "via", publicNet+".1.1")
	for i, k := range kinds {
		nat := tp.addNS(fmt.Sprintf("nat%d", i))
		desk := tp.addNS(fmt.Sprintf("desk%d", i))
		tp.nats = append(tp.nats, nat)
		tp.link(tp.pub, fmt.Sprintf("n%d", i), fmt.Sprintf("%s.%d.1/24", publicNet, i+2), nat, "wan", natWAN(i)+"/24")
		must("ip", "-n", nat, "route", "add", "default", "via", fmt.Sprintf("%s.%d.1", publicNet, i+2))
		tp.link(nat, "lan", lanNet(i)+".1/24", desk, "eth0", lanNet(i)+".2/24")
		must("ip", "-n", desk, "route", "add", "default", "via", lanNet(i)+".1")
		sysctl(nat)
		masq := "masquerade"
		if k == symmetric {
			masq = "masquerade fully-random"
		}
		// Like every home router, it drops what arrives unasked on the WAN
		// side. Besides realism this matters: an unasked packet accepted
		// by the router itself would take the conntrack entry that the
		// desktop's own outgoing packet needs to keep its port.
		tp.nft(nat, `
table ip nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" `+masq+`
	}
}
table ip filter {
	chain forwarding {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "lan" oifname "wan" accept
	}
	chain incoming {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iifname { "lo", "lan" } accept
	}
}`)
	}
	tp.nft(tp.pub, tp.pubRules())
	return tp
}

// pubRules counts, on the public router, the bytes between each NAT and
// the relay (counter nI_relay) and between two NATs (counter nI_nJ), both
// directions together.
func (tp *topo) pubRules() string {
	var b strings.Builder
	b.WriteString("table ip pub {\n")
	var rules []string
	pair := func(name, x, y string) {
		fmt.Fprintf(&b, "\tcounter %s {}\n", name)
		rules = append(rules, fmt.Sprintf("ip saddr %s ip daddr %s counter name %s", x, y, name),
			fmt.Sprintf("ip saddr %s ip daddr %s counter name %s", y, x, name))
	}
	for i := range tp.kinds {
		pair(fmt.Sprintf("n%d_relay", i), natWAN(i), relayIP)
		for j := i + 1; j < len(tp.kinds); j++ {
			pair(fmt.Sprintf("n%d_n%d", i, j), natWAN(i), natWAN(j))
		}
	}
	b.WriteString("\tchain forwarding {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	for _, r := range rules {
		b.WriteString("\t\t" + r + "\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// bytes reads a counter of the public router.
func (tp *topo) bytes(name string) int64 {
	tp.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", tp.pub, "nft", "list", "counter", "ip", "pub", name).CombinedOutput()
	if err != nil {
		tp.t.Fatalf("nft list counter %s: %v: %s", name, err, out)
	}
	m := regexp.MustCompile(`bytes (\d+)`).FindSubmatch(out)
	if m == nil {
		tp.t.Fatalf("counter %s: no bytes in %q", name, out)
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

func (tp *topo) addNS(role string) string {
	tp.t.Helper()
	name := tp.ns(role)
	if err := run("ip", "netns", "add", name); err != nil {
		tp.t.Fatal(err)
	}
	tp.nsList = append(tp.nsList, name)
	if err := run("ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		tp.t.Fatal(err)
	}
	return name
}

// link connects two namespaces by a veth pair created inside the first:
// the pair never exists in the host's namespace.
func (tp *topo) link(ns1, if1, addr1, ns2, if2, addr2 string) {
	tp.t.Helper()
	steps := [][]string{
		{"ip", "-n", ns1, "link", "add", if1, "type", "veth", "peer", "name", if2, "netns", ns2},
		{"ip", "-n", ns1, "addr", "add", addr1, "dev", if1},
		{"ip", "-n", ns2, "addr", "add", addr2, "dev", if2},
		{"ip", "-n", ns1, "link", "set", if1, "up"},
		{"ip", "-n", ns2, "link", "set", if2, "up"},
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			tp.t.Fatal(err)
		}
	}
}

func (tp *topo) nft(ns, rules string) {
	tp.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		tp.t.Fatalf("nft in %s: %v: %s\n%s", ns, err, out, rules)
	}
}

// teardown stops every daemon, then deletes the namespaces.
func (tp *topo) teardown() {
	for _, d := range append([]*daemon{tp.relay}, tp.desks...) {
		if d != nil {
			d.kill()
		}
	}
	for _, ns := range tp.nsList {
		killNetnsPids(ns)
		if err := run("ip", "netns", "del", ns); err != nil {
			tp.t.Logf("teardown: %v", err)
		}
	}
}

// daemon is a spacepanda home and its daemon process in a namespace.
type daemon struct {
	tp   *topo
	name string
	ns   string
	home string
	args []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	id   string
	port int // listen port, TCP and UDP; 0 means spPort
}

func (tp *topo) newDaemon(name, ns string, args ...string) *daemon {
	tp.t.Helper()
	dir := tp.t.TempDir()
	d := &daemon{tp: tp, name: name, ns: ns, home: filepath.Join(dir, name), log: filepath.Join(dir, name+".log"), args: args}
	d.cli("init", "--name", name)
	var st node.Status
	d.cliJSON(&st, "status")
	d.id = st.PeerID
	return d
}

// startRelay starts the relay daemon (a server node).
func (tp *topo) startRelay() *daemon {
	tp.t.Helper()
	tp.relay = tp.newDaemon("relay", tp.ns("relay"), "--relay")
	tp.relay.start()
	return tp.relay
}

func (tp *topo) relayAddrs() []string {
	return []string{
		fmt.Sprintf("/ip4/%s/udp/%d/quic-v1/p2p/%s", relayIP, spPort, tp.relay.id),
		fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", relayIP, spPort, tp.relay.id),
	}
}

// startDesktop starts the desktop of private segment i, with the relay as
// its bootstrap peer.
func (tp *topo) startDesktop(i int, name string) *daemon {
	tp.t.Helper()
	var args []string
	for _, a := range tp.relayAddrs() {
		args = append(args, "--bootstrap", a)
	}
	d := tp.newDaemon(name, tp.ns(fmt.Sprintf("desk%d", i)), args...)
	tp.desks = append(tp.desks, d)
	d.start()
	return d
}

func (d *daemon) start() {
	d.tp.t.Helper()
	if err := d.startErr(); err != nil {
		d.tp.t.Fatalf("%s: %v\n%s", d.name, err, d.tail())
	}
}

// startErr starts the daemon on d.port (spPort when 0) and waits until it
// answers on its control socket. It does not touch the test, so that
// goroutines may use it.
func (d *daemon) startErr() error {
	port := d.port
	if port == 0 {
		port = spPort
	}
	args := []string{"netns", "exec", d.ns, d.tp.bin, "--home", d.home, "daemon", "--no-mdns",
		"--listen", fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", port),
		"--listen", fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", port)}
	args = append(args, d.args...)
	f, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	done := make(chan struct{})
	d.cmd, d.done = cmd, done
	go func() {
		cmd.Wait() //nolint:errcheck // the exit is expected when we kill it
		f.Close()
		close(done)
	}()
	err = poll(30*time.Second, func() bool {
		c, err := node.Dial(context.Background(), d.home)
		if err != nil {
			return false
		}
		defer c.Close()
		_, err = c.Status(context.Background())
		return err == nil
	})
	if err != nil {
		return fmt.Errorf("daemon does not answer: %w", err)
	}
	return nil
}

// stop stops the daemon with SIGTERM (a clean shutdown: its peers see
// its connections close at once) and waits for it to exit, killing it
// after 30 s.
func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		d.cmd = nil
	case <-time.After(30 * time.Second):
		d.kill()
	}
}

// kill stops the daemon with SIGKILL and waits for it to exit.
func (d *daemon) kill() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	_ = d.cmd.Process.Kill()
	<-d.done
	d.cmd = nil
}

// cli runs one spacepanda command against the home (through the daemon's
// control socket when it runs) and returns its trimmed stdout.
func (d *daemon) cli(args ...string) string {
	d.tp.t.Helper()
	out, err := d.try(args...)
	if err != nil {
		d.tp.t.Fatalf("%s: spacepanda %s: %v\n%s", d.name, strings.Join(args, " "), err, d.tail())
	}
	return out
}

func (d *daemon) try(args ...string) (string, error) {
	cmd := exec.Command(d.tp.bin, append([]string{"--home", d.home}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func (d *daemon) cliJSON(v any, args ...string) {
	d.tp.t.Helper()
	out := d.cli(append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		d.tp.t.Fatalf("%s: %s: %v: %q", d.name, strings.Join(args, " "), err, out)
	}
}

const tailBytes = 30000

// tail returns the end of the daemon's log, for failure messages.
func (d *daemon) tail() string {
	b, _ := os.ReadFile(d.log)
	if len(b) > tailBytes {
		b = b[len(b)-tailBytes:]
	}
	return fmt.Sprintf("--- %s log (%s) ---\n%s", d.name, d.ns, b)
}

// tails returns the end of every daemon's log and its peers.
func (tp *topo) tails() string {
	var b strings.Builder
	for _, d := range append([]*daemon{tp.relay}, tp.desks...) {
		if d == nil {
			continue
		}
		b.WriteString(d.tail())
		if out, err := d.try("peers"); err == nil {
			b.WriteString("\npeers:\n" + out + "\n")
		}
	}
	return b.String()
}

// waitFor polls cond until it holds, failing the test after timeout.
func (d *daemon) waitFor(timeout time.Duration, what string, cond func() bool) {
	d.tp.t.Helper()
	if err := poll(timeout, cond); err != nil {
		d.tp.t.Fatalf("%s: timed out after %v waiting for %s\n%s", d.name, timeout, what, d.tp.tails())
	}
}

var errTimeout = errors.New("timed out")

func poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errTimeout
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func (d *daemon) client() *node.Client {
	d.tp.t.Helper()
	c, err := node.Dial(context.Background(), d.home)
	if err != nil {
		d.tp.t.Fatalf("%s: dial control socket: %v", d.name, err)
	}
	return c
}

// circuitAddrs returns the daemon's announced relayed addresses.
func (d *daemon) circuitAddrs() []string {
	c, err := node.Dial(context.Background(), d.home)
	if err != nil {
		return nil
	}
	defer c.Close()
	st, err := c.Status(context.Background())
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range st.Addrs {
		if strings.Contains(a, "/p2p-circuit") {
			out = append(out, a)
		}
	}
	return out
}

// conn reports how the daemon is connected to peer: "direct" when some
// connection is not relayed, "relayed" when all are, "" when none.
func (d *daemon) conn(peer string) string {
	c, err := node.Dial(context.Background(), d.home)
	if err != nil {
		return ""
	}
	defer c.Close()
	ps, err := c.Peers(context.Background())
	if err != nil {
		return ""
	}
	for _, p := range ps {
		if p.ID != peer || len(p.Via) == 0 {
			continue
		}
		if p.Relayed {
			return "relayed"
		}
		return "direct"
	}
	return ""
}

// texts returns the texts of the channel's timeline.
func (d *daemon) texts(channel string) []string {
	c, err := node.Dial(context.Background(), d.home)
	if err != nil {
		return nil
	}
	defer c.Close()
	ms, err := c.Messages(context.Background(), channel, 0)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// waitTexts waits until the channel's timeline holds every text of want.
func (d *daemon) waitTexts(timeout time.Duration, channel string, want ...string) {
	d.tp.t.Helper()
	var got []string
	err := poll(timeout, func() bool {
		got = d.texts(channel)
		have := map[string]bool{}
		for _, g := range got {
			have[g] = true
		}
		for _, w := range want {
			if !have[w] {
				return false
			}
		}
		return true
	})
	if err != nil {
		d.tp.t.Fatalf("%s: after %v the timeline lacks some of %d texts; has %d: %q\n%s", d.name, timeout, len(want), len(got), got, d.tail())
	}
}

func bg() context.Context { return context.Background() }

func nodeDial(d *daemon) (*node.Client, error) { return node.Dial(bg(), d.home) }
