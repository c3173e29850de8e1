package main

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// only returns a masker with every rule but name disabled.
func only(t *testing.T, name string) *masker {
	t.Helper()
	var off []string
	for _, r := range rules {
		if r.name != name {
			off = append(off, r.name)
		}
	}
	raw, _ := json.Marshal(config{Disable: off})
	m, err := newMasker(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRuleTable(t *testing.T) {
	if len(rules) < 25 {
		t.Errorf("%d rules, want at least 25", len(rules))
	}
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.name] {
			t.Errorf("rule %s listed twice", r.name)
		}
		seen[r.name] = true
		for _, p := range r.pre {
			if p != strings.ToLower(p) {
				t.Errorf("rule %s: prefilter %q is not lower case", r.name, p)
			}
		}
	}
}

// TestSamples checks each rule's self-test sample with the rule alone
// (the rule itself finds it) and with every rule on (no rule earlier in
// the table steals it).
func TestSamples(t *testing.T) {
	all, err := newMasker(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := samples()
	for _, r := range rules {
		sm, ok := s[r.name]
		if !ok {
			t.Errorf("rule %s has no self-test sample", r.name)
			continue
		}
		want := strings.Replace(sm.in, sm.secret, "[REDACTED:"+r.name+"]", 1)
		if got := only(t, r.name).apply(sm.in); got != want {
			t.Errorf("rule %s alone: got %q, want %q", r.name, got, want)
		}
		if got := all.apply(sm.in); got != want {
			t.Errorf("rule %s among all: got %q, want %q", r.name, got, want)
		}
	}
}

type vectorFile struct {
	Cases []struct {
		Name  string `json:"name"`
		Batch struct {
			Records [][]string `json:"records"`
		} `json:"batch"`
		WantRecords [][]string `json:"want_records"`
	} `json:"cases"`
}

// TestRuleVectors requires a true- and a false-positive case for every rule
// in vectors/rules.json (named "tp RULE N" and "fp RULE N"), and runs each
// against that rule alone: a TP must be masked by the rule itself, an FP
// must be left alone by it (the vectors check them with every rule on).
func TestRuleVectors(t *testing.T) {
	raw, err := os.ReadFile("vectors/rules.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	tp, fp := map[string]int{}, map[string]int{}
	for _, c := range vf.Cases {
		kind, rest, _ := strings.Cut(c.Name, " ")
		name, _, _ := strings.Cut(rest, " ")
		if ruleByName(name) == nil {
			t.Errorf("case %q: unknown rule %q", c.Name, name)
			continue
		}
		in, want := c.Batch.Records[0][0], c.WantRecords[0][0]
		got := only(t, name).apply(in)
		switch kind {
		case "tp":
			tp[name]++
			if !strings.Contains(want, "[REDACTED:"+name+"]") {
				t.Errorf("case %q: want does not name the rule", c.Name)
			}
			if got != want {
				t.Errorf("case %q, rule alone: got %q, want %q", c.Name, got, want)
			}
		case "fp":
			fp[name]++
			if got != in {
				t.Errorf("case %q, rule alone: changed to %q", c.Name, got)
			}
		default:
			t.Errorf("case %q: name must start with tp or fp", c.Name)
		}
	}
	for _, r := range rules {
		if tp[r.name] == 0 || fp[r.name] == 0 {
			t.Errorf("rule %s: %d true-positive and %d false-positive vectors, want at least 1 each", r.name, tp[r.name], fp[r.name])
		}
	}
}

func TestConfig(t *testing.T) {
	for _, raw := range []string{"", " ", "{}", `{"disable":[]}`} {
		m, err := newMasker([]byte(raw))
		if err != nil || len(m.rules) != len(rules) {
			t.Errorf("config %q: %v, %d rules", raw, err, len(m.rules))
		}
	}
	for raw, want := range map[string]string{
		`{"disable":["nope"]}`: `unknown rule "nope"`,
		`{"disabled":[]}`:      `unknown field "disabled"`,
		`[]`:                   "config",
		`{} {}`:                "after the JSON object",
	} {
		if _, err := newMasker([]byte(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %s: error %v, want one containing %q", raw, err, want)
		}
	}
	m, err := newMasker([]byte(`{"replacement":"<{rule}|{rule}>","disable":["jwt"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.apply("AKIAIOSFODNN7EXAMPLE"); got != "<aws_access_key_id|aws_access_key_id>" {
		t.Errorf("replacement: got %q", got)
	}
	if slices.ContainsFunc(m.rules, func(r *rule) bool { return r.name == "jwt" }) {
		t.Error("jwt not disabled")
	}
}

func TestEntropy(t *testing.T) {
	for v, want := range map[string]float64{"": 0, "aaaa": 0, "abab": 1, "abcdefgh": 3, "changeme": 2.75} {
		if got := entropy([]byte(v)); math.Abs(got-want) > 1e-9 {
			t.Errorf("entropy(%q) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[string]bool{"abcdefgh": true, "abcdefg": false, "changeme": false, "${TOKEN_VALUE}": false} {
		if got := highEntropy([]byte(v)); got != want {
			t.Errorf("highEntropy(%q) = %v", v, got)
		}
	}
}

func TestSelfTest(t *testing.T) {
	for _, raw := range []string{"{}", `{"replacement":"***"}`, `{"disable":["gcp_service_account","private_key_block"]}`} {
		if err := initConfig([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		if err := selfTest(); err != nil {
			t.Errorf("config %s: %v", raw, err)
		}
	}
	current = nil
}

func TestManifestHooks(t *testing.T) {
	raw, err := os.ReadFile("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var mf struct{ Hooks []string }
	if err := json.Unmarshal(raw, &mf); err != nil {
		t.Fatal(err)
	}
	p := hooks()
	var want []string
	if p.Command != nil {
		want = append(want, "command")
	}
	if p.Records != nil {
		want = append(want, "records")
	}
	if p.SelfTest != nil {
		want = append(want, "selftest")
	}
	if !slices.Equal(mf.Hooks, want) {
		t.Errorf("manifest hooks %v, plugin has %v", mf.Hooks, want)
	}
}

// BenchmarkFind measures the per-value cost on a typical log line with
// one secret (the prefilters skip most rules).
func BenchmarkFind(b *testing.B) {
	m, _ := newMasker(nil)
	v := []byte("2026-11-29T12:00:00Z INFO request id=7f9c2e1a-5b3d-4e8f-9a0b-1c2d3e4f5a6b user=ann took 12ms key=AKIAIOSFODNN7EXAMPLE")
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		m.find(v)
	}
}

func BenchmarkFindClean(b *testing.B) {
	m, _ := newMasker(nil)
	v := []byte("2026-11-29T12:00:00Z INFO request id=7f9c2e1a-5b3d-4e8f-9a0b-1c2d3e4f5a6b user=ann took 12ms status=200")
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		m.find(v)
	}
}
