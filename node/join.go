package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// joinRequest is what a joiner sends on JoinProtocol (JSON, one frame),
// version 2. It holds the invite's token, never its secret: Proof is the
// invite key's signature of the key package, which only a holder of the
// secret can make (docs/protocol.md, "Join stream"). The key package's
// credential must name the peer that opened the stream.
type joinRequest struct {
	Version    int    `json:"v"`
	Invite     []byte `json:"invite"`
	Name       string `json:"name"`
	KeyPackage []byte `json:"key_package"`
	Proof      []byte `json:"proof"`
	// Have is set when a member asks again (askReadmission): its CRDT
	// version vector (crdt.VersionVector.MarshalBinary), so that the
	// kept response's history holds only the events it may lack.
	Have []byte `json:"have,omitempty"`
}

// joinRequestVersion is the version of joinRequest and joinResponse.
const joinRequestVersion = 2

// joinResponse is a member's answer: the Welcome, the ratchet tree and the
// channel history (a CRDT snapshot), plus the members' display names.
type joinResponse struct {
	Version int               `json:"v"`
	Channel string            `json:"channel"`
	Welcome []byte            `json:"welcome"`
	Tree    []byte            `json:"tree"`
	History []byte            `json:"history"`
	Names   map[string]string `json:"names"`
}

// maxJoinResponse is the largest join response: the stream's frame limit.
const maxJoinResponse = 8 << 20

// Invite records a new invite in the channel (owners and admins) and returns
// its code, signed by this node. Only the hash of the invite's public key
// is stored; the secret is in the code alone.
func (n *Node) Invite(ctx context.Context, channel string, opts InviteOptions) (string, error) {
	if opts.Expires < 0 {
		return "", invalidf("the expiry must be positive")
	}
	if opts.Uses < 0 || opts.Uses > MaxInviteUses {
		return "", invalidf("uses must be between 1 and %d", MaxInviteUses)
	}
	if opts.Expires == 0 {
		opts.Expires = DefaultInviteExpiry
	}
	if opts.Uses == 0 {
		opts.Uses = 1
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return "", err
	}
	raw, err := hex.DecodeString(c.id)
	if err != nil {
		return "", fmt.Errorf("node: channel ID %q: %w", c.id, err)
	}
	expires := n.cfg.Now().Add(opts.Expires).UnixMilli()
	inv, err := newInvite(raw, n.id.peerID, relayedFirst(n.ownAddrs(ctx)), expires, uint32(opts.Uses))
	if err != nil {
		return "", err
	}
	err = c.do(ctx, func(s *chanState) error {
		if s.group.Roles().of(n.id.peerID) < crdt.RoleAdmin {
			// Only a role holder can admit (commitPolicy), and a joiner
			// accepts a Welcome only to a tree that holds the inviter.
			return fmt.Errorf("%w: only owners and admins invite", ErrForbidden)
		}
		e := crdt.Event{Kind: crdt.KindInviteCreate, Invite: inv.hash(), Expires: expires, MaxUses: uint32(opts.Uses)}
		_, err := s.authorLocal(ctx, e)
		return err
	})
	if err != nil {
		return "", err
	}
	return inv.encode(n.id.key), nil
}

// relayedFirst puts relayed (/p2p-circuit) addresses first: a node has
// them when it is reachable only through a relay, and the invite keeps at
// most maxInviteAddrs addresses.
func relayedFirst(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if strings.Contains(a, "/p2p-circuit") {
			out = append(out, a)
		}
	}
	for _, a := range addrs {
		if !strings.Contains(a, "/p2p-circuit") {
			out = append(out, a)
		}
	}
	return out
}

