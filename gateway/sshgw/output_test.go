package sshgw

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/records"
)

// TestOutputRecords: output reaches the chain line by line, a line that
// is a JSON object as a JSON record (a field rule by name masks it), any
// other line as text (the same words in a text line are not a field);
// output that starts with a CSV header and rows is CSV. Everything the
// chain did not change comes back byte for byte.
func TestOutputRecords(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", `{"fields":[{"match":"name","label":"[NAME]"}]}`)}, nil)
	dir := t.TempDir()
	mixed := "starting export\n{\"id\":1,\"name\":\"Ann Lee\",\"plan\":\"pro\"}\n{\"id\":2, \"name\": \"Bo Chan\"}\r\nname Ann Lee\n{not json, name Ann Lee}\nend\n"
	csv := "id,name,plan\n1,Ann Lee,pro\n2,Bo Chan,free\n"
	for name, data := range map[string]string{"mixed.txt": mixed, "export.csv": csv} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := g.ssh(t, "", "cat "+filepath.Join(dir, "mixed.txt"))
	want := "starting export\n{\"id\":1,\"name\":\"[NAME]\",\"plan\":\"pro\"}\n{\"id\":2, \"name\": \"[NAME]\"}\r\nname Ann Lee\n{not json, name Ann Lee}\nend\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("mixed:\n got %q\nwant %q", r.stdout, want)
	}
	r = g.ssh(t, "", "cat "+filepath.Join(dir, "export.csv"))
	if want := "id,name,plan\n1,[NAME],pro\n2,[NAME],free\n"; r.code != 0 || r.stdout != want {
		t.Errorf("csv:\n got %q\nwant %q", r.stdout, want)
	}
}

func TestOutputFormat(t *testing.T) {
	for in, want := range map[string]records.Format{
		"":                                  records.FormatLines,
		"id,name\n":                         records.FormatLines, // a header alone: no rows yet
		"id,name\n1,Ann\n":                  records.FormatCSV,
		"id,name\n1,Ann\n2,Bo\n3,":          records.FormatCSV,
		"{\"a\":1}\n{\"a\":2}\n":            records.FormatLines,
		"total 8\ndrwxr-xr-x 2 root root\n": records.FormatLines,
	} {
		if got := outputFormat([]byte(in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}

// TestIncompleteRune: a UTF-8 sequence cut by a read's end is held for
// the next read; whole and invalid ones are not.
func TestIncompleteRune(t *testing.T) {
	for in, want := range map[string]int{"": 0, "abc": 0, "é": 0, "a\xc3": 1, "a\xe2\x82": 2, "a\xf0\x9f\x98": 3, "a\x80": 0, "a€": 0, "\xff": 0} {
		if got := incompleteRune([]byte(in)); got != want {
			t.Errorf("%q: got %d, want %d", in, got, want)
		}
	}
}

// TestBinaryOutput: with PassBinaryOutput, output that is not text (NUL
// bytes, not UTF-8) reaches the client unmasked and byte for byte,
// recorded by its size only, while text around it is masked; without
// it (the default) nothing passes unmasked.
func TestBinaryOutput(t *testing.T) {
	dir := t.TempDir()
	bin := make([]byte, 200<<10)
	for i := range bin {
		bin[i] = byte(i*31 + i/7)
	}
	copy(bin[1000:], "user1@example.com") // binary: passes as it is
	binFile := filepath.Join(dir, "blob.bin")
	if err := os.WriteFile(binFile, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	chain := policy.Chain{plugin(t, "pii-mask", "")}
	t.Run("pass", func(t *testing.T) {
		g := startGateway(t, chain, func(o *Options, _ *sshd) { o.PassBinaryOutput = true })
		r := g.ssh(t, "", "cat "+binFile)
		if r.code != 0 || !bytes.Equal([]byte(r.stdout), bin) {
			t.Fatalf("binary: exit %d, %d bytes, equal %v", r.code, len(r.stdout), bytes.Equal([]byte(r.stdout), bin))
		}
		// Text on stderr meanwhile is masked.
		r = g.ssh(t, "", "echo mail user2@example.com >&2; cat "+binFile)
		if r.code != 0 || r.stderr != "mail [EMAIL]\n" || !bytes.Equal([]byte(r.stdout), bin) {
			t.Fatalf("with stderr: exit %d, %d bytes, stderr %q", r.code, len(r.stdout), r.stderr)
		}
		evs := g.expectEvents(t, []string{"ci output", `"stream":"stdout"`, `"binary":204800`, `"bytes":204800`})
		for _, e := range evs {
			if strings.Contains(e, "user1@example.com") {
				t.Errorf("binary output was recorded: %.200s", e)
			}
		}
	})
	t.Run("mask", func(t *testing.T) {
		g := startGateway(t, chain, nil)
		r := g.ssh(t, "", "cat "+binFile)
		if r.code != 0 || strings.Contains(r.stdout, "user1@example.com") || !strings.Contains(r.stdout, "[EMAIL]") {
			t.Fatalf("exit %d, %d bytes", r.code, len(r.stdout))
		}
	})
}
