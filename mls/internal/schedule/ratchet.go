package schedule

import (
	"errors"
	"fmt"
	"math"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
)

// Errors of the sender ratchets. They are wrapped with the leaf, ratchet and
// generation (never a secret); test with errors.Is.
var (
	// ErrConsumed: the generation's key was already used, or was skipped
	// and then dropped from the out-of-order window. A replayed or very
	// late message: the caller ignores it.
	ErrConsumed = errors.New("mls: generation consumed or outside the window")
	// ErrTooFarAhead: the generation is further ahead of the ratchet than
	// Window.MaxForward allows.
	ErrTooFarAhead = errors.New("mls: generation too far ahead")
	// ErrExhausted: the ratchet used its 2^32 generations.
	ErrExhausted = errors.New("mls: ratchet exhausted")
	// ErrLeaf: the leaf index is outside the tree.
	ErrLeaf = errors.New("mls: leaf index outside the tree")
	// ErrGap: OpenKeepSkipped refused a generation so far ahead that
	// opening it would delete keys of generations not received yet.
	ErrGap = errors.New("mls: generation gap beyond the skipped-key window")
)

// Window bounds the out-of-order tolerance of every ratchet of a SecretTree
// (RFC 9420 §9.2 lets members keep unconsumed keys "for some reasonable
// amount of time").
type Window struct {
	// MaxSkipped is the number of keys kept, per ratchet, for generations
	// skipped over; older skipped keys are deleted.
	MaxSkipped uint32
	// MaxForward is how far beyond the next expected generation a received
	// generation may be (each step costs one derivation).
	MaxForward uint32
}

// DefaultWindow keeps 32 skipped keys per ratchet and accepts generations up
// to 1024 ahead.
var DefaultWindow = Window{MaxSkipped: 32, MaxForward: 1024}

// RatchetType selects one of a leaf's two ratchets (RFC 9420 §9): handshake
// for proposals and commits, application for application data.
type RatchetType uint8

// The ratchet types.
const (
	Handshake RatchetType = iota
	Application
)

// String returns "handshake" or "application".
func (t RatchetType) String() string {
	if t == Handshake {
		return "handshake"
	}
	return "application"
}

// KeyNonce is an AEAD key and nonce of one generation (RFC 9420 §9.1).
type KeyNonce struct {
	Key, Nonce []byte
}

func (k KeyNonce) clear() {
	clear(k.Key)
	clear(k.Nonce)
}

// skippedKey is the key and nonce of a generation skipped over.
type skippedKey struct {
	gen uint32
	kn  KeyNonce
}

// ratchet is one sender ratchet (RFC 9420 §9.1): the secret of generation
// next, and the keys of skipped generations below next, sorted.
type ratchet struct {
	secret  []byte
	next    uint32
	done    bool // generation 2^32-1 consumed: nothing follows
	skipped []skippedKey
}

// keyNonce derives the key and nonce of the generation whose secret is
// secret (RFC 9420 §9.1).
func keyNonce(s *cipher.Suite, secret []byte, gen uint32) KeyNonce {
	key, _ := s.DeriveTreeSecret(secret, "key", gen, s.Nk())
	nonce, _ := s.DeriveTreeSecret(secret, "nonce", gen, s.Nn())
	return KeyNonce{Key: key, Nonce: nonce}
}

// step returns the secret of generation gen+1 from that of gen.
func step(s *cipher.Suite, secret []byte, gen uint32) []byte {
	out, _ := s.DeriveTreeSecret(secret, "secret", gen, s.Nh())
	return out
}

// advanced is a ratchet position computed but not yet stored.
type advanced struct {
	r       ratchet
	kn      KeyNonce
	dropped int // the oldest skipped keys of the old ratchet not kept
	fresh   int // the skipped keys derived by this step, last in r.skipped
}

// advance computes the ratchet after consuming generation gen >= r.next, and
// gen's key. Skipped generations keep their keys, the newest w.MaxSkipped of
// all. r is not modified: store the result with r.replace.
func (r *ratchet) advance(s *cipher.Suite, w Window, gen uint32) (advanced, error) {
	if r.done {
		return advanced{}, ErrExhausted
	}
	if gen-r.next > w.MaxForward {
		return advanced{}, ErrTooFarAhead
	}
	keepFrom := r.next
	if gen-r.next > w.MaxSkipped {
		keepFrom = gen - w.MaxSkipped
	}
	var a advanced
	a.r.skipped = append([]skippedKey(nil), r.skipped...)
	secret := r.secret
	for g := r.next; g < gen; g++ {
		if g >= keepFrom {
			a.r.skipped = append(a.r.skipped, skippedKey{g, keyNonce(s, secret, g)})
		}
		next := step(s, secret, g)
		if g != r.next {
			clear(secret)
		}
		secret = next
	}
	a.kn = keyNonce(s, secret, gen)
	if gen == math.MaxUint32 {
		a.r.done, a.r.next = true, gen
	} else {
		a.r.secret, a.r.next = step(s, secret, gen), gen+1
	}
	if gen != r.next {
		clear(secret)
	}
	// Drop the oldest beyond the bound; only old keys can be beyond it,
	// since at most MaxSkipped new ones were added.
	if extra := len(a.r.skipped) - int(w.MaxSkipped); extra > 0 {
		a.r.skipped = a.r.skipped[extra:]
		a.dropped = extra
	}
	a.fresh = int(gen - keepFrom)
	return a, nil
}

// lost returns how many keys of generations not received yet consuming
// gen would delete: the generations skipped beyond w.MaxSkipped, and the
// oldest skipped keys pushed out of the window.
func (r *ratchet) lost(w Window, gen uint32) uint32 {
	if gen < r.next || r.done {
		return 0
	}
	skip := gen - r.next
	kept := min(skip, w.MaxSkipped)
	lost := skip - kept
	if total := uint64(len(r.skipped)) + uint64(kept); total > uint64(w.MaxSkipped) {
		lost += uint32(total - uint64(w.MaxSkipped))
	}
	return lost
}

// replace stores a computed position, zeroing what it consumed: the old
// secret and the skipped keys it dropped.
func (r *ratchet) replace(a advanced) {
	clear(r.secret)
	for _, k := range r.skipped[:a.dropped] {
		k.kn.clear()
	}
	*r = a.r
}

// findSkipped returns the index of gen's skipped key, or -1.
func (r *ratchet) findSkipped(gen uint32) int {
	for i, k := range r.skipped {
		if k.gen == gen {
			return i
		}
	}
	return -1
}

// errorf wraps err with the position it concerns.
func errorf(leaf uint32, t RatchetType, gen uint32, err error) error {
	return fmt.Errorf("schedule: leaf %d %s generation %d: %w", leaf, t, gen, err)
}

// discard zeroes the secrets of a computed position that will not be stored:
// its new secret and the skipped keys it derived.
func (a advanced) discard() {
	clear(a.r.secret)
	for _, k := range a.r.skipped[len(a.r.skipped)-a.fresh:] {
		k.kn.clear()
	}
}
