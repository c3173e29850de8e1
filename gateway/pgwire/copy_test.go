package pgwire

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// COPY TO STDOUT on a masked target: text and CSV, header, a column
// list, a query, NULLs; psql's \copy too.
func TestCopyMasked(t *testing.T) {
	e := newEnv(t, envOptions{guard: true, mask: true})
	c := e.pgx(t, nil)
	ctx := ctxT(t)
	for _, tc := range []struct{ sql, want string }{
		{"COPY customers TO STDOUT",
			"1\tAnn\t****\t10\t{\"tier\": \"gold\"}\n2\tBob\t****\t20\t\\N\n3\tCy\t\\N\t30\t{}\n"},
		{"COPY customers (email, id) TO STDOUT (FORMAT csv, HEADER)",
			"email,id\n\"****\",1\n\"****\",2\n,3\n"},
		{"COPY (SELECT name, email AS email FROM customers WHERE id < 3 ORDER BY id) TO STDOUT WITH CSV",
			"Ann,\"****\"\nBob,\"****\"\n"},
		{"COPY (SELECT E'a\\tb' AS email, 'x' AS y) TO STDOUT (DELIMITER '|', NULL 'null')",
			"****|x\n"},
	} {
		var out bytes.Buffer
		tag, err := c.PgConn().CopyTo(ctx, &out, tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if out.String() != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.sql, out.String(), tc.want)
		}
		if !strings.HasPrefix(tag.String(), "COPY ") {
			t.Errorf("%s: tag %q", tc.sql, tag)
		}
	}
	if _, err := os.Stat("/usr/bin/psql"); err == nil {
		file := filepath.Join(t.TempDir(), "out.csv")
		out, errOut, err := psql(t, e, botToken, "-c", `\copy customers (id, email) to '`+file+`' csv`)
		if err != nil {
			t.Fatalf("psql \\copy: %v\n%s\n%s", err, out, errOut)
		}
		got, _ := os.ReadFile(file)
		if string(got) != "1,\"****\"\n2,\"****\"\n3,\n" {
			t.Errorf("psql \\copy wrote %q", got)
		}
	}
}

func TestCopyCodec(t *testing.T) {
	p := &copyPlan{delim: '\t', null: `\N`}
	fields, err := p.splitRow([]byte("a\\tb\t\\N\t\\\\x\\101\\x41\n"), nil)
	if err != nil || len(fields) != 3 || string(fields[0].value) != "a\tb" || !fields[1].null || string(fields[2].value) != `\xAA` {
		t.Fatalf("%+v %v", fields, err)
	}
	if got := string(p.appendField(nil, []byte("a\tb\\\n"), false)); got != `a\tb\\\n` {
		t.Errorf("text field: %q", got)
	}
	p = &copyPlan{delim: '\t', null: "x"}
	if got := string(p.appendField(nil, []byte("x"), false)); got != `\x` {
		t.Errorf("a value equal to the NULL marker: %q", got)
	}
	csv := &copyPlan{csv: true, delim: ',', quote: '"', escape: '"'}
	fields, err = csv.splitRow([]byte("\"a,\"\"b\"\"\",,\"\",plain\n"), nil)
	if err != nil || len(fields) != 4 || string(fields[0].value) != `a,"b"` || !fields[1].null || fields[2].null || string(fields[3].value) != "plain" {
		t.Fatalf("%+v %v", fields, err)
	}
	if got := string(csv.appendField(nil, []byte(`say "hi"`), false)); got != `"say ""hi"""` {
		t.Errorf("csv field: %q", got)
	}
	for _, bad := range []string{"\"open\n", "a\"b\n", "\"a\"b\n", "no newline"} {
		if _, err := csv.splitRow([]byte(bad), nil); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzCopyRow: any row either fails to split or survives a re-frame of
// every field unchanged.
func FuzzCopyRow(f *testing.F) {
	f.Add([]byte("a\tb\\n\t\\N\n"), false)
	f.Add([]byte("\"a\"\"b\",,x\n"), true)
	f.Fuzz(func(t *testing.T, row []byte, isCSV bool) {
		p := &copyPlan{delim: '\t', null: `\N`}
		if isCSV {
			p = &copyPlan{csv: true, delim: ',', quote: '"', escape: '"'}
		}
		fields, err := p.splitRow(row, nil)
		if err != nil {
			return
		}
		var b []byte
		for i, fl := range fields {
			if i > 0 {
				b = append(b, p.delim)
			}
			b = p.appendField(b, fl.value, fl.null)
		}
		b = append(b, '\n')
		again, err := p.splitRow(b, nil)
		if err != nil || len(again) != len(fields) {
			t.Fatalf("%q -> %q: %v", row, b, err)
		}
		for i := range again {
			if again[i].null != fields[i].null || !bytes.Equal(again[i].value, fields[i].value) {
				t.Fatalf("%q -> %q: field %d %q/%v != %q/%v", row, b, i, again[i].value, again[i].null, fields[i].value, fields[i].null)
			}
		}
	})
}

// A masked value stays valid for its column's type and format.
func TestColumnFix(t *testing.T) {
	for _, tc := range []struct {
		oid    uint32
		binary bool
		in     string
		want   any // string or nil
	}{
		{oidText, false, "****", "****"},
		{oidText, true, "****", "****"},
		{oidInt4, false, "****", nil},
		{oidInt4, false, "42", "42"},
		{oidInt8, true, "****", nil},
		{oidNumeric, false, "NaN", "NaN"},
		{oidBool, false, "t", "t"},
		{oidBool, false, "****", nil},
		{oidJSON, false, "****", `"****"`},
		{oidJSONB, false, `{"a":1}`, `{"a":1}`},
		{oidJSONB, true, "****", "\x01\"****\""},
		{1114, false, "****", nil}, // timestamp
		{oidBytea, false, "****", nil},
		{20000, false, "****", "****"}, // an enum or citext
		{20000, true, "****", nil},
	} {
		got := columnOf(tc.oid, tc.binary).fix([]byte(tc.in))
		if tc.want == nil {
			if got != nil {
				t.Errorf("%d binary=%v %q: %q, want NULL", tc.oid, tc.binary, tc.in, got)
			}
		} else if string(got) != tc.want.(string) || got == nil {
			t.Errorf("%d binary=%v %q: %q, want %q", tc.oid, tc.binary, tc.in, got, tc.want)
		}
	}
}
