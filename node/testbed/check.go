package testbed

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/node"
)

// refreshEvery is how often a convergence wait rereads a lagging member's
// whole timeline (its Follow stream may have dropped a notification).
const refreshEvery = 2 * time.Second

// missingRefresh returns how many of keys s has not shown yet; with
// reread, or when the stream shows nothing new, it rereads the timeline.
func (e *engine) missingRefresh(s *slot, keys []string, reread bool) (int, string) {
	n, first := e.rec.missing(s.peer, keys)
	if n == 0 || !reread {
		return n, first
	}
	m, _ := s.member()
	if m == nil {
		return n, first
	}
	var v view = m
	if e.cfg.wrap != nil {
		v = e.cfg.wrap(s.i, v)
	}
	ctx, cancel := e.opCtx()
	defer cancel()
	ms, err := v.Messages(ctx, e.channel, 0)
	if err != nil {
		return n, first
	}
	now := time.Now()
	for _, msg := range ms {
		if !msg.Deleted {
			e.rec.see(s.peer, msg.Text, now)
		}
	}
	return e.rec.missing(s.peer, keys)
}

// waitConverged waits until every live member shows every message
// acknowledged before end and all agree on the epoch; it returns the time
// from end, and false when Settle passed first. shown, if not nil, is
// called once, when every member shows every message.
func (e *engine) waitConverged(end time.Time, shown func()) (time.Duration, bool) {
	keys := e.rec.ackedBefore(end)
	deadline := end.Add(e.cfg.Settle)
	lastRead := time.Now()
	for e.ctx.Err() == nil {
		reread := time.Since(lastRead) > refreshEvery
		if reread {
			lastRead = time.Now()
		}
		ok := true
		for _, s := range e.live() {
			if n, _ := e.missingRefresh(s, keys, reread); n > 0 {
				ok = false
				break
			}
		}
		if ok && shown != nil {
			shown()
			shown = nil
		}
		if ok {
			if _, agree := e.agree(false); agree {
				return time.Since(end), true
			}
		}
		if time.Now().After(deadline) {
			return time.Since(end), false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(end), false
}

// agree compares the live members' digests: the epoch and its
// authenticator and member list, and with full the CRDT view too. It
// returns what differs.
func (e *engine) agree(full bool) (string, bool) {
	var ref node.Digest
	var refName string
	live := e.live()
	for k, s := range live {
		m, _ := s.member()
		if m == nil {
			return s.name() + " is down", false
		}
		ctx, cancel := e.opCtx()
		d, err := m.Digest(ctx, e.channel)
		cancel()
		if err != nil {
			return fmt.Sprintf("%s digest: %v", s.name(), err), false
		}
		if d.Removed {
			return s.name() + " considers itself removed", false
		}
		if k == 0 {
			ref, refName = d, s.name()
			if want := sortedPeers(live); e.rep.Mode == "process" && !slices.Equal(d.Members, want) {
				return fmt.Sprintf("%s lists members %v, the live nodes are %v", s.name(), short(d.Members), short(want)), false
			}
			continue
		}
		switch {
		case d.Epoch != ref.Epoch:
			return fmt.Sprintf("%s at epoch %d, %s at %d", s.name(), d.Epoch, refName, ref.Epoch), false
		case d.Authenticator != ref.Authenticator:
			return fmt.Sprintf("%s and %s differ in epoch authenticator at epoch %d", s.name(), refName, d.Epoch), false
		case !slices.Equal(d.Members, ref.Members):
			return fmt.Sprintf("%s lists members %v, %s %v", s.name(), short(d.Members), refName, short(ref.Members)), false
		case full && !slices.Equal(d.ViewMembers, ref.ViewMembers):
			return fmt.Sprintf("%s and %s differ in the CRDT view's members: %v and %v", s.name(), refName,
				short(d.ViewMembers), short(ref.ViewMembers)), false
		case full && d.View != ref.View:
			e.viewDiff = [2]*slot{s, live[0]}
			return fmt.Sprintf("%s and %s differ in CRDT view (%d and %d messages)", s.name(), refName, d.Messages, ref.Messages), false
		}
	}
	return "", true
}

// short abbreviates peer IDs (alone or before a "/role") for messages.
func short(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		p, role, _ := strings.Cut(id, "/")
		if len(p) > 12 {
			p = "…" + p[len(p)-8:]
		}
		if role != "" {
			p += "/" + role
		}
		out[i] = p
	}
	return out
}

// explainView names the first timeline entry in which the views of the two
// slots agree last found different (viewDiff) differ.
func (e *engine) explainView() string {
	x, y := e.viewDiff[0], e.viewDiff[1]
	if x == nil || y == nil {
		return ""
	}
	tl := func(s *slot) []node.Message {
		m, _ := s.member()
		if m == nil {
			return nil
		}
		ctx, cancel := e.opCtx()
		defer cancel()
		ms, _ := m.Messages(ctx, e.channel, 0)
		return ms
	}
	a, b := tl(x), tl(y)
	key := func(m node.Message) string {
		rs, _ := json.Marshal(m.Reactions)
		return fmt.Sprintf("%s by %s %q edited=%v deleted=%v reactions=%s", m.ID, short([]string{m.Author})[0], m.Text, m.Edited, m.Deleted, rs)
	}
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			return fmt.Sprintf("; %s lacks entry %d: %s", x.name(), i, key(b[i]))
		case i >= len(b):
			return fmt.Sprintf("; %s lacks entry %d: %s", y.name(), i, key(a[i]))
		case key(a[i]) != key(b[i]):
			return fmt.Sprintf("; entry %d: %s shows %s, %s shows %s", i, x.name(), key(a[i]), y.name(), key(b[i]))
		}
	}
	return "; the timelines read now are equal"
}

