package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/cmd/spacepanda/internal/tui"
	"github.com/spacepanda/spacepanda/node"
)

func tuiCmd(g *globals) *cobra.Command {
	var listen, bootstrap []string
	var mouse, noMDNS, noReceipts bool
	c := &cobra.Command{
		Use:   "tui",
		Short: "Chat in this terminal: channels, messages, composer and slash commands (F1 for keys)",
		Long: "With a daemon running for the home, the TUI talks to it. Without one it runs the\n" +
			"node itself and serves the control socket meanwhile, so other commands keep working.\n" +
			"Logs go nowhere unless --log-file is given (they would garble the screen).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if g.logFile == "" {
				g.log = slog.New(slog.DiscardHandler)
			}
			api, stop, err := g.tuiAPI(ctx, node.Config{Listen: listen, Bootstrap: bootstrap, DisableMDNS: noMDNS})
			if err != nil {
				return err
			}
			err = tui.Run(ctx, api, cmd.InOrStdin(), cmd.OutOrStdout(), tui.RunOptions{Mouse: mouse, NoReadReceipts: noReceipts})
			return errors.Join(err, stop())
		},
	}
	c.Flags().BoolVar(&mouse, "mouse", false, "scroll with the mouse wheel (the terminal's own selection then needs Shift)")
	c.Flags().BoolVar(&noReceipts, "no-read-receipts", false, "do not tell the members what you have read (unread counts still work)")
	c.Flags().StringArrayVar(&listen, "listen", nil, "without a daemon: multiaddr to listen on (repeatable; default a free port)")
	c.Flags().StringArrayVar(&bootstrap, "bootstrap", nil, "without a daemon: full multiaddr of a peer to dial at start (repeatable)")
	c.Flags().BoolVar(&noMDNS, "no-mdns", false, "without a daemon: turn LAN discovery off")
	return c
}

// tuiAPI returns the daemon's API or, without a daemon, a node run for the
// TUI's length that also serves the control socket.
func (g *globals) tuiAPI(ctx context.Context, cfg node.Config) (node.API, func() error, error) {
	c, err := node.Dial(ctx, g.home)
	if err == nil {
		return c, c.Close, nil
	}
	if !errors.Is(err, node.ErrNoDaemon) {
		return nil, nil, err
	}
	cfg.Home, cfg.Network, cfg.Logger, cfg.Holder = g.home, true, g.log, "spacepanda tui"
	if len(cfg.Listen) == 0 {
		cfg.Listen = ephemeralListen
	}
	n, err := node.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	srv, err := node.Serve(n, g.home)
	if err != nil {
		return nil, nil, errors.Join(err, n.Close())
	}
	return n, func() error { return errors.Join(srv.Close(), n.Close()) }, nil
}
