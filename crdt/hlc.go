package crdt

import (
	"fmt"
	"math"
)

// Time is a hybrid logical clock timestamp: physical Unix milliseconds and a
// logical counter that orders events within one millisecond. Times compare
// by Wall, then Logical.
type Time struct {
	Wall    int64  // Unix milliseconds; never negative in a valid event
	Logical uint32 // counter within Wall
}

// Compare returns -1, 0 or +1 as t is before, equal to or after u.
func (t Time) Compare(u Time) int {
	switch {
	case t.Wall < u.Wall:
		return -1
	case t.Wall > u.Wall:
		return 1
	case t.Logical < u.Logical:
		return -1
	case t.Logical > u.Logical:
		return 1
	}
	return 0
}

// IsZero reports whether t is the zero Time.
func (t Time) IsZero() bool { return t == Time{} }

// String returns "wall.logical".
func (t Time) String() string { return fmt.Sprintf("%d.%d", t.Wall, t.Logical) }

// next returns the smallest Time after t.
func (t Time) next() Time {
	if t.Logical == math.MaxUint32 {
		return Time{Wall: t.Wall + 1}
	}
	return Time{Wall: t.Wall, Logical: t.Logical + 1}
}

// DefaultMaxDrift is how far ahead of the local physical clock, in
// milliseconds, a remote timestamp may be for Observe to adopt it: three
// hours, so that a node an hour behind follows one an hour ahead (two hours
// apart) with room to spare, and a clock set days ahead is not followed.
const DefaultMaxDrift = 3 * 60 * 60 * 1000

// Clock is a hybrid logical clock (Kulkarni et al., "Logical Physical Clocks",
// 2014). The caller passes the physical time in; the clock never reads one.
// Every Time it returns is after every Time it returned or observed, whatever
// the physical time passed in does (a clock set back, or one running behind).
//
// A Clock is not safe for concurrent use; the channel's owner loop owns it.
type Clock struct {
	last Time
	// MaxDrift bounds, in milliseconds, how far ahead of the physical time a
	// remote timestamp may be and still be adopted. Zero means
	// DefaultMaxDrift.
	MaxDrift int64
}

// NewClock returns a clock that continues after last: on restart, pass the
// latest Time the channel holds (State.MaxTime) so that time never runs
// backwards across restarts.
func NewClock(last Time) *Clock { return &Clock{last: last} }

// Last returns the latest Time the clock issued or adopted.
func (c *Clock) Last() Time { return c.last }

// Now returns a new timestamp for a local event at physical time physMs.
func (c *Clock) Now(physMs int64) Time {
	if physMs > c.last.Wall {
		c.last = Time{Wall: physMs}
	} else {
		c.last = c.last.next()
	}
	return c.last
}

// Observe moves the clock past a timestamp seen on a remote event, so that
// local events that follow are ordered after it. A timestamp more than
// MaxDrift ahead of physMs is not adopted and Observe returns ErrFarFuture;
// the event itself may still be applied (see docs/crdt.md, "Clock skew").
func (c *Clock) Observe(t Time, physMs int64) error {
	// uint64 keeps the difference exact when physMs is far below t.Wall.
	if t.Wall > physMs && uint64(t.Wall-physMs) > uint64(c.maxDrift()) {
		return fmt.Errorf("%w: %d ms ahead", ErrFarFuture, uint64(t.Wall-physMs))
	}
	if t.Compare(c.last) > 0 {
		c.last = t
	}
	return nil
}

func (c *Clock) maxDrift() int64 {
	if c.MaxDrift > 0 {
		return c.MaxDrift
	}
	return DefaultMaxDrift
}

// RestoreClock returns the clock of a channel restored from s at physical
// time physMs: it continues after every time of s that Observe would adopt
// at physMs, and never after a far-future time the live path refused (a
// member's event stamped years ahead must not drag every later local event
// there after a restart). maxDrift is Clock.MaxDrift (zero: the default).
// It reads every event only when s holds a time beyond the drift bound.
func (s *State) RestoreClock(physMs, maxDrift int64) *Clock {
	c := &Clock{MaxDrift: maxDrift}
	limit := physMs + c.maxDrift()
	if s.maxTime.Wall <= limit {
		c.last = s.maxTime
		return c
	}
	for _, e := range s.events {
		if e.Time.Wall <= limit && e.Time.Compare(c.last) > 0 {
			c.last = e.Time
		}
	}
	return c
}
