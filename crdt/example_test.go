package crdt_test

import (
	"fmt"

	"github.com/spacepanda/spacepanda/crdt"
)

// Example shows the node's side: author events with Emit, send their
// payloads, and apply what arrives with UnmarshalPayload and Apply.
func Example() {
	alice, bob := crdt.New(), crdt.New()
	aliceClock, bobClock := crdt.NewClock(crdt.Time{}), crdt.NewClock(crdt.Time{})
	now := int64(1_700_000_000_000)

	// send authors an event on alice's replica and delivers it to bob's.
	send := func(e crdt.Event) crdt.Event {
		e, err := alice.Emit("alice", aliceClock, now, e)
		if err != nil {
			panic(err)
		}
		b, _ := e.MarshalPayload()
		got, _ := crdt.UnmarshalPayload("alice", b) // the author comes from MLS
		_ = bobClock.Observe(got.Time, now)
		if err := bob.Apply(got); err != nil {
			panic(err)
		}
		return e
	}
	send(crdt.Event{Kind: crdt.KindCreate, Text: "general"})
	send(crdt.Event{Kind: crdt.KindJoined, Member: "bob", Epoch: 1})
	hi := send(crdt.Event{Kind: crdt.KindPost, Text: "hi bob"})
	send(crdt.Event{Kind: crdt.KindEdit, Target: hi.ID, Text: "hi, bob"})

	// bob reacts; only the local state is shown here.
	if _, err := bob.Emit("bob", bobClock, now+5, crdt.Event{Kind: crdt.KindReact, Target: hi.ID, Text: "👋"}); err != nil {
		panic(err)
	}
	// bob may not rename the channel: he is a plain member.
	_, err := bob.Emit("bob", bobClock, now+6, crdt.Event{Kind: crdt.KindRename, Text: "bob's"})
	fmt.Println(err)

	page, _ := bob.Messages(crdt.ID{}, 50)
	for _, m := range page {
		fmt.Printf("%s %s: %q edited=%v reactions=%v\n", m.ID, m.Author, m.Text, !m.EditedAt.IsZero(), m.Reactions)
	}
	for _, m := range bob.Members() {
		fmt.Println(m.ID, m.Role)
	}
	// Output:
	// crdt: forbidden: rename needs admin, has member
	// alice/3 alice: "hi, bob" edited=true reactions=[{👋 [bob]}]
	// alice owner
	// bob member
}
