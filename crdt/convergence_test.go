package crdt

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var seeds = flag.Int("crdt.seeds", 6, "random seeds per convergence test")

const hour = 60 * 60 * 1000

// simNode is one simulated member: a replica, a clock that may be skewed,
// and the events gossip has yet to deliver to it.
type simNode struct {
	name  string
	skew  int64
	clock *Clock
	state *State
	inbox []simDelivery
	last  Time // the last Time this node stamped
}

type simDelivery struct {
	due int64
	ev  Event
}

// sim drives a channel of several members acting on their own, possibly
// stale, replicas while gossip delivers events late and out of order.
type sim struct {
	t       testing.TB
	rng     *rand.Rand
	now     int64 // true physical time, ms
	nodes   []*simNode
	inGroup map[string]bool // the MLS group's members
	epoch   uint64          // the MLS epoch
	all     []Event
	invites []InviteHash
	stats   map[string]int
	// backdate makes the next emit date its event up to 3 s back, as a
	// modified client can, without the clock's check: a demoted admin or
	// a removed member acting in its former role (docs/crdt.md, "Cut").
	backdate bool
	// roleChurn makes a third of the actions role changes and a third
	// renames and deletes, so that demotions race their subjects' admin
	// actions (their cuts cap them).
	roleChurn bool
}

func newSim(t testing.TB, seed uint64, n int) *sim {
	s := &sim{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), now: 1_700_000_000_000,
		inGroup: map[string]bool{}, stats: map[string]int{}}
	skews := []int64{0, hour, -hour, 1500, -900, 5 * hour} // the last is past MaxDrift
	for i := range n {
		s.nodes = append(s.nodes, &simNode{name: fmt.Sprintf("peer-%d", i), skew: skews[i%len(skews)],
			clock: NewClock(Time{}), state: New()})
	}
	s.emit(s.nodes[0], Event{Kind: KindCreate, Text: "general"}, true)
	s.inGroup[s.nodes[0].name] = true
	return s
}

// emit stamps e as authored by n now, applies it locally and gossips it.
func (s *sim) emit(n *simNode, e Event, gated bool) {
	e.ID = n.state.Next(n.name)
	e.Time = n.clock.Now(s.now + n.skew)
	if !e.Time.IsZero() && e.Time.Compare(n.last) <= 0 {
		s.t.Fatalf("%s: clock went back: %v after %v", n.name, e.Time, n.last)
	}
	n.last = e.Time
	if s.backdate {
		s.backdate, gated = false, false
		e.Time = Time{Wall: max(1, e.Time.Wall-s.rng.Int64N(3000))}
		s.stats["backdated"]++
	}
	if gated && n.state.Check(e) != nil {
		s.stats["gated"]++
		return
	}
	if err := n.state.Apply(e); err != nil {
		s.t.Fatalf("%s: local Apply(%s): %v", n.name, e.Kind, err)
	}
	s.stats[e.Kind.String()]++
	s.all = append(s.all, e)
	for _, o := range s.nodes {
		if o != n {
			o.inbox = append(o.inbox, simDelivery{due: s.now + s.rng.Int64N(400), ev: e})
		}
	}
}

// deliver hands a node the events that are due, in a shuffled order.
func (s *sim) deliver(n *simNode, all bool) {
	s.rng.Shuffle(len(n.inbox), func(i, j int) { n.inbox[i], n.inbox[j] = n.inbox[j], n.inbox[i] })
	keep := n.inbox[:0]
	for _, d := range n.inbox {
		if !all && d.due > s.now {
			keep = append(keep, d)
			continue
		}
		if err := n.clock.Observe(d.ev.Time, s.now+n.skew); err != nil {
			s.stats["far future"]++ // not adopted by the clock; applied all the same
		}
		if err := n.state.Apply(d.ev); err != nil {
			s.t.Fatalf("%s: Apply(%s %s): %v", n.name, d.ev.Kind, d.ev.ID, err)
		}
	}
	n.inbox = keep
}

