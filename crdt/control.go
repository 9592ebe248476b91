package crdt

import (
	"fmt"
	"sort"
)

// controlState is derived from the control events applied in total order:
// who is a member with which role (now, and at every point of the order),
// the channel's name and topic, and the invites.
type controlState struct {
	created bool
	creator string
	name    string
	topic   string
	members map[string]*member
	spans   map[string][]span   // role changes per member, in total order
	cuts    map[string][]*Event // departures with a cut, per member, in total order
	caps    map[string][]*Event // demotions with a cut, per member, in total order (capped)
	epochs  map[string]uint64   // last membership epoch applied per member
	invites map[InviteHash]*invite
	uses    map[InviteHash]int // joins that name each invite
	// admitted holds the members whose first membership event (lowest MLS
	// epoch) is a Joined: an MLS commit added them, so they did not create
	// the group, and a Create they author is void.
	admitted map[string]bool
	// demoted collects, in total order, the demotions with a cut that took
	// effect here; State.controls takes its caps from those of a first pass
	// without caps.
	demoted []*Event
}

// member is a current member.
type member struct {
	role   Role
	joined *Event // the Create or Joined event that admitted them
	epoch  uint64
}

// span says that from event at on (in total order), the member had role.
type span struct {
	at   *Event
	role Role
}

// invite is a recorded invite.
type invite struct {
	created *Event
	revoked bool
}

func newControlState(admitted map[string]bool, cuts, caps map[string][]*Event) *controlState {
	return &controlState{
		admitted: admitted,
		cuts:     cuts,
		caps:     caps,
		members:  make(map[string]*member),
		spans:    make(map[string][]span),
		epochs:   make(map[string]uint64),
		invites:  make(map[InviteHash]*invite),
		uses:     make(map[InviteHash]int),
	}
}

// apply applies the next control event in total order. Membership events
// mirror MLS commits and always take effect (unless stale by epoch); the
// others take effect only if permit allows them at their place in the order.
func (c *controlState) apply(e *Event) {
	switch e.Kind {
	case KindJoined:
		c.join(e)
	case KindLeft, KindRemoved:
		c.leave(e)
	default:
		if c.permit(e) == nil {
			c.act(e)
		}
	}
}

// act applies a permitted non-membership control event.
func (c *controlState) act(e *Event) {
	switch e.Kind {
	case KindCreate:
		c.created, c.creator, c.name = true, e.ID.Author, e.Text
		c.epochs[e.ID.Author] = 0
		c.admit(e.ID.Author, e, RoleOwner)
	case KindRename:
		c.name = e.Text
	case KindTopic:
		c.topic = e.Text
	case KindSetRole:
		if !e.Target.IsZero() && e.Role < c.members[e.Member].role {
			c.demoted = append(c.demoted, e)
		}
		c.setRole(e.Member, e, e.Role)
	case KindInviteCreate:
		c.invites[e.Invite] = &invite{created: e}
	case KindInviteRevoke:
		c.invites[e.Invite].revoked = true
	}
}

// permit reports whether e, placed after every event applied so far, may
// take effect: nil, or an error wrapping ErrForbidden. The rules are listed
// in docs/crdt.md, "Permissions".
func (c *controlState) permit(e *Event) error {
	actor := c.role(e.ID.Author)
	if c.cutOff(e) {
		actor = RoleNone
	}
	actor = c.capped(e, actor)
	switch e.Kind {
	case KindCreate:
		if c.created {
			return forbid("channel already created")
		}
		if c.admitted[e.ID.Author] {
			return forbid("%s was added by a commit, so did not create the channel", e.ID.Author)
		}
		return nil
	case KindRename, KindTopic, KindInviteCreate:
		return c.permitAdmin(e, actor)
	case KindInviteRevoke:
		return c.permitRevoke(e, actor)
	case KindSetRole:
		return c.permitSetRole(e, actor)
	case KindJoined:
		return c.permitJoin(e, actor)
	case KindLeft:
		return c.permitLeave(e)
	case KindRemoved:
		return c.permitRemove(e, actor)
	}
	return c.permitContent(actor) // content kinds and Profile: members
}

func forbid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrForbidden}, args...)...)
}

