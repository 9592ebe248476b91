package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spacepanda/spacepanda/node"
)

// usageError is a command line the command cannot run: wrong arguments,
// an unknown subcommand. It is printed with the command's usage.
type usageError struct {
	cmd *cobra.Command
	msg string
}

func (e *usageError) Error() string { return e.msg }

// exactArgs is cobra.ExactArgs with an error that names the arguments and
// shows the usage.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		want := strings.Join(strings.Fields(cmd.Use)[1:1+n], " ")
		return &usageError{cmd: cmd, msg: fmt.Sprintf("%s takes %s (%s), %d given", cmd.Name(), plural(n, "argument"), want, len(args))}
	}
}

// noArgs is cobra.NoArgs with the usage.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return &usageError{cmd: cmd, msg: fmt.Sprintf("%s takes no arguments, %d given", cmd.Name(), len(args))}
}

// groupRun makes a command that only groups subcommands (`channel`) fail
// on an unknown subcommand instead of printing help and exiting 0.
func groupRun(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return &usageError{cmd: cmd, msg: msg}
}

// internalPrefix matches the package prefixes that errors carry inside the
// program ("node: ", "crdt: "...): useful in logs, noise for people.
var internalPrefix = regexp.MustCompile(`\b(node|crdt|mls|store|p2p): `)

// needsRole rewrites the CRDT's permission verdicts for people.
var needsRole = regexp.MustCompile(`^forbidden: ([a-z-]+) needs (admin|owner), has ([a-z]+)$`)

// humanize turns an error into one line a person can act on: no internal
// prefix chains, no repeated words, no raw newlines, advice where there is
// one.
func humanize(err error) string {
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	msg := internalPrefix.ReplaceAllString(strings.Join(parts, " "), "")
	var segs []string
	for _, s := range strings.Split(msg, ": ") {
		if len(segs) == 0 || !strings.EqualFold(segs[len(segs)-1], s) {
			segs = append(segs, s)
		}
	}
	msg = strings.Join(segs, ": ")
	if m := needsRole.FindStringSubmatch(msg); m != nil {
		who := "admins and owners"
		if m[2] == "owner" {
			who = "owners"
		}
		msg = fmt.Sprintf("not allowed: only %s may %s (you are %s)", who, m[1], article(m[3]))
	}
	if errors.Is(err, node.ErrStoreDamaged) {
		msg += "; the store is damaged: restore a backup of the home, or run `spacepanda doctor` to see what is wrong"
	}
	return clean(msg)
}

// article prefixes a role with "a" or "an".
func article(role string) string {
	if strings.IndexAny(role[:min(1, len(role))], "aeiou") == 0 {
		return "an " + role
	}
	return "a " + role
}

// printError prints err on w: one line (and the usage for a command line
// error), or with --json one object {"error": ..., "code": ...}.
func printError(w io.Writer, jsonOut bool, err error) {
	msg := humanize(err)
	if jsonOut {
		code := node.CodeOf(err)
		var ue *usageError
		if errors.As(err, &ue) {
			code = "usage"
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code})
		return
	}
	fmt.Fprintf(w, "spacepanda: %s\n", msg)
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "usage: %s\nRun '%s --help' for more.\n", ue.cmd.UseLine(), ue.cmd.CommandPath())
	}
}

// rangeArgs is cobra.RangeArgs with the usage.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= lo && len(args) <= hi {
			return nil
		}
		return &usageError{cmd: cmd, msg: fmt.Sprintf("%s takes %d to %d arguments, %d given", cmd.Name(), lo, hi, len(args))}
	}
}
