package store

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Payload sizes of a typical chat message step: the MLS PrivateMessage of
// a short text, and the decrypted CRDT event.
const (
	benchEntrySize = 256
	benchEventSize = 128
)

// addMessage adds to b what storing one received message writes: the log
// entry and the event.
func addMessage(b *Batch, ch ChannelID, seq uint64) {
	b.Append(ch, Entry{Seq: seq, Epoch: 1, Data: make([]byte, benchEntrySize)})
	b.PutEvent(ch, Event{Seq: seq, Data: make([]byte, benchEventSize)})
}

// benchDB creates a home on the real filesystem whose file syncs are
// counted in *syncs.
func benchDB(b *testing.B) (*DB, *atomic.Int64) {
	b.Helper()
	syncs := new(atomic.Int64)
	fs := syncCountingFS{FS: vfs.Default, syncs: syncs}
	db, err := Create(filepath.Join(b.TempDir(), "home"), nil, Options{FS: fs, Holder: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, syncs
}

// reportAppend reports acknowledged messages per second and per file sync.
func reportAppend(b *testing.B, syncs int64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/float64(max(syncs, 1)), "msgs/fsync")
}

// BenchmarkSyncedAppend measures acknowledged (synced) messages per second
// on the real filesystem: one message per Apply, 64 per Apply, and one per
// Apply from many goroutines (one channel each, as the node's channel
// loops) whose commits share fsyncs.
func BenchmarkSyncedAppend(b *testing.B) {
	b.Run("single", func(b *testing.B) { benchAppend(b, 1, 1) })
	b.Run("batch=64", func(b *testing.B) { benchAppend(b, 1, 64) })
	b.Run("concurrent=16", func(b *testing.B) { benchAppend(b, 16, 1) })
	b.Run("concurrent=64", func(b *testing.B) { benchAppend(b, 64, 1) })
	b.Run("pipelined=64", func(b *testing.B) { benchPipelined(b, 64) })
}

// benchPipelined stores b.N messages from one goroutine (one busy channel),
// one per ApplyNoWait, acknowledging each when its Pending is durable, with
// up to depth pending.
func benchPipelined(b *testing.B, depth int) {
	db, syncs := benchDB(b)
	var pending []*Pending
	b.ResetTimer()
	before := syncs.Load()
	for seq := 1; seq <= b.N; seq++ {
		batch := &Batch{}
		addMessage(batch, "busy", uint64(seq))
		p, err := db.ApplyNoWait(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		pending = append(pending, p)
		for len(pending) > depth || (seq == b.N && len(pending) > 0) {
			if err := pending[0].Wait(); err != nil {
				b.Fatal(err)
			}
			pending = pending[1:]
		}
	}
	b.StopTimer()
	reportAppend(b, syncs.Load()-before)
}

// benchAppend stores b.N messages with writers goroutines, perBatch messages
// per Apply.
func benchAppend(b *testing.B, writers, perBatch int) {
	db, syncs := benchDB(b)
	var wg sync.WaitGroup
	b.ResetTimer()
	before := syncs.Load()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := ChannelID(fmt.Sprintf("chan-%d", w))
			n := b.N / writers
			if w < b.N%writers {
				n++
			}
			for seq := 1; seq <= n; seq += perBatch {
				batch := &Batch{}
				for s := seq; s < seq+perBatch && s <= n; s++ {
					addMessage(batch, ch, uint64(s))
				}
				if err := db.Apply(ctx, batch); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	reportAppend(b, syncs.Load()-before)
}

// BenchmarkOpenLoad measures opening a home and loading every channel's
// state (Channels) with 100 channels of 100, 1,000 and 10,000 messages each.
// One fixture grows between the sub-benchmarks. Each channel has a group
// state, two past epochs, a 16 KiB snapshot that leaves 50 events after it
// (events under it are deleted, as DefaultRetention does), and one outbox
// item. It also reports
// the bytes on disk per stored message.
func BenchmarkOpenLoad(b *testing.B) {
	const channels = 100
	home := filepath.Join(b.TempDir(), "home")
	db, err := Create(home, nil, Options{Holder: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	have := 0
	for _, msgs := range []int{100, 1_000, 10_000} {
		if db == nil {
			if db, err = Open(home, Options{Holder: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
		for c := range channels {
			growChannel(b, db, ChannelID(fmt.Sprintf("channel-%03d", c)), have, msgs)
		}
		have = msgs
		if err := db.pdb.Flush(); err != nil {
			b.Fatal(err)
		}
		db.Close()
		db = nil
		perMsg := float64(dirSize(b, home)) / float64(channels*msgs)
		b.Run(fmt.Sprintf("channels=%d/msgs=%d", channels, msgs), func(b *testing.B) {
			var open, load time.Duration
			cpu := cpuTime()
			for range b.N {
				o, l := openLoad(b, home, channels)
				open, load = open+o, load+l
			}
			cpu = cpuTime() - cpu
			b.ReportMetric(perMsg, "disk-bytes/msg")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms")
			b.ReportMetric(float64(open.Milliseconds())/float64(b.N), "open-ms")
			b.ReportMetric(float64(load.Milliseconds())/float64(b.N), "load-ms")
		})
	}
}

// openLoad opens the home and loads every channel, and returns the time
// each took; closing is timed by the benchmark only.
func openLoad(b *testing.B, home string, channels int) (open, load time.Duration) {
	start := time.Now()
	db, err := Open(home, Options{Holder: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	opened := time.Now()
	chans, err := db.Channels(ctx)
	if err != nil || len(chans) != channels {
		b.Fatalf("Channels: %d, %v", len(chans), err)
	}
	return opened.Sub(start), time.Since(opened)
}

// growChannel takes a channel from have to want messages, 1,000 per synced
// batch, with snapshots at snapshotPoint.
func growChannel(b *testing.B, db *DB, ch ChannelID, have, want int) {
	for from := have + 1; from <= want; from += 1000 {
		batch := &Batch{}
		if from == 1 {
			batch.PutChannel(ch, make([]byte, 64))
			batch.SetGroup(ch, 3, make([]byte, 2048))
			batch.PutPastEpoch(ch, EpochState{Epoch: 1, Data: make([]byte, 2048)})
			batch.PutPastEpoch(ch, EpochState{Epoch: 2, Data: make([]byte, 2048)})
			batch.PutOutbox(ch, OutboxItem{Seq: 1, Data: make([]byte, benchEntrySize)})
		}
		to := min(want, from+999)
		for s := from; s <= to; s++ {
			addMessage(batch, ch, uint64(s))
		}
		if snap := snapshotPoint(to, want); snap > 0 {
			batch.PutSnapshot(ch, Snapshot{EventSeq: snap, LogSeq: snap, Data: make([]byte, 16<<10)})
		}
		if err := db.Apply(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// snapshotPoint is where the node would have snapshotted after message to:
// every 1,000 messages, and 50 messages before the end of the fixture, so
// that every size loads a tail of 50 events per channel.
func snapshotPoint(to, want int) uint64 {
	switch {
	case to == want && want > benchTail:
		return uint64(want - benchTail)
	case to%1000 == 0:
		return uint64(to)
	}
	return 0
}

// benchTail is the number of events after the last snapshot per channel.
const benchTail = 50

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		n += info.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// productionKDF keeps the Argon2id parameters of new homes; TestMain lowers
// defaultKDF for the tests.
var productionKDF = defaultKDF

// BenchmarkPassphraseKDF measures the Argon2id derivation that opening a
// passphrase-protected home adds, with the production parameters.
func BenchmarkPassphraseKDF(b *testing.B) {
	p := productionKDF
	p.Salt = make([]byte, 16)
	for range b.N {
		p.derive([]byte("correct horse battery staple"))
	}
}