// permitAdmin covers the admin actions: rename, topic, invite.
func (c *controlState) permitAdmin(e *Event, actor Role) error {
	if actor < RoleAdmin {
		return forbid("%s needs admin, has %s", e.Kind, actor)
	}
	if e.Kind == KindInviteCreate && c.invites[e.Invite] != nil {
		return forbid("invite already recorded")
	}
	return nil
}

func (c *controlState) permitRevoke(e *Event, actor Role) error {
	inv := c.invites[e.Invite]
	if inv == nil {
		return fmt.Errorf("%w: revoke", ErrInviteUnknown)
	}
	if actor < RoleAdmin && (actor == RoleNone || inv.created.ID.Author != e.ID.Author) {
		return forbid("revoke needs admin or the invite's creator")
	}
	return nil
}

// permitSetRole: only owners change roles, of members; the last owner may
// not step down.
func (c *controlState) permitSetRole(e *Event, actor Role) error {
	if actor < RoleOwner {
		return forbid("set-role needs owner, has %s", actor)
	}
	if c.members[e.Member] == nil {
		return forbid("%s is not a member", e.Member)
	}
	if e.Member == e.ID.Author && e.Role < RoleOwner && c.owners() == 1 {
		return forbid("the last owner cannot step down")
	}
	return nil
}

// permitJoin is the node's admission gate (Check): a member may admit the
// holder of a valid invite; admins and owners may admit without one.
func (c *controlState) permitJoin(e *Event, actor Role) error {
	if actor == RoleNone {
		return forbid("only members admit")
	}
	if c.members[e.Member] != nil {
		return forbid("%s is already a member", e.Member)
	}
	if e.Invite.IsZero() {
		if actor < RoleAdmin {
			return forbid("admitting without an invite needs admin")
		}
		return nil
	}
	_, err := c.inviteStatus(e.Invite, e.Time.Wall)
	return err
}

func (c *controlState) permitLeave(e *Event) error {
	if c.members[e.Member] == nil {
		return forbid("%s is not a member", e.Member)
	}
	return nil
}

// permitRemove: owners remove anyone else; admins remove plain members.
func (c *controlState) permitRemove(e *Event, actor Role) error {
	target := c.role(e.Member)
	switch {
	case target == RoleNone:
		return forbid("%s is not a member", e.Member)
	case e.Member == e.ID.Author:
		return forbid("members leave rather than remove themselves")
	case actor == RoleOwner, actor == RoleAdmin && target == RoleMember:
		return nil
	}
	return forbid("%s may not remove a %s", actor, target)
}

func (c *controlState) permitContent(actor Role) error {
	if actor == RoleNone {
		return forbid("not a member")
	}
	return nil
}

// join applies a Joined event: the subject becomes a member.
func (c *controlState) join(e *Event) {
	if c.stale(e) {
		return
	}
	if !e.Invite.IsZero() {
		c.uses[e.Invite]++
	}
	if c.members[e.Member] == nil {
		c.admit(e.Member, e, RoleMember)
	}
}

// leave applies a Left or Removed event; if it takes the last owner, the
// senior remaining member (highest role, then earliest join) becomes owner.
func (c *controlState) leave(e *Event) {
	if c.stale(e) || c.members[e.Member] == nil {
		return
	}
	wasOwner := c.members[e.Member].role == RoleOwner
	delete(c.members, e.Member)
	c.spans[e.Member] = append(c.spans[e.Member], span{at: e, role: RoleNone})
	if wasOwner && c.owners() == 0 {
		if heir := c.senior(); heir != "" {
			c.setRole(heir, e, RoleOwner)
		}
	}
}

// stale reports whether a membership event is older, by MLS epoch, than one
// already applied for the same member, and records its epoch otherwise.
func (c *controlState) stale(e *Event) bool {
	if last, ok := c.epochs[e.Member]; ok && e.Epoch < last {
		return true
	}
	c.epochs[e.Member] = e.Epoch
	return false
}

func (c *controlState) admit(m string, e *Event, r Role) {
	c.members[m] = &member{role: r, joined: e, epoch: e.Epoch}
	c.spans[m] = append(c.spans[m], span{at: e, role: r})
}

func (c *controlState) setRole(m string, e *Event, r Role) {
	c.members[m].role = r
	c.spans[m] = append(c.spans[m], span{at: e, role: r})
}