// RevokeInvite records the revocation of an invite in the channel, so that
// every member refuses its code from then on.
func (n *Node) RevokeInvite(ctx context.Context, channel, code string) error {
	inv, err := parseInvite(code)
	if err != nil {
		return err
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	if hex.EncodeToString(inv.channel) != c.id {
		return fmt.Errorf("%w: the code is for another channel", ErrBadInvite)
	}
	return c.do(ctx, func(s *chanState) error {
		_, err := s.authorLocal(ctx, crdt.Event{Kind: crdt.KindInviteRevoke, Invite: inv.hash()})
		return err
	})
}

// joinKey is a key package kept for one invite code, so that a retry after
// a lost response presents the same key package and gets the same Welcome.
type joinKey struct {
	kp, bundle []byte
}

// keyFor returns the key package to present with an invite, made once per
// invite and kept in memory until the join succeeds.
func (n *Node) keyFor(inv invite) (joinKey, error) {
	h := inv.hash()
	n.mu.Lock()
	defer n.mu.Unlock()
	if k, ok := n.mu.joinKeys[h]; ok {
		return k, nil
	}
	kp, _, bundle, err := n.eng.NewKeyPackage()
	if err != nil {
		return joinKey{}, fmt.Errorf("node: key package: %w", err)
	}
	if n.mu.joinKeys == nil || len(n.mu.joinKeys) >= 64 {
		n.mu.joinKeys = map[crdt.InviteHash]joinKey{}
	}
	k := joinKey{kp: kp, bundle: bundle}
	n.mu.joinKeys[h] = k
	return k, nil
}

func (n *Node) forgetKey(inv invite) {
	n.mu.Lock()
	delete(n.mu.joinKeys, inv.hash())
	n.mu.Unlock()
}

// Join checks the invite code, asks a member (the inviter's addresses first,
// then the channel's rendezvous in the DHT) to admit this node, and restores
// the channel from the Welcome and history once it has checked that they
// come from the invite's group. A bad code fails before anything is sent or
// stored. No request carries the invite's secret.
func (n *Node) Join(ctx context.Context, code string) (ci ChannelInfo, err error) {
	defer func(start time.Time) { n.onJoin(start, ci, err) }(time.Now())
	inv, err := parseInvite(code)
	if err != nil {
		return ChannelInfo{}, err
	}
	if n.nowMs() > inv.expires {
		return ChannelInfo{}, fmt.Errorf("%w: on %s", ErrInviteExpired, time.UnixMilli(inv.expires).UTC().Format(time.RFC3339))
	}
	id := hex.EncodeToString(inv.channel)
	if err := n.canJoin(ctx, id); err != nil {
		return ChannelInfo{}, err
	}
	if n.host == nil {
		return ChannelInfo{}, ErrOffline
	}
	key, err := n.keyFor(inv)
	if err != nil {
		return ChannelInfo{}, err
	}
	req, _ := json.Marshal(joinRequest{Version: joinRequestVersion, Invite: inv.token(), Name: n.displayName(),
		KeyPackage: key.kp, Proof: inv.proveJoin(key.kp)})
	ci, err = n.askMembers(ctx, inv, id, req, key.bundle)
	if err == nil {
		n.forgetKey(inv)
		n.keepJoinRequest(ctx, id, req)
	}
	return ci, err
}

// askMembers sends the join request to the inviter, then to the peers the
// DHT lists under the channel's rendezvous key, and joins with the first
// admission that checks out (finishJoin). The inviter's refusal is final
// (the code names and authenticates it); a refusal or a bad admission from
// a peer found in the DHT, which anyone knowing the channel ID can be, moves
// on to the next, and the first such error is returned if none admits us.
func (n *Node) askMembers(ctx context.Context, inv invite, id string, req, bundle []byte) (ChannelInfo, error) {
	resp, err := n.askMember(ctx, p2p.PeerInfo{ID: p2p.PeerID(inv.inviter), Addrs: inv.addrs}, req)
	if err == nil {
		n.rememberPeer(ctx, inv.inviter, n.host.PeerAddrs(p2p.PeerID(inv.inviter)))
		return n.finishJoin(ctx, id, resp, bundle, inv, inv.inviter)
	}
	if !errors.Is(err, ErrUnreachable) {
		return ChannelInfo{}, err
	}
	lookup, cancel := context.WithTimeout(ctx, 10*time.Second)
	found, _ := n.host.FindPeers(lookup, rendezvousOf(id), 8)
	cancel()
	var refused error
	for _, p := range found {
		resp, err2 := n.askMember(ctx, p, req)
		if err2 == nil {
			ci, err3 := n.finishJoin(ctx, id, resp, bundle, inv, p.ID.String())
			if err3 == nil {
				n.rememberPeer(ctx, p.ID.String(), n.host.PeerAddrs(p.ID))
				return ci, nil
			}
			err2 = err3
		}
		if refused == nil && !errors.Is(err2, ErrUnreachable) {
			refused = err2
		}
	}
	if refused != nil {
		return ChannelInfo{}, refused
	}
	return ChannelInfo{}, err
}

func (n *Node) askMember(ctx context.Context, p p2p.PeerInfo, req []byte) (joinResponse, error) {
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := n.host.Connect(dctx, p); err != nil {
		return joinResponse{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, p.ID, err)
	}
	raw, err := n.host.Request(dctx, p.ID, JoinProtocol, req, p2p.Limits{MaxFrame: maxJoinResponse})
	var re *p2p.RemoteError
	if errors.As(err, &re) {
		return joinResponse{}, remoteError(re.Message)
	}
	if err != nil {
		return joinResponse{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, p.ID, err)
	}
	var resp joinResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return joinResponse{}, fmt.Errorf("%w: join response: %v", ErrProtocol, err)
	}
	return resp, nil
}

