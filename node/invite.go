package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/crdt"
	"github.com/spacepanda/spacepanda/p2p"
)

// Invite code format, version 2 (docs/protocol.md, "Invite code"):
//
//	"sp2" base64url-nopad( secret ‖ token )
//	token = body ‖ signature
//	body  = 0x02 version
//	        ‖ u8 len ‖ channel ID (raw group ID bytes)
//	        ‖ invite public key (32 bytes, Ed25519, derived from the secret)
//	        ‖ u8 len ‖ inviter peer ID (text)
//	        ‖ u8 count ‖ count × (u16 len ‖ multiaddr text, without /p2p/)
//	        ‖ i64 expiry (Unix ms) ‖ u32 use limit (0: unlimited)
//	signature = Ed25519(inviter key, "spacepanda invite v2\x00" ‖ body)
//
// The token holds no secret: a joiner sends it, with a signature of its key
// package by the invite key, to whoever answers; only the holder of the
// secret can make that signature, and nobody learns the secret.
const (
	invitePrefix    = "sp2"
	inviteVersion   = 2
	inviteSecretLen = 32
	maxInviteCode   = 4096
	maxInviteAddrs  = 16
	maxAddrLen      = 512
	inviteSigLabel  = "spacepanda invite v2\x00"
	inviteKeyLabel  = "spacepanda invite key v1\x00"
	// DefaultInviteExpiry is an invite's lifetime when none is given.
	DefaultInviteExpiry = 7 * 24 * time.Hour
)

// invite is a decoded invite code (secret set) or token (secret nil).
type invite struct {
	channel []byte
	secret  []byte
	pub     ed25519.PublicKey // the invite key
	inviter string
	addrs   []string
	expires int64 // Unix ms
	uses    uint32
	sig     []byte // the inviter's signature of the body
}

// inviteKey derives the invite's Ed25519 key from its secret.
func inviteKey(secret []byte) ed25519.PrivateKey {
	seed := sha256.Sum256(append([]byte(inviteKeyLabel), secret...))
	return ed25519.NewKeyFromSeed(seed[:])
}

// newInvite returns an invite with a fresh random secret.
func newInvite(channel []byte, inviter string, addrs []string, expires int64, uses uint32) (invite, error) {
	secret := make([]byte, inviteSecretLen)
	if _, err := rand.Read(secret); err != nil {
		return invite{}, fmt.Errorf("node: invite secret: %w", err)
	}
	if len(addrs) > maxInviteAddrs {
		addrs = addrs[:maxInviteAddrs]
	}
	pub := inviteKey(secret).Public().(ed25519.PublicKey)
	return invite{channel: channel, secret: secret, pub: pub, inviter: inviter, addrs: addrs, expires: expires, uses: uses}, nil
}

// hash is what the channel records of the invite: the SHA-256 of its
// public key, which every member can compute from the token.
func (inv invite) hash() crdt.InviteHash { return crdt.HashInvite(inv.pub) }

func (inv invite) body() []byte {
	var b bytes.Buffer
	b.WriteByte(inviteVersion)
	b.WriteByte(byte(len(inv.channel)))
	b.Write(inv.channel)
	b.Write(inv.pub)
	b.WriteByte(byte(len(inv.inviter)))
	b.WriteString(inv.inviter)
	b.WriteByte(byte(len(inv.addrs)))
	for _, a := range inv.addrs {
		b.Write(binary.BigEndian.AppendUint16(nil, uint16(len(a))))
		b.WriteString(a)
	}
	b.Write(binary.BigEndian.AppendUint64(nil, uint64(inv.expires)))
	b.Write(binary.BigEndian.AppendUint32(nil, inv.uses))
	return b.Bytes()
}

// encode signs the invite with the inviter's key and returns the code.
func (inv invite) encode(key ed25519.PrivateKey) string {
	body := inv.body()
	sig := ed25519.Sign(key, append([]byte(inviteSigLabel), body...))
	raw := append(append(slices.Clone(inv.secret), body...), sig...)
	return invitePrefix + base64.RawURLEncoding.EncodeToString(raw)
}

// token returns the signed, secret-free part of a parsed code.
func (inv invite) token() []byte { return append(inv.body(), inv.sig...) }