func (s *sim) run(steps int) {
	for range steps {
		s.now += s.rng.Int64N(60)
		n := s.nodes[s.rng.IntN(len(s.nodes))]
		s.deliver(n, false)
		// A tenth of the actions are back-dated, and members out of the
		// group act too, back-dated, now and then.
		s.backdate = s.rng.IntN(10) == 0
		if s.inGroup[n.name] || s.backdate {
			s.act(n)
		}
		s.backdate = false
	}
	for _, n := range s.nodes {
		s.deliver(n, true)
	}
}

// act makes n do something; a fifth of the time it skips the Check gate,
// so forbidden events are sent and must have no effect anywhere.
func (s *sim) act(n *simNode) {
	gated := s.rng.IntN(5) != 0
	if s.roleChurn {
		switch s.rng.IntN(6) {
		case 0, 1:
			s.role(n, gated)
			return
		case 2:
			s.emit(n, Event{Kind: KindRename, Text: fmt.Sprintf("name%d", len(s.all))}, gated)
			return
		case 3:
			s.emit(n, Event{Kind: KindDelete, Target: s.pickOr(n)}, gated)
			return
		}
	}
	switch r := s.rng.IntN(100); {
	case r < 35:
		s.emit(n, Event{Kind: KindPost, Text: fmt.Sprintf("m%d", len(s.all)), Target: s.pick(n)}, gated)
	case r < 45:
		s.emit(n, Event{Kind: KindEdit, Target: s.pickOr(n), Text: fmt.Sprintf("e%d", len(s.all))}, gated)
	case r < 52:
		s.emit(n, Event{Kind: KindDelete, Target: s.pickOr(n)}, gated)
	case r < 62:
		s.react(n, gated)
	case r < 66:
		s.emit(n, Event{Kind: KindRename, Text: fmt.Sprintf("name%d", len(s.all))}, gated)
	case r < 69:
		s.emit(n, Event{Kind: KindTopic, Text: fmt.Sprintf("topic%d", len(s.all))}, gated)
	case r < 71:
		s.emit(n, Event{Kind: KindProfile, Text: fmt.Sprintf("%s as %d", n.name, len(s.all))}, gated)
	case r < 76:
		s.role(n, gated)
	case r < 82:
		s.invite(n, gated)
	case s.inGroup[n.name]: // a removed member commits nothing
		s.membership(n)
	}
}

// pick returns a random message from n's view, or zero.
func (s *sim) pick(n *simNode) ID {
	tl := &n.state.timeline
	if tl.len() == 0 || s.rng.IntN(2) == 0 {
		return ID{}
	}
	return tl.at(s.rng.IntN(tl.len())).ID
}

func (s *sim) pickOr(n *simNode) ID {
	if id := s.pick(n); !id.IsZero() {
		return id
	}
	return ID{Author: n.name, Seq: 1 + s.rng.Uint64N(5)} // maybe no post yet: an edit before its post
}

func (s *sim) react(n *simNode, gated bool) {
	target, emoji := s.pickOr(n), []string{"👍", "🎉", "x"}[s.rng.IntN(3)]
	if tl := &n.state.timeline; tl.len() > 0 && s.rng.IntN(2) == 0 {
		target = tl.at(tl.len() - 1 - s.rng.IntN(min(3, tl.len()))).ID // recent messages gather reactions
	}
	if tags := n.state.Reactions(target, emoji, n.name); len(tags) > 0 && s.rng.IntN(2) == 0 {
		s.emit(n, Event{Kind: KindUnreact, Target: target, Text: emoji, Tags: tags}, gated)
		return
	}
	s.emit(n, Event{Kind: KindReact, Target: target, Text: emoji}, gated)
}

func (s *sim) role(n *simNode, gated bool) {
	m := s.nodes[s.rng.IntN(len(s.nodes))].name
	e := Event{Kind: KindSetRole, Member: m, Role: Role(1 + s.rng.IntN(3))}
	if e.Role < n.state.controls().role(m) && s.rng.IntN(3) != 0 {
		e.Target = s.cut(n, m) // a demotion's cut, as the node sets it
	}
	s.emit(n, e, gated)
}

