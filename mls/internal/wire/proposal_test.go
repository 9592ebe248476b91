package wire

import (
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestProposalVariants(t *testing.T) {
	leaf := testLeaf(LeafNodeSourceUpdate)
	kp := KeyPackage{Version: MLS10, CipherSuite: 2, LeafNode: testLeaf(LeafNodeSourceKeyPackage)}
	props := []Proposal{
		{ProposalType: ProposalTypeAdd, Add: &Add{KeyPackage: kp}},
		{ProposalType: ProposalTypeUpdate, Update: &Update{LeafNode: leaf}},
		{ProposalType: ProposalTypeRemove, Remove: &Remove{Removed: 3}},
		{ProposalType: ProposalTypePSK, PreSharedKey: &PreSharedKey{PSK: PreSharedKeyID{PSKType: PSKTypeExternal, PSKID: []byte{1}, PSKNonce: []byte{2}}}},
		{ProposalType: ProposalTypePSK, PreSharedKey: &PreSharedKey{PSK: PreSharedKeyID{PSKType: PSKTypeResumption, Usage: ResumptionPSKUsageBranch, PSKGroupID: []byte{1}, PSKEpoch: 9}}},
		{ProposalType: ProposalTypeReInit, ReInit: &ReInit{GroupID: []byte{1}, Version: MLS10, CipherSuite: 7}},
		{ProposalType: ProposalTypeExternalInit, ExternalInit: &ExternalInit{KEMOutput: []byte{1}}},
		{ProposalType: ProposalTypeGroupContextExtensions, GroupContextExtensions: &GroupContextExtensions{}},
	}
	for _, p := range props {
		var got Proposal
		roundTrip(t, &p, &got)
		if got.ProposalType != p.ProposalType || got.body() == nil {
			t.Errorf("type %d decoded as %+v", p.ProposalType, got)
		}
	}
}

func TestProposalErrors(t *testing.T) {
	// A GREASE proposal type cannot be parsed (§13.5): unsupported.
	wantUnsupported(t, Unmarshal([]byte{0x0a, 0x0a, 0}, new(Proposal)), "proposal_type", 0x0a0a, 0)
	// Inside a Commit the offset is absolute.
	commit := []byte{4, 1, 0xf0, 0x00, 0, 0}
	wantUnsupported(t, Unmarshal(commit, new(Commit)), "proposal_type", 0xf000, 2)
	wantMalformed(t, Unmarshal([]byte{3, 0}, new(PreSharedKeyID)), tls.ErrInvalidValue)
	wantMalformed(t, Unmarshal([]byte{0, 0}, new(ProposalOrRef)), tls.ErrInvalidValue)
	if _, err := Marshal(&Proposal{ProposalType: ProposalTypeRemove}); !errors.Is(err, ErrNoBody) {
		t.Fatalf("proposal without body: err = %v", err)
	}
}

func TestCommit(t *testing.T) {
	c := Commit{
		Proposals: []ProposalOrRef{
			{Type: ProposalOrRefTypeReference, Reference: []byte{1, 2}},
			{Type: ProposalOrRefTypeProposal, Proposal: &Proposal{ProposalType: ProposalTypeRemove, Remove: &Remove{Removed: 1}}},
		},
	}
	var got Commit
	b := roundTrip(t, &c, &got)
	if b[len(b)-1] != 0 || got.Path != nil {
		t.Fatalf("absent path: %x, %+v", b, got.Path)
	}
	c.Path = &UpdatePath{LeafNode: testLeaf(LeafNodeSourceCommit)}
	roundTrip(t, &c, &got)
	if got.Path == nil || len(got.Proposals) != 2 || got.Proposals[1].Proposal.Remove.Removed != 1 {
		t.Fatalf("decoded commit %+v", got)
	}
}

func TestPSKLabel(t *testing.T) {
	l := PSKLabel{ID: PreSharedKeyID{PSKType: PSKTypeExternal, PSKID: []byte{0xaa}, PSKNonce: []byte{0xbb}}, Index: 1, Count: 2}
	want := []byte{1, 1, 0xaa, 1, 0xbb, 0, 1, 0, 2}
	if got := tls.MustMarshal(&l); string(got) != string(want) {
		t.Fatalf("PSKLabel %x, want %x", got, want)
	}
}
