// Package corpus scores a masking plugin against the labelled PII corpus
// of package gen: it masks each corpus file with `sluice mask`, lines the
// output up with the input record by record and field by field, and counts
// per entity type the PII values that were masked (true positives), those
// left intact (false negatives) and the look-alikes that were altered
// (false positives). README.md has the corpus, the method and the latest
// table.
package corpus

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sluicegw/sluice/conformance/corpus/gen"
)

// Targets from the issue: per entity type and overall.
const (
	MinRecall    = 0.995
	MinPrecision = 0.99
)

// MaskFunc masks one corpus file's bytes in the given format (a `sluice
// mask --format` name) and returns the output.
type MaskFunc func(ctx context.Context, format string, in []byte) ([]byte, error)

// CLI returns a MaskFunc that runs `sluice mask --plugin plugin --format F`
// with the binary at bin and an empty plugin config (the plugin's
// defaults). Compiled plugins are cached in cacheDir ("" for the CLI's
// default).
func CLI(bin, plugin, cacheDir string) MaskFunc {
	return func(ctx context.Context, format string, in []byte) ([]byte, error) {
		cmd := exec.CommandContext(ctx, bin, "mask", "--plugin", plugin, "--format", format, "--quiet")
		cmd.Stdin = bytes.NewReader(in)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if cacheDir != "" {
			cmd.Env = append(os.Environ(), "SLUICE_CACHE_DIR="+cacheDir)
		}
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("sluice mask --format %s: %w: %s", format, err, strings.TrimSpace(stderr.String()))
		}
		return out.Bytes(), nil
	}
}

// ModuleRoot finds the directory of go.mod, from the working directory up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildCLI builds ./gateway/cmd/sluice of the module at root into dir and
// returns the binary's path.
func BuildCLI(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "sluice")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./gateway/cmd/sluice")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./gateway/cmd/sluice: %w\n%s", err, out)
	}
	return bin, nil
}

// Row is one line of the table: an entity type, "none" (the look-alikes)
// or "overall".
type Row struct {
	Type string
	// Values: PII values of the type (for "none": look-alikes).
	Values int
	// TP: PII masked. FN: PII left intact. FP: look-alikes altered that
	// resemble this type (for "none" and "overall": every altered
	// look-alike, plus fields whose unlabelled text was altered).
	TP, FN, FP int
}

// Recall is TP/(TP+FN).
func (r Row) Recall() float64 { return ratio(r.TP, r.TP+r.FN) }