// parseInvite decodes a code, checks its signature against the inviter's
// peer ID and that its secret matches its invite key. It returns an error
// wrapping ErrBadInvite for anything malformed or forged; it does not
// check the expiry.
func parseInvite(code string) (invite, error) {
	code = strings.TrimSpace(code)
	if len(code) > maxInviteCode || !strings.HasPrefix(code, invitePrefix) {
		if strings.HasPrefix(code, "sp1") {
			return invite{}, fmt.Errorf("%w: a code of an older version; ask for a new one", ErrBadInvite)
		}
		return invite{}, fmt.Errorf("%w: not a SpacePanda invite code", ErrBadInvite)
	}
	raw, err := base64.RawURLEncoding.DecodeString(code[len(invitePrefix):])
	if err != nil || len(raw) < inviteSecretLen {
		return invite{}, fmt.Errorf("%w: corrupted (copy the whole code)", ErrBadInvite)
	}
	inv, err := parseToken(raw[inviteSecretLen:])
	if err != nil {
		return invite{}, err
	}
	inv.secret = slices.Clone(raw[:inviteSecretLen])
	if !inviteKey(inv.secret).Public().(ed25519.PublicKey).Equal(inv.pub) {
		return invite{}, fmt.Errorf("%w: the secret does not match the invite key (altered)", ErrBadInvite)
	}
	return inv, nil
}

// parseToken decodes an invite token and checks the inviter's signature.
func parseToken(tok []byte) (invite, error) {
	if len(tok) < ed25519.SignatureSize+1 || len(tok) > maxInviteCode {
		return invite{}, fmt.Errorf("%w: corrupted (copy the whole code)", ErrBadInvite)
	}
	body, sig := tok[:len(tok)-ed25519.SignatureSize], tok[len(tok)-ed25519.SignatureSize:]
	inv, err := decodeInviteBody(body)
	if err != nil {
		return invite{}, fmt.Errorf("%w: %v", ErrBadInvite, err)
	}
	pub, err := p2p.PeerID(inv.inviter).PublicKey()
	if err != nil {
		return invite{}, fmt.Errorf("%w: inviter: %v", ErrBadInvite, err)
	}
	if !ed25519.Verify(pub, append([]byte(inviteSigLabel), body...), sig) {
		return invite{}, fmt.Errorf("%w: signature does not verify (forged or altered)", ErrBadInvite)
	}
	inv.sig = slices.Clone(sig)
	return inv, nil
}

// joinProofLabel prefixes what the invite key signs in a join request.
const joinProofLabel = "spacepanda join v2\x00"

// proveJoin signs a key package with the invite key: the proof that the
// requester holds the secret, bound to its key package so that nobody can
// reuse it for another.
func (inv invite) proveJoin(kp []byte) []byte {
	return ed25519.Sign(inviteKey(inv.secret), append([]byte(joinProofLabel), kp...))
}

// checkJoinProof verifies a proof made by proveJoin.
func (inv invite) checkJoinProof(kp, proof []byte) bool {
	return ed25519.Verify(inv.pub, append([]byte(joinProofLabel), kp...), proof)
}

// inviteReader reads the fields of an invite body, remembering the first
// error.
type inviteReader struct {
	b   []byte
	err error
}

func (r *inviteReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errors.New("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *inviteReader) u8() int {
	v := r.take(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func decodeInviteBody(body []byte) (invite, error) {
	r := &inviteReader{b: body}
	if v := r.u8(); r.err == nil && v != inviteVersion {
		return invite{}, fmt.Errorf("version %d not supported (this build reads %d)", v, inviteVersion)
	}
	var inv invite
	inv.channel = append([]byte(nil), r.take(r.u8())...)
	if k := r.take(ed25519.PublicKeySize); k != nil {
		inv.pub = ed25519.PublicKey(slices.Clone(k))
	}
	inv.inviter = string(r.take(r.u8()))
	count := r.u8()
	if count > maxInviteAddrs {
		return invite{}, fmt.Errorf("%d addresses (at most %d)", count, maxInviteAddrs)
	}
	for i := 0; i < count && r.err == nil; i++ {
		l := r.take(2)
		if l != nil {
			inv.addrs = append(inv.addrs, string(r.take(int(binary.BigEndian.Uint16(l)))))
		}
	}
	if e := r.take(8); e != nil {
		inv.expires = int64(binary.BigEndian.Uint64(e))
	}
	if u := r.take(4); u != nil {
		inv.uses = binary.BigEndian.Uint32(u)
	}
	switch {
	case r.err != nil:
		return invite{}, r.err
	case len(r.b) != 0:
		return invite{}, errors.New("trailing bytes")
	case len(inv.channel) == 0:
		return invite{}, errors.New("empty channel ID")
	}
	return inv, nil
}