// cut returns the cut n's node would set on a demotion or removal of m:
// the first counter of m it does not hold (sometimes one below, as a
// replica that missed m's last event would).
func (s *sim) cut(n *simNode, m string) ID {
	_, last := n.state.Counters(m)
	if last > 0 && s.rng.IntN(4) == 0 {
		last--
	}
	return ID{Author: m, Seq: last + 1}
}

func (s *sim) invite(n *simNode, gated bool) {
	if len(s.invites) > 0 && s.rng.IntN(3) == 0 {
		s.emit(n, Event{Kind: KindInviteRevoke, Invite: s.invites[s.rng.IntN(len(s.invites))]}, gated)
		return
	}
	h := HashInvite(fmt.Appendf(nil, "secret-%d", len(s.all)))
	s.invites = append(s.invites, h)
	s.emit(n, Event{Kind: KindInviteCreate, Invite: h, Expires: s.now + s.rng.Int64N(20_000),
		MaxUses: uint32(s.rng.IntN(3))}, gated)
}

// membership mirrors an MLS commit by n: admit, remove or (on someone's
// request) let leave. MLS serialises commits, so each takes the next epoch
// and the group changes at once; the CRDT learns of it by gossip.
func (s *sim) membership(n *simNode) {
	m := s.nodes[s.rng.IntN(len(s.nodes))]
	e := Event{Member: m.name, Epoch: s.epoch + 1}
	switch {
	case !s.inGroup[m.name]:
		e.Kind = KindJoined
		if len(s.invites) > 0 && s.rng.IntN(2) == 0 {
			e.Invite = s.invites[s.rng.IntN(len(s.invites))]
		}
	case m == n:
		return
	case s.rng.IntN(2) == 0:
		e.Kind = KindLeft
	default:
		e.Kind = KindRemoved
	}
	if e.Kind != KindJoined && s.rng.IntN(2) == 0 {
		e.Target = s.cut(n, m.name)
	}
	before := len(s.all)
	s.emit(n, e, s.rng.IntN(5) != 0)
	if len(s.all) == before {
		return
	}
	s.epoch++
	s.inGroup[m.name] = e.Kind == KindJoined
}

// dump renders everything a reader can see, for comparing replicas.
func dump(t testing.TB, s *State, now int64) string {
	var b strings.Builder
	ms, err := s.MessagesAfter(ID{}, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		fmt.Fprintf(&b, "%+v\n", m)
	}
	fmt.Fprintf(&b, "%+v\n%+v\n%+v\n", s.Members(), s.Metadata(), s.Invites(now))
	for _, a := range slices.Sorted(maps.Keys(s.authors)) {
		fmt.Fprintf(&b, "%s=%q ", a, s.DisplayName(a))
	}
	fmt.Fprintf(&b, "%v\n", s.Version())
	return b.String()
}

// shuffledWithDuplicates returns evs in a random order with about a fifth
// of them repeated.
func shuffledWithDuplicates(rng *rand.Rand, evs []Event) []Event {
	out := slices.Clone(evs)
	for range len(evs) / 5 {
		out = append(out, evs[rng.IntN(len(evs))])
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func applyAll(t testing.TB, s *State, evs []Event) {
	t.Helper()
	for _, e := range evs {
		if err := s.Apply(e); err != nil && err != ErrDuplicate {
			t.Fatalf("Apply(%s %s): %v", e.Kind, e.ID, err)
		}
	}
}

// TestConvergence runs the simulation, then checks that every member's
// replica, and replicas fed the same events in random orders with
// duplicates, or restored from a snapshot taken half way, agree byte for
// byte.
func TestConvergence(t *testing.T) {
	for seed := range uint64(*seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := newSim(t, seed, 3+int(seed%4))
			s.roleChurn = seed%2 == 1
			s.run(1500)
			// The reference is built from scratch (a restore derives the
			// control state anew); every replica, kept up to date event
			// by event, must match it.
			wantSnap := s.nodes[0].state.Snapshot()
			fresh, err := Restore(wantSnap)
			if err != nil {
				t.Fatal(err)
			}
			want := dump(t, fresh, s.now)
			for _, n := range s.nodes {
				checkSame(t, n.name, n.state, wantSnap, want, s.now)
			}
			for k := range 4 {
				r := New()
				applyReading(t, s.rng, r, shuffledWithDuplicates(s.rng, s.all))
				checkSame(t, fmt.Sprintf("shuffled %d", k), r, wantSnap, want, s.now)
			}
			checkSame(t, "restored half way", halfRestored(t, s.rng, s.all), wantSnap, want, s.now)
			checkEquivocation(t, s.rng, s.all, s.now)
			t.Logf("events %d, stats %v", len(s.all), s.stats)
		})
	}
}

