package crdt

import (
	"errors"
	"testing"
	"unsafe"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want ID
		err  error
	}{
		{"12D3KooWabc/42", id("12D3KooWabc", 42), nil},
		{"a/b/7", id("a/b", 7), nil},
		{"alice", ID{}, ErrInvalid},
		{"alice/0", ID{}, ErrInvalid},
		{"/3", ID{}, ErrInvalid},
		{"alice/-1", ID{}, ErrInvalid},
		{"alice/x", ID{}, ErrInvalid},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseID(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestKindAndRoleNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{KindPost.String(), "post"}, {KindInviteRevoke.String(), "invite-revoke"}, {Kind(99).String(), "kind(99)"},
		{RoleOwner.String(), "owner"}, {RoleNone.String(), "none"}, {Role(9).String(), "role(9)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestOrder(t *testing.T) {
	a, b, c := post("bob", 1, 10, "x"), post("alice", 2, 10, "x"), post("alice", 1, 11, "x")
	b.Time.Logical = 0
	if !before(&b, &a) || !before(&a, &c) || before(&a, &a) {
		t.Error("order is HLC, then author, then counter")
	}
}

// TestEventSize: a channel holds every event in memory, so the struct's
// size is bytes per event (docs/benchmarks.md, "bytes per event"); its
// fields are ordered to leave no padding between them.
func TestEventSize(t *testing.T) {
	if n := unsafe.Sizeof(Event{}); n > 176 {
		t.Errorf("Event is %d bytes, want at most 176: reorder its fields", n)
	}
}