// Precision is TP/(TP+FP).
func (r Row) Precision() float64 { return ratio(r.TP, r.TP+r.FP) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// Miss is one scoring error: a PII value left intact, a look-alike that
// was altered, or literal text around the labelled values that was altered.
type Miss struct {
	What  string    // "missed", "false positive", "text altered"
	Label gen.Label // the value (for "text altered": the field's first, or zero)
	// File, Line and Field locate it; In and Out are the field's value
	// before and after masking.
	File, Field string
	Line        int
	In, Out     string
}

func (m Miss) String() string {
	switch m.What {
	case "text altered":
		return fmt.Sprintf("text altered  %s:%d %s: %q -> %q", m.File, m.Line, m.Field, m.In, m.Out)
	case "missed":
		return fmt.Sprintf("missed %-6s %-22s %q  (%s:%d %s: %q)", m.Label.Type, m.Label.Kind, m.Label.Value, m.File, m.Line, m.Field, m.In)
	}
	return fmt.Sprintf("false positive %-20s %q  (%s:%d %s: %q -> %q)", m.Label.Kind, m.Label.Value, m.File, m.Line, m.Field, m.In, m.Out)
}

// KindRow counts one variant (kind) of a type or of the look-alikes.
type KindRow struct {
	Type, Kind string
	// Values and Altered: PII masked, or look-alikes altered.
	Values, Altered int
}

// Result is an evaluation.
type Result struct {
	Rows   []Row // Types in order, then "none", then "overall"
	Kinds  []KindRow
	Misses []Miss
	// PII and LookAlikes are the numbers of labelled values.
	PII, LookAlikes int
	// TextAltered counts fields whose literal text (outside any labelled
	// value) changed: also false positives, in "none" and "overall".
	TextAltered int
}

// Row returns the row of a type, "none" or "overall".
func (r *Result) Row(typ string) Row {
	for _, x := range r.Rows {
		if x.Type == typ {
			return x
		}
	}
	return Row{Type: typ}
}

// Evaluate masks every file of c with mask and scores the output.
func Evaluate(ctx context.Context, c *gen.Corpus, mask MaskFunc) (*Result, error) {
	altered := make([]bool, len(c.Labels)) // the value is not intact in the output
	var misses []Miss
	textAltered := 0
	for _, f := range c.Files {
		out, err := mask(ctx, f.Format, f.Data)
		if err != nil {
			return nil, err
		}
		outs, err := split(f, out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		for i, rec := range f.Records {
			for _, fl := range rec.Fields {
				o, ok := outs[i][fl.Name]
				if !ok {
					return nil, fmt.Errorf("%s:%d: field %s is missing from the output", f.Name, rec.Line, fl.Name)
				}
				in := fl.Text()
				if o == in {
					continue
				}
				vals, textOK := fl.Decompose(o)
				if !textOK {
					textAltered++
					misses = append(misses, Miss{What: "text altered", File: f.Name, Line: rec.Line, Field: fl.Name, In: in, Out: o})
				}
				n := 0
				for _, s := range fl.Segs {
					if s.Label < 0 {
						continue
					}
					if textOK {
						altered[s.Label] = vals[n] != s.Text
					} else {
						altered[s.Label] = !strings.Contains(o, s.Text)
					}
					n++
					if l := c.Labels[s.Label]; l.Type == gen.None && altered[s.Label] {
						misses = append(misses, Miss{What: "false positive", Label: l, File: f.Name, Line: rec.Line, Field: fl.Name, In: in, Out: o})
					}
				}
			}
		}
	}
	res := &Result{TextAltered: textAltered}
	rows := map[string]*Row{}
	for _, t := range append(append([]string{}, gen.Types...), gen.None, "overall") {
		rows[t] = &Row{Type: t}
	}
	kinds := map[string]*KindRow{}
	var kindOrder []string
	for _, l := range c.Labels {
		k := kinds[l.Kind]
		if k == nil {
			k = &KindRow{Type: l.Type, Kind: l.Kind}
			kinds[l.Kind] = k
			kindOrder = append(kindOrder, l.Kind)
		}
		k.Values++
		all := rows["overall"]
		if l.Type == gen.None {
			res.LookAlikes++
			rows[gen.None].Values++
			if altered[l.ID] {
				k.Altered++
				rows[gen.None].FP++
				all.FP++
				if l.Resembles != "" {
					rows[l.Resembles].FP++
				}
			}
			continue
		}
		res.PII++
		rows[l.Type].Values++
		all.Values++
		if altered[l.ID] {
			k.Altered++
			rows[l.Type].TP++
			all.TP++
		} else {
			rows[l.Type].FN++
			all.FN++
			f := c.File(l.File)
			rec := f.Records[sort.Search(len(f.Records), func(i int) bool { return f.Records[i].End > l.Offset })]
			var in string
			for _, fl := range rec.Fields {
				if fl.Name == l.Field {
					in = fl.Text()
				}
			}
			misses = append(misses, Miss{What: "missed", Label: l, File: l.File, Line: l.Line, Field: l.Field, In: in})
		}
	}
	rows[gen.None].FP += textAltered
	rows["overall"].FP += textAltered
	for _, t := range append(append([]string{}, gen.Types...), gen.None, "overall") {
		res.Rows = append(res.Rows, *rows[t])
	}
	sort.SliceStable(kindOrder, func(i, j int) bool {
		a, b := kinds[kindOrder[i]], kinds[kindOrder[j]]
		return typeIndex(a.Type) < typeIndex(b.Type) || typeIndex(a.Type) == typeIndex(b.Type) && a.Kind < b.Kind
	})
	for _, k := range kindOrder {
		res.Kinds = append(res.Kinds, *kinds[k])
	}
	// Misses: missed PII first, by type, then false positives, then text.
	order := map[string]int{"missed": 0, "false positive": 1, "text altered": 2}
	sort.SliceStable(misses, func(i, j int) bool {
		a, b := misses[i], misses[j]
		if order[a.What] != order[b.What] {
			return order[a.What] < order[b.What]
		}
		if a.Label.Type != b.Label.Type {
			return typeIndex(a.Label.Type) < typeIndex(b.Label.Type)
		}
		return a.Label.Kind < b.Label.Kind
	})
	res.Misses = misses
	return res, nil
}

func typeIndex(t string) int {
	for i, x := range gen.Types {
		if x == t {
			return i
		}
	}
	return len(gen.Types)
}

// split cuts a file's output into records of field values (by name, as
// text: a JSON string's contents, a number's digits), one per input
// record, in order.
func split(f *gen.File, out []byte) ([]map[string]string, error) {
	var recs []map[string]string
	switch f.Format {
	case "ndjson":
		for i, line := range bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n")) {
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var v map[string]any
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("output line %d: %w", i+1, err)
			}
			rec := map[string]string{}
			flatten("", v, rec)
			recs = append(recs, rec)
		}
	case "json":
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var v []map[string]any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("output: %w", err)
		}
		for _, e := range v {
			rec := map[string]string{}
			flatten("", e, rec)
			recs = append(recs, rec)
		}
	case "csv":
		rd := csv.NewReader(bytes.NewReader(out))
		rd.FieldsPerRecord = -1
		header, err := rd.Read()
		if err != nil {
			return nil, fmt.Errorf("output header: %w", err)
		}
		for {
			row, err := rd.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("output: %w", err)
			}
			rec := map[string]string{}
			for i, v := range row {
				if i < len(header) {
					rec[header[i]] = v
				}
			}
			recs = append(recs, rec)
		}
	case "text":
		for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
			recs = append(recs, map[string]string{"line": strings.TrimSuffix(line, "\r")})
		}
	default:
		return nil, fmt.Errorf("unknown format %q", f.Format)
	}
	if len(recs) != len(f.Records) {
		return nil, fmt.Errorf("%d records in the output, %d in the input: records were dropped or split", len(recs), len(f.Records))
	}
	return recs, nil
}

