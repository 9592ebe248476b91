package node

import (
	"context"
	"time"
)

// API is what the command line asks of a node. *Node implements it in
// process; *Client implements it through a daemon's control socket. Both
// return the same errors (the sentinels of this package).
type API interface {
	Status(ctx context.Context) (Status, error)
	Peers(ctx context.Context) ([]PeerInfo, error)
	CreateChannel(ctx context.Context, name string) (ChannelInfo, error)
	Channels(ctx context.Context) ([]ChannelInfo, error)
	Members(ctx context.Context, channel string) ([]MemberInfo, error)
	RemoveMember(ctx context.Context, channel, member string) error
	// SetRole commits a member's role: "owner", "admin" or "member"
	// (owners only; the last owner cannot step down).
	SetRole(ctx context.Context, channel, member, role string) error
	Leave(ctx context.Context, channel string) error
	// UpdateKeys commits fresh keys for this member's leaf (an MLS
	// self-update): forward secrecy and post-compromise security.
	UpdateKeys(ctx context.Context, channel string) error
	// Forget deletes the local copy of a channel this node left, was
	// removed from, or cannot restore.
	Forget(ctx context.Context, channel string) (ChannelInfo, error)
	Rename(ctx context.Context, channel, name string) (SendResult, error)
	Invite(ctx context.Context, channel string, opts InviteOptions) (string, error)
	// RevokeInvite revokes an invite code of the channel (owners and admins).
	RevokeInvite(ctx context.Context, channel, code string) error
	Join(ctx context.Context, code string) (ChannelInfo, error)
	Send(ctx context.Context, channel, text string) (SendResult, error)
	Messages(ctx context.Context, channel string, limit int) ([]Message, error)
	// Follow calls fn with the latest limit messages of the channel (all
	// when limit <= 0), then with each message posted, edited, deleted or
	// reacted to, until ctx ends or fn fails. Nothing falls between the two.
	Follow(ctx context.Context, channel string, limit int, fn func(Message) error) error
	// Edit, Delete and React, like Send and Rename, say whether a member
	// has taken the change or it waits in the outbox.
	Edit(ctx context.Context, channel, message, text string) (SendResult, error)
	Delete(ctx context.Context, channel, message string) (SendResult, error)
	React(ctx context.Context, channel, message, emoji string) (SendResult, error)
	// Reply posts text as a reply to a message of the channel.
	Reply(ctx context.Context, channel, message, text string) (SendResult, error)
	// History returns up to limit messages just before the cursor before
	// (the latest when ""), oldest first, and the cursor of the page before
	// them ("" at the start of the channel). Cost is per page.
	History(ctx context.Context, channel, before string, limit int) (Page, error)
	// SetName changes this node's display name, stored and announced in
	// every channel it is a member of.
	SetName(ctx context.Context, name string) error
	// MarkRead records that the user read the channel up to message (a
	// full message ID): stored (unread counts), and with share sent to
	// the members as a read receipt.
	MarkRead(ctx context.Context, channel, message string, share bool) error
	// Events calls fn with the node's events (events.go) from the cursor on
	// until ctx ends or fn fails; over the control socket it reconnects.
	Events(ctx context.Context, from EventCursor, fn func(Event) error) error
	// Close releases the node or the connection; it is idempotent.
	Close() error
}

// Status describes the node.
type Status struct {
	PeerID   string        `json:"peer_id"`
	Name     string        `json:"name"`
	Addrs    []string      `json:"addrs"`
	Peers    []string      `json:"peers"`
	Channels []ChannelInfo `json:"channels"`
	Online   bool          `json:"online"`
	// Daemon is true when a daemon runs the node.
	Daemon bool `json:"daemon"`
	// Process, PID and Started describe the process running the node
	// (a daemon, or a command such as `messages --follow`); Started is
	// zero for a node opened by the asking command itself.
	Process string    `json:"process,omitempty"`
	PID     int       `json:"pid,omitempty"`
	Started time.Time `json:"started,omitzero"`
	// Named are the connected peers with the display names the node knows.
	Named []PeerInfo `json:"named_peers"`
}

