package testbed

import (
	"context"
	"fmt"
	"time"
)

// procs runs every node as a `spacepanda daemon` process. Not built yet.
type procs struct{}

func newProcs(string, Config) *procs { return &procs{} }

func (p *procs) start(context.Context, *slot, []string) (member, error) {
	return nil, fmt.Errorf("%w: --procs", ErrNotAvailable)
}
func (p *procs) crash(*slot, func()) error { return ErrNotAvailable }
func (p *procs) block(*slot, []string)     {}
func (p *procs) unblock(*slot)             {}
func (p *procs) cpu() time.Duration        { return 0 }
func (p *procs) close()                    {}
