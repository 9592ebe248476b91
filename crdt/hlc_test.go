package crdt

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestClockNow(t *testing.T) {
	tests := []struct {
		name string
		last Time
		phys int64
		want Time
	}{
		{"physical ahead", Time{Wall: 100, Logical: 5}, 200, Time{Wall: 200}},
		{"same millisecond", Time{Wall: 100, Logical: 5}, 100, Time{Wall: 100, Logical: 6}},
		{"physical behind", Time{Wall: 100, Logical: 5}, 50, Time{Wall: 100, Logical: 6}},
		{"logical overflow", Time{Wall: 100, Logical: math.MaxUint32}, 100, Time{Wall: 101}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NewClock(tt.last).Now(tt.phys); got != tt.want {
				t.Errorf("Now = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClockObserve(t *testing.T) {
	tests := []struct {
		name    string
		last    Time
		remote  Time
		phys    int64
		want    Time
		wantErr error
	}{
		{"remote ahead within drift", Time{Wall: 100}, Time{Wall: 3 * hour, Logical: 3}, 0, Time{Wall: 3 * hour, Logical: 3}, nil},
		{"remote behind", Time{Wall: 100}, Time{Wall: 50}, 100, Time{Wall: 100}, nil},
		{"remote too far ahead", Time{Wall: 100}, Time{Wall: 3*hour + 101}, 100, Time{Wall: 100}, ErrFarFuture},
		{"huge remote, negative physical", Time{}, Time{Wall: MaxWall}, -MaxWall, Time{}, ErrFarFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(tt.last)
			if err := c.Observe(tt.remote, tt.phys); !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Observe = %v, want %v", err, tt.wantErr)
			}
			if c.Last() != tt.want {
				t.Errorf("Last = %v, want %v", c.Last(), tt.want)
			}
			if next := c.Now(tt.phys); next.Compare(tt.want) <= 0 {
				t.Errorf("Now after Observe = %v, not after %v", next, tt.want)
			}
		})
	}
}

// TestClockMonotonic drives clocks running an hour ahead, an hour behind and
// jumping back, exchanging timestamps: every clock's stamps strictly
// increase and every stamp follows what its clock observed.
func TestClockMonotonic(t *testing.T) {
	for seed := range uint64(*seeds) {
		rng := rand.New(rand.NewPCG(seed, 1))
		skews := []int64{0, hour, -hour}
		clocks := []*Clock{NewClock(Time{}), NewClock(Time{}), NewClock(Time{})}
		last := make([]Time, len(clocks))
		now := int64(1_700_000_000_000)
		for range 5000 {
			now += rng.Int64N(5) - 1 // true time may even step back
			i, j := rng.IntN(3), rng.IntN(3)
			ts := clocks[i].Now(now + skews[i])
			if ts.Compare(last[i]) <= 0 {
				t.Fatalf("seed %d: clock %d: %v after %v", seed, i, ts, last[i])
			}
			last[i] = ts
			if err := clocks[j].Observe(ts, now+skews[j]); err != nil {
				t.Fatalf("seed %d: an hour's skew refused: %v", seed, err)
			}
			if clocks[j].Last().Compare(ts) < 0 {
				t.Fatalf("seed %d: clock %d did not follow %v", seed, j, ts)
			}
			last[j] = clocks[j].Last()
		}
	}
}

// TestRestoreClockIgnoresFarFuture: a restored clock continues after the
// times the live clock adopted, but not after a far-future time it refused
// (issue 10, scenario 6).
func TestRestoreClockIgnoresFarFuture(t *testing.T) {
	const now = int64(1_700_000_000_000)
	s := New()
	live := NewClock(Time{})
	for _, ev := range []Event{
		{ID: ID{Author: "a", Seq: 1}, Time: Time{Wall: now - 10}, Kind: KindCreate, Text: "c"},
		{ID: ID{Author: "a", Seq: 2}, Time: Time{Wall: now + 5}, Kind: KindPost, Text: "soon"},
		{ID: ID{Author: "a", Seq: 3}, Time: Time{Wall: now + 9e15}, Kind: KindPost, Text: "far"},
	} {
		if err := s.Apply(ev); err != nil {
			t.Fatal(err)
		}
		_ = live.Observe(ev.Time, now)
	}
	got := s.RestoreClock(now, 0).Now(now)
	want := live.Now(now)
	if got != want {
		t.Fatalf("restored clock issued %v, the live clock %v", got, want)
	}
}
