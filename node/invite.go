package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spacepanda/spacepanda/p2p"
)

// Invite code format, version 1 (docs/protocol.md, "Invite code"):
//
//	"sp1" base64url-nopad( body ‖ signature )
//	body = 0x01 version
//	       ‖ u8 len ‖ channel ID (raw group ID bytes)
//	       ‖ 32-byte secret
//	       ‖ u8 len ‖ inviter peer ID (text)
//	       ‖ u8 count ‖ count × (u16 len ‖ multiaddr text, without /p2p/)
//	       ‖ i64 expiry (Unix ms) ‖ u32 use limit (0: unlimited)
//	signature = Ed25519(inviter key, "spacepanda invite v1\x00" ‖ body)
const (
	invitePrefix    = "sp1"
	inviteVersion   = 1
	inviteSecretLen = 32
	maxInviteCode   = 4096
	maxInviteAddrs  = 16
	maxAddrLen      = 512
	inviteSigLabel  = "spacepanda invite v1\x00"
	// DefaultInviteExpiry is an invite's lifetime when none is given.
	DefaultInviteExpiry = 7 * 24 * time.Hour
)

// invite is a decoded invite code.
type invite struct {
	channel []byte
	secret  []byte
	inviter string
	addrs   []string
	expires int64 // Unix ms
	uses    uint32
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
	return invite{channel: channel, secret: secret, inviter: inviter, addrs: addrs, expires: expires, uses: uses}, nil
}

func (inv invite) body() []byte {
	var b bytes.Buffer
	b.WriteByte(inviteVersion)
	b.WriteByte(byte(len(inv.channel)))
	b.Write(inv.channel)
	b.Write(inv.secret)
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
	return invitePrefix + base64.RawURLEncoding.EncodeToString(append(body, sig...))
}

// parseInvite decodes a code and checks its signature against the inviter's
// peer ID. It returns an error wrapping ErrBadInvite for anything malformed
// or forged; it does not check the expiry.
func parseInvite(code string) (invite, error) {
	code = strings.TrimSpace(code)
	if len(code) > maxInviteCode || !strings.HasPrefix(code, invitePrefix) {
		return invite{}, fmt.Errorf("%w: not a SpacePanda invite code", ErrBadInvite)
	}
	raw, err := base64.RawURLEncoding.DecodeString(code[len(invitePrefix):])
	if err != nil || len(raw) < ed25519.SignatureSize+1 {
		return invite{}, fmt.Errorf("%w: corrupted (copy the whole code)", ErrBadInvite)
	}
	body, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
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
	return inv, nil
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
	inv.secret = append([]byte(nil), r.take(inviteSecretLen)...)
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
