package mls

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

// ReInitParams returns the parameters of the committed ReInit that ended
// the group (§12.1.5): the new group ID and cipher suite, and ok false if
// no ReInit was committed.
func (g *Group) ReInitParams() (groupID []byte, suite CipherSuite, ok bool) {
	if g.reinit == nil {
		return nil, 0, false
	}
	return bytes.Clone(g.reinit.GroupID), CipherSuite(g.reinit.CipherSuite), true
}

// reinitPSK returns the resumption PSK (usage reinit) that binds the
// successor of a reinitialized group to it (§11.2): that of the epoch the
// ReInit commit started.
func (g *Group) reinitPSK() (*wire.PreSharedKeyID, []byte, error) {
	if g.reinit == nil {
		return nil, nil, fmt.Errorf("%w: no ReInit committed", ErrInvalidProposal)
	}
	r := g.resumption[len(g.resumption)-1]
	return &wire.PreSharedKeyID{PSKType: wire.PSKTypeResumption, Usage: wire.ResumptionPSKUsageReInit,
		PSKGroupID: g.gc.GroupID, PSKEpoch: r.epoch}, r.psk, nil
}

// NewReInitGroup creates the successor of a group ended by a committed
// ReInit (§11.2, §12.1.5): a group with the ReInit's group ID, cipher suite
// and extensions, created by id, whose first commit adds keyPackages (fresh
// key packages of the other members) and injects the old group's
// resumption PSK with usage reinit. It returns the new group (with the
// commit merged) and the commit output whose Welcome the members pass to
// JoinReInitGroup.
func (g *Group) NewReInitGroup(random io.Reader, id Identity, keyPackages []*KeyPackage, cfg Config, now time.Time) (*Group, *CommitOutput, error) {
	return g.NewReInitGroupWith(random, id, keyPackages, cfg, SuccessorOptions{Now: now})
}

// NewReInitGroupWith is NewReInitGroup with the options of the first
// commit (path, ratchet tree in the Welcome).
func (g *Group) NewReInitGroupWith(random io.Reader, id Identity, keyPackages []*KeyPackage, cfg Config, opts SuccessorOptions) (*Group, *CommitOutput, error) {
	pskID, psk, err := g.reinitPSK()
	if err != nil {
		return nil, nil, err
	}
	if id.CipherSuite != CipherSuite(g.reinit.CipherSuite) {
		return nil, nil, fmt.Errorf("%w: identity suite %d, ReInit suite %d", ErrUnsupported, id.CipherSuite, g.reinit.CipherSuite)
	}
	return successor(random, id, g.reinit.GroupID, extensionsFromWire(g.reinit.Extensions), pskID, psk, keyPackages, cfg, opts)
}

// linkedPSK is a resumption PSK of another group (the predecessor of a
// reinitialized group) usable in the first commit of its successor.
type linkedPSK struct {
	id  *wire.PreSharedKeyID
	psk []byte
}

// matches reports whether id names this PSK (nonce aside).
func (l *linkedPSK) matches(id *wire.PreSharedKeyID) bool {
	return l != nil && id.PSKType == wire.PSKTypeResumption && id.Usage == l.id.Usage &&
		bytes.Equal(id.PSKGroupID, l.id.PSKGroupID) && id.PSKEpoch == l.id.PSKEpoch
}

// JoinReInitGroup joins the successor of old, a group ended by a committed
// ReInit, from the Welcome NewReInitGroup produced (§11.2): the Welcome
// must carry old's reinit resumption PSK, which this member takes from
// old. Otherwise it is JoinGroup (now is likewise unused).
func JoinReInitGroup(welcomeMsg []byte, bundle *KeyPackageBundle, ratchetTree []byte, old *Group, cfg Config, now time.Time) (*Group, error) {
	id, psk, err := old.reinitPSK()
	if err != nil {
		return nil, err
	}
	g, err := joinLinked(welcomeMsg, bundle, ratchetTree, &linkedPSK{id: id, psk: psk}, cfg)
	if err != nil {
		return nil, err
	}
	r := old.reinit
	// §11.2: version, suite, group ID and extensions as the ReInit says,
	// and epoch 1.
	if !bytes.Equal(g.gc.GroupID, r.GroupID) || g.gc.CipherSuite != r.CipherSuite || g.gc.Version != r.Version ||
		g.gc.Epoch != 1 || !bytes.Equal(tls.MustMarshal(&g.gc.Extensions), tls.MustMarshal(&r.Extensions)) {
		return nil, fmt.Errorf("%w: the new group does not match the ReInit", ErrInvalidProposal)
	}
	return g, nil
}