// finishJoin restores the channel from an admission by responder, after
// checking that it comes from the invite's group: the Welcome is for the
// invite's channel, its tree holds the inviter's leaf (whose signature key,
// by the credential rule, is the key that signed the code) and the
// responder's, so the history comes from a member of that group.
func (n *Node) finishJoin(ctx context.Context, id string, resp joinResponse, bundle []byte, inv invite, responder string) (ChannelInfo, error) {
	if resp.Channel != id {
		return ChannelInfo{}, fmt.Errorf("%w: admitted to %q, asked for %q", ErrProtocol, resp.Channel, id)
	}
	g, err := n.eng.Join(resp.Welcome, resp.Tree, bundle)
	if err != nil {
		return ChannelInfo{}, fmt.Errorf("%w: welcome: %v", ErrProtocol, err)
	}
	if got := hex.EncodeToString(g.GroupID()); got != id {
		// A responder that is not a member of the invite's channel could
		// otherwise admit us to a group of its own under the channel's name.
		return ChannelInfo{}, fmt.Errorf("%w: the Welcome is for group %s, not channel %s", ErrProtocol, got, id)
	}
	members := g.Members()
	if !containsMember(members, inv.inviter) {
		return ChannelInfo{}, fmt.Errorf("%w: the Welcome's group does not hold the inviter %s", ErrProtocol, inv.inviter)
	}
	if !containsMember(members, responder) {
		return ChannelInfo{}, fmt.Errorf("%w: the responder %s is not in the Welcome's group", ErrProtocol, responder)
	}
	st, err := crdt.Restore(resp.History)
	if err != nil {
		return ChannelInfo{}, fmt.Errorf("%w: history: %v", ErrProtocol, err)
	}
	// The catch-up rounds after the join ask from the epoch we joined in,
	// not from the one before ours when they start: a burst of joins can
	// take us several epochs on first, and the messages of those epochs
	// we missed live (not yet on the topic) are in the members' logs only
	// (readPast reads them).
	s := &chanState{n: n, id: id, crdt: st, clock: st.RestoreClock(n.nowMs(), 0), group: g,
		subs: map[int]*follower{}, meta: channelMeta{Version: 1}, needSync: true, syncRounds: syncRounds,
		syncFloor: g.Epoch() + 1}
	s.meta.JoinKey, s.meta.JoinedVia = bundle, responder
	s.meta.JoinEpoch, s.meta.JoinAuth = g.Epoch(), g.EpochAuthenticator()
	s.meta.JoinKeyUntil = n.nowMs() + readmitWindow.Milliseconds()
	for p, name := range resp.Names {
		if checkName(name) == nil {
			s.setName(p, name)
		}
	}
	b := &store.Batch{}
	old := n.channel(id) // a channel left or removed from: joined again afresh
	if old != nil {
		b.DeleteChannel(store.ChannelID(id))
	}
	b.PutChannel(store.ChannelID(id), s.metaBytes())
	if s.stored, err = s.putGroup(b); err != nil {
		return ChannelInfo{}, err
	}
	b.PutSnapshot(store.ChannelID(id), store.Snapshot{Data: resp.History})
	if old != nil {
		n.dropChannel(old)
	}
	if err := n.db.Apply(ctx, b); err != nil {
		return ChannelInfo{}, fmt.Errorf("node: store: %w", err)
	}
	info := s.info()
	c := n.startChannel(s)
	n.watch(ctx, c)
	n.announceName(ctx, c)
	return info, nil
}

