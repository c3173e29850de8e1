package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/conformance"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/shellscan"
	"github.com/sluicegw/sluice/gateway/sqlscan"
)

func pluginCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "plugin",
		Short: "inspect, test and dry-run Wasm policy plugins",
		Long: `Tools for plugin authors and for CI: check a plugin binary, run it against
conformance vectors, and evaluate a command through it without a gateway.`,
	}
	c.AddCommand(pluginInspectCmd(s), pluginManifestCmd(s), pluginEvalCmd(s), pluginTestCmd(s))
	return c
}

func enginesList() string { return strings.Join(pluginhost.Engines(), ", ") }

// userCacheDir is where the CLI keeps compiled plugins between runs, so a
// CI step that masks a log does not recompile (and does not pay the
// compiler's memory) every time. SLUICE_CACHE_DIR overrides it; "off"
// disables it.
func userCacheDir() string {
	if d := os.Getenv(config.EnvCacheDir); d != "" {
		if d == "off" {
			return ""
		}
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "sluice", "compile-cache")
}

// engineFlag adds --engine to a command that runs plugins.
func engineFlag(c *cobra.Command, engine *string) {
	c.Flags().StringVar(engine, "engine", "wazero", "Wasm engine: "+enginesList())
}

func pluginInspectCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect PLUGIN.wasm",
		Short: "check a plugin binary and print its manifest",
		Long: `Checks everything the gateway checks before compiling a plugin (Wasm format,
ABI version, reactor entry, manifest, exports and their signatures, imports)
and prints the manifest as JSON.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			mod, err := pluginhost.Inspect(wasm)
			if err != nil {
				return fail(ExitFailure, "%s: %w", args[0], err)
			}
			return writeJSON(s, mod.Manifest)
		},
	}
}

func pluginManifestCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "manifest",
		Short: "read or write a plugin's manifest section",
		Long: `A plugin carries its manifest (name, version, hooks, fail mode, capabilities,
detectors) in the Wasm custom section "sluice.manifest", so the gateway can
read it before running anything. Toolchains that cannot emit custom sections
(Go, AssemblyScript) add it after the build with 'manifest set'.`,
	}
	c.AddCommand(&cobra.Command{
		Use:   "set PLUGIN.wasm MANIFEST.json",
		Short: "validate MANIFEST.json and write it into PLUGIN.wasm",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			manifest, err := os.ReadFile(args[1])
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			out, err := pluginhost.SetManifest(wasm, manifest)
			if err != nil {
				return fail(ExitUsage, "%s: %w", args[1], err)
			}
			return writeFileAtomic(args[0], out)
		},
	}, &cobra.Command{
		Use:   "get PLUGIN.wasm",
		Short: "print the manifest section of PLUGIN.wasm",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wasm, err := os.ReadFile(args[0])
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			raw, err := pluginhost.ManifestSection(wasm)
			if err != nil {
				return fail(ExitFailure, "%s: %w", args[0], err)
			}
			_, err = fmt.Fprintf(s.out, "%s\n", raw)
			return err
		},
	})
	return c
}

// writeFileAtomic replaces path so a watching gateway never reads a
// half-written plugin.
func writeFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeJSON(s *streams, v any) error {
	enc := json.NewEncoder(s.out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// loadOne loads a single plugin file into a fresh host for a CLI command.
func loadOne(ctx context.Context, engine, path, config string) (*pluginhost.Host, *pluginhost.Plugin, error) {
	if config != "" && !json.Valid([]byte(config)) {
		return nil, nil, fail(ExitUsage, "--config: not valid JSON")
	}
	h, err := pluginhost.New(pluginhost.Options{Engine: engine, CacheDir: userCacheDir()})
	if err != nil {
		return nil, nil, fail(ExitUsage, "%w", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	p, err := h.Load(ctx, pluginhost.Spec{Name: name, Path: path, Config: []byte(config)})
	if err != nil {
		h.Close(ctx)
		return nil, nil, fail(ExitUsage, "%w", err)
	}
	return h, p, nil
}

type evalResult struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Plugin  string `json:"plugin"`
	Error   string `json:"error,omitempty"`
	// Facts are the analysis the plugin was given, with --facts:
	// [statement, key, value] as in conformance vectors.
	Facts [][3]any `json:"facts,omitempty"`
}

// commandFacts decodes the facts of an encoded command, for --facts.
func commandFacts(cb *abi.CommandBuilder) [][3]any {
	buf := make([]byte, cb.Size())
	cb.Encode(buf)
	c, err := abi.ParseCommand(buf)
	if err != nil {
		return nil
	}
	facts := make([][3]any, 0, c.NumFacts())
	for i := 0; i < c.NumFacts(); i++ {
		f := c.Fact(i)
		facts = append(facts, [3]any{f.Stmt, string(f.Key), string(f.Value)})
	}
	return facts
}

func pluginEvalCmd(s *streams) *cobra.Command {
	var engine, config, sql, shell, httpReq string
	var exitCode, showFacts bool
	c := &cobra.Command{
		Use:   "eval PLUGIN.wasm (--sql TEXT | --shell TEXT | --http \"METHOD PATH\")",
		Short: "dry-run one command through a plugin and print the verdict as JSON",
		Long: `Evaluates one command through the plugin's command hook, as the gateway
