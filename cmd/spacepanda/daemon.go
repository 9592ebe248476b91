package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

func daemonCmd(g *globals) *cobra.Command {
	var listen, bootstrap []string
	var noMDNS bool
	c := &cobra.Command{
		Use:   "daemon [--listen MULTIADDR]... [--bootstrap MULTIADDR]...",
		Short: "Run the node and the local control API until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			n, err := node.Open(ctx, node.Config{Home: g.home, Network: true, Listen: listen, Bootstrap: bootstrap,
				DisableMDNS: noMDNS, Logger: g.log, Holder: "spacepanda daemon"})
			if err != nil {
				return err
			}
			srv, err := node.Serve(n, g.home)
			if err != nil {
				return errors.Join(err, n.Close())
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
			return errors.Join(err, srv.Close(), n.Close())
		},
	}
	c.Flags().StringArrayVar(&listen, "listen", nil, "multiaddr to listen on (repeatable; default all interfaces, port 9742)")
	c.Flags().StringArrayVar(&bootstrap, "bootstrap", nil, "full multiaddr of a peer to dial at start (repeatable)")
	c.Flags().BoolVar(&noMDNS, "no-mdns", false, "turn LAN discovery off")
	return c
}
