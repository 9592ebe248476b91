package node

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spacepanda/spacepanda/p2p"
)

// ErrPortInUse: a listen address's port is taken by another process (for
// example the daemon of another home on this machine). libp2p binds with
// SO_REUSEPORT, so without this check two daemons would both start on the
// port and split the incoming connections between them.
var ErrPortInUse = errors.New("node: port in use")

// lockPorts takes, for the life of a daemon, a lock per fixed TCP or UDP
// port it listens on in its network namespace (a file in a directory of
// this user's under the system's temporary directory), then checks the
// ports (checkPorts). The bind check alone races: two daemons started at
// once both found the port free, closed their test sockets, and both bound
// it with SO_REUSEPORT (seen when starting two homes' daemons together). The lock makes the
// second one fail with ErrPortInUse; a lock file that cannot be made
// leaves the bind check alone. Closing the result releases the locks (so
// does the process's end).
func lockPorts(addrs []string) (io.Closer, error) {
	if len(addrs) == 0 {
		addrs = p2p.DefaultListenAddrs
	}
	var held portLocks
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("spacepanda-ports-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err == nil {
		ns := netNamespace()
		seen := map[string]bool{}
		for _, a := range addrs {
			network, hostport, ok := socketOf(a)
			if !ok {
				continue
			}
			_, port, _ := net.SplitHostPort(hostport)
			name := network + "-" + port + ns
			if seen[name] {
				continue
			}
			seen[name] = true
			f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				continue
			}
			ok, err = tryLock(f)
			if err != nil {
				f.Close()
				continue
			}
			if !ok {
				f.Close()
				held.Close()
				return nil, fmt.Errorf("%w: port %s is already in use (%s %s) by another SpacePanda daemon on this machine; give this one another port with --listen", ErrPortInUse, port, strings.ToUpper(network), a)
			}
			held = append(held, f)
		}
	}
	if err := checkPorts(addrs); err != nil {
		held.Close()
		return nil, err
	}
	return held, nil
}

// netNamespace names the network namespace the process runs in (Linux:
// "-net-4026531840", from /proc/self/ns/net; "" elsewhere): a port is
// taken per namespace, and daemons in different namespaces of one machine
// (the NAT tests, containers sharing /tmp) may each use it.
func netNamespace() string {
	l, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return ""
	}
	l = strings.TrimSuffix(strings.TrimPrefix(l, "net:["), "]")
	if l == "" || strings.ContainsAny(l, "/\\") {
		return ""
	}
	return "-net-" + l
}

// portLocks are the lock files lockPorts holds.
type portLocks []*os.File

func (l portLocks) Close() error {
	for _, f := range l {
		f.Close()
	}
	return nil
}

// checkPorts refuses listen addresses whose fixed TCP or UDP port another
// process holds. Port 0 (any free port) is never in use.
func checkPorts(addrs []string) error {
	if len(addrs) == 0 {
		addrs = p2p.DefaultListenAddrs
	}
	for _, a := range addrs {
		network, hostport, ok := socketOf(a)
		if !ok {
			continue // p2p reports addresses it cannot use
		}
		var err error
		if network == "tcp" {
			var ln net.Listener
			if ln, err = net.Listen(network, hostport); err == nil {
				ln.Close()
			}
		} else {
			var pc net.PacketConn
			if pc, err = net.ListenPacket(network, hostport); err == nil {
				pc.Close()
			}
		}
		if errors.Is(err, syscall.EADDRINUSE) {
			_, port, _ := net.SplitHostPort(hostport)
			return fmt.Errorf("%w: port %s is already in use (%s %s) by another process, perhaps the daemon of another home; give this one another port with --listen", ErrPortInUse, port, strings.ToUpper(network), a)
		}
	}
	return nil
}

// socketOf reads "/ip4/A/tcp/P..." or "/ip6/A/udp/P/quic-v1..." with a
// fixed port P.
func socketOf(ma string) (network, hostport string, ok bool) {
	parts := strings.Split(ma, "/")
	if len(parts) < 5 || parts[0] != "" || parts[1] != "ip4" && parts[1] != "ip6" {
		return "", "", false
	}
	if parts[3] != "tcp" && parts[3] != "udp" || parts[4] == "0" {
		return "", "", false
	}
	return parts[3], net.JoinHostPort(parts[2], parts[4]), true
}