// applyReading applies evs, reading the derived state now and then so that
// it is kept up to date incrementally rather than rebuilt once at the end.
func applyReading(t testing.TB, rng *rand.Rand, s *State, evs []Event) {
	t.Helper()
	for _, e := range evs {
		if err := s.Apply(e); err != nil && err != ErrDuplicate {
			t.Fatalf("Apply(%s %s): %v", e.Kind, e.ID, err)
		}
		if rng.IntN(2) == 0 {
			s.Role(e.ID.Author)
		}
		if rng.IntN(20) == 0 {
			checkFresh(t, s)
		}
	}
}

// checkFresh checks that s's derived control state, kept up to date event
// by event, reads as one rebuilt from scratch would.
func checkFresh(t testing.TB, s *State) {
	t.Helper()
	const now = 1 << 50
	kept := dump(t, s, now)
	s.ctl = nil
	if fresh := dump(t, s, now); fresh != kept {
		t.Fatalf("the control state kept up to date differs from a rebuilt one:\n%s", firstDiff(fresh, kept))
	}
}

// checkEquivocation adds conflicting copies (same ID, other content) of
// some events, as an equivocating author would send, and checks that
// replicas receiving everything in different orders still agree.
func checkEquivocation(t *testing.T, rng *rand.Rand, evs []Event, now int64) {
	evs = append(slices.Clone(evs), equivocate(rng, evs)...)
	var wantSnap []byte
	var want string
	for k := range 4 {
		r := New()
		for _, e := range shuffledWithDuplicates(rng, evs) {
			if err := r.Apply(e); err != nil && !errors.Is(err, ErrDuplicate) && !errors.Is(err, ErrConflict) {
				t.Fatalf("Apply(%s %s): %v", e.Kind, e.ID, err)
			}
			if rng.IntN(4) == 0 {
				r.Role(e.ID.Author)
			}
		}
		if k == 0 {
			wantSnap, want = r.Snapshot(), dump(t, r, now)
			continue
		}
		checkSame(t, fmt.Sprintf("equivocation %d", k), r, wantSnap, want, now)
	}
}

// equivocate returns, for about one event in ten, a different event with
// the same ID: moved in time, with other text, or of another kind.
func equivocate(rng *rand.Rand, evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if rng.IntN(10) != 0 {
			continue
		}
		c := e
		c.Tags = slices.Clone(e.Tags)
		switch rng.IntN(3) {
		case 0:
			c.Time.Wall += 1 + rng.Int64N(100)
		case 1:
			if hasText(&c) && c.Text != "" {
				c.Text += "!"
			} else {
				c.Time.Logical++
			}
		default:
			c = Event{ID: e.ID, Time: e.Time, Kind: KindPost, Text: "forged"}
		}
		out = append(out, c)
	}
	return out
}

// halfRestored applies a random half of evs, restores from its snapshot,
// then applies the rest.
func halfRestored(t testing.TB, rng *rand.Rand, evs []Event) *State {
	evs = shuffledWithDuplicates(rng, evs)
	first := New()
	applyAll(t, first, evs[:len(evs)/2])
	r, err := Restore(first.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, r, evs[len(evs)/2:])
	return r
}

func checkSame(t *testing.T, who string, s *State, wantSnap []byte, want string, now int64) {
	t.Helper()
	if got := dump(t, s, now); got != want {
		t.Errorf("%s: view differs:\n%s", who, firstDiff(want, got))
	}
	if got := s.Snapshot(); !bytes.Equal(got, wantSnap) {
		t.Errorf("%s: snapshot differs (%d vs %d bytes)", who, len(got), len(wantSnap))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\n-%s\n+%s", i, w[i], g[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(w), len(g))
}