would: SQL is analysed on PostgreSQL's own grammar (gateway/sqlscan) and
shell lines with a real shell parser (gateway/shellscan), and the plugin
gets their facts. Prints {"verdict":"allow|block|approve","reason":...}. A plugin
failure prints the fail mode's verdict with the error. With --exit-code the
exit status is 0 for allow, 1 for block or approve, so CI can gate on it.`,
		Example: `  sluice plugin eval sql-guard.wasm --sql 'DROP TABLE users'
  sluice plugin eval shell-guard.wasm --config '{"sudo":"approve"}' --shell 'sudo reboot'
  sluice plugin eval api-guard.wasm --http 'DELETE /v1/users/42'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var cb abi.CommandBuilder
			n := 0
			for _, v := range []string{sql, shell, httpReq} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				return fail(ExitUsage, "give exactly one of --sql, --shell, --http")
			}
			switch {
			case sql != "":
				cb.Set(abi.CommandSQL, sql, "cli", "eval")
				a, err := sqlscan.Analyze(sql)
				if err != nil {
					return fail(ExitUsage, "--sql: %w", err)
				}
				a.AddFacts(&cb)
			case shell != "":
				cb.Set(abi.CommandShell, shell, "cli", "eval")
				shellscan.Analyze(shell).AddFacts(&cb)
			default:
				method, target, ok := strings.Cut(strings.TrimSpace(httpReq), " ")
				if !ok || method == "" || !strings.HasPrefix(target, "/") {
					return fail(ExitUsage, `--http: want "METHOD PATH", e.g. "GET /v1/users?id=1"`)
				}
				cb.Set(abi.CommandHTTP, method+" "+target, "cli", "eval")
				path, query, _ := strings.Cut(target, "?")
				cb.AddFact(0, "method", strings.ToUpper(method))
				cb.AddFact(0, "path", path)
				if query != "" {
					cb.AddFact(0, "query", query)
				}
			}
			ctx := cmd.Context()
			h, p, err := loadOne(ctx, engine, args[0], config)
			if err != nil {
				return err
			}
			defer h.Close(ctx)
			if !p.HasHook(abi.HookCommand) {
				return fail(ExitUsage, "%s: the plugin has no command hook (hooks: %s)", args[0], strings.Join(p.Manifest().Hooks, ", "))
			}
			d, err := p.Command(ctx, &cb)
			res := evalResult{Verdict: d.Verdict.String(), Reason: d.Reason, Plugin: p.Manifest().Name}
			if err != nil {
				res.Error = err.Error()
			}
			if showFacts {
				res.Facts = commandFacts(&cb)
			}
			if err := writeJSON(s, res); err != nil {
				return err
			}
			if exitCode && d.Verdict != abi.Allow {
				return &exitError{code: ExitFailure, err: fmt.Errorf("verdict: %s", d.Verdict)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&config, "config", "", "plugin config as JSON (default {})")
	c.Flags().StringVar(&sql, "sql", "", "a SQL command")
	c.Flags().StringVar(&shell, "shell", "", "a shell command line")
	c.Flags().StringVar(&httpReq, "http", "", `an HTTP request line, "METHOD PATH"`)
	c.Flags().BoolVar(&exitCode, "exit-code", false, "exit 1 unless the verdict is allow")
	c.Flags().BoolVar(&showFacts, "facts", false, "also print the analysis facts the plugin was given")
	engineFlag(c, &engine)
	return c
}

func pluginTestCmd(s *streams) *cobra.Command {
	var engine, vectors string
	c := &cobra.Command{
		Use:   "test PLUGIN.wasm [--vectors DIR]",
		Short: "run a plugin against conformance vectors",
		Long: `Runs every case of every *.json vector file in DIR (default: the directory
'vectors' next to the plugin) and prints a line per case, with a readable
diff for each failure. Exit status 0 when every case passes, 1 otherwise.
The vector format is described in conformance/README.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if vectors == "" {
				vectors = filepath.Join(filepath.Dir(args[0]), "vectors")
			}
			rep, err := conformance.RunDir(cmd.Context(), conformance.Options{Engine: engine, CacheDir: userCacheDir()}, args[0], vectors)
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			rep.Print(s.out)
			if rep.Failed > 0 {
				return &exitError{code: ExitFailure, err: fmt.Errorf("%d of %d cases failed", rep.Failed, rep.Failed+rep.Passed)}
			}
			return nil
		},
	}
	c.Flags().StringVar(&vectors, "vectors", "", "directory of vector files (default: vectors/ next to the plugin)")
	engineFlag(c, &engine)
	return c
}
