package main

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/sluicegw/sluice/sdk/go/sluice"
)

func TestManifestHooks(t *testing.T) {
	raw, err := os.ReadFile("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Hooks []string `json:"hooks"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	got := hooks().Hooks()
	slices.Sort(got)
	slices.Sort(m.Hooks)
	if !slices.Equal(got, m.Hooks) {
		t.Fatalf("plugin hooks %v, manifest hooks %v", got, m.Hooks)
	}
}

func TestConfig(t *testing.T) {
	for _, bad := range []string{`{"power":"deny"}`, `{"powr":"block"}`, `{"allow_commands":["/bin/ls"]}`, `{"allow_commands":[""]}`, `[]`} {
		if _, err := newGuard([]byte(bad)); err == nil {
			t.Errorf("config %s: no error", bad)
		}
	}
	for _, good := range []string{``, `{}`, `{"power":"approve","fork_bomb":"allow","allow_commands":["ls"]}`} {
		if _, err := newGuard([]byte(good)); err != nil {
			t.Errorf("config %s: %v", good, err)
		}
	}
}

func TestSelfTest(t *testing.T) {
	h := sluice.NewHarness(hooks())
	if err := h.Init([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := h.SelfTest(); err != nil {
		t.Fatal(err)
	}
}