// serveJoin answers a join request: check the invite token, the proof and
// the invite's state in the channel, commit the Add, publish it, and return
// the Welcome and history. Every refusal changes nothing.
func (n *Node) serveJoin(ctx context.Context, from p2p.PeerID, raw []byte) (_ []byte, err error) {
	again := false // a member asks again (askReadmission, or a retry)
	defer func() { n.onJoinServed(from, err, again) }()
	var req joinRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.Version != joinRequestVersion {
		return nil, codedf(ErrProtocol, "malformed join request (this peer reads version 2)")
	}
	inv, err := parseToken(req.Invite)
	if err != nil {
		return nil, coded(err)
	}
	if !inv.checkJoinProof(req.KeyPackage, req.Proof) {
		return nil, codedf(ErrBadInvite, "no proof of the invite's secret")
	}
	c := n.channel(hex.EncodeToString(inv.channel))
	if c == nil {
		return nil, codedf(ErrInviteUnknown, "this peer is not in the invite's channel")
	}
	var resp []byte
	err = c.do(ctx, func(s *chanState) error {
		again = containsMember(s.group.Members(), from.String())
		resp, err = s.admit(ctx, from.String(), req, inv)
		return err
	})
	if err == nil {
		n.rememberPeer(ctx, from.String(), n.host.PeerAddrs(from))
	}
	return resp, coded(err)
}

// admit runs on the channel's loop: every check first, then the Add commit,
// the response built and size-checked, and only then the commit, the
// Joined event that mirrors it and the response stored in one step and
// published. The response is kept (admission.go), so that the same request
// after a lost response gets the same Welcome, also after a restart.
func (s *chanState) admit(ctx context.Context, from string, req joinRequest, inv invite) ([]byte, error) {
	if s.meta.Removed || !s.group.Active() {
		return nil, errRemoved
	}
	if containsMember(s.group.Members(), from) {
		if resp, err := s.keptResponse(ctx, from, req.KeyPackage, req.Have); resp != nil || err != nil {
			return resp, err
		}
		return nil, fmt.Errorf("%w: %s", ErrAlreadyMember, from)
	}
	if s.group.Roles().of(s.n.id.peerID) < crdt.RoleAdmin {
		// Every member refuses an Add by a plain member (commitPolicy).
		return nil, fmt.Errorf("%w: only owners and admins admit members", ErrForbidden)
	}
	e := crdt.Event{ID: s.crdt.Next(s.n.id.peerID), Time: s.clock.Now(s.n.nowMs()), Kind: crdt.KindJoined,
		Member: from, Epoch: s.group.Epoch() + 1, Invite: inv.hash()}
	if _, err := s.crdt.Invite(e.Invite, s.n.nowMs()); err != nil {
		return nil, crdtError(err)
	}
	if err := s.crdt.Check(e); err != nil {
		return nil, crdtError(err)
	}
	epoch := s.group.Epoch()
	commit, welcome, tree, err := s.group.Add(req.KeyPackage)
	if err != nil {
		s.rollback()
		return nil, fmt.Errorf("%w: key package refused: %v", ErrProtocol, err)
	}
	if !containsMember(s.group.Members(), from) {
		s.rollback()
		return nil, fmt.Errorf("%w: the key package's credential does not name %s", ErrProtocol, from)
	}
	named := checkName(req.Name) == nil && s.setName(from, req.Name)
	names := s.joinNames()
	// The history includes the Joined event (the joiner's own posts need
	// it); it is built on a copy, as the event is not stored yet.
	hist, err := historyWith(s.crdt, e)
	var resp []byte
	if err == nil {
		resp, err = json.Marshal(joinResponse{Version: joinRequestVersion, Channel: s.id, Welcome: welcome, Tree: tree,
			History: hist, Names: names})
	}
	if err == nil && len(resp) > maxJoinResponse {
		err = fmt.Errorf("%w: the join response would be %d bytes (at most %d)", ErrInvalidInput, len(resp), maxJoinResponse)
	}
	if err != nil {
		if named {
			delete(s.meta.Names, from)
		}
		s.rollback()
		return nil, err
	}
	// Kept without the history: a retry gets the history of then
	// (keptResponse), so the kept value stays small and holds no text a
	// later delete erases.
	short, err := json.Marshal(joinResponse{Version: joinRequestVersion, Channel: s.id, Welcome: welcome, Tree: tree})
	if err != nil {
		s.rollback()
		return nil, err
	}
	kept := &admission{peer: from, kp: req.KeyPackage, resp: short, expires: s.admissionExpiry(inv)}
	if err := s.run(ctx, step{commit: commit, commitEpoch: epoch, events: []crdt.Event{e}, metaChanged: named, admission: kept,
		intent: commitRecord{Intent: "add", Member: from}}); err != nil {
		return nil, err
	}
	return resp, nil
}

