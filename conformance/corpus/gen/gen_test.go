package gen

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

func TestCorpus(t *testing.T) {
	c := Generate(Seed)
	if n := len(c.Labels) - c.Count(None); n < 5000 {
		t.Errorf("%d PII values, want at least 5000", n)
	}
	if n := c.Count(None); n < 2000 {
		t.Errorf("%d look-alikes, want at least 2000", n)
	}
	files := map[string]*File{}
	for _, f := range c.Files {
		files[f.Name] = f
	}
	perFormat := map[string]map[string]int{}
	for _, l := range c.Labels {
		f := files[l.File]
		if f == nil {
			t.Fatalf("label %d: no file %q", l.ID, l.File)
		}
		if got := string(f.Data[l.Offset : l.Offset+len(l.Value)]); got != l.Value {
			t.Fatalf("label %d: %q at offset %d, want %q", l.ID, got, l.Offset, l.Value)
		}
		if line := bytes.Count(f.Data[:l.Offset], []byte{'\n'}) + 1; line != l.Line {
			t.Fatalf("label %d: line %d, want %d", l.ID, l.Line, line)
		}
		if perFormat[l.Type] == nil {
			perFormat[l.Type] = map[string]int{}
		}
		perFormat[l.Type][l.Format]++
		checkValue(t, l)
	}
	for _, typ := range append(Types, None) {
		for _, f := range []string{"ndjson", "json", "csv", "text"} {
			if perFormat[typ][f] < 100 {
				t.Errorf("%s in %s: %d values, want at least 100", typ, f, perFormat[typ][f])
			}
		}
	}
	t.Logf("%d labels: %v", len(c.Labels), perFormat)
}

// checkValue re-validates each value independently of its generator.
func checkValue(t *testing.T, l Label) {
	t.Helper()
	compact := strings.NewReplacer(" ", "", "-", "").Replace(l.Value)
	switch l.Kind {
	case "card-plain", "card-spaced", "card-dashed", "card-amex", "card-mastercard-2series":
		if !LuhnValid(compact) || len(compact) < 13 || len(compact) > 19 {
			t.Errorf("%s: not a valid card number", l.Value)
		}
	case "card-invalid-luhn":
		if LuhnValid(compact) {
			t.Errorf("%s: look-alike passes Luhn", l.Value)
		}
	case "iban-compact", "iban-grouped":
		if !IBANValid(compact) {
			t.Errorf("%s: not a valid IBAN", l.Value)
		}
	case "iban-invalid-check":
		if IBANValid(compact) {
			t.Errorf("%s: look-alike passes mod-97", l.Value)
		}
	case "ipv4":
		if a, err := netip.ParseAddr(l.Value); err != nil || !a.Is4() {
			t.Errorf("%s: not IPv4", l.Value)
		}
	case "ipv6-full", "ipv6-compressed", "ipv6-mixed":
		if a, err := netip.ParseAddr(l.Value); err != nil || !a.Is6() {
			t.Errorf("%s: not IPv6", l.Value)
		}
	case "ssn", "ssn-invalid":
		var a, g, s int
		valid := len(l.Value) == 11 && l.Value[3] == '-' && l.Value[6] == '-'
		if valid {
			a, g, s = atoi(l.Value[:3]), atoi(l.Value[4:6]), atoi(l.Value[7:])
			valid = a != 0 && a != 666 && a < 900 && g != 0 && s != 0
		}
		if valid != (l.Kind == "ssn") {
			t.Errorf("%s (%s): valid=%v", l.Value, l.Kind, valid)
		}
	}
	if l.Type == None {
		// No look-alike may be a valid card number (by brand prefix).
		if n := len(compact); n >= 13 && n <= 19 && strings.Trim(compact, "0123456789") == "" &&
			LuhnValid(compact) && strings.ContainsRune("23456", rune(compact[0])) {
			t.Errorf("look-alike %s (%s) is a valid card number", l.Value, l.Kind)
		}
		// No look-alike may parse as an IP address.
		if _, err := netip.ParseAddr(l.Value); err == nil {
			t.Errorf("look-alike %s (%s) is an IP address", l.Value, l.Kind)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestDeterministic(t *testing.T) {
	a, b := Generate(Seed), Generate(Seed)
	for i := range a.Files {
		if !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
			t.Fatalf("%s differs between two runs", a.Files[i].Name)
		}
	}
	if !bytes.Equal(a.LabelsNDJSON(), b.LabelsNDJSON()) {
		t.Fatal("labels differ between two runs")
	}
}

func TestDecompose(t *testing.T) {
	f := Field{Segs: []Seg{{"call ", -1}, {"(415) 555-2671", 0}, {" or ", -1}, {"a@b.co", 1}, {".", -1}}}
	for _, c := range []struct {
		out  string
		want []string
		ok   bool
	}{
		{"call (415) 555-2671 or a@b.co.", []string{"(415) 555-2671", "a@b.co"}, true},
		{"call [PHONE] or [EMAIL].", []string{"[PHONE]", "[EMAIL]"}, true},
		{"call (415) ***-**** or  or x.", []string{"(415) ***-****", " or x"}, true},
		{"call [PHONE] or [EMAIL]", nil, false}, // the period went
		{"[REDACTED]", nil, false},
	} {
		got, ok := f.Decompose(c.out)
		if ok != c.ok || ok && !equal(got, c.want) {
			t.Errorf("Decompose(%q) = %q, %v; want %q, %v", c.out, got, ok, c.want, c.ok)
		}
	}
}
