package node

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/spacepanda/spacepanda/p2p"
)

// ErrPortInUse: a listen address's port is taken by another process (for
// example the daemon of another home on this machine). libp2p binds with
// SO_REUSEPORT, so without this check two daemons would both start on the
// port and split the incoming connections between them.
var ErrPortInUse = errors.New("node: port in use")

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
