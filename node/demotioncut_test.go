package node

import (
	"testing"

	"github.com/spacepanda/spacepanda/crdt"
)

// TestDemotedAdminCannotBackdate: the owner makes bob admin, then demotes
// him. Bob, with his clock set back into his admin period, deletes
// carol's post and renames the channel. Whether a member reads the forged
// events before or after the demotion, neither takes effect once it has
// the demotion; bob's delete from his admin period stays. He forges them
// in the epoch before the demotion, which members still read.
func TestDemotedAdminCannotBackdate(t *testing.T) {
	for _, order := range []string{"demotion first", "forged events first"} {
		t.Run(order, func(t *testing.T) {
			ctx := ctxT(t)
			a, b, c, id := offlineTrio(t)
			ra := outboxLen(a, id)
			if err := a.SetRole(ctx, id, b.PeerID(), "admin"); err != nil {
				t.Fatal(err)
			}
			promotion := outboxSince(t, a, id, ra)
			deliver(t, b, id, promotion)
			deliver(t, c, id, promotion)
			spam := post(t, c, id, "spam")
			keep := post(t, c, id, "keep me")
			for _, n := range []*Node{a, b} {
				deliver(t, n, id, spam)
				deliver(t, n, id, keep)
			}
			var spamRef string
			var keepID crdt.ID
			b.channel(id).do(ctx, func(s *chanState) error { //nolint:errcheck
				ms, _ := s.crdt.Messages(crdt.ID{}, 10)
				for _, m := range ms {
					switch m.Text {
					case "spam":
						spamRef = s.messageID(m.ID)
					case "keep me":
						keepID = m.ID
					}
				}
				return nil
			})
			if _, err := b.Delete(ctx, id, spamRef); err != nil {
				t.Fatal(err)
			}
			honest := outboxSince(t, b, id, 0)
			deliver(t, a, id, honest)
			deliver(t, c, id, honest)
			at := crdt.Time{Wall: b.nowMs() - 1} // dated before the demotion
			before := storedState(t, b, id)      // the epoch before the demotion
			ra = outboxLen(a, id)
			if err := a.SetRole(ctx, id, b.PeerID(), "member"); err != nil {
				t.Fatal(err)
			}
			demotion := outboxSince(t, a, id, ra)
			deliver(t, b, id, demotion)
			var next crdt.ID
			b.channel(id).do(ctx, func(s *chanState) error { next = s.crdt.Next(b.PeerID()); return nil }) //nolint:errcheck
			var forged [][]byte
			for i, e := range []crdt.Event{
				{Kind: crdt.KindDelete, Target: keepID},
				{Kind: crdt.KindRename, Text: "hijacked"},
			} {
				e.ID, e.Time = crdt.ID{Author: b.PeerID(), Seq: next.Seq + uint64(i)}, at
				forged = append(forged, rogueEvent(t, b, before, e))
			}
			if order == "demotion first" {
				deliver(t, c, id, demotion)
				deliver(t, c, id, forged)
			} else {
				deliver(t, c, id, forged)
				if hasText(t, c, id, "keep me") {
					t.Fatal("carol did not apply the forged delete before the demotion: the test tests nothing")
				}
				deliver(t, c, id, demotion)
			}
			deliver(t, a, id, forged)
			for _, n := range []*Node{a, c} {
				if !hasText(t, n, id, "keep me") {
					t.Errorf("%s applied the demoted admin's back-dated delete", n.id.name)
				}
				if hasText(t, n, id, "spam") {
					t.Errorf("%s undid the admin's delete from before his demotion", n.id.name)
				}
				if name := channelName(t, n, id); name == "hijacked" {
					t.Errorf("%s applied the demoted admin's back-dated rename", n.id.name)
				}
			}
		})
	}
}

func channelName(t *testing.T, n *Node, id string) string {
	var name string
	n.channel(id).do(ctxT(t), func(s *chanState) error { name = s.crdt.Metadata().Name; return nil }) //nolint:errcheck
	return name
}
