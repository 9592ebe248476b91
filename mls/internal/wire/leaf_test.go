package wire

import (
	"bytes"
	"testing"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
)

func TestLeafNodeSources(t *testing.T) {
	for _, src := range []LeafNodeSource{LeafNodeSourceKeyPackage, LeafNodeSourceUpdate, LeafNodeSourceCommit} {
		ln := testLeaf(src)
		var got LeafNode
		roundTrip(t, &ln, &got)
		if src == LeafNodeSourceKeyPackage && got.Lifetime != ln.Lifetime {
			t.Errorf("key_package lifetime %+v", got.Lifetime)
		}
		if src == LeafNodeSourceCommit && !bytes.Equal(got.ParentHash, ln.ParentHash) {
			t.Errorf("commit parent hash %x", got.ParentHash)
		}
		if src != LeafNodeSourceCommit && got.ParentHash != nil {
			t.Errorf("source %d decoded a parent hash", src)
		}
	}
}

func TestLeafNodeBadSource(t *testing.T) {
	ln := testLeaf(LeafNodeSourceUpdate)
	b := tls.MustMarshal(&ln)
	i := bytes.Index(b, []byte{0, 0, 0}) // end of capabilities; source follows
	if i < 0 || b[i+3] != byte(LeafNodeSourceUpdate) {
		t.Fatalf("cannot find leaf_node_source in %x", b)
	}
	b[i+3] = 0
	wantMalformed(t, Unmarshal(b, new(LeafNode)), tls.ErrInvalidValue)
}

// TestLeafNodeTBS checks that group_id and leaf_index are covered for the
// update and commit sources only (§7.2) and that the signature is not.
func TestLeafNodeTBS(t *testing.T) {
	for _, src := range []LeafNodeSource{LeafNodeSourceKeyPackage, LeafNodeSourceUpdate, LeafNodeSourceCommit} {
		ln := testLeaf(src)
		full := tls.MustMarshal(&ln)
		content := full[:len(full)-2] // drop signature <V> (1 + 1 bytes)
		tbs := tls.MustMarshal(&LeafNodeTBS{LeafNode: &ln, GroupID: []byte("g"), LeafIndex: 7})
		want := content
		if src != LeafNodeSourceKeyPackage {
			want = append(append([]byte{}, content...), 1, 'g', 0, 0, 0, 7)
		}
		if !bytes.Equal(tbs, want) {
			t.Errorf("source %d: TBS %x, want %x", src, tbs, want)
		}
	}
}

// TestLeafNodeReuse decodes into a LeafNode that held another source's
// fields: none may survive.
func TestLeafNodeReuse(t *testing.T) {
	got := testLeaf(LeafNodeSourceKeyPackage)
	got.ParentHash = []byte{1}
	upd := testLeaf(LeafNodeSourceUpdate)
	if err := Unmarshal(tls.MustMarshal(&upd), &got); err != nil {
		t.Fatal(err)
	}
	if got.Lifetime != (Lifetime{}) || got.ParentHash != nil {
		t.Fatalf("stale fields after decoding an update leaf: %+v %x", got.Lifetime, got.ParentHash)
	}
}