// joinNames returns the display names a join response carries.
func (s *chanState) joinNames() map[string]string {
	names := map[string]string{s.n.id.peerID: s.n.displayName()}
	for p, nm := range s.meta.Names {
		names[p] = nm
	}
	return names
}

// historyWith returns the snapshot of st with e applied, leaving st as is.
func historyWith(st *crdt.State, e crdt.Event) ([]byte, error) {
	cp, err := crdt.Restore(st.Snapshot())
	if err == nil {
		err = cp.Apply(e)
	}
	if err != nil {
		return nil, fmt.Errorf("node: history: %w", err)
	}
	return cp.Snapshot(), nil
}

func containsMember(ms []string, m string) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

// RemoveMember commits the removal of a member: owners remove admins and
// plain members, admins remove plain members (commitPolicy). The commit
// rotates the group's keys: the removed member reads nothing sent
// afterwards.
func (n *Node) RemoveMember(ctx context.Context, channel, member string) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error { return s.removeMember(ctx, member) })
}

func (s *chanState) removeMember(ctx context.Context, member string) error {
	if s.meta.Removed || !s.group.Active() {
		return errRemoved
	}
	m, err := s.findMember(member)
	if err != nil {
		return err
	}
	roles := s.group.Roles()
	mine, theirs := roles.of(s.n.id.peerID), roles.of(m)
	switch {
	case m == s.n.id.peerID:
		return invalidf("to remove yourself, leave the channel")
	case mine < crdt.RoleAdmin || mine <= theirs:
		return fmt.Errorf("%w: %s may not remove %s", ErrForbidden, withArticle(mine.String()), withArticle(theirs.String()))
	}
	epoch := s.group.Epoch()
	commit, err := s.group.Remove(m)
	if err != nil {
		s.rollback()
		return fmt.Errorf("node: remove commit: %w", err)
	}
	// The timeline's "removed" line; the commit is what removes. Its cut
	// voids the member's events we do not hold, dated before the line: a
	// removed member posting on from the epoch before its removal, with
	// a clock set back, shows nowhere (docs/protocol.md, "Removal cut").
	_, last := s.crdt.Counters(m)
	events := s.mirrorEvents(crdt.Event{Kind: crdt.KindRemoved, Member: m, Epoch: epoch + 1, Target: crdt.ID{Author: m, Seq: last + 1}})
	if err := s.run(ctx, step{commit: commit, commitEpoch: epoch, events: events, intent: commitRecord{Intent: "remove", Member: m}}); err != nil {
		return err
	}
	s.tellRemoved(m, envelope{epoch: epoch, msg: commit}.encode())
	return nil
}

// SetRole commits a member's new role: owner, admin or member. Only owners
// change roles; an owner may make another member owner (several owners may
// coexist) and step down, but the last owner may not (make another member
// owner first). See docs/protocol.md, "Roles".
func (n *Node) SetRole(ctx context.Context, channel, member, role string) error {
	r, err := parseRole(role)
	if err != nil {
		return err
	}
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error { return s.setRole(ctx, member, r) })
}

