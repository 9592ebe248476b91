package node

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
	"github.com/spacepanda/spacepanda/store"
)

// joinRequest is what a joiner sends on JoinProtocol (JSON, one frame).
// The invite secret travels inside the code, over libp2p's authenticated and
// encrypted stream, to a member who checks it against the hash the channel
// recorded: possession of the secret is the proof.
type joinRequest struct {
	Version    int    `json:"v"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	KeyPackage []byte `json:"key_package"`
}

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

// Invite records a new invite in the channel (owners and admins) and returns
// its code, signed by this node. Only the hash of its secret is stored.
func (n *Node) Invite(ctx context.Context, channel string, opts InviteOptions) (string, error) {
	if opts.Expires < 0 || opts.Uses < 0 || opts.Uses > 1<<20 {
		return "", invalidf("expiry and uses must be positive")
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
	inv, err := newInvite(raw, n.id.peerID, n.ownAddrs(ctx), expires, uint32(opts.Uses))
	if err != nil {
		return "", err
	}
	err = c.do(ctx, func(s *chanState) error {
		e := crdt.Event{Kind: crdt.KindInviteCreate, Invite: crdt.HashInvite(inv.secret), Expires: expires, MaxUses: uint32(opts.Uses)}
		_, _, err := s.applyLocal(ctx, e)
		return err
	})
	if err != nil {
		return "", err
	}
	return inv.encode(n.id.key), nil
}

// Join checks the invite code, asks a member (the inviter's addresses first,
// then the channel's rendezvous in the DHT) to admit this node with a fresh
// key package, and restores the channel from the Welcome and history. A bad
// code fails before anything is sent or stored.
func (n *Node) Join(ctx context.Context, code string) (ChannelInfo, error) {
	inv, err := parseInvite(code)
	if err != nil {
		return ChannelInfo{}, err
	}
	if n.nowMs() > inv.expires {
		return ChannelInfo{}, fmt.Errorf("%w: on %s", ErrInviteExpired, time.UnixMilli(inv.expires).UTC().Format(time.RFC3339))
	}
	id := hex.EncodeToString(inv.channel)
	if n.channel(id) != nil {
		return ChannelInfo{}, fmt.Errorf("%w: %s", ErrAlreadyMember, id)
	}
	if n.host == nil {
		return ChannelInfo{}, ErrOffline
	}
	kp, _, bundle, err := n.eng.NewKeyPackage()
	if err != nil && !errors.Is(err, ErrMLSUnavailable) {
		return ChannelInfo{}, fmt.Errorf("node: key package: %w", err)
	}
	// Without MLS the request still goes out with no key package, so that
	// the member's verdict on the invite (revoked, used up, unknown) reaches
	// the user; the member then answers ErrMLSUnavailable and admits no one.
	req, _ := json.Marshal(joinRequest{Version: 1, Code: strings.TrimSpace(code), Name: n.id.name, KeyPackage: kp})
	resp, err := n.askMembers(ctx, inv, id, req)
	if err != nil {
		return ChannelInfo{}, err
	}
	return n.finishJoin(ctx, id, resp, bundle)
}

// askMembers sends the join request to the inviter, then to the members the
// DHT lists, and returns the first admission.
func (n *Node) askMembers(ctx context.Context, inv invite, id string, req []byte) (joinResponse, error) {
	cands := []p2p.PeerInfo{{ID: p2p.PeerID(inv.inviter), Addrs: inv.addrs}}
	lookup, cancel := context.WithTimeout(ctx, 5*time.Second)
	found, _ := n.host.FindPeers(lookup, rendezvousOf(id), 8)
	cancel()
	cands = append(cands, found...)
	var last error = ErrUnreachable
	for _, p := range cands {
		resp, err := n.askMember(ctx, p, req)
		if err == nil {
			return resp, nil
		}
		last = err
		if !errors.Is(err, ErrUnreachable) {
			return joinResponse{}, err // a member's verdict on the invite is final
		}
	}
	return joinResponse{}, last
}

func (n *Node) askMember(ctx context.Context, p p2p.PeerInfo, req []byte) (joinResponse, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.host.Connect(dctx, p); err != nil {
		return joinResponse{}, fmt.Errorf("%w: %s: %v", ErrUnreachable, p.ID, err)
	}
	raw, err := n.host.Request(dctx, p.ID, JoinProtocol, req, p2p.Limits{MaxFrame: 4 << 20})
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

// finishJoin restores the channel from a member's admission.
func (n *Node) finishJoin(ctx context.Context, id string, resp joinResponse, bundle []byte) (ChannelInfo, error) {
	if resp.Channel != id {
		return ChannelInfo{}, fmt.Errorf("%w: admitted to %q, asked for %q", ErrProtocol, resp.Channel, id)
	}
	g, err := n.eng.Join(resp.Welcome, resp.Tree, bundle)
	if err != nil {
		return ChannelInfo{}, fmt.Errorf("node: welcome: %w", err)
	}
	st, err := crdt.Restore(resp.History)
	if err != nil {
		return ChannelInfo{}, fmt.Errorf("%w: history: %v", ErrProtocol, err)
	}
	s := &chanState{n: n, id: id, crdt: st, clock: crdt.NewClock(st.MaxTime()), group: g,
		subs: map[int]chan Message{}, meta: channelMeta{Version: 1, Names: resp.Names}}
	b := &store.Batch{}
	b.PutChannel(store.ChannelID(id), s.metaBytes())
	if err := s.putGroup(b); err != nil {
		return ChannelInfo{}, err
	}
	b.PutSnapshot(store.ChannelID(id), store.Snapshot{Data: resp.History})
	if err := n.db.Apply(ctx, b); err != nil {
		return ChannelInfo{}, fmt.Errorf("node: store: %w", err)
	}
	n.startChannel(s)
	n.watch(ctx, s)
	return s.info(), nil
}

// serveJoin answers a join request: check the code and the invite's state in
// the channel, commit the Add, publish it, and return the Welcome and history.
// Every refusal changes nothing.
func (n *Node) serveJoin(ctx context.Context, from p2p.PeerID, raw []byte) ([]byte, error) {
	var req joinRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.Version != 1 {
		return nil, codedf(ErrProtocol, "malformed join request")
	}
	inv, err := parseInvite(req.Code)
	if err != nil {
		return nil, coded(err)
	}
	c := n.channel(hex.EncodeToString(inv.channel))
	if c == nil {
		return nil, codedf(ErrInviteUnknown, "this peer is not in the invite's channel")
	}
	var resp []byte
	err = c.do(ctx, func(s *chanState) error {
		resp, err = s.admit(ctx, from, req, inv)
		return err
	})
	return resp, coded(err)
}

// admit runs on the channel's loop.
func (s *chanState) admit(ctx context.Context, from p2p.PeerID, req joinRequest, inv invite) ([]byte, error) {
	if _, err := s.crdt.Invite(crdt.HashInvite(inv.secret), s.n.nowMs()); err != nil {
		return nil, crdtError(err)
	}
	if s.crdt.Role(from.String()) != crdt.RoleNone {
		return nil, fmt.Errorf("%w: %s", ErrAlreadyMember, from)
	}
	if s.group == nil || len(req.KeyPackage) == 0 {
		return nil, ErrMLSUnavailable
	}
	return nil, fmt.Errorf("%w: admission commit", ErrMLSUnavailable)
}

// serveSync answers a member's request for the log entries it missed.
func (n *Node) serveSync(ctx context.Context, from p2p.PeerID, raw []byte) ([]byte, error) {
	var req struct {
		Channel string `json:"channel"`
		From    uint64 `json:"from"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, codedf(ErrProtocol, "malformed sync request")
	}
	c := n.channel(req.Channel)
	if c == nil {
		return nil, codedf(ErrNoChannel, "unknown channel")
	}
	var member bool
	if err := c.do(ctx, func(s *chanState) error { member = s.crdt.Role(from.String()) != crdt.RoleNone; return nil }); err != nil {
		return nil, coded(err)
	}
	if !member {
		return nil, codedf(ErrForbidden, "not a member")
	}
	entries, err := n.db.Log(ctx, store.ChannelID(req.Channel), req.From, 1024)
	if err != nil {
		return nil, codedf(ErrProtocol, "log unavailable")
	}
	return json.Marshal(entries)
}

