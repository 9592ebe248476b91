package node

import "sync"

// followMax is how many messages a follower may have queued: a catch-up
// brings thousands at once, faster than a terminal prints them.
const followMax = 1 << 16

// follower is the queue of one Follow stream. The channel loop never
// waits for it; a follower more than followMax messages behind is ended
// with ErrFollowBehind rather than shown a timeline with holes: before,
// a full buffer of 256 dropped messages silently (a catch-up of 500
// messages lost 33 from a `messages --follow` and from the testbed's
// record of them).
type follower struct {
	wake chan struct{} // one pending wake-up
	mu   sync.Mutex
	q    []Message
	over bool
	done bool // the channel closed: no more messages
}

func newFollower() *follower { return &follower{wake: make(chan struct{}, 1)} }

// push queues m; it reports false once the follower is too far behind.
func (f *follower) push(m Message) bool {
	f.mu.Lock()
	ok := !f.over && len(f.q) < followMax
	if ok {
		f.q = append(f.q, m)
	} else {
		f.over = true
	}
	f.mu.Unlock()
	f.signal()
	return ok
}

// close marks the end of the stream (the channel's loop stopped).
func (f *follower) close() {
	f.mu.Lock()
	f.done = true
	f.mu.Unlock()
	f.signal()
}

func (f *follower) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take returns the queued messages and the stream's state.
func (f *follower) take() (ms []Message, over, done bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ms, f.q = f.q, nil
	return ms, f.over, f.done
}
