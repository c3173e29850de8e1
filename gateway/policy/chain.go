package policy

import (
	"context"
	"errors"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/pluginhost"
)

// Chain is a target's ordered list of plugins.
type Chain []*pluginhost.Plugin

// Result is the outcome of a command through a chain.
type Result struct {
	Verdict abi.Verdict
	// Reason and Plugin come from the plugin that decided (empty for allow).
	Reason string
	Plugin string
	// Failures are the plugin failures met on the way; each already
	// produced its fail mode's verdict.
	Failures []error
}

// Evaluate runs the command through every plugin that has a command hook,
// in order. The first BLOCK ends the chain; a REQUIRE_APPROVAL is kept
// while later plugins may still block.
func (c Chain) Evaluate(ctx context.Context, cb *abi.CommandBuilder) Result {
	res := Result{Verdict: abi.Allow}
	for _, p := range c {
		if !p.HasHook(abi.HookCommand) {
			continue
		}
		d, err := p.Command(ctx, cb)
		if err != nil {
			res.Failures = append(res.Failures, err)
		}
		switch d.Verdict {
		case abi.Block:
			res.Verdict, res.Reason, res.Plugin = abi.Block, d.Reason, d.Plugin
			return res
		case abi.RequireApproval:
			if res.Verdict == abi.Allow {
				res.Verdict, res.Reason, res.Plugin = abi.RequireApproval, d.Reason, d.Plugin
			}
		}
	}
	return res
}

// Err joins the chain's plugin failures, for logging.
func (r Result) Err() error { return errors.Join(r.Failures...) }