func (s *chanState) setRole(ctx context.Context, member string, r crdt.Role) error {
	if s.meta.Removed || !s.group.Active() {
		return errRemoved
	}
	m, err := s.findMember(member)
	if err != nil {
		return err
	}
	roles := s.group.Roles()
	if roles.of(s.n.id.peerID) < crdt.RoleOwner {
		return fmt.Errorf("%w: only owners change roles", ErrForbidden)
	}
	next := maps.Clone(roles)
	if r == crdt.RoleMember {
		delete(next, m)
	} else {
		next[m] = r
	}
	if maps.Equal(next, roles) {
		return nil
	}
	if next.owners() == 0 {
		return fmt.Errorf("%w: the last owner cannot step down; make another member owner first", ErrForbidden)
	}
	epoch := s.group.Epoch()
	commit, err := s.group.SetRoles(next)
	if err != nil {
		s.rollback()
		return fmt.Errorf("node: role commit: %w", err)
	}
	label := crdt.Event{Kind: crdt.KindSetRole, Member: m, Role: r}
	if r < roles.of(m) {
		// A demotion's cut caps the member's events we do not hold, dated
		// before the line, at the new role: a demoted admin deleting or
		// renaming with a clock set back takes no effect (docs/protocol.md,
		// "Demotion cut").
		_, last := s.crdt.Counters(m)
		label.Target = crdt.ID{Author: m, Seq: last + 1}
	}
	events := s.mirrorEvents(label)
	return s.run(ctx, step{commit: commit, commitEpoch: epoch, events: events, intent: commitRecord{Intent: "role", Member: m, Role: r}})
}

// mirrorEvents stamps the CRDT event that labels a commit in the timeline
// (and keeps the CRDT's roles in step with the group's), when the CRDT
// accepts it. The commit decides; a label the CRDT refuses is left out.
func (s *chanState) mirrorEvents(e crdt.Event) []crdt.Event {
	e.ID, e.Time = s.crdt.Next(s.n.id.peerID), s.clock.Now(s.n.nowMs())
	if err := s.crdt.Check(e); err != nil {
		s.n.log.Info("timeline label left out", "channel", s.id, "kind", e.Kind.String(), "err", err)
		return nil
	}
	return []crdt.Event{e}
}

// leaveLabels returns the timeline's "left" lines for the members our
// commit st removed without a line of its own: the stored leaves that a
// key update or a commit before a send committed. Every commit that
// removes a member must carry its line, so that each replica's member
// labels follow the winning branch (TestChurnOfflineConverges). Their IDs
// follow those of the step's events.
func (s *chanState) leaveLabels(st step) []crdt.Event {
	if st.resend {
		return nil
	}
	next := s.crdt.Next(s.n.id.peerID)
	labelled := map[string]bool{}
	for _, e := range st.events {
		next.Seq = max(next.Seq, e.ID.Seq+1)
		if e.Kind == crdt.KindLeft || e.Kind == crdt.KindRemoved {
			labelled[e.Member] = true
		}
	}
	var out []crdt.Event
	for _, m := range s.group.LastCommit().Removed {
		if labelled[m] {
			continue
		}
		e := crdt.Event{Kind: crdt.KindLeft, Member: m, Epoch: st.commitEpoch + 1, ID: next, Time: s.clock.Now(s.n.nowMs())}
		if err := s.crdt.Check(e); err != nil {
			s.relabelLater(m, crdt.KindLeft, crdt.KindRemoved)
			continue
		}
		next.Seq++
		out = append(out, e)
	}
	return out
}

