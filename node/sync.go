package node

import (
	"context"
	"encoding/json"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// syncRequest asks a member for its log entries of the epochs from Epoch on
// (SyncProtocol). Log sequence numbers are local to each node; epochs are
// common to the group, so the request names an epoch.
type syncRequest struct {
	Channel string `json:"channel"`
	Epoch   uint64 `json:"epoch"`
}

const (
	// maxSyncEntries bounds one sync response.
	maxSyncEntries = 4096
	// syncRounds is how many catch-up rounds a channel runs after it is
	// joined or restored, syncRoundEvery apart: gossip does not deliver
	// what was published before the mesh included us.
	syncRounds     = 4
	syncRoundEvery = 2 * time.Second
	// needSyncGap is the least time between two syncs asked for by a gap.
	needSyncGap = time.Second
)

// serveSync answers a member's request for the log entries it missed: the
// MLS messages themselves, which the asker verifies and decrypts as if they
// came by gossip. Only current members are served.
func (n *Node) serveSync(ctx context.Context, from p2p.PeerID, raw []byte) ([]byte, error) {
	var req syncRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, codedf(ErrProtocol, "malformed sync request")
	}
	c := n.channel(req.Channel)
	if c == nil {
		return nil, codedf(ErrNoChannel, "unknown channel")
	}
	var member bool
	var last uint64
	if err := c.do(ctx, func(s *chanState) error {
		member, last = s.crdt.Role(from.String()) != crdt.RoleNone, s.lastSeq
		return nil
	}); err != nil {
		return nil, coded(err)
	}
	if !member {
		return nil, codedf(ErrForbidden, "not a member")
	}
	start, err := n.firstSeqOfEpoch(ctx, store.ChannelID(req.Channel), req.Epoch, last)
	if err != nil {
		return nil, codedf(ErrProtocol, "log unavailable")
	}
	var out [][]byte
	for from := start; len(out) < maxSyncEntries; {
		page, err := n.db.Log(ctx, store.ChannelID(req.Channel), from, 1024)
		if err != nil {
			return nil, codedf(ErrProtocol, "log unavailable")
		}
		for _, e := range page {
			if e.Epoch >= req.Epoch && len(out) < maxSyncEntries {
				out = append(out, envelope{epoch: e.Epoch, msg: e.Data}.encode())
			}
		}
		if len(page) < 1024 {
			break
		}
		from = page[len(page)-1].Seq + 1
	}
	n.onSyncServed(req.Channel, from, len(out))
	return json.Marshal(out)
}

// syncSlack is how many entries before the first one of the asked epoch a
// sync response starts: a late message of an older epoch may be logged
// after a commit, so epochs along the log are only nearly sorted.
const syncSlack = 256

// firstSeqOfEpoch finds, by binary search with point reads (never a scan of
// the log), about where the log's entries of epoch reach epoch, minus
// syncSlack.
func (n *Node) firstSeqOfEpoch(ctx context.Context, id store.ChannelID, epoch, last uint64) (uint64, error) {
	lo, hi := uint64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		es, err := n.db.Log(ctx, id, mid, 1)
		if err != nil {
			return 0, err
		}
		if len(es) == 0 || es[0].Epoch >= epoch {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo > syncSlack {
		return lo - syncSlack, nil
	}
	return 1, nil
}

// maybeCatchUp starts a catch-up when a gap was seen and none is running.
// It runs on the channel's loop; the request itself runs in a goroutine and
// hands the entries back to the loop.
func (s *chanState) maybeCatchUp() {
	if s.syncing || s.n.host == nil {
		return
	}
	// needSync comes from messages anyone on the topic can send (a future
	// epoch, a current one that does not decrypt): at most one such sync
	// per needSyncGap, so junk cannot make members sync back to back.
	since := time.Since(s.lastSync)
	fresh := len(s.newPeers) > 0
	due := (s.needSync || fresh) && since >= needSyncGap || s.syncRounds > 0 && since >= syncRoundEvery
	if !due {
		return
	}
	peers := s.n.host.TopicPeers(topicOf(s.id))
	if len(peers) == 0 {
		return
	}
	switch {
	case fresh:
		peers = append([]p2p.PeerID{s.newPeers[0]}, peers...)
		s.newPeers = s.newPeers[1:]
	case !s.needSync:
		s.syncRounds--
	}
	s.needSync, s.syncing, s.lastSync = false, true, time.Now()
	// From the epoch before ours: a competing commit for it (a commit
	// conflict during a partition) is what we must see to switch branches.
	from := s.group.Epoch()
	if from > 0 {
		from--
	}
	req, _ := json.Marshal(syncRequest{Channel: s.id, Epoch: from})
	c, n := s.c, s.n
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		envs := n.fetchLog(peers, req)
		c.do(n.ctx, func(s *chanState) error { //nolint:errcheck // ErrClosed at shutdown
			s.syncing = false
			for _, e := range envs {
				env, err := decodeEnvelope(e)
				if err != nil {
					continue
				}
				if err := s.receive(n.ctx, env); err != nil {
					n.log.Info("synced message dropped", "channel", s.id, "err", err)
				}
			}
			return nil
		})
	}()
}

// fetchLog asks the peers in turn until one answers.
func (n *Node) fetchLog(peers []p2p.PeerID, req []byte) [][]byte {
	for _, p := range peers {
		ctx, cancel := context.WithTimeout(n.ctx, 15*time.Second)
		raw, err := n.host.Request(ctx, p, SyncProtocol, req, p2p.Limits{MaxFrame: 8 << 20})
		cancel()
		if err != nil {
			continue
		}
		var envs [][]byte
		if json.Unmarshal(raw, &envs) == nil {
			n.onSyncFetched(p, len(envs))
			return envs
		}
	}
	return nil
}

// maxNewPeers bounds the peers remembered for a catch-up (notePeers).
const maxNewPeers = 16

// notePeers records the channel's topic peers. A peer that appears — a
// partition healed, a member restarted — may hold messages of the current
// epoch we missed while apart, which gossip does not send again and which
// no gap reveals (a later message decrypts without them): catch up from it
// first. The first observation only sets the baseline (a start or a join
// runs its own catch-up rounds).
func (s *chanState) notePeers(peers []p2p.PeerID) {
	seen := make(map[p2p.PeerID]bool, len(peers))
	for _, p := range peers {
		seen[p] = true
		if s.topicPeers != nil && !s.topicPeers[p] && len(s.newPeers) < maxNewPeers {
			s.newPeers = append(s.newPeers, p)
		}
	}
	s.topicPeers = seen
}
