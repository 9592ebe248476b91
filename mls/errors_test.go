package mls

import (
	"errors"
	"fmt"
	"testing"
)

func TestVerdictOf(t *testing.T) {
	for _, c := range []struct {
		err  error
		want Verdict
	}{
		{nil, Accept},
		{ignore(ErrDuplicate), Ignore},
		{fmt.Errorf("wrapped: %w", ignore(ErrStaleEpoch)), Ignore},
		{reject(ErrInvalidSignature), Reject},
		{errors.New("other"), Reject},
	} {
		if got := VerdictOf(c.err); got != c.want {
			t.Errorf("VerdictOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	err := rejectf(ErrInvalidCommit, "leaf %d", 3)
	if !errors.Is(err, ErrInvalidCommit) || err.Error() != "reject: mls: invalid commit: leaf 3" {
		t.Fatalf("rejectf: %v", err)
	}
}