// Leave proposes our own removal; the first member (by peer ID) to receive
// it commits it, and any member commits it before sending. Until a commit
// removes us, the node keeps following the channel (it sends nothing) and
// proposes the leave again in every new epoch, so that a proposal dropped
// because another commit won its epoch is not lost. The channel's history
// stays readable here; nothing sent afterwards is. The last owner cannot
// leave a channel with other members: it makes another member owner first.
func (n *Node) Leave(ctx context.Context, channel string) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error {
		if err := s.gone(); err != nil {
			return err
		}
		if len(s.group.Members()) == 1 {
			s.meta.Leaving = true
			return s.markRemoved(ctx)
		}
		if r := s.group.Roles(); r.of(s.n.id.peerID) == crdt.RoleOwner && r.owners() == 1 {
			return fmt.Errorf("%w: you are the channel's last owner; make another member owner first", ErrForbidden)
		}
		return s.proposeLeave(ctx)
	})
}

// proposeLeave stores and queues a proposal of our removal in the current
// epoch, and marks the channel as being left.
func (s *chanState) proposeLeave(ctx context.Context) error {
	prop, err := s.group.Leave()
	if err != nil {
		s.rollback()
		return fmt.Errorf("node: leave: %w", err)
	}
	was := s.meta.Leaving
	s.meta.Leaving = true
	if err := s.run(ctx, step{proposal: prop, metaChanged: true}); err != nil {
		s.meta.Leaving = was
		return fmt.Errorf("node: leave: %w", err)
	}
	return nil
}

// markRemoved records that we are out of the channel.
func (s *chanState) markRemoved(ctx context.Context) error {
	defer s.n.onChannel(s.id, "gone", "")
	s.meta.Removed = true
	b := &store.Batch{}
	b.PutChannel(store.ChannelID(s.id), s.metaBytes())
	if err := s.n.db.Apply(ctx, b); err != nil {
		s.meta.Removed, s.meta.Leaving = false, false
		return fmt.Errorf("node: store: %w", err)
	}
	return nil
}

// maybeCommitProposals commits the epoch's proposals (a leaver's Remove)
// when this node is the designated committer: the member with the smallest
// peer ID other than the proposer.
func (s *chanState) maybeCommitProposals(ctx context.Context, proposer string) {
	first := ""
	for _, m := range s.group.Members() {
		if m != proposer && (first == "" || m < first) {
			first = m
		}
	}
	if first != s.n.id.peerID {
		return
	}
	var events []crdt.Event
	if proposer != "" {
		events = s.mirrorEvents(crdt.Event{Kind: crdt.KindLeft, Member: proposer, Epoch: s.group.Epoch() + 1})
	}
	epoch := s.group.Epoch()
	commit, err := s.group.CommitPending()
	if err != nil {
		s.rollback()
		s.n.log.Warn("commit proposals", "channel", s.id, "err", err)
		return
	}
	if err := s.run(ctx, step{commit: commit, commitEpoch: epoch, events: events}); err != nil {
		s.n.log.Warn("commit proposals", "channel", s.id, "err", err)
	}
}

// findMember resolves a peer ID, a display name or an ID prefix of at least
// minPrefix characters. A reference that matches more than one member, by
// name or prefix, is ambiguous: never a silent choice between them.
func (s *chanState) findMember(ref string) (string, error) {
	var found []string
	for _, m := range s.group.Members() {
		if m == ref {
			return m, nil
		}
		if s.name(m) == ref || len(ref) >= minPrefix && strings.HasPrefix(m, ref) {
			found = append(found, m)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("%w: %q", ErrNoMember, ref)
	}
	return "", fmt.Errorf("%w: %q matches %d members; use more of the peer ID", ErrAmbiguous, ref, len(found))
}

// coded formats err for a peer as "[code] message", so that the asking
// node gets the same sentinel back (remoteError).
func coded(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("[%s] %s", codeOf(err), err.Error())
}

func codedf(sentinel error, msg string) error { return coded(fmt.Errorf("%w: %s", sentinel, msg)) }

var remoteRE = regexp.MustCompile(`^\[([a-z_]+)\] (.*)$`)

// remoteError rebuilds a peer's coded answer. The text is untrusted; it is
// shown to the user, never interpreted beyond the code.
func remoteError(msg string) error {
	if m := remoteRE.FindStringSubmatch(msg); m != nil && m[1] != "internal" {
		return fromCode(m[1], "peer: "+m[2])
	}
	return fmt.Errorf("%w: %s", ErrRemote, msg)
}
