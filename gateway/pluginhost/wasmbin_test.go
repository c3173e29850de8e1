package pluginhost

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSetCustomSectionReplaces(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("testdata", "fixture.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := setCustomSection(wasm, "sluice.manifest", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := setCustomSection(a, "sluice.manifest", []byte("two"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseWasm(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(info.customs["sluice.manifest"]); got != "two" {
		t.Fatalf("manifest section %q", got)
	}
	if len(b) != len(a) {
		t.Fatalf("the old section was not removed: %d vs %d bytes", len(b), len(a))
	}
	// The rest of the module is untouched.
	c, _ := setCustomSection(wasm, "sluice.manifest", []byte("two"))
	if !bytes.Equal(b, c) {
		t.Fatal("replacing a section changed other bytes")
	}
}

func FuzzParseWasm(f *testing.F) {
	for _, name := range []string{"fixture", "v2", "badsig", "badimport", "command"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name+".wasm")); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := parseWasm(b)
		if err != nil {
			return
		}
		for _, e := range info.exports {
			info.funcSig(e)
		}
		// Inspect must never panic, whatever it is given.
		Inspect(b)
		if out, err := setCustomSection(b, "x", []byte("y")); err == nil {
			if _, err := parseWasm(out); err != nil {
				t.Fatalf("setCustomSection made a module parseWasm refuses: %v", err)
			}
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(fixtureManifest))
	f.Add([]byte(`{"abi":1,"name":"x","version":"1","hooks":["records"],"detectors":["email"],"capabilities":["clock"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseManifest(b)
	})
}
