package node

import (
	"context"
	"slices"

	"github.com/spacepanda/spacepanda/crdt"
)

// A "left" or "removed" line of ours whose commit lost a conflict is
// unbacked: the replicas that did not apply our losing commit refuse it
// (checkMirror), and the others show it. If the winning branch also
// removes the member, by a commit of ours, relabelLater re-sends the line
// with it. But a member's leave is often committed again by someone else,
// whose replica may already show our line (it applied our losing commit
// and its line before it switched): its commit then carries no line of
// its own, and the replicas that never saw ours listed the member for good
// (the 5-node testbed: "node2 and node0 differ in the CRDT view's
// members"). So such a line is kept (channelMeta.Unbacked) and re-sent
// once a commit of the branch removed its member, whoever committed it;
// checkMirror accepts a "left" line that a commit of the branch backs.

// maxUnbacked bounds channelMeta.Unbacked.
const maxUnbacked = 64

// keepUnbacked records, before a switch to the winning group g, our lost
// membership lines whose member g still has.
func (s *chanState) keepUnbacked(lost []crdt.Event, g group) {
	var keep seqList
	for _, ev := range lost {
		if (ev.Kind == crdt.KindLeft || ev.Kind == crdt.KindRemoved) && containsMember(g.Members(), ev.Member) {
			keep = append(keep, ev.ID.Seq)
		}
	}
	if len(keep) == 0 {
		return
	}
	all := append(slices.Clone(s.meta.Unbacked), keep...)
	slices.Sort(all)
	all = slices.Compact(all)
	s.meta.Unbacked = all[max(0, len(all)-maxUnbacked):] // replaced, never changed in place
}

// dueUnbacked takes from channelMeta.Unbacked our lines whose member the
// group no longer has, to re-send now that a commit backs them.
func (s *chanState) dueUnbacked() []crdt.Event {
	if len(s.meta.Unbacked) == 0 {
		return nil
	}
	var due []crdt.Event
	var keep seqList
	for _, seq := range s.meta.Unbacked {
		ev, ok := s.crdt.Event(crdt.ID{Author: s.n.id.peerID, Seq: seq})
		switch {
		case !ok:
		case containsMember(s.group.Members(), ev.Member):
			keep = append(keep, seq)
		default:
			due = append(due, ev)
		}
	}
	s.meta.Unbacked = keep
	return due
}

// resendUnbacked re-sends the lines dueUnbacked takes, after a commit of
// another member.
func (s *chanState) resendUnbacked(ctx context.Context) {
	if due := s.dueUnbacked(); len(due) > 0 {
		if err := s.resend(ctx, due); err != nil {
			s.n.log.Warn("re-send a membership line", "channel", s.id, "err", err)
		}
	}
}
