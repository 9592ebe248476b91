package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// countingReader counts the records a read visits.
type countingReader struct {
	kvReader
	visited int
}

func (c *countingReader) get(key []byte) ([]byte, error) {
	c.visited++
	return c.kvReader.get(key)
}

func (c *countingReader) scan(ctx context.Context, lo, hi []byte, reverse bool, limit int, fn func(k, v []byte) error) error {
	return c.kvReader.scan(ctx, lo, hi, reverse, limit, func(k, v []byte) error {
		c.visited++
		return fn(k, v)
	})
}

// TestLoadChannelDoesNotReadLog: loading a channel visits the same number
// of records whether its log holds 10 entries or 2,000, so start-up costs
// per channel, not per message.
func TestLoadChannelDoesNotReadLog(t *testing.T) {
	visits := map[int]int{}
	for _, n := range []int{10, 2000} {
		opts := memOptions(vfs.NewMem())
		opts.Retention = &Retention{Log: KeepAll, Events: 0}
		db, err := Create("/home", nil, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ch := ChannelID(fmt.Sprint("c", n))
		b := &Batch{}
		b.PutChannel(ch, nil)
		b.SetGroup(ch, 1, []byte("g"))
		for i := 1; i <= n; i++ {
			addMessage(b, ch, uint64(i))
		}
		b.PutSnapshot(ch, Snapshot{EventSeq: uint64(n - 5), LogSeq: uint64(n - 5)})
		mustApply(t, db, b)
		err = db.view(ctx, func(r kvReader) error {
			c := &countingReader{kvReader: r}
			st, err := loadChannel(ctx, c, ch)
			if log, _ := db.Log(ctx, ch, 0, 0); len(log) != n {
				t.Errorf("n=%d: log holds %d entries; the test needs all", n, len(log))
			}
			if st.LastSeq != uint64(n) || len(st.Events) != 5 {
				t.Errorf("n=%d: LastSeq %d, %d events; want %d, 5", n, st.LastSeq, len(st.Events), n)
			}
			visits[n] = c.visited
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if visits[10] != visits[2000] {
		t.Errorf("records visited: %d with 10 messages, %d with 2,000; want equal", visits[10], visits[2000])
	}
}
