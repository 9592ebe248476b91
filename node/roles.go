package node

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/mls"
	"github.com/spacepanda/spacepanda/p2p"
)

// rolesExtension is the GroupContext extension that holds a channel's roles
// (docs/protocol.md, "Roles"). Its type is in the private-use range of RFC
// 9420 §17.3. Being in the GroupContext, it is changed only by commits, and
// every member reads the same roles at the same epoch.
const rolesExtension uint16 = 0xF5A0

// Format, version 1:
//
//	0x01 ‖ u16 count ‖ count × (u8 len ‖ peer ID text ‖ u8 role)
//
// sorted by peer ID, strictly increasing, roles admin (2) or owner (3):
// every member not listed is a plain member. The encoding is canonical, so
// that equal role sets have equal bytes.
const rolesVersion = 1

// maxRoles bounds the entries of the roles extension.
const maxRoles = 1024

// roleSet maps the peer IDs of role holders to their role.
type roleSet map[string]crdt.Role

func (r roleSet) of(peerID string) crdt.Role {
	if role, ok := r[peerID]; ok {
		return role
	}
	return crdt.RoleMember
}

func (r roleSet) owners() int {
	n := 0
	for _, role := range r {
		if role == crdt.RoleOwner {
			n++
		}
	}
	return n
}

func (r roleSet) encode() []byte {
	ids := slices.Sorted(maps.Keys(r))
	b := []byte{rolesVersion, byte(len(ids) >> 8), byte(len(ids))}
	for _, id := range ids {
		b = append(b, byte(len(id)))
		b = append(b, id...)
		b = append(b, byte(r[id]))
	}
	return b
}

var errRoles = errors.New("node: malformed roles extension")

func decodeRoles(b []byte) (roleSet, error) {
	if len(b) < 3 || b[0] != rolesVersion {
		return nil, errRoles
	}
	n := int(b[1])<<8 | int(b[2])
	if n > maxRoles {
		return nil, errRoles
	}
	b = b[3:]
	r := make(roleSet, n)
	prev := ""
	for range n {
		if len(b) < 1 || len(b) < 2+int(b[0]) {
			return nil, errRoles
		}
		id, role := string(b[1:1+int(b[0])]), crdt.Role(b[1+int(b[0])])
		if id == "" || (prev != "" && id <= prev) || (role != crdt.RoleAdmin && role != crdt.RoleOwner) {
			return nil, errRoles
		}
		r[id], prev, b = role, id, b[2+int(b[0]):]
	}
	if len(b) != 0 {
		return nil, errRoles
	}
	return r, nil
}

// rolesIn returns the roles of a group context's extensions; a group
// without the extension has no role holders.
func rolesIn(es []mls.Extension) (roleSet, error) {
	for _, e := range es {
		if e.Type == rolesExtension {
			return decodeRoles(e.Data)
		}
	}
	return roleSet{}, nil
}

// withRoles returns es with the roles extension replaced by r.
func withRoles(es []mls.Extension, r roleSet) []mls.Extension {
	out := make([]mls.Extension, 0, len(es)+1)
	for _, e := range es {
		if e.Type != rolesExtension {
			out = append(out, e)
		}
	}
	return append(out, mls.Extension{Type: rolesExtension, Data: r.encode()})
}

func identityOf(g *mls.Group, i mls.LeafIndex) (string, bool) {
	m, ok := g.Member(i)
	return string(m.Credential.Identity), ok
}

// errUnauthorized: a commit the roles of its epoch do not allow.
var errUnauthorized = fmt.Errorf("%w: unauthorized commit", ErrForbidden)

func unauthorized(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUnauthorized}, args...)...)
}

// commitPolicy is every member's check of every commit (mls.CommitPolicy),
// evaluated on the group of the commit's epoch; see docs/protocol.md,
// "Authorization". It depends on the commit and the group state only, so
// every member reaches the same verdict.
func commitPolicy(g *mls.Group, c *mls.CommitView) error {
	roles, err := rolesIn(g.Extensions())
	if err != nil {
		return err
	}
	if c.External {
		return checkResync(g, c)
	}
	committer, ok := identityOf(g, c.Committer)
	if !ok {
		return unauthorized("committer leaf %d is blank", c.Committer)
	}
	role := roles.of(committer)
	removed := map[string]bool{}
	next := roles
	for _, p := range c.Proposals {
		switch p.Type {
		case mls.ProposalUpdate:
		case mls.ProposalAdd:
			if role < crdt.RoleAdmin {
				return unauthorized("a %s may not add members", role)
			}
		case mls.ProposalRemove:
			target, err := checkRemove(g, roles, role, p)
			if err != nil {
				return err
			}
			removed[target] = true
		case mls.ProposalGroupContextExtensions:
			if next, err = checkExtensions(g.Extensions(), p.Extensions); err != nil {
				return err
			}
		default:
			return unauthorized("proposal type %d is not supported", p.Type)
		}
	}
	return checkRoles(g, roles, next, role, removed)
}

