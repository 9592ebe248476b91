package crdt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// samples returns one valid event of each kind.
func samples() []Event {
	h := HashInvite([]byte("secret"))
	p := id("carol", 1)
	return []Event{
		create("alice", 1, 1000, "general"),
		post("carol", 1, 2000, "hello, world"),
		reply("bob", 1, 2001, "hi", p),
		edit("carol", 2, 2002, p, "hello"),
		del("carol", 3, 2003, p),
		react("bob", 2, 2004, p, "👍"),
		unreact("bob", 3, 2005, p, "👍", 2, 7),
		rename("alice", 2, 2006, "ops"),
		topic("alice", 3, 2007, ""),
		joined("alice", 4, 2008, "dave", 3),
		joinedVia("bob", 4, 2009, "erin", 4, h),
		left("alice", 5, 2010, "dave", 5),
		removed("alice", 6, 2011, "erin", 6),
		removedCut("bob", 5, 2016, "frank", 7, 3),
		setRole("alice", 7, 2012, "bob", RoleAdmin),
		setRoleCut("alice", 10, 2017, "bob", RoleMember, 6),
		inviteCreate("alice", 8, 2013, h, 99_000, 5),
		inviteRevoke("alice", 9, 2014, h),
		profile("carol", 4, 2015, "Carol C."),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, e := range samples() {
		t.Run(e.Kind.String(), func(t *testing.T) {
			e.Time.Logical = 3
			pb, err := e.MarshalPayload()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalPayload(e.ID.Author, pb)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(e, got, cmp.Comparer(tagsEqual)); diff != "" {
				t.Errorf("payload (-want +got)\n%s", diff)
			}
			fb, err := e.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var full Event
			if err := full.UnmarshalBinary(fb); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(e, full, cmp.Comparer(tagsEqual)); diff != "" {
				t.Errorf("full (-want +got)\n%s", diff)
			}
			if !bytes.Contains(fb, []byte(e.ID.Author)) || bytes.Contains(pb[:2], []byte(e.ID.Author)) {
				t.Error("the author belongs in the full form only")
			}
		})
	}
}

// tagsEqual treats nil and empty Tags alike.
func tagsEqual(a, b []uint64) bool { return len(a) == len(b) && (len(a) == 0 || cmp.Equal(a, b)) }

// TestCodecGolden pins the layout documented in docs/crdt.md.
func TestCodecGolden(t *testing.T) {
	e := reply("bob", 1, 2001, "hi", id("carol", 1))
	b, err := e.MarshalPayload()
	if err != nil {
		t.Fatal(err)
	}
	// version 1, kind 2 (post), seq 1, wall 2001, logical 0,
	// reply-to present, "carol" seq 1, "hi".
	const want = "01" + "02" + "01" + "d10f" + "00" + "01" + "056361726f6c" + "01" + "026869"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("payload = %s, want %s", got, want)
	}
}

func TestCodecErrors(t *testing.T) {
	p := post("carol", 1, 2000, "hi")
	good, _ := p.MarshalPayload()
	long := post("carol", 1, 2000, strings.Repeat("x", MaxTextLen+1))
	longB := append(good[:7:7], appendString(nil, long.Text)...) // same header, long text
	tests := []struct {
		name  string
		in    []byte
		want  error
		field string
	}{
		{"empty", nil, ErrMalformed, ""},
		{"version", append([]byte{2}, good[1:]...), ErrVersion, ""},
		{"truncated", good[:len(good)-1], ErrMalformed, ""},
		{"trailing", append(bytes.Clone(good), 0), ErrMalformed, ""},
		{"non-minimal varint", []byte{1, 2, 0x81, 0x00, 0, 0, 0, 0}, ErrMalformed, ""},
		{"unknown kind", []byte{1, 99, 1, 0, 0}, ErrMalformed, ""},
		{"zero seq", []byte{1, 2, 0, 0, 0, 0, 1, 'x'}, ErrInvalid, ""},
		{"bad presence byte", []byte{1, 2, 1, 0, 0, 2}, ErrMalformed, ""},
		{"bad UTF-8", []byte{1, 2, 1, 0, 0, 0, 1, 0xff}, ErrInvalid, ""},
		{"role out of range", append([]byte{1, byte(KindSetRole), 1, 0, 0, 1, 'b'}, 9), ErrInvalid, ""},
		{"unsorted tags", []byte{1, byte(KindUnreact), 1, 0, 0, 1, 'c', 1, 1, 'x', 2, 5, 3}, ErrInvalid, ""},
		{"text over its bound", longB, ErrTooLarge, "text"},
		{"huge length prefix", []byte{1, 2, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrTooLarge, "text"},
		{"event over its bound", make([]byte, MaxEventSize+1), ErrTooLarge, "event"},
		{"too many tags", []byte{1, byte(KindUnreact), 1, 0, 0, 1, 'c', 1, 1, 'x', 0xff, 0x0f}, ErrTooLarge, "tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UnmarshalPayload("bob", tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var fe *FieldError
			if tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
				t.Errorf("err = %v, want a *FieldError for %s", err, tt.field)
			}
		})
	}
}

