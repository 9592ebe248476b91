package crdt

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// texts returns the texts of ms.
func texts(ms []Message) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Text)
	}
	return out
}

// numbered returns the channel and n posts by carol, "p1".."pn", 10 ms apart.
func numbered(n int) []Event {
	evs := channel()
	for i := 1; i <= n; i++ {
		evs = append(evs, post("carol", uint64(i), 2000+int64(i)*10, fmt.Sprintf("p%d", i)))
	}
	return evs
}

func TestMessagesPaging(t *testing.T) {
	s := build(t, numbered(7)...)
	tests := []struct {
		name   string
		before ID
		after  ID
		limit  int
		back   bool
		want   []string
	}{
		{"latest", ID{}, ID{}, 3, true, []string{"p5", "p6", "p7"}},
		{"before p5", id("carol", 5), ID{}, 3, true, []string{"p2", "p3", "p4"}},
		{"before p2: fewer than limit", id("carol", 2), ID{}, 3, true, []string{"p1"}},
		{"before p1: none", id("carol", 1), ID{}, 3, true, []string{}},
		{"all", ID{}, ID{}, 100, true, []string{"p1", "p2", "p3", "p4", "p5", "p6", "p7"}},
		{"earliest", ID{}, ID{}, 2, false, []string{"p1", "p2"}},
		{"after p5", ID{}, id("carol", 5), 5, false, []string{"p6", "p7"}},
		{"after p7: none", ID{}, id("carol", 7), 5, false, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []Message
			var err error
			if tt.back {
				ms, err = s.Messages(tt.before, tt.limit)
			} else {
				ms, err = s.MessagesAfter(tt.after, tt.limit)
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, texts(ms)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestMessagesUnknownCursor(t *testing.T) {
	s := build(t, numbered(2)...)
	for _, c := range []ID{id("carol", 9), id("alice", 1)} { // unknown; not a post
		if _, err := s.Messages(c, 5); !errors.Is(err, ErrUnknownMessage) {
			t.Errorf("Messages(%s) = %v, want ErrUnknownMessage", c, err)
		}
		if _, err := s.MessagesAfter(c, 5); !errors.Is(err, ErrUnknownMessage) {
			t.Errorf("MessagesAfter(%s) = %v, want ErrUnknownMessage", c, err)
		}
	}
}

// TestTimelineOrder: HLC order, ties broken by ID, whatever arrival order.
func TestTimelineOrder(t *testing.T) {
	evs := append(channel(), post("carol", 1, 3000, "c"), post("bob", 1, 3000, "b"),
		post("alice", 5, 3000, "a"), post("bob", 2, 2500, "early"))
	evs[len(evs)-2].Time.Logical = 1 // alice's: same wall, later logical
	eachOrder(t, evs, func(t *testing.T, s *State) {
		ms, _ := s.Messages(ID{}, 10)
		if diff := cmp.Diff([]string{"early", "b", "c", "a"}, texts(ms)); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
	})
}

func TestEdits(t *testing.T) {
	p := id("carol", 1)
	evs := append(channel(), post("carol", 1, 2000, "v0"),
		edit("carol", 2, 2100, p, "v1"),
		edit("carol", 3, 2300, p, "v3"),
		edit("carol", 4, 2200, p, "v2"),              // concurrent, older: loses
		edit("bob", 1, 2400, p, "bob's"),             // not the author: void
		edit("carol", 5, 1900, p, "before the post")) // ordered before the post: loses to it
	eachOrder(t, evs, func(t *testing.T, s *State) {
		m, err := s.Message(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Text != "v3" || m.EditedAt != (Time{Wall: 2300}) {
			t.Errorf("text %q edited %v, want v3 at 2300", m.Text, m.EditedAt)
		}
	})
}

func TestDeletes(t *testing.T) {
	tests := []struct {
		name    string
		by      string
		deleted bool
		erased  bool
	}{
		{"author", "carol", true, true},
		{"admin", "bob", true, false},
		{"owner", "alice", true, false},
		{"another member", "dave", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := id("carol", 1)
			evs := append(channel(), joined("alice", 5, 1040, "dave", 3), post("carol", 1, 2000, "secret"),
				edit("carol", 2, 2100, p, "secret 2"), react("dave", 1, 2150, p, "👍"), del(tt.by, 9, 2200, p))
			eachOrder(t, evs, func(t *testing.T, s *State) {
				m, err := s.Message(p)
				if err != nil {
					t.Fatal(err)
				}
				if m.Deleted != tt.deleted || (m.Deleted && (m.Text != "" || m.Reactions != nil)) {
					t.Errorf("message = %+v, want deleted %v with no text or reactions", m, tt.deleted)
				}
				if got := held(s, p) == "" && held(s, id("carol", 2)) == ""; got != tt.erased {
					t.Errorf("texts erased = %v, want %v", got, tt.erased)
				}
			})
		})
	}
}

// held returns the text of a held event.
func held(s *State, id ID) string {
	e, _ := s.Event(id)
	return e.Text
}

func TestReactions(t *testing.T) {
	p := id("carol", 1)
	evs := append(channel(), post("carol", 1, 2000, "hi"),
		react("bob", 1, 2100, p, "👍"),
		react("bob", 2, 2110, p, "👍"),
		unreact("bob", 3, 2200, p, "👍", 1), // removes only the add it observed
		react("alice", 5, 2100, p, "🎉"),
		unreact("alice", 6, 2200, p, "🎉", 5), // removes alice's only add
		react("alice", 7, 2300, p, "🎉"),      // re-adds: a new tag
		unreact("carol", 2, 2300, p, "👍", 1), // carol cannot remove bob's
		react("zed", 1, 2300, p, "👍"),        // not a member: void
		react("carol", 3, 2400, p, "🎉"))
	eachOrder(t, evs, func(t *testing.T, s *State) {
		m, _ := s.Message(p)
		want := []Reaction{{Emoji: "🎉", Authors: []string{"alice", "carol"}}, {Emoji: "👍", Authors: []string{"bob"}}} // byte order
		if diff := cmp.Diff(want, m.Reactions); diff != "" {
			t.Errorf("(-want +got)\n%s", diff)
		}
		if diff := cmp.Diff([]uint64{2}, s.Reactions(p, "👍", "bob")); diff != "" {
			t.Errorf("bob's live tags (-want +got)\n%s", diff)
		}
	})
}

func TestReply(t *testing.T) {
	s := build(t, append(channel(), post("carol", 1, 2000, "q"), reply("bob", 1, 2100, "a", id("carol", 1)))...)
	m, err := s.Message(id("bob", 1))
	if err != nil || m.ReplyTo != id("carol", 1) {
		t.Errorf("Message = %+v, %v; want a reply to carol/1", m, err)
	}
}

// TestUnreactsWithMismatchedEmoji: two Unreacts by one author name the
// same tag with different emoji. Only the one whose emoji matches the
// React removes it, whatever the order they arrive in.
func TestUnreactsWithMismatchedEmoji(t *testing.T) {
	p := id("carol", 1)
	evs := append(channel(), post("carol", 1, 2000, "hi"),
		react("bob", 1, 2100, p, "a"),
		unreact("bob", 2, 2200, p, "b", 1),
		unreact("bob", 3, 2300, p, "a", 1))
	eachOrder(t, evs, func(t *testing.T, s *State) {
		if m, _ := s.Message(p); len(m.Reactions) != 0 {
			t.Errorf("reactions left: %+v", m.Reactions)
		}
	})
}

func TestReactionsTagsBounded(t *testing.T) {
	p := id("carol", 1)
	evs := append(channel(), post("carol", 1, 2000, "hi"))
	for i := range MaxTags + 10 {
		evs = append(evs, react("bob", uint64(i+1), 2100+int64(i), p, "👍"))
	}
	s := build(t, evs...)
	for round := 0; ; round++ {
		tags := s.Reactions(p, "👍", "bob")
		if len(tags) == 0 {
			break
		}
		if len(tags) > MaxTags || round > 1 {
			t.Fatalf("round %d: %d tags", round, len(tags))
		}
		if _, err := s.Emit("bob", NewClock(s.MaxTime()), 0, Event{Kind: KindUnreact, Target: p, Text: "👍", Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := s.Message(p); len(m.Reactions) != 0 {
		t.Errorf("reactions left: %+v", m.Reactions)
	}
}