// checkRemove authorizes one Remove: a member's own leave, or a removal by
// a role holder of a member of a strictly lower role. It returns the
// removed member.
func checkRemove(g *mls.Group, roles roleSet, committerRole crdt.Role, p mls.ProposalView) (string, error) {
	target, ok := identityOf(g, p.Removed)
	if !ok {
		return "", unauthorized("remove of blank leaf %d", p.Removed)
	}
	if p.ByReference && p.SenderType == mls.SenderMember && p.Sender == p.Removed {
		return target, nil // a leave
	}
	authority := committerRole
	if p.ByReference {
		sender, ok := identityOf(g, p.Sender)
		if p.SenderType != mls.SenderMember || !ok {
			return "", unauthorized("a Remove from a non-member")
		}
		authority = roles.of(sender)
	}
	if authority < crdt.RoleAdmin || authority <= roles.of(target) {
		return "", unauthorized("a %s may not remove a %s", authority, roles.of(target))
	}
	return target, nil
}

// checkExtensions allows a GroupContextExtensions proposal to change the
// roles extension only, and returns the new roles.
func checkExtensions(old, next []mls.Extension) (roleSet, error) {
	other := func(es []mls.Extension) []mls.Extension {
		return slices.DeleteFunc(slices.Clone(es), func(e mls.Extension) bool { return e.Type == rolesExtension })
	}
	if !slices.EqualFunc(other(old), other(next), func(a, b mls.Extension) bool {
		return a.Type == b.Type && bytes.Equal(a.Data, b.Data)
	}) {
		return nil, unauthorized("only the roles extension may change")
	}
	r, err := rolesIn(next)
	if err != nil {
		return nil, unauthorized("%v", err)
	}
	return r, nil
}

// checkRoles checks the roles after the commit: only owners change them,
// except that any committer drops the roles of the members it removes; no
// removed member keeps a role; every role holder is a member; an owner
// remains.
func checkRoles(g *mls.Group, old, next roleSet, committerRole crdt.Role, removed map[string]bool) error {
	for id := range next {
		if removed[id] {
			return unauthorized("the commit removes %s but keeps its role", id)
		}
	}
	if maps.Equal(old, next) {
		return nil
	}
	if committerRole < crdt.RoleOwner {
		pruned := maps.Clone(old)
		maps.DeleteFunc(pruned, func(id string, _ crdt.Role) bool { return removed[id] })
		if !maps.Equal(pruned, next) {
			return unauthorized("a %s may not change roles", committerRole)
		}
	}
	if len(old) > 0 && next.owners() == 0 {
		return unauthorized("the last owner may not step down or leave")
	}
	for id := range next {
		if _, ok := old[id]; ok && !removed[id] {
			continue // a role holder of the epoch, not removed: a member
		}
		if !isMember(g, id) {
			return unauthorized("role for %s, who is not a member", id)
		}
	}
	return nil
}

// isMember reports whether peerID holds a leaf of g: the credential rule
// ties a leaf's peer ID to its signature key, so the key index finds it
// without scanning the tree.
func isMember(g *mls.Group, peerID string) bool {
	pub, err := p2p.PeerID(peerID).PublicKey()
	if err != nil {
		return false
	}
	i, ok := g.FindMember(pub)
	if !ok {
		return false
	}
	id, ok := identityOf(g, i)
	return ok && id == peerID
}

// checkResync allows an external commit only as a member re-syncing its
// own leaf: it removes one leaf, whose credential names the same peer as
// the new leaf (RFC 9420 §12.4.3.2), and holds nothing else.
func checkResync(g *mls.Group, c *mls.CommitView) error {
	var removed []mls.LeafIndex
	for _, p := range c.Proposals {
		switch p.Type {
		case mls.ProposalExternalInit:
		case mls.ProposalRemove:
			removed = append(removed, p.Removed)
		default:
			return unauthorized("proposal type %d in an external commit", p.Type)
		}
	}
	if len(removed) != 1 || c.NewLeaf == nil {
		return unauthorized("an external commit other than a member's resync")
	}
	old, ok := identityOf(g, removed[0])
	if !ok || old != string(c.NewLeaf.Identity) {
		return unauthorized("an external commit replaces another member's leaf")
	}
	return nil
}

// parseRole reads a role name for SetRole.
func parseRole(s string) (crdt.Role, error) {
	switch strings.ToLower(s) {
	case "owner":
		return crdt.RoleOwner, nil
	case "admin":
		return crdt.RoleAdmin, nil
	case "member":
		return crdt.RoleMember, nil
	}
	return 0, invalidf("role %q: want owner, admin or member", s)
}
