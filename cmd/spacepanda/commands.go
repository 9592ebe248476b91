package main

import (
	"context"
	"errors"
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
		Args:  noArgs,
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
		Short: "Show the daemon, peer ID, listen addresses, peers and channels",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				st, err := a.Status(cmd.Context())
				if err != nil {
					return err
				}
				_, remote := a.(*node.Client)
				if !remote {
					st.Process, st.PID, st.Started = "", 0, time.Time{}
				}
				return g.emit(st, func() { g.printStatus(st) })
			})
		},
	}
}

func (g *globals) printStatus(st node.Status) {
	g.printf("peer ID:  %s\nname:     %s\n", st.PeerID, st.Name)
	up := ""
	if !st.Started.IsZero() {
		up = ", up " + time.Since(st.Started).Truncate(time.Second).String()
	}
	switch {
	case st.Daemon:
		g.printf("daemon:   running, PID %d%s\n", st.PID, up)
	case st.PID != 0:
		g.printf("daemon:   not running; %s (PID %d%s) runs the node\n", st.Process, st.PID, up)
	default:
		g.printf("daemon:   not running (commands open the home themselves)\n")
	}
	if !st.Online {
		g.printf("network:  offline\n")
	}
	for _, a := range st.Addrs {
		g.printf("listen:   %s\n", a)
	}
	g.printf("peers:    %d connected\n", len(st.Named))
	for _, p := range st.Named {
		g.printf("  %s\n", peerLabel(p))
	}
	g.printf("channels: %d\n", len(st.Channels))
	for _, c := range st.Channels {
		g.printf("  %s\n", channelLine(c))
	}
}

// peerLabel is "name (short ID)", or the short ID alone.
func peerLabel(p node.PeerInfo) string {
	if p.Name == "" {
		return short(p.ID)
	}
	return clean(p.Name) + " (" + short(p.ID) + ")"
}

func peersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "List connected peers, with their names and addresses",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				ps, err := a.Peers(cmd.Context())
				if err != nil {
					return err
				}
				return g.emit(ps, func() {
					for _, p := range ps {
						name := p.Name
						if name == "" {
							name = "?"
						}
						mark := ""
						if p.Relayed {
							mark = "  (relayed)"
						}
						g.printf("%-16s  %s  %s%s\n", name, p.ID, strings.Join(p.Addrs, " "), mark)
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
		Args: rangeArgs(0, 1),
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
				g.warnDuplicate(cmd.Context(), a, ci)
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
		Args: exactArgs(2),
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
				return g.emit(r, func() { g.printResult("sent", r) })
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
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if follow {
				return g.follow(cmd.Context(), args[0], limit)
			}
			return g.with(cmd.Context(), false, func(a node.API) error {
				ms, err := a.Messages(cmd.Context(), args[0], limit)
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

// follow prints the timeline and then every change, until ^C. Without a
// daemon it runs the node and serves the control socket, so that other
// commands go through it; when the daemon it follows stops, it follows on
// (through the next daemon, or with its own node), printing nothing twice.
func (g *globals) follow(ctx context.Context, ch string, limit int) error {
	printed := map[string]string{} // message ID -> the line printed last
	for {
		err := g.followOnce(ctx, ch, limit, func(m node.Message) error {
			key := m.Type + "/" + m.ID + "/" + m.Author
			k := m
			k.Delivery, k.SeenBy = "", nil // a change of delivery alone is not printed again
			line := g.messageLine(k)
			if printed[key] == line {
				return nil
			}
			printed[key] = line
			return g.printMessage(m)
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The daemon hung up, or told us it is closing.
		if !errors.Is(err, node.ErrNoDaemon) && !errors.Is(err, node.ErrClosed) {
			return err
		}
		fmt.Fprintf(g.stderr, "spacepanda: the daemon stopped; following on\n")
		limit = 0
	}
}

// followOnce follows through the daemon or, without one, its own node,
// whose control socket it serves meanwhile.
func (g *globals) followOnce(ctx context.Context, ch string, limit int, fn func(node.Message) error) error {
	a, err := g.connect(ctx, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if n, ok := a.(*node.Node); ok {
		srv, err := node.Serve(n, g.home)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	return a.Follow(ctx, ch, limit, fn)
}

func editCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "edit CHANNEL MESSAGE-ID TEXT",
		Short: "Edit one of your messages",
		Args:  exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.simple(cmd, "edited", func(a node.API) (node.SendResult, error) { return a.Edit(cmd.Context(), args[0], args[1], args[2]) })
		},
	}
}

func deleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete CHANNEL MESSAGE-ID",
		Short: "Delete a message",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.simple(cmd, "deleted", func(a node.API) (node.SendResult, error) { return a.Delete(cmd.Context(), args[0], args[1]) })
		},
	}
}

func reactCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "react CHANNEL MESSAGE-ID EMOJI",
		Short: "React to a message",
		Args:  exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.simple(cmd, "reacted", func(a node.API) (node.SendResult, error) { return a.React(cmd.Context(), args[0], args[1], args[2]) })
		},
	}
}

// simple runs an operation that authors an event and reports whether a
// member took it (done) or it waits in the outbox (queued).
func (g *globals) simple(cmd *cobra.Command, done string, fn func(node.API) (node.SendResult, error)) error {
	return g.with(cmd.Context(), true, func(a node.API) error {
		r, err := fn(a)
		if err != nil {
			return err
		}
		return g.emit(r, func() { g.printResult(done, r) })
	})
}

// printResult prints `done ID` or `queued ID (why)`.
func (g *globals) printResult(done string, r node.SendResult) {
	word := done
	if r.Queued {
		word = "queued"
	}
	line := word
	if r.ID != "" {
		line += " " + r.ID
	}
	if r.Queued {
		line += " (in the outbox: " + r.Reason + ")"
	}
	g.printf("%s\n", line)
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