// RemoveMember commits the removal of a member (owners and admins).
func (n *Node) RemoveMember(ctx context.Context, channel, member string) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error {
		m, err := s.findMember(member)
		if err != nil {
			return err
		}
		e := crdt.Event{ID: s.crdt.Next(n.id.peerID), Time: s.clock.Now(n.nowMs()), Kind: crdt.KindRemoved, Member: m}
		if s.group != nil {
			e.Epoch = s.group.Epoch() + 1
		}
		if err := s.crdt.Check(e); err != nil {
			return crdtError(err)
		}
		if s.group == nil {
			return ErrMLSUnavailable
		}
		return fmt.Errorf("%w: remove commit", ErrMLSUnavailable)
	})
}

// Leave leaves the channel: a Remove of ourselves, committed by a member.
func (n *Node) Leave(ctx context.Context, channel string) error {
	c, err := n.resolve(ctx, channel)
	if err != nil {
		return err
	}
	return c.do(ctx, func(s *chanState) error {
		if s.group == nil {
			return ErrMLSUnavailable
		}
		return fmt.Errorf("%w: leave", ErrMLSUnavailable)
	})
}

// findMember resolves a peer ID, unique prefix or unique display name.
func (s *chanState) findMember(ref string) (string, error) {
	var byID, byName []string
	for _, m := range s.crdt.Members() {
		if m.ID == ref {
			return m.ID, nil
		}
		if strings.HasPrefix(m.ID, ref) {
			byID = append(byID, m.ID)
		}
		if s.name(m.ID) == ref {
			byName = append(byName, m.ID)
		}
	}
	for _, set := range [][]string{byName, byID} {
		switch len(set) {
		case 0:
		case 1:
			return set[0], nil
		default:
			return "", fmt.Errorf("%w: %q matches %d members", ErrAmbiguous, ref, len(set))
		}
	}
	return "", fmt.Errorf("%w: %q", ErrNoMember, ref)
}

// receiveEvent applies the CRDT event of an application message, authored
// by the MLS sender, and stores it with the log entry b already holds.
func (s *chanState) receiveEvent(ctx context.Context, b *store.Batch, res processed) error {
	e, err := crdt.UnmarshalPayload(res.Sender, res.Application)
	if err != nil {
		return fmt.Errorf("%w: event: %v", ErrProtocol, err)
	}
	bin, err := e.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: event: %v", ErrProtocol, err)
	}
	b.PutEvent(store.ChannelID(s.id), store.Event{Seq: s.lastEventSeq + 1, Data: bin})
	if err := s.n.db.Apply(ctx, b); err != nil {
		return fmt.Errorf("node: store: %w", err)
	}
	s.lastSeq++
	_ = s.clock.Observe(e.Time, s.n.nowMs()) // a far-future time is applied but not followed
	s.commitApplied(e, nil)
	s.maybeSnapshot(ctx)
	return nil
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