// PeerInfo is a connected peer.
type PeerInfo struct {
	ID string `json:"id"`
	// Name is the display name the peer announced in a shared channel,
	// empty when none is known.
	Name  string   `json:"name,omitempty"`
	Addrs []string `json:"addrs"`
	// Via are the peer's addresses on the live connections; one with
	// /p2p-circuit runs through a relay.
	Via []string `json:"via"`
	// Relayed is true when every live connection runs through a relay.
	Relayed bool `json:"relayed"`
}

// ChannelInfo summarises a channel.
type ChannelInfo struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Members int    `json:"members"`
	// Epoch is the channel's MLS epoch: it grows with every commit (join,
	// removal, leave).
	Epoch uint64 `json:"epoch"`
	// State is member, removed, left or damaged (StateMember...).
	State string `json:"state"`
	// Reason says why a damaged channel cannot be restored.
	Reason string `json:"reason,omitempty"`
	// Unread counts the others' posts after the stored read position
	// (MarkRead), up to 1000.
	Unread int `json:"unread,omitempty"`
}

// MemberInfo is a member of a channel.
type MemberInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// MaxInviteUses bounds InviteOptions.Uses.
const MaxInviteUses = 1 << 20

// InviteOptions bound an invite: zero Expires means the default (7 days),
// zero Uses means one use.
type InviteOptions struct {
	Expires time.Duration `json:"expires"`
	Uses    int           `json:"uses"`
}

// SendResult says what became of a sent message (or edit, deletion,
// reaction, rename).
type SendResult struct {
	// ID is the message's ID (for an edit, deletion or reaction, the ID of
	// the message it concerns; empty for a rename).
	ID string `json:"id"`
	// Queued is true when the message is stored but no member has taken it
	// yet; it stays in the outbox and is delivered later.
	Queued bool   `json:"queued"`
	Reason string `json:"reason,omitempty"`
}

// Message is a post as readers see it. Follow also streams what happened:
// Type is post, edit, delete or react for a message, and join, leave or
// removed for a member (then only Author, AuthorName and Time are set).
type Message struct {
	Type       string     `json:"type,omitempty"`
	ID         string     `json:"id"`
	Author     string     `json:"author"`
	AuthorName string     `json:"author_name"`
	Text       string     `json:"text"`
	Time       time.Time  `json:"time"`
	ReplyTo    string     `json:"reply_to,omitempty"`
	Edited     bool       `json:"edited,omitempty"`
	Deleted    bool       `json:"deleted,omitempty"`
	Reactions  []Reaction `json:"reactions,omitempty"`
	// SeenBy are the members whose read receipt covers this post; only
	// for our own posts.
	SeenBy []string `json:"seen_by,omitempty"`
	// Delivery is, for our own posts only, where the post is: queued (in
	// the outbox: no member has taken it yet), sent (a member took it, or
	// nobody else is in the channel) or seen (a member's read receipt
	// covers it, or a member reacted to it). It is derived from the
	// outbox and the channel state, so it survives restarts
	// (docs/protocol.md, "Delivery state").
	Delivery string `json:"delivery,omitempty"`
}

// Page is a page of a channel's history (API.History).
type Page struct {
	Messages []Message `json:"messages"`
	// Before is the cursor of the page before this one; "" when this page
	// starts the channel.
	Before string `json:"before,omitempty"`
	// Events are the system lines of the page's stretch of the timeline
	// (from its first message to the next page's), in order: member and
	// channel events as the event stream has them (joined, left, removed,
	// role, profile with OldName; renamed), at most 1000, the latest.
	Events []Event `json:"events,omitempty"`
}

// Reaction is one emoji on a message and who reacted with it.
type Reaction struct {
	Emoji   string   `json:"emoji"`
	Authors []string `json:"authors"`
}
