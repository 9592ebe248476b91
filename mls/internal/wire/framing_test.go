package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func testContent(s Sender, ct ContentType) FramedContent {
	c := FramedContent{GroupID: []byte("g"), Epoch: 5, Sender: s, AuthenticatedData: []byte{1}, ContentType: ct}
	switch ct {
	case ContentTypeApplication:
		c.ApplicationData = []byte("hi")
	case ContentTypeProposal:
		c.Proposal = &Proposal{ProposalType: ProposalTypeRemove, Remove: &Remove{Removed: 1}}
	case ContentTypeCommit:
		c.Commit = &Commit{}
	}
	return c
}

// TestPublicMessageLayout checks the selects of §6.2: the confirmation tag
// only for commits, the membership tag only for members.
func TestPublicMessageLayout(t *testing.T) {
	senders := []Sender{
		{SenderType: SenderTypeMember, LeafIndex: 3},
		{SenderType: SenderTypeExternal, SenderIndex: 1},
		{SenderType: SenderTypeNewMemberProposal},
		{SenderType: SenderTypeNewMemberCommit},
	}
	for _, s := range senders {
		for _, ct := range []ContentType{ContentTypeApplication, ContentTypeProposal, ContentTypeCommit} {
			m := PublicMessage{Content: testContent(s, ct), Auth: FramedContentAuthData{Signature: []byte{7}, ConfirmationTag: []byte{8}}, MembershipTag: []byte{9}}
			var got PublicMessage
			b := roundTrip(t, &m, &got)
			content := tls.MustMarshal(&m.Content)
			want := append(content, 1, 7)
			if ct == ContentTypeCommit {
				want = append(want, 1, 8)
			}
			if s.SenderType == SenderTypeMember {
				want = append(want, 1, 9)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("sender %d content %d: %x, want %x", s.SenderType, ct, b, want)
			}
			if got.Content.Sender != s {
				t.Errorf("sender %+v decoded as %+v", s, got.Content.Sender)
			}
		}
	}
}

func TestFramedContentErrors(t *testing.T) {
	c := testContent(Sender{SenderType: SenderTypeMember}, ContentTypeApplication)
	b := tls.MustMarshal(&c)
	b[1+1+8] = 5 // sender_type
	wantMalformed(t, Unmarshal(b, new(FramedContent)), tls.ErrInvalidValue)
	b = tls.MustMarshal(&c)
	b[1+1+8+5+2] = 0 // content_type
	wantMalformed(t, Unmarshal(b, new(FramedContent)), tls.ErrInvalidValue)
}

// TestFramedContentTBS checks that the group context is covered for member
// and new_member_commit senders only (§6.1).
func TestFramedContentTBS(t *testing.T) {
	gc := GroupContext{Version: MLS10, CipherSuite: 1, GroupID: []byte("g"), Epoch: 5}
	for _, st := range []SenderType{SenderTypeMember, SenderTypeExternal, SenderTypeNewMemberProposal, SenderTypeNewMemberCommit} {
		c := testContent(Sender{SenderType: st}, ContentTypeProposal)
		tbs := tls.MustMarshal(&FramedContentTBS{Version: MLS10, WireFormat: WireFormatPublicMessage, Content: &c, Context: &gc})
		want := append([]byte{0, 1, 0, 1}, tls.MustMarshal(&c)...)
		if st == SenderTypeMember || st == SenderTypeNewMemberCommit {
			want = append(want, tls.MustMarshal(&gc)...)
		}
		if !bytes.Equal(tbs, want) {
			t.Errorf("sender %d: TBS %x, want %x", st, tbs, want)
		}
	}
	c := testContent(Sender{SenderType: SenderTypeMember}, ContentTypeProposal)
	if _, err := Marshal(&FramedContentTBS{Content: &c}); !errors.Is(err, ErrNoBody) {
		t.Fatalf("member TBS without context: err = %v", err)
	}
}

func TestAuthenticatedContent(t *testing.T) {
	ac := AuthenticatedContent{WireFormat: WireFormatPrivateMessage, Content: testContent(Sender{SenderType: SenderTypeMember}, ContentTypeCommit),
		Auth: FramedContentAuthData{Signature: []byte{1}, ConfirmationTag: []byte{2}}}
	var got AuthenticatedContent
	b := roundTrip(t, &ac, &got)
	if !bytes.Equal(got.Auth.ConfirmationTag, []byte{2}) {
		t.Fatalf("confirmation tag %x", got.Auth.ConfirmationTag)
	}
	tbm := tls.MustMarshal(&AuthenticatedContentTBM{ContentTBS: FramedContentTBS{Version: MLS10, WireFormat: 2, Content: &ac.Content, Context: &GroupContext{}}, Auth: &ac.Auth})
	if !bytes.HasSuffix(tbm, []byte{1, 1, 1, 2}) || !bytes.Contains(tbm, b[2:len(b)-4]) {
		t.Fatalf("TBM %x does not hold the content and auth of %x", tbm, b)
	}
	in := ConfirmedTranscriptHashInput{WireFormat: ac.WireFormat, Content: &ac.Content, Signature: ac.Auth.Signature}
	if got := tls.MustMarshal(&in); !bytes.Equal(got, b[:len(b)-2]) {
		t.Fatalf("ConfirmedTranscriptHashInput %x is not AuthenticatedContent %x without the tag", got, b)
	}
	if got := tls.MustMarshal(&InterimTranscriptHashInput{ConfirmationTag: []byte{2}}); !bytes.Equal(got, []byte{1, 2}) {
		t.Fatalf("InterimTranscriptHashInput %x", got)
	}
}
