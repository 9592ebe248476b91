package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

func daemonCmd(g *globals) *cobra.Command {
	var listen, bootstrap []string
	var noMDNS, relay, faultGate bool
	var metricsAddr string
	c := &cobra.Command{
		Use:   "daemon [--listen MULTIADDR]... [--bootstrap MULTIADDR]... [--relay]",
		Short: "Run the node and the local control API until SIGINT or SIGTERM",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg := node.Config{Home: g.home, Network: true, Listen: listen, Bootstrap: bootstrap,
				DisableMDNS: noMDNS, Relay: relay, Logger: g.log, Holder: "spacepanda daemon", Daemon: true}
			if faultGate {
				cfg.Gate = node.NewGate() // partitions through the control socket (testbed --procs)
			}
			n, err := openDaemon(ctx, cfg)
			if err != nil {
				return err
			}
			srv, err := node.Serve(n, g.home)
			if err != nil {
				return errors.Join(err, n.Close())
			}
			stopMetrics := func() error { return nil }
			if metricsAddr != "" {
				if stopMetrics, err = serveMetrics(ctx, n, metricsAddr, g.log); err != nil {
					return errors.Join(err, srv.Close(), n.Close())
				}
			}
			st, err := n.Status(ctx)
			if err == nil {
				g.log.Info("daemon running", "peer_id", st.PeerID, "addrs", st.Addrs)
				fmtErr := g.emit(map[string]any{"peer_id": st.PeerID, "addrs": st.Addrs}, func() {
					g.printf("daemon %s\n", st.PeerID)
					for _, a := range st.Addrs {
						g.printf("listening on %s\n", a)
					}
				})
				err = fmtErr
			}
			<-ctx.Done()
			g.log.Info("shutting down")
			return errors.Join(err, stopMetrics(), srv.Close(), n.Close())
		},
	}
	c.Flags().StringArrayVar(&listen, "listen", nil, "multiaddr to listen on (repeatable; default all interfaces, port 9742)")
	c.Flags().StringArrayVar(&bootstrap, "bootstrap", nil, "full multiaddr of a peer to dial at start (repeatable)")
	c.Flags().BoolVar(&noMDNS, "no-mdns", false, "turn LAN discovery off")
	c.Flags().StringVar(&metricsAddr, "metrics", "", "serve Prometheus /metrics on ADDR (HOST:PORT; a bare port means 127.0.0.1)")
	c.Flags().BoolVar(&relay, "relay", false, "server node: relay for peers behind NAT and DHT server (publicly reachable machines only)")
	c.Flags().BoolVar(&faultGate, "fault-gate", false, "testbed: let the control socket partition this daemon (fault.block, fault.unblock)")
	_ = c.Flags().MarkHidden("fault-gate")
	return c
}

// openDaemon opens the node, waiting a little while a short command (one
// run without a daemon) holds the home; another daemon is an error at once.
func openDaemon(ctx context.Context, cfg node.Config) (*node.Node, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := node.Open(ctx, cfg)
		if !errors.Is(err, node.ErrHomeInUse) || strings.Contains(err.Error(), "daemon") || time.Now().After(deadline) {
			return n, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
