package corpus

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluicegw/sluice/conformance/corpus/gen"
)

// TestPIICorpus masks the corpus with `sluice mask --plugin
// plugins/pii-mask/pii-mask.wasm` (empty config) and checks recall and
// precision per entity type against the targets. $SLUICE_CORPUS_PLUGIN
// scores another plugin instead (the targets are then only logged).
func TestPIICorpus(t *testing.T) {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(root, "plugins", "pii-mask", "pii-mask.wasm")
	other := os.Getenv("SLUICE_CORPUS_PLUGIN")
	if other != "" {
		plugin = other
	}
	if _, err := os.Stat(plugin); err != nil {
		t.Fatalf("%s is not built: run `make plugins` (make test does): %v", plugin, err)
	}
	ctx := context.Background()
	bin, err := BuildCLI(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(ctx, corpusOnce(), CLI(bin, plugin, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d PII values, %d look-alikes; %d fields with altered text\n\n", res.PII, res.LookAlikes, res.TextAltered)
	res.Markdown(&b)
	b.WriteString("\n")
	res.KindsMarkdown(&b)
	t.Logf("%s\n%s", plugin, b.String())
	const show = 100
	for i, m := range res.Misses {
		if i == show {
			t.Logf("... and %d more (go run ./conformance/corpus/cmd/report -misses 0)", len(res.Misses)-show)
			break
		}
		t.Log(m)
	}
	if other != "" {
		t.Logf("targets not checked for $SLUICE_CORPUS_PLUGIN: %v", res.Check())
		return
	}
	for _, f := range res.Check() {
		t.Error(f)
	}
}

// oracle masks exactly the labelled values for which keep returns false,
// as a perfect (or deliberately flawed) plugin would.
func oracle(c *gen.Corpus, mask func(gen.Label) bool) MaskFunc {
	return func(_ context.Context, format string, in []byte) ([]byte, error) {
		var f *gen.File
		for _, x := range c.Files {
			if x.Format == format && bytes.Equal(x.Data, in) {
				f = x
			}
		}
		if f == nil {
			return nil, fmt.Errorf("no %s file", format)
		}
		var ls []gen.Label
		for _, l := range c.Labels {
			if l.File == f.Name && mask(l) {
				ls = append(ls, l)
			}
		}
		slices.SortFunc(ls, func(a, b gen.Label) int { return a.Offset - b.Offset })
		var out []byte
		at := 0
		for _, l := range ls {
			out = append(append(out, in[at:l.Offset]...), "[REDACTED:"+l.Type+"]"...)
			at = l.Offset + len(l.Value)
		}
		return append(out, in[at:]...), nil
	}
}

func TestEvaluatorPerfect(t *testing.T) {
	c := corpusOnce()
	res, err := Evaluate(context.Background(), c, oracle(c, func(l gen.Label) bool { return l.Type != gen.None }))
	if err != nil {
		t.Fatal(err)
	}
	all := res.Row("overall")
	if all.TP != res.PII || all.FN != 0 || all.FP != 0 || res.TextAltered != 0 || len(res.Misses) != 0 {
		t.Fatalf("perfect masker: %+v, %d text altered, %d misses", all, res.TextAltered, len(res.Misses))
	}
	if f := res.Check(); len(f) != 0 {
		t.Fatal(f)
	}
}

func TestEvaluatorCountsErrors(t *testing.T) {
	c := corpusOnce()
	// Miss every third SSN, mask every invalid card number.
	var n int
	skip := map[int]bool{}
	for _, l := range c.Labels {
		if l.Type == gen.SSN {
			if n%3 == 0 {
				skip[l.ID] = true
			}
			n++
		}
	}
	res, err := Evaluate(context.Background(), c, oracle(c, func(l gen.Label) bool {
		return l.Type != gen.None && !skip[l.ID] || l.Kind == "card-invalid-luhn"
	}))
	if err != nil {
		t.Fatal(err)
	}
	ssn, card := res.Row(gen.SSN), res.Row(gen.Card)
	if ssn.FN != len(skip) || ssn.TP != ssn.Values-len(skip) {
		t.Errorf("ssn: %+v, want %d FN", ssn, len(skip))
	}
	invalid := 0
	for _, l := range c.Labels {
		if l.Kind == "card-invalid-luhn" {
			invalid++
		}
	}
	if card.FP != invalid || card.FN != 0 || res.Row(gen.None).FP != invalid {
		t.Errorf("card: %+v, none: %+v; want %d FP", card, res.Row(gen.None), invalid)
	}
	if f := res.Check(); len(f) != 4 {
		t.Errorf("Check: %q, want ssn recall, card precision and both overall", f)
	}
	if res.Misses[0].What != "missed" || res.Misses[0].Label.Type != gen.SSN {
		t.Errorf("first miss: %v", res.Misses[0])
	}
}

func TestEvaluatorTextAltered(t *testing.T) {
	c := corpusOnce()
	mask := oracle(c, func(l gen.Label) bool { return l.Type != gen.None })
	res, err := Evaluate(context.Background(), c, func(ctx context.Context, format string, in []byte) ([]byte, error) {
		out, err := mask(ctx, format, in)
		// A plugin that also eats the word after "SSN" in text lines.
		if format == "text" {
			out = bytes.ReplaceAll(out, []byte("] on file"), []byte("] file"))
		}
		return out, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.TextAltered == 0 || res.Row(gen.None).FP != res.TextAltered || res.Row(gen.SSN).FN != 0 {
		t.Fatalf("text altered %d, none %+v, ssn %+v", res.TextAltered, res.Row(gen.None), res.Row(gen.SSN))
	}
}

func TestEvaluatorIdentity(t *testing.T) {
	c := corpusOnce()
	res, err := Evaluate(context.Background(), c, func(_ context.Context, _ string, in []byte) ([]byte, error) { return in, nil })
	if err != nil {
		t.Fatal(err)
	}
	if all := res.Row("overall"); all.TP != 0 || all.FN != res.PII || all.FP != 0 {
		t.Fatalf("identity: %+v", all)
	}
}

// TestSample checks the committed sample is the head of the corpus.
func TestSample(t *testing.T) {
	c := corpusOnce().Head(sampleRecords)
	for _, f := range c.Files {
		got, err := os.ReadFile(filepath.Join("sample", f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("sample/%s is stale: go run ./conformance/corpus/cmd/gen -o conformance/corpus/sample -head %d", f.Name, sampleRecords)
		}
	}
	got, err := os.ReadFile(filepath.Join("sample", "labels.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, c.LabelsNDJSON()) {
		t.Errorf("sample/labels.ndjson is stale: go run ./conformance/corpus/cmd/gen -o conformance/corpus/sample -head %d", sampleRecords)
	}
}

const sampleRecords = 20

// corpusOnce generates the corpus once for the evaluator tests.
var corpusOnce = sync.OnceValue(func() *gen.Corpus { return gen.Generate(gen.Seed) })