func (c *controlState) owners() int {
	n := 0
	for _, m := range c.members {
		if m.role == RoleOwner {
			n++
		}
	}
	return n
}

// senior returns the member with the highest role, then earliest join.
func (c *controlState) senior() string {
	var best string
	var bm *member
	for id, m := range c.members {
		if bm == nil || m.role > bm.role || (m.role == bm.role && before(m.joined, bm.joined)) {
			best, bm = id, m
		}
	}
	return best
}

// role returns m's current role (after every event applied so far).
func (c *controlState) role(m string) Role {
	if mm := c.members[m]; mm != nil {
		return mm.role
	}
	return RoleNone
}

// roleAt returns m's role just before e in the total order; none for an
// event m authored that a departure of m cuts off (cutOff), and at most
// the new role for one that a demotion of m caps (capped).
func (c *controlState) roleAt(m string, e *Event) Role {
	sp := c.spans[m]
	i := sort.Search(len(sp), func(i int) bool { return !before(sp[i].at, e) })
	if i == 0 || e.ID.Author == m && c.cutOff(e) {
		return RoleNone
	}
	if e.ID.Author == m {
		return c.capped(e, sp[i-1].role)
	}
	return sp[i-1].role
}

// capped returns r, lowered to the new role of every demotion of e's
// author that caps e: one placed after e whose cut is at or below e's
// counter. Such an event was made after the demotion and dated before it:
// it counts as its author's new role allows, at every replica alike
// (docs/crdt.md, "Cut").
func (c *controlState) capped(e *Event, r Role) Role {
	for _, d := range c.caps[e.ID.Author] {
		if before(e, d) && e.ID.Seq >= d.Target.Seq && d.Role < r {
			r = d.Role
		}
	}
	return r
}

// demotionCaps groups demotions (in total order) by their subject.
func demotionCaps(demoted []*Event) map[string][]*Event {
	caps := make(map[string][]*Event)
	for _, e := range demoted {
		caps[e.Member] = append(caps[e.Member], e)
	}
	return caps
}

// cutOff reports whether a departure of e's author placed after e cuts e
// off: e's counter is at or past the departure's cut, the first counter of
// the author its committer did not hold. Such an event was made after the
// removal and dated before it (hybrid clocks are the author's to set): it
// counts for nothing, at every replica alike (docs/crdt.md, "Cut").
func (c *controlState) cutOff(e *Event) bool {
	for _, d := range c.cuts[e.ID.Author] {
		if before(e, d) && e.ID.Seq >= d.Target.Seq {
			return true
		}
	}
	return false
}

// departureCuts collects, per member, the departures in control (in total
// order) that carry a cut. Membership events mirror MLS commits the node
// processed (its checkMirror), so every one counts, stale or not.
func departureCuts(control []*Event) map[string][]*Event {
	cuts := make(map[string][]*Event)
	for _, e := range control {
		if isDeparture(e.Kind) && !e.Target.IsZero() {
			cuts[e.Member] = append(cuts[e.Member], e)
		}
	}
	return cuts
}

// admittedMembers computes controlState.admitted from the control events,
// which are in total order: per member, the membership event with the
// lowest epoch (then earliest) decides.
func admittedMembers(control []*Event) map[string]bool {
	first := make(map[string]*Event)
	for _, e := range control {
		if e.Kind != KindJoined && e.Kind != KindLeft && e.Kind != KindRemoved {
			continue
		}
		if f := first[e.Member]; f == nil || e.Epoch < f.Epoch {
			first[e.Member] = e
		}
	}
	admitted := make(map[string]bool)
	for m, e := range first {
		admitted[m] = e.Kind == KindJoined
	}
	return admitted
}

// voidAt reports whether e, placed anywhere in the order (not necessarily
// last), is certainly void because its author lacks the role its kind needs
// at e's place. It errs towards false: "not sure" makes the caller rebuild.
func (c *controlState) voidAt(e *Event) bool {
	r := c.roleAt(e.ID.Author, e)
	switch e.Kind {
	case KindCreate:
		return c.admitted[e.ID.Author]
	case KindRename, KindTopic, KindInviteCreate:
		return r < RoleAdmin
	case KindSetRole:
		return r < RoleOwner
	case KindInviteRevoke:
		return r == RoleNone
	}
	return false
}
