package mls

import (
	"bytes"
	"fmt"

	"github.com/spacepanda/spacepanda/mls/internal/tls"
	"github.com/spacepanda/spacepanda/mls/internal/tree"
	"github.com/spacepanda/spacepanda/mls/internal/treemath"
)

// pruneKeys returns k without the keys of parent nodes that t no longer
// holds (blanked by a Remove or Update, §7.5: outdated key material is
// deleted). Package tree prunes only inside DecryptPath and
// ImportPathSecret; for commits without a path this goes through the
// documented encoding of PrivateKeys instead.
func pruneKeys(t *tree.Tree, k *tree.PrivateKeys) (*tree.PrivateKeys, error) {
	stale := false
	for _, x := range k.Nodes() {
		if pub, _ := k.PublicKey(x); !x.IsLeaf() && !bytes.Equal(t.EncryptionKey(x), pub) {
			stale = true
		}
	}
	if !stale {
		return k, nil
	}
	var w tls.Writer
	w.Uint32(uint32(k.Leaf()))
	w.Vector(func(w *tls.Writer) {
		for _, x := range k.Nodes() {
			pub, _ := k.PublicKey(x)
			if !x.IsLeaf() && !bytes.Equal(t.EncryptionKey(x), pub) {
				continue
			}
			priv, _ := k.PrivateKey(x)
			w.Uint32(uint32(x))
			w.Opaque(priv)
			w.Opaque(pub)
		}
	})
	out := new(tree.PrivateKeys)
	if err := tls.Unmarshal(w.Bytes(), out); err != nil {
		return nil, fmt.Errorf("mls: prune private keys: %w", err)
	}
	return out, nil
}

var _ = treemath.NodeIndex(0)
