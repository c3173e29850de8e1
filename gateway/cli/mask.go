package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/records"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

// maskMemoryLimit is the Go heap's soft limit in `sluice mask`.
const maskMemoryLimit = 48 << 20

func maskCmd(s *streams) *cobra.Command {
	var (
		cfgPath, format, pluginCfg, target, engine string
		plugins                                    []string
		batch                                      int
		maxRecord                                  int
		csvNoHeader, quiet                         bool
	)
	c := &cobra.Command{
		Use:   "mask [--config FILE | --plugin X.wasm ...] [--format auto|json|ndjson|csv|text] < in > out",
		Short: "mask structured output (JSON, NDJSON, CSV, text) through masking plugins",
		Long: `Reads records from standard input, runs them through the masking plugins in
batches, and writes them to standard output in the same format and order:
only the masked values change, everything else is byte for byte the input.
It streams in constant memory, so a CI job can pipe any amount of output
through it before it reaches a log.

The plugins are the --plugin files (in order, with --plugin-config), or the
plugins of --target in the config, or every plugin in the config (--config,
$SLUICE_CONFIG, else the embedded defaults).

Exit status: 0 when everything was masked; 1 when a plugin failed (its
fail mode applied: fail_closed redacted the whole batch, so no unmasked
record was written); 2 on bad flags or malformed input (output stops before
the offending record).`,
		Example: `  ./deploy.sh | sluice mask --plugin json-field-mask.wasm --plugin-config '{"fields":["email"]}' --format ndjson
  sluice mask --config sluice.yaml --target logs < export.csv > export.masked.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if os.Getenv("GOMEMLIMIT") == "" {
				// Compiling a plugin is the memory peak of a masking run
				// (the stream itself is constant); a soft limit makes the
				// GC work during it instead of growing the heap. See
				// RATIONALE.md, "Why a soft memory limit for sluice mask?".
				debug.SetMemoryLimit(maskMemoryLimit)
			}
			f := records.Format(0)
			if format != "auto" {
				var err error
				if f, err = records.ParseFormat(format); err != nil {
					return fail(ExitUsage, "--format: %w", err)
				}
			}
			if pluginCfg != "" && !json.Valid([]byte(pluginCfg)) {
				return fail(ExitUsage, "--plugin-config: not valid JSON")
			}
			cfg, err := loadConfig(cfgPath)
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			specs, err := maskSpecs(cfg, plugins, pluginCfg, target)
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			level := "warn"
			if quiet {
				level = "error"
			}
			logger, _ := telemetry.NewLogger(s.err, level, "text")
			if engine == "" {
				engine = string(cfg.Runtime().Engine)
			}
			host, err := pluginhost.New(pluginhost.Options{Engine: engine, Logger: logger, CacheDir: userCacheDir()})
			if err != nil {
				return fail(ExitUsage, "%w", err)
			}
			defer host.Close(ctx)
			var chain policy.Chain
			for _, sp := range specs {
				p, err := host.Load(ctx, sp)
				if err != nil {
					return fail(ExitUsage, "%w", err)
				}
				chain = append(chain, p)
			}
			m := policy.NewMasker(chain)
			if !m.Active() {
				return fail(ExitUsage, "none of the plugins has a records hook: nothing would be masked")
			}
			st, err := policy.MaskStream(ctx, m, s.in, s.out, policy.StreamOptions{
				Format: f, BatchRecords: batch,
				Records: records.Options{MaxRecordSize: maxRecord, CSVNoHeader: csvNoHeader},
			})
			if err != nil {
				var se *records.SyntaxError
				if errors.As(err, &se) || errors.Is(err, records.ErrRecordTooLarge) {
					return fail(ExitUsage, "input: %w", err)
				}
				if policy.FailedClosed(err) || st.FailedBatches > 0 {
					return &exitError{code: ExitFailure, err: fmt.Errorf("%d of %d batches failed in a plugin (fail mode applied): %w", st.FailedBatches, st.Batches, err)}
				}
				return fail(ExitUsage, "%w", err)
			}
			return nil
		},
	}
	configFlag(c, &cfgPath)
	c.Flags().StringArrayVarP(&plugins, "plugin", "p", nil, "a masking plugin .wasm (repeatable, applied in order)")
	c.Flags().StringVar(&pluginCfg, "plugin-config", "", "config (JSON) for the --plugin plugins")
	c.Flags().StringVar(&target, "target", "", "use the plugins of this target in the config")
	c.Flags().StringVarP(&format, "format", "f", "auto", "input format: auto, json, ndjson, csv, text")
	c.Flags().IntVar(&batch, "batch", policy.DefaultBatchRecords, "records per plugin call")
	c.Flags().IntVar(&maxRecord, "max-record-size", records.DefaultMaxRecordSize, "largest record (or JSON document) in bytes")
	c.Flags().BoolVar(&csvNoHeader, "csv-no-header", false, "the first CSV row is data; columns are named 1, 2, ...")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "log only errors")
	c.Flags().StringVar(&engine, "engine", "", "Wasm engine (default: runtime.engine of the config): "+enginesList())
	return c
}

// maskSpecs picks the plugins `sluice mask` runs.
func maskSpecs(cfg *config.Config, files []string, pluginCfg, target string) ([]pluginhost.Spec, error) {
	if len(files) > 0 {
		if target != "" {
			return nil, errors.New("--plugin and --target exclude each other")
		}
		var specs []pluginhost.Spec
		for i, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
			specs = append(specs, pluginhost.Spec{Name: fmt.Sprintf("%d-%s", i, name), Path: f, Config: []byte(pluginCfg)})
		}
		return specs, nil
	}
	if pluginCfg != "" {
		return nil, errors.New("--plugin-config needs --plugin (config file plugins take their config from the file)")
	}
	if target != "" {
		t, ok := cfg.Target(target)
		if !ok {
			return nil, fmt.Errorf("--target %q: no such target in %s", target, cfgName(cfg))
		}
		var specs []pluginhost.Spec
		for _, name := range t.Plugins {
			p, _ := cfg.Plugin(name)
			specs = append(specs, pluginSpec(p))
		}
		return specs, nil
	}
	specs := pluginSpecs(cfg)
	if len(specs) == 0 {
		return nil, fmt.Errorf("no plugins in %s: give --plugin or a config with plugins", cfgName(cfg))
	}
	return specs, nil
}

func cfgName(cfg *config.Config) string {
	if cfg.Path() == "" {
		return "the embedded default config"
	}
	return cfg.Path()
}
