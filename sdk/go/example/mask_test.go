package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

func mustMasker(t testing.TB, config string) *masker {
	t.Helper()
	m, err := newMasker([]byte(config))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConfigErrors(t *testing.T) {
	for config, want := range map[string]string{
		`{}`:                                  `"fields" must list at least one field`,
		`{"fields": []}`:                      `"fields" must list at least one field`,
		`{"fields": [""]}`:                    `"fields"[0]: empty field name`,
		`{"fields": ["a", "*."]}`:             `"fields"[1]: empty field name`,
		`{"fields": ["customer.*"]}`:          `"fields"[0]: "customer.*": "*" is only allowed as a "*." prefix`,
		`{"fields": ["*email"]}`:              `"*" is only allowed as a "*." prefix`,
		`{"fields": ["a"], "keep_last": -1}`:  `"keep_last" must be 0 or more, got -1`,
		`{"fields": ["a"], "keep_last": "4"}`: `cannot unmarshal string`,
		`{"field": ["a"]}`:                    `unknown field "field"`,
		`{"fields": ["a"]} x`:                 `unexpected data after the JSON object`,
		``:                                    `config: empty`,
	} {
		_, err := newMasker([]byte(config))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "json-field-mask: ") {
			t.Errorf("%s: got %v, want an error containing %q", config, err, want)
		}
	}
	m := mustMasker(t, `{"fields": ["a"]}`)
	if string(m.mask) != "****" || m.keepLast != 0 {
		t.Errorf("defaults: mask %q keep_last %d", m.mask, m.keepLast)
	}
}

