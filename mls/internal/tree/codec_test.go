package tree

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/cipher"
	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/vectortest"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestDecodeRejects(t *testing.T) {
	s := suite1(t)
	tr, _ := addedTree(t, s, newRand(1), 3)
	good := tr.RatchetTree()
	leaf := good[0]
	parent := &wire.Node{NodeType: wire.NodeTypeParent, Parent: &wire.ParentNode{EncryptionKey: []byte{1}}}
	tests := []struct {
		name string
		rt   wire.RatchetTree
		want error
	}{
		{"empty", wire.RatchetTree{}, ErrEmptyTree},
		{"trailing blank", append(append(wire.RatchetTree{}, good...), nil), ErrTrailingBlank},
		{"only blank", wire.RatchetTree{nil}, ErrTrailingBlank},
		{"leaf at parent position", wire.RatchetTree{leaf, leaf, leaf}, ErrNodeType},
		{"parent at leaf position", wire.RatchetTree{parent}, ErrNodeType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tls.Marshal(&tt.rt)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Decode(s, b)
			var de *tls.DecodeError
			if !errors.Is(err, tt.want) || !errors.Is(err, tls.ErrMalformed) || !errors.As(err, &de) {
				t.Fatalf("Decode: err = %v, want %v as a *tls.DecodeError", err, tt.want)
			}
			if _, err := FromRatchetTree(s, tt.rt); !errors.Is(err, tt.want) {
				t.Fatalf("FromRatchetTree: err = %v, want %v", err, tt.want)
			}
		})
	}
	enc := mustEncode(t, tr)
	for _, b := range [][]byte{enc[:len(enc)-1], append(bytes.Clone(enc), 0), {0x40}} {
		if _, err := Decode(s, b); !errors.Is(err, tls.ErrMalformed) {
			t.Errorf("Decode(%x...): err = %v, want tls.ErrMalformed", b[:1], err)
		}
	}
}

func TestDecodeExtends(t *testing.T) {
	s := suite1(t)
	tr, _ := addedTree(t, s, newRand(1), 5)
	if tr.Width() != 8 || len(tr.RatchetTree()) != 9 {
		t.Fatalf("5 members: width %d, %d encoded nodes; want 8, 9", tr.Width(), len(tr.RatchetTree()))
	}
	got, err := Decode(s, mustEncode(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	if got.Width() != 8 || got.NodeCount() != 15 || !bytes.Equal(got.TreeHash(), tr.TreeHash()) {
		t.Fatalf("decoded: width %d, %d nodes", got.Width(), got.NodeCount())
	}
	for n, want := range map[int]uint32{1: 1, 2: 2, 3: 2, 4: 4, 7: 4, 8: 8, 15: 8, 16: 16} {
		if w := widthFor(n); w != want {
			t.Errorf("widthFor(%d) = %d, want %d", n, w, want)
		}
	}
}

// FuzzDecode decodes arbitrary ratchet trees: accepted input re-encodes to
// itself and survives every validation without panicking; rejected input
// gives a typed error.
func FuzzDecode(f *testing.F) {
	type vector struct {
		CipherSuite uint16         `json:"cipher_suite"`
		Tree        vectortest.Hex `json:"tree"`
	}
	var cases []vector
	vectortest.Load(f, "tree-validation", &cases)
	for _, c := range cases {
		f.Add(c.CipherSuite, []byte(c.Tree))
	}
	f.Add(uint16(1), []byte{0x00})
	f.Add(uint16(1), []byte{0x02, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, id uint16, b []byte) {
		s, err := cipher.Lookup(id%7 + 1)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Decode(s, b)
		if err != nil {
			var ue *wire.UnsupportedError
			if !errors.Is(err, tls.ErrMalformed) && !errors.As(err, &ue) {
				t.Fatalf("error %v is neither malformed nor unsupported", err)
			}
			return
		}
		enc, err := tr.Encode()
		if err != nil || !bytes.Equal(enc, b) {
			t.Fatalf("re-encoding gives %x (err %v), want %x", enc, err, b)
		}
		tr.TreeHash()
		for _, check := range []func() error{tr.VerifyUnmergedLeaves, tr.VerifyUniqueKeys, tr.VerifyParentHashes} {
			if err := check(); err != nil {
				var ne *NodeError
				if !errors.As(err, &ne) {
					t.Fatalf("validation error %v is not a *NodeError", err)
				}
			}
		}
		for x := range tr.NodeCount() {
			tr.Resolution(NodeIndex(x))
		}
		for i := range tr.Width() {
			tr.FilteredDirectPath(LeafIndex(i))
		}
	})
}
