package main

import (
	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

func nameCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "name NAME",
		Short: "Change your display name (stored, and announced in every channel you are in)",
		Long: `Change your display name. It is stored with the identity and announced in
every channel you are a member of: the other members show it from then on,
also on your earlier messages. Without a daemon the announcement is
delivered like a sent message (queued if no member is reachable).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.with(cmd.Context(), true, func(a node.API) error {
				if err := a.SetName(cmd.Context(), args[0]); err != nil {
					return err
				}
				return g.emit(map[string]string{"name": args[0]}, func() { g.printf("name: %s\n", args[0]) })
			})
		},
	}
}
