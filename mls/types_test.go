package mls

import (
	"testing"
	"time"

	"github.com/spacepanda/spacepanda/mls/internal/schedule"
	"github.com/spacepanda/spacepanda/mls/internal/wire"
)

func TestConfigDefaults(t *testing.T) {
	var c Config
	if c.pastEpochs() != 3 || c.window() != schedule.DefaultWindow {
		t.Fatal("defaults")
	}
	c = Config{PastEpochs: -1, MaxSkipped: 5, MaxForward: 6}
	if w := c.window(); c.pastEpochs() != 0 || w.MaxSkipped != 5 || w.MaxForward != 6 {
		t.Fatal("overrides")
	}
	if _, ok := c.psk([]byte("x")); ok {
		t.Fatal("psk without a store")
	}
}

func TestCovers(t *testing.T) {
	l := wire.Lifetime{NotBefore: 10, NotAfter: 20}
	for _, c := range []struct {
		now  time.Time
		want bool
	}{{time.Time{}, true}, {time.Unix(9, 0), false}, {time.Unix(10, 0), true}, {time.Unix(20, 0), true}, {time.Unix(21, 0), false}, {time.Unix(-5, 0), false}} {
		if got := covers(l, c.now); got != c.want {
			t.Errorf("covers(%v) = %v", c.now, got)
		}
	}
}