func TestMatches(t *testing.T) {
	m := mustMasker(t, `{"fields": ["email", "customer.email", "*.ssn", "items[].card"]}`)
	for name, want := range map[string]bool{
		"email":              true,
		"customer.email":     true,
		"contact.email":      false, // exact only without "*."
		"Email":              false, // case sensitive
		"customer_email":     false,
		"ssn":                true,
		"person.ssn":         true,
		"people[].ssn":       true,
		"[].ssn":             true,
		"a.b.c.ssn":          true,
		"person_ssn":         false,
		"ssn.last4":          false,
		".ssn":               true, // a path ending in ".ssn"
		"items[].card":       true,
		"order.items[].card": false,
		"":                   false,
	} {
		if got := m.matches([]byte(name)); got != want {
			t.Errorf("matches(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestApplyKeepLast(t *testing.T) {
	for _, c := range []struct {
		keep        int
		in, want    string
		description string
	}{
		{0, "4111111111111111", "****", "no keep_last"},
		{4, "4111111111111111", "****1111", "card"},
		{4, "12345", "****2345", "one more than keep_last"},
		{4, "1234", "****", "exactly keep_last"},
		{4, "123", "****", "shorter than keep_last"},
		{4, "", "****", "empty"},
		{3, "Zoë Brontë", "****ntë", "2-byte UTF-8"},
		{2, "山田太郎", "****太郎", "3-byte UTF-8"},
		{1, "a😀", "****😀", "4-byte UTF-8"},
		{1, "😀", "****", "one 4-byte character, keep 1"},
		{2, "ok\xff\xfe", "****\xff\xfe", "invalid UTF-8 bytes count one each"},
		{1, "ab\xe5\xb1", "****\xb1", "a truncated sequence is not glued back together"},
	} {
		m := &masker{mask: []byte("****"), keepLast: c.keep}
		if got := m.apply(c.in); got != c.want {
			t.Errorf("%s: keep_last %d on %q: got %q, want %q", c.description, c.keep, c.in, got, c.want)
		}
	}
}

func TestPlan(t *testing.T) {
	h := sluice.NewHarness(hooks())
	if err := h.Init([]byte(`{"fields": ["email", "*.card"]}`)); err != nil {
		t.Fatal(err)
	}
	var bb abi.BatchBuilder
	for _, name := range []string{"id", "email", "customer.email", "items[].card", "card", "note"} {
		bb.AddColumn([]byte(name), abi.TypeText, 0)
	}
	got, err := h.Plan(&bb)
	if err != nil {
		t.Fatal(err)
	}
	want := []sluice.Action{sluice.Ignore, sluice.Inspect, sluice.Ignore, sluice.Inspect, sluice.Inspect, sluice.Ignore}
	if !slices.Equal(got, want) {
		t.Fatalf("plan %v, want %v", got, want)
	}
}

func TestUninitialized(t *testing.T) {
	saved := current
	defer func() { current = saved }()
	current = nil
	h := sluice.NewHarness(hooks())
	var bb abi.BatchBuilder
	bb.AddField(bb.AddColumn([]byte("email"), abi.TypeText, 0), abi.KindString, false, []byte("a@b.c"))
	if _, err := h.Records(&bb); err == nil || !strings.Contains(err.Error(), "not initialized") {
		t.Errorf("records: %v", err)
	}
	// Without a config the plan must not let anything through natively.
	if plan, err := h.Plan(&bb); err != nil || plan[0] != sluice.Inspect {
		t.Errorf("plan: %v %v", plan, err)
	}
	if err := h.SelfTest(); err == nil {
		t.Error("selftest passed without a config")
	}
}

func TestSelfTestCatchesABrokenEngine(t *testing.T) {
	saved := current
	defer func() { current = saved }()
	h := sluice.NewHarness(hooks())
	if err := h.Init([]byte(`{"fields": ["email", "*.card"], "keep_last": 4}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.SelfTest(); err != nil {
		t.Fatalf("selftest: %v", err)
	}
	// A matcher that forgets the wildcard must fail the self-test.
	current.suffixes = nil
	if err := h.SelfTest(); err == nil || !strings.Contains(err.Error(), "column selftest.card") {
		t.Fatalf("broken matcher: %v", err)
	}
}

func usersBatch(bb *abi.BatchBuilder, n int) {
	bb.Reset()
	id := bb.AddColumn([]byte("id"), abi.TypeInt, 20)
	email := bb.AddColumn([]byte("customer.email"), abi.TypeText, 25)
	card := bb.AddColumn([]byte("card"), abi.TypeText, 25)
	note := bb.AddColumn([]byte("note"), abi.TypeText, 25)
	for i := range n {
		bb.BeginRecord()
		bb.AddField(id, abi.KindNumber, false, []byte("1234"))
		if i%5 == 0 {
			bb.AddField(email, abi.KindNull, true, nil)
		} else {
			bb.AddField(email, abi.KindString, false, []byte("someone@example.com"))
		}
		bb.AddField(card, abi.KindString, false, []byte("4111 1111 1111 1111"))
		bb.AddField(note, abi.KindString, false, []byte("Zoë says hi"))
	}
}

func TestRecordsAllocateNothing(t *testing.T) {
	for _, config := range []string{
		`{"fields": ["*.email", "card"]}`,
		`{"fields": ["*.email", "card"], "keep_last": 4}`,
	} {
		h := sluice.NewHarness(hooks())
		if err := h.Init([]byte(config)); err != nil {
			t.Fatal(err)
		}
		var bb abi.BatchBuilder
		usersBatch(&bb, 256)
		run, err := h.PrepareRecords(&bb)
		if err != nil {
			t.Fatal(err)
		}
		if allocs := testing.AllocsPerRun(50, func() {
			if err := run(); err != nil {
				t.Fatal(err)
			}
		}); allocs != 0 {
			t.Errorf("%s: %v allocs per batch, want 0", config, allocs)
		}
	}
}

func BenchmarkRecords(b *testing.B) {
	h := sluice.NewHarness(hooks())
	if err := h.Init([]byte(`{"fields": ["*.email", "card"], "keep_last": 4}`)); err != nil {
		b.Fatal(err)
	}
	var bb abi.BatchBuilder
	usersBatch(&bb, 256)
	run, err := h.PrepareRecords(&bb)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(bb.Size()))
	for b.Loop() {
		if err := run(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestManifestMatchesHooks(t *testing.T) {
	raw, err := os.ReadFile("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m abi.Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // as the host does: unknown keys are an error
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.ABI != abi.Version || m.Name != "json-field-mask" || m.Version == "" || m.OnError != "fail_closed" {
		t.Errorf("manifest: %+v", m)
	}
	if !slices.Equal(m.Hooks, hooks().Hooks()) {
		t.Errorf("manifest hooks %v, registered hooks %v", m.Hooks, hooks().Hooks())
	}
}
