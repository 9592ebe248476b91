package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/spacepanda/spacepanda/node"
)

// TestHumanize: errors become one line without internal prefix chains or
// raw newlines, permission verdicts read as sentences, and a damaged store
// comes with advice.
func TestHumanize(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: %v", node.ErrForbidden, errors.New("crdt: forbidden: rename needs admin, has member")),
			"not allowed: only admins and owners may rename (you are a member)"},
		{fmt.Errorf("%w: %v", node.ErrForbidden, errors.New("crdt: forbidden: set-role needs owner, has admin")),
			"not allowed: only owners may set-role (you are an admin)"},
		{errors.New("unknown command \"x\" for \"spacepanda\"\n\nDid you mean this?\n\tinit\n"),
			`unknown command "x" for "spacepanda" Did you mean this? init`},
		{fmt.Errorf("%w: %q", node.ErrNoChannel, "nope"), `no such channel: "nope"`},
		{fmt.Errorf("%w: %w", node.ErrStoreDamaged, errors.New("store: open database: pebble: malformed manifest")),
			"store damaged: open database: pebble: malformed manifest; the store is damaged: restore a backup of the home, or run `spacepanda doctor` to see what is wrong"},
	} {
		if got := humanize(tc.err); got != tc.want {
			t.Errorf("humanize(%q)\n got %q\nwant %q", tc.err, got, tc.want)
		}
	}
}
