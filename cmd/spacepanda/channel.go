package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

func channelCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "channel", Short: "Create, list and manage channels", Args: cobra.ArbitraryArgs, RunE: groupRun}
	c.AddCommand(channelCreateCmd(g), channelListCmd(g), channelMembersCmd(g), channelRemoveCmd(g),
		channelRoleCmd(g), channelUpdateKeysCmd(g), channelLeaveCmd(g), channelForgetCmd(g), channelRenameCmd(g), channelInviteCmd(g), channelRevokeCmd(g))
	return c
}

func channelCreateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a channel (you are its owner); prints its ID",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				ci, err := a.CreateChannel(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				g.warnDuplicate(cmd.Context(), a, ci)
				return g.emit(map[string]string{"id": ci.ID, "name": ci.Name}, func() { g.printf("%s\n", ci.ID) })
			})
		},
	}
}

func channelListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List your channels",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				cs, err := a.Channels(cmd.Context())
				if err != nil {
					return err
				}
				return g.emit(cs, func() {
					for _, c := range cs {
						g.printf("%s\n", channelLine(c))
					}
				})
			})
		},
	}
}

func channelMembersCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "members CHANNEL",
		Short: "List a channel's members and their roles",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				ms, err := a.Members(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return g.emit(ms, func() {
					for _, m := range ms {
						g.printf("%s  %-16s  %s\n", m.ID, m.Name, m.Role)
					}
				})
			})
		},
	}
}

func channelRemoveCmd(g *globals) *cobra.Command {
	return actionCmd(g, "remove CHANNEL MEMBER", "Remove a member (peer ID, unique prefix or unique name); rotates the keys", 2,
		func(ctx context.Context, a node.API, args []string) error {
			return a.RemoveMember(ctx, args[0], args[1])
		},
		func(args []string) string { return fmt.Sprintf("removed %s from %s", args[1], args[0]) })
}

func channelUpdateKeysCmd(g *globals) *cobra.Command {
	return actionCmd(g, "update-keys CHANNEL", "Commit fresh keys for your membership (forward secrecy, post-compromise security)", 1,
		func(ctx context.Context, a node.API, args []string) error { return a.UpdateKeys(ctx, args[0]) },
		func(args []string) string { return "updated your keys in " + args[0] })
}

func channelLeaveCmd(g *globals) *cobra.Command {
	return actionCmd(g, "leave CHANNEL", "Leave a channel", 1,
		func(ctx context.Context, a node.API, args []string) error { return a.Leave(ctx, args[0]) },
		func(args []string) string { return "left " + args[0] })
}

// actionCmd is a command of n arguments that runs do on the network and
// prints done (`{"ok":true}` with --json).
func actionCmd(g *globals, use, short string, n int, do func(context.Context, node.API, []string) error,
	done func([]string) string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(n),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.with(cmd.Context(), true, func(a node.API) error {
				if err := do(cmd.Context(), a, args); err != nil {
					return err
				}
				return g.emit(map[string]bool{"ok": true}, func() { g.printf("%s\n", done(args)) })
			})
		},
	}
}

func channelRenameCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CHANNEL NAME",
		Short: "Rename a channel (owners and admins)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.simple(cmd, "renamed", func(a node.API) (node.SendResult, error) { return a.Rename(cmd.Context(), args[0], args[1]) })
		},
	}
}

func channelInviteCmd(g *globals) *cobra.Command {
	var expires string
	var uses int
	c := &cobra.Command{
		Use:   "invite CHANNEL",
		Short: "Print an invite code (and nothing else on stdout)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseDuration(expires)
			if err != nil {
				return err
			}
			if uses < 1 || uses > node.MaxInviteUses {
				return &usageError{cmd: cmd, msg: fmt.Sprintf("--uses %d: want 1 to %d", uses, node.MaxInviteUses)}
			}
			return g.with(cmd.Context(), false, func(a node.API) error {
				code, err := a.Invite(cmd.Context(), args[0], node.InviteOptions{Expires: d, Uses: uses})
				if err != nil {
					return err
				}
				if _, remote := a.(*node.Client); !remote {
					fmt.Fprintln(g.stderr, "spacepanda: warning: no daemon runs for this home: the addresses in the code (where its daemon last listened) do not answer now, and the other members learn of the invite only when this node next runs; start `spacepanda daemon` so that the joiner can be admitted")
				}
				return g.emit(map[string]string{"code": code}, func() { g.printf("%s\n", code) })
			})
		},
	}
	c.Flags().StringVar(&expires, "expires", "7d", "how long the code is valid (e.g. 30m, 24h, 7d)")
	c.Flags().IntVar(&uses, "uses", 1, "how many people may join with it")
	return c
}

func channelRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke CHANNEL [CODE|-]",
		Short: "Revoke an invite code (owners and admins; the code from standard input with - or no CODE)",
		Args:  rangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := argOrStdin(cmd, args, 1, "invite code", true)
			if err != nil {
				return err
			}
			return g.with(cmd.Context(), false, func(a node.API) error {
				if err := a.RevokeInvite(cmd.Context(), args[0], code); err != nil {
					return err
				}
				return g.emit(map[string]bool{"ok": true}, func() { g.printf("revoked\n") })
			})
		},
	}
}

func channelForgetCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "forget CHANNEL",
		Short: "Delete the local copy of a channel you left, were removed from, or that is damaged",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.with(cmd.Context(), false, func(a node.API) error {
				ci, err := a.Forget(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return g.emit(ci, func() {
					if ci.Name == "" {
						g.printf("forgot %s\n", ci.ID)
						return
					}
					// The ID says which, when several channels had the name.
					g.printf("forgot %s (%s)\n", clean(ci.Name), ci.ID)
				})
			})
		},
	}
}

// channelLine is one line of `channel list`.
func channelLine(c node.ChannelInfo) string {
	switch c.State {
	case node.StateDamaged:
		return fmt.Sprintf("%s  %-20s  damaged: %s", c.ID, "?", c.Reason)
	case node.StateRemoved:
		return fmt.Sprintf("%s  %-20s  removed (you were removed)", c.ID, c.Name)
	case node.StateLeft:
		return fmt.Sprintf("%s  %-20s  left", c.ID, c.Name)
	}
	return fmt.Sprintf("%s  %-20s  %s  epoch %d", c.ID, c.Name, plural(c.Members, "member"), c.Epoch)
}

// warnDuplicate warns when another channel has the name of ci: commands
// then need the ID (or an ID prefix) to tell them apart. A channel one is
// out of (left, removed) yields the name to those one is a member of, so
// it gets a note instead.
func (g *globals) warnDuplicate(ctx context.Context, a node.API, ci node.ChannelInfo) {
	cs, err := a.Channels(ctx)
	if err != nil {
		return
	}
	var out *node.ChannelInfo
	for _, c := range cs {
		if c.ID == ci.ID || c.Name != ci.Name {
			continue
		}
		if c.State == node.StateMember {
			fmt.Fprintf(g.stderr, "spacepanda: warning: another channel is named %s (%s); use the ID to tell them apart\n", clean(ci.Name), c.ID)
			return
		}
		out = &c
	}
	if out != nil {
		fmt.Fprintf(g.stderr, "spacepanda: note: a channel you are no longer in is also named %s (%s); the name now means this one\n", clean(ci.Name), out.ID)
	}
}

func channelRoleCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "role CHANNEL MEMBER owner|admin|member",
		Short: "Set a member's role (owners only; make another member owner to hand the channel over)",
		Args:  exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[2] {
			case "owner", "admin", "member":
			default:
				return &usageError{cmd: cmd, msg: fmt.Sprintf("role %q: want owner, admin or member", args[2])}
			}
			return g.with(cmd.Context(), true, func(a node.API) error {
				if err := a.SetRole(cmd.Context(), args[0], args[1], args[2]); err != nil {
					return err
				}
				return g.emit(map[string]bool{"ok": true}, func() {
					g.printf("%s is now %s of %s\n", args[1], article(args[2]), args[0])
				})
			})
		},
	}
}