// waitAgree waits until the live members agree fully, or deadline.
func (e *engine) waitAgree(deadline time.Time) (string, bool) {
	for {
		e.viewDiff = [2]*slot{}
		d, ok := e.agree(true)
		if ok || time.Now().After(deadline) || e.ctx.Err() != nil {
			if !ok {
				d += e.explainView()
			}
			return d, ok
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settle waits, after the workload, until every live member shows every
// acknowledged message and all digests agree, or Settle passes. It returns
// the nodes' CPU time when every message was shown (at its end, if some
// never were): where the CPU window ends.
func (e *engine) settle() time.Duration {
	end := time.Now()
	var cpu time.Duration
	if _, ok := e.waitConverged(end, func() { cpu = e.run.cpu() }); !ok {
		e.cfg.Logger.Info("not every message arrived before the settle bound")
	}
	d, ok := e.waitAgree(time.Now().Add(max(time.Second, e.cfg.Settle-time.Since(end))))
	e.rep.Converged = ok
	if !ok {
		e.rep.fail("not converged: %s", d)
	}
	if cpu == 0 { // not every message arrived
		cpu = e.run.cpu()
	}
	return cpu
}

// check reads every live member's timeline and counts deliveries, losses
// and duplicates.
func (e *engine) check() error {
	e.rep.SendErrors = int(e.failed.Load())
	e.rep.Skipped = int(e.skipped.Load())
	msgs := e.rec.ackedMsgs()
	e.rep.Sent = len(msgs)
	lost := map[string]bool{}
	pairs, delivered, unauthorized := 0, 0, 0
	for _, s := range e.live() {
		m, _ := s.member()
		var v view = m
		if e.cfg.wrap != nil {
			v = e.cfg.wrap(s.i, v)
		}
		ctx, cancel := e.opCtx()
		tl, err := v.Messages(ctx, e.channel, 0)
		cancel()
		if err != nil {
			return fmt.Errorf("testbed: %s timeline: %w", s.name(), err)
		}
		count := map[string]int{}
		for _, msg := range tl {
			if msg.Deleted {
				// The testbed deletes nothing: a post shown deleted is the
				// hostile member's delete, dated back into its admin
				// period, taking effect.
				unauthorized++
				e.rep.fail("%s shows post %s by %s deleted, which nobody may have deleted", s.name(), msg.ID, short([]string{msg.Author})[0])
				continue
			}
			if !e.rec.sentText(msg.Text) {
				unauthorized++
				if strings.HasPrefix(msg.Text, insiderPostPrefix) {
					e.rep.fail("%s shows %s, which the insider posted after node0 removed it", s.name(), msg.Text)
				} else {
					e.rep.fail("%s shows a post the testbed never sent (author %s)", s.name(), short([]string{msg.Author})[0])
				}
				continue
			}
			count[msg.Text]++
		}
		if e.insider != nil {
			unauthorized += e.insider.check(e, s)
		}
		for text, c := range count {
			if c > 1 {
				e.rep.Duplicates += c - 1
				e.rep.fail("%s shows %s %d times", s.name(), text, c)
			}
		}
		for _, msg := range msgs {
			has := count[msg.key] > 0
			if msg.sender != s.peer {
				pairs++
				if has {
					delivered++
				}
			}
			if !has {
				if !lost[msg.key] {
					e.rep.fail("%s (%s) is missing %s, sent by node%d at %.2f s", s.name(), short([]string{s.peer})[0],
						msg.key, msg.slot, e.since(msg.at))
				}
				lost[msg.key] = true
			}
		}
	}
	e.rep.Lost = len(lost)
	if pairs > 0 {
		e.rep.DeliveredPct = 100 * float64(delivered) / float64(pairs)
	}
	e.rep.Latency = latencyOf(e.rec.latencies(e.t0))
	if e.cfg.LatencyFile != "" {
		if err := writeFile(e.cfg.LatencyFile, func(w io.Writer) error { return e.rec.writeCSV(w, e.t0) }); err != nil {
			return fmt.Errorf("testbed: --latencies: %w", err)
		}
	}
	if e.cfg.Hostile > 0 {
		pct := e.rep.DeliveredPct // every message the testbed sent is honest
		e.rep.Hostile, e.rep.UnauthorizedApplied, e.rep.HonestDeliveredPct = e.cfg.Hostile, &unauthorized, &pct
	}
	return nil
}

// knownPeer reports whether a slot ever had peer ID p.
func (e *engine) knownPeer(p string) bool {
	return p == e.slots[0].peer || e.rec.hasPeer(p)
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