func flatten(prefix string, v any, into map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			flatten(prefix+k+".", e, into)
		}
		return
	case string:
		into[strings.TrimSuffix(prefix, ".")] = x
	case json.Number:
		into[strings.TrimSuffix(prefix, ".")] = x.String()
	case nil:
		into[strings.TrimSuffix(prefix, ".")] = "null"
	default:
		b, _ := json.Marshal(x)
		into[strings.TrimSuffix(prefix, ".")] = string(b)
	}
}

// Markdown writes the per-type table.
func (r *Result) Markdown(w io.Writer) {
	fmt.Fprintf(w, "| type | values | TP | FN | FP | recall | precision |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, x := range r.Rows {
		switch x.Type {
		case gen.None:
			fmt.Fprintf(w, "| none (look-alikes) | %d | | | %d | | |\n", x.Values, x.FP)
		case "overall":
			fmt.Fprintf(w, "| **overall** | %d | %d | %d | %d | %s | %s |\n", x.Values, x.TP, x.FN, x.FP, pct(x.Recall()), pct(x.Precision()))
		default:
			fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %s | %s |\n", x.Type, x.Values, x.TP, x.FN, x.FP, pct(x.Recall()), pct(x.Precision()))
		}
	}
}

// KindsMarkdown writes the per-variant table: the share of each kind of
// PII that was masked, and of each kind of look-alike that was altered.
func (r *Result) KindsMarkdown(w io.Writer) {
	fmt.Fprintf(w, "| type | kind | values | masked |\n|---|---|---:|---:|\n")
	for _, k := range r.Kinds {
		fmt.Fprintf(w, "| %s | %s | %d | %d (%s) |\n", k.Type, k.Kind, k.Values, k.Altered, pct(ratio(k.Altered, k.Values)))
	}
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

// Check returns the targets the result misses, one line each.
func (r *Result) Check() []string {
	var fails []string
	for _, x := range r.Rows {
		if x.Type == gen.None {
			continue
		}
		if x.Recall() < MinRecall {
			fails = append(fails, fmt.Sprintf("%s: recall %s < %s (%d of %d PII values left intact)", x.Type, pct(x.Recall()), pct(MinRecall), x.FN, x.Values))
		}
		if x.Precision() < MinPrecision {
			fails = append(fails, fmt.Sprintf("%s: precision %s < %s (%d false positives)", x.Type, pct(x.Precision()), pct(MinPrecision), x.FP))
		}
	}
	return fails
}
