package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

func initCmd(g *globals) *cobra.Command {
	var name string
	c := &cobra.Command{
		Use:   "init --name NAME",
		Short: "Create the identity (an Ed25519 key) and the home",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, err := node.Init(cmd.Context(), g.home, name, nil)
			if err != nil {
				return err
			}
			return g.emit(map[string]string{"peer_id": id, "name": name, "home": g.home}, func() {
				g.printf("initialised %s\npeer ID: %s\n", g.home, id)
			})
		},
	}
	c.Flags().StringVar(&name, "name", "", "display name (required)")
	c.MarkFlagRequired("name") //nolint:errcheck // the flag exists
	return c
}

func statusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the peer ID, listen addresses, peers and channels",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				st, err := a.Status(cmd.Context())
				if err != nil {
					return err
				}
				return g.emit(st, func() {
					g.printf("peer ID: %s\nname:    %s\n", st.PeerID, st.Name)
					if !st.Online {
						g.printf("network: offline (no daemon running)\n")
					}
					for _, a := range st.Addrs {
						g.printf("listen:  %s\n", a)
					}
					g.printf("peers:   %d connected\nchannels: %d\n", len(st.Peers), len(st.Channels))
				})
			})
		},
	}
}

func peersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List connected peers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				ps, err := a.Peers(cmd.Context())
				if err != nil {
					return err
				}
				return g.emit(ps, func() {
					for _, p := range ps {
						mark := ""
						if p.Relayed {
							mark = "  (relayed)"
						}
						g.printf("%s  %s%s\n", p.ID, strings.Join(p.Addrs, " "), mark)
					}
				})
			})
		},
	}
}

func joinCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "join [CODE|-]",
		Short: "Join a channel with an invite code (read from standard input with - or no argument)",
		Long: `Join a channel with an invite code. The code is a secret: prefer
"spacepanda join < code.txt" (or "join -") to typing it as an argument,
which every local user can read in the process list.`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := argOrStdin(cmd, args, 0, "invite code", true)
			if err != nil {
				return err
			}
			return g.with(cmd.Context(), true, func(a node.API) error {
				ci, err := a.Join(cmd.Context(), code)
				if err != nil {
					return err
				}
				return g.emit(map[string]string{"id": ci.ID, "name": ci.Name}, func() {
					g.printf("joined %s %s\n", ci.Name, ci.ID)
				})
			})
		},
	}
}

func sendCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "send CHANNEL TEXT|-",
		Short: "Send a message (stored durably, then published; queued if no member is reachable)",
		Long: `Send a message. With - as TEXT the text is read from standard input
(one trailing newline dropped): prefer it, an argument is visible to every
local user in the process list and stays in shell history.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			text, err := argOrStdin(cmd, args, 1, "message text", false)
			if err != nil {
				return err
			}
			return g.with(cmd.Context(), true, func(a node.API) error {
				r, err := a.Send(cmd.Context(), args[0], text)
				if err != nil {
					return err
				}
				return g.emit(r, func() {
					if r.Queued {
						g.printf("queued %s (in the outbox: %s)\n", r.ID, r.Reason)
						return
					}
					g.printf("sent %s\n", r.ID)
				})
			})
		},
	}
}

func messagesCmd(g *globals) *cobra.Command {
	var limit int
	var follow bool
	c := &cobra.Command{
		Use:   "messages CHANNEL",
		Short: "Print the channel's timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.with(cmd.Context(), follow, func(a node.API) error {
				ctx := cmd.Context()
				if follow {
					return g.follow(ctx, a, args[0], limit)
				}
				ms, err := a.Messages(ctx, args[0], limit)
				if err != nil {
					return err
				}
				for _, m := range ms {
					if err := g.printMessage(m); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	c.Flags().IntVar(&limit, "limit", 0, "print only the latest N messages (0: all)")
	c.Flags().BoolVar(&follow, "follow", false, "keep printing new messages until interrupted")
	return c
}

// follow prints the timeline and then every change, until ^C.
func (g *globals) follow(ctx context.Context, a node.API, ch string, limit int) error {
	return a.Follow(ctx, ch, limit, g.printMessage)
}

func editCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "edit CHANNEL MESSAGE-ID TEXT",
		Short: "Edit one of your messages",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.simple(cmd, "edited", func(a node.API) error { return a.Edit(cmd.Context(), args[0], args[1], args[2]) })
		},
	}
}

func deleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete CHANNEL MESSAGE-ID",
		Short: "Delete a message",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.simple(cmd, "deleted", func(a node.API) error { return a.Delete(cmd.Context(), args[0], args[1]) })
		},
	}
}

func reactCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "react CHANNEL MESSAGE-ID EMOJI",
		Short: "React to a message",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.simple(cmd, "reacted", func(a node.API) error { return a.React(cmd.Context(), args[0], args[1], args[2]) })
		},
	}
}

// simple runs an operation without a result and reports it.
func (g *globals) simple(cmd *cobra.Command, done string, fn func(node.API) error) error {
	return g.with(cmd.Context(), false, func(a node.API) error {
		if err := fn(a); err != nil {
			return err
		}
		return g.emit(map[string]bool{"ok": true}, func() { g.printf("%s\n", done) })
	})
}

func parseDuration(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "d") {
		var d int
		if _, err := fmt.Sscanf(s, "%dd", &d); err == nil && d > 0 {
			return time.Duration(d) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: want a positive duration such as 30m, 24h or 7d", s)
	}
	return d, nil
}
