package records

import (
	"strings"
	"testing"
)

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Format
	}{
		{"text", FormatText}, {"json", FormatJSON}, {"ndjson", FormatNDJSON}, {"jsonl", FormatNDJSON},
		{"csv", FormatCSV}, {" CSV ", FormatCSV}, {"NDJSON", FormatNDJSON},
	} {
		got, err := ParseFormat(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if strings.TrimSpace(strings.ToLower(tt.in)) != "jsonl" {
			mustEqual(t, "String", got.String(), strings.TrimSpace(strings.ToLower(tt.in)))
		}
	}
	for _, bad := range []string{"", "xml", "auto", "json lines"} {
		_, err := ParseFormat(bad)
		if err == nil {
			t.Errorf("ParseFormat(%q): no error", bad)
			continue
		}
		mustEqual(t, "error", err.Error(), `records: unknown format "`+bad+`" (want text, json, ndjson, jsonl or csv)`)
	}
	mustEqual(t, "unknown String", Format(0).String(), "format(0)")
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Format
	}{
		{"empty", "", FormatText},
		{"whitespace", " \n ", FormatText},
		{"one object", `{"a":1}`, FormatJSON},
		{"one object with newline", "{\"a\":1}\n", FormatJSON},
		{"pretty object", "{\n  \"a\": [1, 2]\n}\n", FormatJSON},
		{"truncated big document", "{\n  \"users\": [\n    {\"email\": \"a@b", FormatJSON},
		{"truncated one-line document", `[{"email":"a@b.c"},{"email":"d@`, FormatJSON},
		{"bom then array", "\xef\xbb\xbf[1,2]", FormatJSON},
		{"ndjson", "{\"a\":1}\n{\"a\":2}\n", FormatNDJSON},
		{"ndjson truncated last line", "{\"a\":1}\n{\"a\":2}\n{\"a\":", FormatNDJSON},
		{"ndjson arrays", "[1,2]\n[3,4]\n", FormatNDJSON},
		{"ndjson with blank line", "{\"a\":1}\n\n{\"a\":2}\n", FormatNDJSON},
		{"pretty document sequence", "{\n \"a\": 1\n}\n{\n \"a\": 2\n}\n", FormatJSON},
		{"log line with brackets", "[INFO] server started\n[WARN] disk 91% full\n", FormatText},
		{"json then log", "{\"a\":1}\nnot json\n", FormatText},
		{"brace prose", "{this is not json}\n", FormatText},
		{"csv", "id,email,created_at\n1,ana@example.com,2024-01-02\n2,bo@example.com,2024-01-03\n", FormatCSV},
		{"csv crlf quoted", "id,\"full name\"\r\n1,\"Souza, Ana\"\r\n", FormatCSV},
		{"csv truncated last row", "id,email\n1,ana@example.com\n2,bo@exa", FormatCSV},
		{"csv without trailing newline", "id,email\n1,ana@example.com", FormatCSV},
		{"csv header only", "id,email\n", FormatText},
		{"headerless numbers", "1,2\n3,4\n", FormatText},
		{"emails as header", "ana@example.com,4111\nbo@example.com,5500\n", FormatText},
		{"prose with commas", "Hello, world\nHow are you, today?\n", FormatText},
		{"inconsistent widths", "a,b\n1,2,3\n", FormatText},
		{"duplicate header", "a,a\n1,2\n", FormatText},
		{"bad quote", "a,b\n1,x\"y\n", FormatText},
		{"single column", "email\nana@example.com\n", FormatText},
		{"plain text", "hello world\nsecond line\n", FormatText},
		{"number", "42\n", FormatText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustEqual(t, "Sniff", Sniff([]byte(tt.in)), tt.want)
		})
	}
}