func TestMarshalInvalid(t *testing.T) {
	tests := []struct {
		name string
		e    Event
		want error
	}{
		{"no author", post("", 1, 1, "x"), ErrInvalid},
		{"long author", post(strings.Repeat("a", MaxAuthorLen+1), 1, 1, "x"), ErrTooLarge},
		{"negative time", post("a", 1, -1, "x"), ErrInvalid},
		{"unused field set", func() Event { e := post("a", 1, 1, "x"); e.Epoch = 3; return e }(), ErrInvalid},
		{"edit without target", edit("a", 1, 1, ID{}, "x"), ErrInvalid},
		{"empty name", rename("a", 1, 1, ""), ErrInvalid},
		{"invite without hash", inviteCreate("a", 1, 1, InviteHash{}, 0, 0), ErrInvalid},
		{"negative expiry", inviteCreate("a", 1, 1, HashInvite(nil), -1, 0), ErrInvalid},
		{"long emoji", react("a", 1, 1, id("b", 1), strings.Repeat("x", MaxEmojiLen+1)), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.e.MarshalPayload(); !errors.Is(err, tt.want) {
				t.Errorf("MarshalPayload = %v, want %v", err, tt.want)
			}
			if _, err := tt.e.MarshalBinary(); !errors.Is(err, tt.want) {
				t.Errorf("MarshalBinary = %v, want %v", err, tt.want)
			}
			if err := New().Apply(tt.e); !errors.Is(err, tt.want) {
				t.Errorf("Apply = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnmarshalBinaryKeepsTargetOnError(t *testing.T) {
	e := post("carol", 1, 2000, "keep")
	if err := e.UnmarshalBinary([]byte{1, 0xff}); err == nil {
		t.Fatal("want an error")
	}
	if e.Text != "keep" {
		t.Errorf("event changed on error: %+v", e)
	}
}

// isDecodeError reports whether err is one of the decoders' typed errors.
func isDecodeError(err error) bool {
	var fe *FieldError
	if errors.Is(err, ErrTooLarge) && !errors.As(err, &fe) {
		return false
	}
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrVersion) ||
		errors.Is(err, ErrTooLarge) || errors.Is(err, ErrInvalid)
}

// FuzzEvent: arbitrary bytes never panic, errors are typed, and accepted
// input re-encodes to the same bytes, in both forms.
func FuzzEvent(f *testing.F) {
	for _, e := range samples() {
		pb, _ := e.MarshalPayload()
		fb, _ := e.MarshalBinary()
		f.Add(pb)
		f.Add(fb)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := UnmarshalPayload("fuzz", b); err != nil {
			if !isDecodeError(err) {
				t.Fatalf("untyped error %v", err)
			}
		} else if out, err := e.MarshalPayload(); err != nil || !bytes.Equal(out, b) {
			t.Fatalf("payload re-encodes to %x, %v; input %x", out, err, b)
		}
		var e Event
		if err := e.UnmarshalBinary(b); err != nil {
			if !isDecodeError(err) {
				t.Fatalf("untyped error %v", err)
			}
		} else if out, err := e.MarshalBinary(); err != nil || !bytes.Equal(out, b) {
			t.Fatalf("full form re-encodes to %x, %v; input %x", out, err, b)
		}
	})
}
