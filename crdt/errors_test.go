package crdt

import (
	"errors"
	"testing"
)

func TestFieldError(t *testing.T) {
	err := error(tooLarge("text", 20000, MaxTextLen))
	var fe *FieldError
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &fe) || fe.Field != "text" || fe.Size != 20000 {
		t.Fatalf("err = %#v", err)
	}
	if got, want := err.Error(), "crdt: field text too large: 20000 > 16384"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
