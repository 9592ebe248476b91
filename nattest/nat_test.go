package nattest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Timeouts of the waits below: generous for a loaded 2-core machine; a
// healthy run takes a few seconds for each.
const (
	reserveTimeout = 60 * time.Second
	deliverTimeout = 60 * time.Second
	directTimeout  = 60 * time.Second
)

// waitReserved waits until the desktop announces a relayed address: AutoNAT
// found it unreachable and it holds a reservation at the relay.
func waitReserved(d *daemon) []string {
	d.tp.t.Helper()
	var addrs []string
	d.waitFor(reserveTimeout, "a relay reservation (/p2p-circuit address)", func() bool {
		addrs = d.circuitAddrs()
		return len(addrs) > 0
	})
	return addrs
}

// joinVia makes a channel on owner, invites joiner and has it join through
// the invite code; it returns the channel ID.
func joinVia(owner, joiner *daemon, name string) string {
	t := owner.tp.t
	t.Helper()
	id := owner.cli("channel", "create", name)
	code := owner.cli("channel", "invite", name)
	if got := joiner.cli("join", code); got != "joined "+name+" "+id {
		t.Fatalf("join printed %q", got)
	}
	return id
}

// chat sends n messages from each of a and b (padding each to pad bytes)
// and waits until both timelines hold all of them.
func chat(a, b *daemon, channel, tag string, n, pad int) {
	a.tp.t.Helper()
	var all []string
	for i := range n {
		for _, d := range []*daemon{a, b} {
			text := fmt.Sprintf("%s %s #%d ", tag, d.name, i)
			text += strings.Repeat("x", max(0, pad-len(text)))
			d.cli("send", channel, text)
			all = append(all, text)
		}
	}
	a.waitTexts(deliverTimeout, channel, all...)
	b.waitTexts(deliverTimeout, channel, all...)
}

// TestNAT runs one topology: a relay (server node) on the public segment,
// desktops alice and bob each behind an endpoint-independent NAT, carol
// behind a symmetric NAT. It checks, in order:
//   - every desktop finds out it is unreachable and reserves a relay slot;
//   - alice and bob join a channel through an invite code and chat, then
//     hole punching (DCUtR) makes their connection direct, after which their
//     messages no longer cross the relay;
//   - alice and carol (symmetric NAT) join through the relay, stay relayed,
//     and deliver everything;
//   - after the relay restarts, alice and carol reserve again and delivery
//     resumes.
func TestNAT(t *testing.T) {
	tp := newTopo(t, eim, eim, symmetric)
	relay := tp.startRelay()
	alice := tp.startDesktop(0, "alice")
	bob := tp.startDesktop(1, "bob")
	carol := tp.startDesktop(2, "carol")
	for _, d := range []*daemon{alice, bob, carol} {
		addrs := waitReserved(d)
		for _, a := range addrs {
			if !strings.Contains(a, relay.id) {
				t.Errorf("%s: relayed address %s is not through the relay %s", d.name, a, relay.id)
			}
		}
	}

	tp.run("EndpointIndependentGoesDirect", func(t *testing.T) {
		ab := joinVia(alice, bob, "ab")
		chat(alice, bob, ab, "hello", 3, 0)
		waitPunched(t, alice, bob)
		// Wait for the relayed connection to be closed, then measure: 20
		// messages of 2 KB each way must cross between the two NATs, and not
		// between alice's NAT and the relay.
		alice.waitFor(directTimeout, "the relayed connection to bob to close", func() bool {
			return !strings.Contains(strings.Join(alice.via(bob.id), " "), "p2p-circuit")
		})
		relayBefore, directBefore := tp.bytes("n0_relay"), tp.bytes("n0_n1")
		chat(alice, bob, ab, "direct", 10, 2000)
		relayed, direct := tp.bytes("n0_relay")-relayBefore, tp.bytes("n0_n1")-directBefore
		t.Logf("alice-bob traffic after the hole punch: %d bytes direct, %d bytes through the relay", direct, relayed)
		if direct < 20*2000 {
			t.Errorf("only %d bytes crossed directly between the NATs for 40 KB of messages", direct)
		}
		if relayed > direct/4 {
			t.Errorf("%d bytes went through the relay for %d direct: traffic still flows through the relay", relayed, direct)
		}
	})

	var ac string
	tp.run("SymmetricStaysRelayed", func(t *testing.T) {
		ac = joinVia(alice, carol, "ac")
		if got := carol.conn(alice.id); got != "relayed" {
			t.Errorf("carol's connection to alice after the join: %q, want relayed", got)
		}
		relayBefore := tp.bytes("n2_relay")
		chat(alice, carol, ac, "relayed", 10, 2000)
		if got := tp.bytes("n2_relay") - relayBefore; got < 20*2000 {
			t.Errorf("only %d bytes between carol's NAT and the relay for 40 KB of messages", got)
		}
		// Hole punching was tried meanwhile and cannot work through a
		// symmetric NAT: still relayed, never direct.
		for _, pair := range [][2]*daemon{{alice, carol}, {carol, alice}} {
			if got := pair[0].conn(pair[1].id); got != "relayed" {
				t.Errorf("%s's connection to %s: %q, want relayed", pair[0].name, pair[1].name, got)
			}
		}
	})

	tp.run("RelayRestart", func(t *testing.T) {
		if ac == "" {
			t.Skip("needs the alice-carol channel")
		}
		relay.kill()
		relay.start()
		for _, d := range []*daemon{alice, carol} {
			d.waitFor(reserveTimeout, "a new reservation at the restarted relay", func() bool {
				return len(d.circuitAddrs()) > 0 && d.conn(relay.id) != ""
			})
		}
		chat(alice, carol, ac, "after the restart", 3, 0)
	})
}

// via returns the daemon's connection addresses to peer.
func (d *daemon) via(peer string) []string {
	c, err := nodeDial(d)
	if err != nil {
		return nil
	}
	defer c.Close()
	ps, err := c.Peers(bg())
	if err != nil {
		return nil
	}
	for _, p := range ps {
		if p.ID == peer {
			return p.Via
		}
	}
	return nil
}

// punchTries is how many hole punches waitPunched allows. DCUtR tries once
// per relayed connection and does not try again after a failure (about 1 in
// 20 attempts fails here, docs/benchmarks.md), so a single attempt would make
// the test fail now and then; the node itself does not retry a failed punch
// (docs/nat.md, known gaps).
const punchTries = 3

// waitPunched waits for a direct connection between a and b; when a punch
// gives none, it restarts b cleanly on a fresh port, which makes b dial a
// through the relay again and DCUtR try again.
func waitPunched(t *testing.T, a, b *daemon) {
	t.Helper()
	direct := func() bool { return a.conn(b.id) == "direct" && b.conn(a.id) == "direct" }
	for try := 1; ; try++ {
		if poll(directTimeout, direct) == nil {
			return
		}
		if try == punchTries {
			t.Fatalf("%s-%s: no direct connection after %d hole punches\n%s", a.name, b.name, try, b.tail())
		}
		t.Logf("%s-%s: hole punch %d gave no direct connection; restarting %s for another", a.name, b.name, try, b.name)
		b.stop()
		if err := poll(30*time.Second, func() bool { return a.conn(b.id) == "" }); err != nil {
			t.Fatalf("%s still connected to the stopped %s", a.name, b.name)
		}
		b.port = spPort + 200 + try
		if err := b.startErr(); err != nil {
			t.Fatal(err)
		}
	}
}
