package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Secrets off the command line: an argument is visible to every local user
// in the process list and stays in shell history, so invite codes and
// message text can come from standard input instead ("-", or a missing
// argument where the command allows it). `join - < code.txt` reads a file.

// maxStdin bounds what is read from standard input for one argument.
const maxStdin = 1 << 20

// argOrStdin returns args[i], or standard input when it is "-" or absent.
// what names the value for the error given when standard input is empty.
// trimAll drops surrounding whitespace (codes); otherwise only one
// trailing newline is dropped (message text keeps its inner layout).
func argOrStdin(cmd *cobra.Command, args []string, i int, what string, trimAll bool) (string, error) {
	if i < len(args) && args[i] != "-" {
		return args[i], nil
	}
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), maxStdin+1))
	if err != nil {
		return "", fmt.Errorf("read %s from standard input: %w", what, err)
	}
	if len(b) > maxStdin {
		return "", fmt.Errorf("%s on standard input is longer than %d bytes", what, maxStdin)
	}
	s := string(b)
	if trimAll {
		s = strings.TrimSpace(s)
	} else {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	if s == "" {
		return "", errors.New("no " + what + " on standard input")
	}
	return s, nil
}
