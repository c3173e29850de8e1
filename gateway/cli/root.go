// Package cli holds the sluice command line: the gateway (`sluice serve`),
// the masking filter for CI logs (`sluice mask`), the plugin author's tools
// (`sluice plugin ...`) and helpers (`sluice token hash`). Each command is a
// thin layer over the gateway's rooms (config, pluginhost, policy,
// records); what a command does is tested through Main with real files and
// real plugins.
//
// Main is called once per process; tests call it concurrently with their
// own streams.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and the answer is "no" (test failed, block verdict with --exit-code, masking failed)
	ExitUsage   = 2 // bad flags, bad input, or an error before the work
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// streams are the process's standard streams, so tests can run commands.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// Main runs the sluice command line with args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &streams{in: stdin, out: stdout, err: stderr}
	root := &cobra.Command{
		Use:   "sluice",
		Short: "sluice: an identity-aware gateway for non-human identities",
		Long: `sluice sits between CI jobs, service accounts and bots and the PostgreSQL
databases, HTTP APIs and SSH servers they use. It holds the backend
credentials, runs WebAssembly policy plugins that mask sensitive output and
block or hold risky commands, and records every session.

Start the gateway with 'sluice serve' (without a config: the demo of the
README's quick start); mask a log stream with 'sluice mask'; write and test
plugins with 'sluice plugin'. A running gateway is operated through its
admin API: 'sluice sessions', 'sluice approvals', 'sluice token',
'sluice plugins'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCmd(s), maskCmd(s), pluginCmd(s), pluginsCmd(s), sessionsCmd(s), approvalsCmd(s), tokenCmd(s), configCmd(s), versionCmd(s))
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "sluice:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitUsage
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func versionCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version and the Wasm engines compiled in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(s.out, "sluice %s (engines: %s)\n", version(), enginesList())
			return nil
		},
	}
}
