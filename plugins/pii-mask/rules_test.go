package main

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// detCase is a detector case: in, and the substrings of in that entity ent
// must mask, in order (none for a false positive). vectors/detectors.json
// is generated from this table (go test -run TestWriteVectors -update).
type detCase struct {
	ent entity
	in  string
	pii []string
}

func tp(ent entity, in string, pii ...string) detCase {
	if len(pii) == 0 {
		pii = []string{in}
	}
	return detCase{ent, in, pii}
}

func fp(ent entity, in string) detCase { return detCase{ent, in, nil} }

var detectorCases = []detCase{
	// e-mail
	tp(entEmail, "ann@example.com"),
	tp(entEmail, "Contact: John.Doe@Example.COM.", "John.Doe@Example.COM"),
	tp(entEmail, "first.last+tag@sub.domain.co.uk"),
	tp(entEmail, "mailto:bob-smith@mail.example.io?subject=hi", "bob-smith@mail.example.io"),
	tp(entEmail, "user%test@example.museum"),
	tp(entEmail, "x1@y2.info"),
	tp(entEmail, "two: a@b.io, c_d@e-f.org", "a@b.io", "c_d@e-f.org"),
	tp(entEmail, `{"to":"ops@acme.dev"}`, "ops@acme.dev"),
	tp(entEmail, "<jane.o.doe@company.travel>", "jane.o.doe@company.travel"),
	tp(entEmail, "ANN.SMITH@EXAMPLE.ORG"),
	fp(entEmail, "user@localhost"),
	fp(entEmail, "logo@2x.png"),
	fp(entEmail, "a@b.c"),
	fp(entEmail, "ping @handle and @team"),
	fp(entEmail, "foo@bar"),
	fp(entEmail, "npm i left-pad@1.3.0"),
	fp(entEmail, "name@domain..com"),
	fp(entEmail, "user@-bad.com"),
	fp(entEmail, "ann@example.c0m"),
	fp(entEmail, "styles@media.css"),

	// phone
	tp(entPhone, "+14155552671"),
	tp(entPhone, "+44 20 7946 0958"),
	tp(entPhone, "call +1 (415) 555-2671 now", "+1 (415) 555-2671"),
	tp(entPhone, "+49 30 12345678"),
	tp(entPhone, "+33 1 23 45 67 89"),
	tp(entPhone, "+1-415-555-2671"),
	tp(entPhone, "+44 (0)20 7946 0958"),
	tp(entPhone, "+91 98765 43210"),
	tp(entPhone, "+81-3-1234-5678"),
	tp(entPhone, "(415) 555-2671"),
	tp(entPhone, "(415)555-2671"),
	tp(entPhone, "tel: 415-555-2671.", "415-555-2671"),
	tp(entPhone, "415.555.2671"),
	tp(entPhone, "415 555 2671"),
	tp(entPhone, "1-415-555-2671"),
	tp(entPhone, "1 (415) 555-2671"),
	tp(entPhone, "001-415-555-2671x1234"),
	tp(entPhone, "415-555-2671 ext. 42"),
	tp(entPhone, "123-456-7890"),
	tp(entPhone, "020 7946 0958"),
	tp(entPhone, "01632 960983"),
	tp(entPhone, "01 23 45 67 89"),
	tp(entPhone, "ring 030-12345678 today", "030-12345678"),
	tp(entPhone, "a 415-555-2671, b (212) 555-0100", "415-555-2671", "(212) 555-0100"),
	fp(entPhone, "2024-01-15"),
	fp(entPhone, "15.01.2024"),
	fp(entPhone, "ORD-415-555-2671"),
	fp(entPhone, "415-555-26710"),
	fp(entPhone, "4155552671"),
	fp(entPhone, "+1234"),
	fp(entPhone, "UTC+05:30"),
	fp(entPhone, "zip 94105-1234"),
	fp(entPhone, "call 555-2671"),
	fp(entPhone, "ISBN 978-0-306-40615-7"),
	fp(entPhone, "415-555-2671-99"),
	fp(entPhone, "(415) 555"),
	fp(entPhone, "00 11 22 33 44"),
	fp(entPhone, "123 456 7890"),
	fp(entPhone, "1+4155552671"),
	fp(entPhone, "+1234567890123456"),
	fp(entPhone, "parts 100-200-300"),

	// payment cards
	tp(entCard, "4111111111111111"),
	tp(entCard, "4111 1111 1111 1111"),
	tp(entCard, "4111-1111-1111-1111"),
	tp(entCard, "mc 5500 0000 0000 0004 exp 01/30", "5500 0000 0000 0004"),
	tp(entCard, "5555555555554444"),
	tp(entCard, "2223000048400011"),
	tp(entCard, "378282246310005"),
	tp(entCard, "3782 822463 10005"),
	tp(entCard, "6011111111111117"),
	tp(entCard, "6011 0009 9013 9424"),
	tp(entCard, "3530111333300000"),
	tp(entCard, "30569309025904"),
	tp(entCard, "4222222222222"),
	tp(entCard, "card: 4012888888881881.", "4012888888881881"),
	tp(entCard, "4111 1111 1111 1111 2024", "4111 1111 1111 1111"),
	fp(entCard, "4111111111111112"),
	fp(entCard, "4111 1111 1111 1112"),
	fp(entCard, "1234567812345670"),
	fp(entCard, "ts 1705314600000"),
	fp(entCard, "0000000000000000"),
	fp(entCard, "9999999999999995"),
	fp(entCard, "41111111111111111111"),
	fp(entCard, "4111-1111-1111-1111-1111"),
	fp(entCard, "ORD-4111111111111111"),
	fp(entCard, "4111.1111.1111.1111"),
	fp(entCard, "20240115103000123"),
	fp(entCard, "41 11 11 11 11 11 11 11"),
	fp(entCard, "5100000000000008123"),
	fp(entCard, "ref 1234 5678 0207 9460 958"),

	// IBAN
	tp(entIBAN, "DE89 3704 0044 0532 0130 00"),
	tp(entIBAN, "DE89370400440532013000"),
	tp(entIBAN, "GB82 WEST 1234 5698 7654 32"),
	tp(entIBAN, "iban=GB82WEST12345698765432;", "GB82WEST12345698765432"),
	tp(entIBAN, "FR14 2004 1010 0505 0001 3M02 606"),
	tp(entIBAN, "NL91ABNA0417164300"),
	tp(entIBAN, "CH93 0076 2011 6238 5295 7"),
	tp(entIBAN, "BE68539007547034"),
	tp(entIBAN, "ES9121000418450200051332"),
	tp(entIBAN, "IT60X0542811101000000123456"),
	tp(entIBAN, "NO9386011117947"),
	fp(entIBAN, "DE89370400440532013001"),
	fp(entIBAN, "DE8937040044053201300"),
	fp(entIBAN, "XX89370400440532013000"),
	fp(entIBAN, "GB82 WEST 1234 5698 7654 3"),
	fp(entIBAN, "de89370400440532013000"),
	fp(entIBAN, "SKU AB12CD34"),
	fp(entIBAN, "XDE89370400440532013000"),
	fp(entIBAN, "code DE30 4854 7120 0154 8132 84"),
	fp(entIBAN, "IT27 Y851 4048 6059 8587 2001 509"),

	// SSN
	tp(entSSN, "123-45-6789"),
	tp(entSSN, "SSN 078-05-1120", "078-05-1120"),
	tp(entSSN, "ssn: 219 09 9999", "219 09 9999"),
	tp(entSSN, "001-01-0001"),
	tp(entSSN, "665-12-3456"),
	tp(entSSN, "899-99-9999"),
	fp(entSSN, "000-12-3456"),
	fp(entSSN, "666-12-3456"),
	fp(entSSN, "900-12-3456"),
	fp(entSSN, "999-12-3456"),
	fp(entSSN, "123-00-4567"),
	fp(entSSN, "123-45-0000"),
	fp(entSSN, "123456789"),
	fp(entSSN, "123-45-67890"),
	fp(entSSN, "1123-45-6789"),
	fp(entSSN, "123-45-6789-1"),
	fp(entSSN, "123 45-6789"),
	fp(entSSN, "A123-45-6789"),

	// IPv4
	tp(entIPv4, "192.168.1.10"),
	tp(entIPv4, "10.0.0.1"),
	tp(entIPv4, "client 203.0.113.195 connected", "203.0.113.195"),
	tp(entIPv4, "10.0.0.1:5432", "10.0.0.1"),
	tp(entIPv4, "route 10.0.0.0/8", "10.0.0.0"),
	tp(entIPv4, "255.255.255.255"),
	tp(entIPv4, "ip=198.51.100.7,", "198.51.100.7"),
	tp(entIPv4, "[172.16.254.1]", "172.16.254.1"),
	tp(entIPv4, "from 8.8.4.44 to 1.1.1.10", "8.8.4.44", "1.1.1.10"),
	fp(entIPv4, "1.2.3.4"),
	fp(entIPv4, "v1.2.3.4"),
	fp(entIPv4, "version 10.0.0.1"),
	fp(entIPv4, "Version: 10.20.30.40"),
	fp(entIPv4, "1.2.3.4.5"),
	fp(entIPv4, "10.0.0.1.5"),
	fp(entIPv4, "256.1.1.1"),
	fp(entIPv4, "192.168.01.1"),
	fp(entIPv4, "1.22.3"),
	fp(entIPv4, "10.0.0.1-beta"),
	fp(entIPv4, "2024.01.15"),
	fp(entIPv4, "OID 1.3.6.1.4.1.311"),
	fp(entIPv4, "8.8.8.8"),
	fp(entIPv4, "build 10.0.19041.1"),

	// IPv6
	tp(entIPv6, "2001:db8::1"),
	tp(entIPv6, "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
	tp(entIPv6, "fe80::1ff:fe23:4567:890a"),
	tp(entIPv6, "fe80::1%eth0", "fe80::1"),
	tp(entIPv6, "::ffff:192.0.2.128"),
	tp(entIPv6, "[2001:db8::ff00:42:8329]:443", "2001:db8::ff00:42:8329"),
	tp(entIPv6, "2001:DB8:0:0:8:800:200C:417A"),
	tp(entIPv6, "prefix 2001:db8:: end", "2001:db8::"),
	tp(entIPv6, "addr 2001:db8::7: up", "2001:db8::7"),
	tp(entIPv6, "from 2001:db8::f9c6.", "2001:db8::f9c6"),
	tp(entIPv6, "from fe80::88bc:a0d8:4aa8:89a9. | next", "fe80::88bc:a0d8:4aa8:89a9"),
	fp(entIPv6, "::1"),
	fp(entIPv6, "10:30:00"),
	fp(entIPv6, "12:30:45.123"),
	fp(entIPv6, "00:1A:2B:3C:4D:5E"),
	fp(entIPv6, "dead::beef"),
	fp(entIPv6, "std::vector<int>"),
	fp(entIPv6, "1:2:3:4:5:6:7"),
	fp(entIPv6, "2001:db8:::1"),
	fp(entIPv6, "2001:db8::g1"),
	fp(entIPv6, "12345::1"),
	fp(entIPv6, "2001:db8::1.5"),
}

// lookalikes must not be masked by any detector (empty config).
var lookalikes = []string{
	"order ORD-2024-000123 shipped",
	"order #100234567 total 42",
	"2024-01-15T10:30:00Z",
	"2024-01-15 10:30:00.123+02:00",
	"created 2024-01-15, due 01/15/2024, paid 15.01.2024",
	"550e8400-e29b-41d4-a716-446655440000",
	"price $1,234.56 (EUR 1.234,56)",
	"1234567.89",
	"release v2.14.3 and 1.2.3.4",
	"commit 3f786850e387550fdab836ed7e6dc881de23001b",
	"color #ff0000 and #00ff00",
	"duration 01:02:03",
	"epoch 1705314600 ms 1705314600000",
	"tracking 1Z999AA10123456784",
	"sku 4006381333931",
	"ratio 3.14159265358979",
	"temp -12.5C at 10:30",
	"card ending 1111",
	"version: 10.0.0.1",
	"isbn 978-3-16-148410-0",
	"invoice INV-415-555-2671",
	"user_id 12345678901234",
	"hex 0x4111111111111111",
	"path /var/log/app-2024-01-15.log",
	"score 98.6/100",
	"mac 00:1a:2b:3c:4d:5e",
	"C++ std::map and Foo::Bar",
	"phone: 555-0199",
	"zip 94105-1234",
	"coords 37.7749,-122.4194",
}

// masked returns in with each pii replaced by label, in order.
func masked(in string, pii []string, label string) string {
	var b strings.Builder
	rest := in
	for _, p := range pii {
		i := strings.Index(rest, p)
		if i < 0 {
			panic("pii " + p + " not in " + in)
		}
		b.WriteString(rest[:i])
		b.WriteString(label)
		rest = rest[i+len(p):]
	}
	b.WriteString(rest)
	return b.String()
}

func TestDetectors(t *testing.T) {
	m := mustMasker(t, `{}`)
	seen := map[entity][2]int{}
	for _, c := range detectorCases {
		// The entity alone finds exactly the pii.
		spans := scan([]byte(c.in), 1<<c.ent, &m.builtin, nil)
		var got []string
		for _, sp := range spans {
			got = append(got, c.in[sp.s:sp.e])
		}
		if strings.Join(got, "|") != strings.Join(c.pii, "|") {
			t.Errorf("%s %q: found %q, want %q", entityNames[c.ent], c.in, got, c.pii)
		}
		// With every entity on, the value is masked as the vectors say.
		if want, out := masked(c.in, c.pii, defaultLabels[c.ent]), m.apply(c.in); out != want {
			t.Errorf("%s %q: all entities give %q, want %q", entityNames[c.ent], c.in, out, want)
		}
		k := seen[c.ent]
		if len(c.pii) > 0 {
			k[0]++
		} else {
			k[1]++
		}
		seen[c.ent] = k
	}
	for ent := entity(0); ent < numBuiltin; ent++ {
		if k := seen[ent]; k[0] < 5 || k[1] < 5 {
			t.Errorf("%s: %d true and %d false positive cases, want 5 or more of each", entityNames[ent], k[0], k[1])
		}
	}
}

func TestLookalikes(t *testing.T) {
	m := mustMasker(t, `{}`)
	for _, in := range lookalikes {
		if out := m.apply(in); out != in {
			t.Errorf("%q masked to %q", in, out)
		}
	}
}

func TestSamples(t *testing.T) {
	m := mustMasker(t, `{}`)
	for ent := entity(0); ent < numBuiltin; ent++ {
		s := samples[ent]
		if want, got := strings.Replace(s.in, s.pii, defaultLabels[ent], 1), m.apply(s.in); got != want {
			t.Errorf("%s sample: got %q, want %q", entityNames[ent], got, want)
		}
	}
}

func TestLuhnAndIBANTables(t *testing.T) {
	if !luhn([]byte{4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}) || luhn([]byte{4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2}) {
		t.Error("luhn")
	}
	if ibanLengths[('D'-'A')*26+'E'-'A'] != 22 || ibanLengths[('G'-'A')*26+'B'-'A'] != 22 || ibanLengths[('N'-'A')*26+'O'-'A'] != 15 {
		t.Error("iban lengths")
	}
}

// FuzzScan checks that spans are in order, disjoint and within the value,
// and that masking never panics.
func FuzzScan(f *testing.F) {
	for _, c := range detectorCases {
		f.Add(c.in)
	}
	for _, s := range lookalikes {
		f.Add(s)
	}
	m, err := newMasker([]byte(`{"key":"k","entities":{"email":{"strategy":"partial"},"ipv6":{"strategy":"partial"},"phone":{"strategy":"fpe"},"credit_card":{"strategy":"hash"}}}`))
	if err != nil {
		f.Fatal(err)
	}
	u, err := newMasker([]byte(`{"custom":[{"name":"num","pattern":"[0-9]{3,}"},{"name":"ok","pattern":"ok[a-z]*","strategy":"keep"}],"deny":[{"name":"d","values":["ann","555"]}]}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		last := int32(0)
		for _, sp := range u.find([]byte(s)) {
			if sp.s < last || sp.e <= sp.s || int(sp.e) > len(s) {
				t.Fatalf("%q: bad spans with user rules %v", s, u.spans)
			}
			last = sp.e
		}
		u.apply(s)
		var want uint8
		for i := 0; i < len(s); i++ {
			want |= prefilter[s[i]]
		}
		if got := prefilterOf([]byte(s)); got != want {
			t.Fatalf("%q: prefilter %b, want %b", s, got, want)
		}
		spans := scan([]byte(s), m.en, &m.builtin, nil)
		last = 0
		for _, sp := range spans {
			if sp.s < last || sp.e <= sp.s || int(sp.e) > len(s) {
				t.Fatalf("%q: bad spans %v", s, spans)
			}
			last = sp.e
		}
		m.apply(s)
	})
}

func TestPrefilterWord(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			b := []byte("abcdefgh")
			b[pos] = byte(c)
			want := uint8(0)
			for _, x := range b {
				want |= prefilter[x]
			}
			if got := prefilterOf(b); got != want {
				t.Fatalf("byte %#x at %d: %b, want %b", c, pos, got, want)
			}
		}
	}
}

// TestISOTimestampHasNoEntity checks what scanHas's isoTimestamp shortcut
// relies on: the full scan finds nothing in such a value, whatever its
// digits, and the shortcut accepts nothing else.
func TestISOTimestampHasNoEntity(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var all [numBuiltin]int32
	var spans []span
	check := func(v string) {
		t.Helper()
		if !isoTimestamp([]byte(v)) {
			t.Fatalf("isoTimestamp(%q) = false", v)
		}
		if spans = scanHas([]byte(v), hasDigit, 1<<numBuiltin-1, &all, spans[:0]); len(spans) > 0 {
			t.Fatalf("scan(%q) = %v, want no entity", v, spans)
		}
	}
	for d := byte('0'); d <= '9'; d++ {
		for _, shape := range []string{"dddd-dd-ddTdd:dd:dd", "dddd-dd-ddTdd:dd:ddZ", "dddd-dd-ddTdd:dd:dd.d", "dddd-dd-ddTdd:dd:dd.dddddddddZ"} {
			check(strings.ReplaceAll(shape, "d", string(d)))
		}
	}
	for range 200000 {
		b := []byte("dddd-dd-ddTdd:dd:dd")
		if rng.IntN(2) == 0 {
			b = append(b, '.')
			for range 1 + rng.IntN(9) {
				b = append(b, 'd')
			}
		}
		if rng.IntN(2) == 0 {
			b = append(b, 'Z')
		}
		for i, c := range b {
			if c == 'd' {
				b[i] = byte('0' + rng.IntN(10))
			}
		}
		check(string(b))
	}
	for _, v := range []string{"", "2024-01-15", "2024-01-15 10:30:00", "2024-01-15T10:30:00+02:00", "2024-01-15T10:30:00.",
		"2024-01-15T10:30:00.1234567890", "2024-01-15T10:30:0a", "x024-01-15T10:30:00", "2024-01-15T10:30:00ZZ", "2024-01-15T10:30:00.Z"} {
		if isoTimestamp([]byte(v)) {
			t.Errorf("isoTimestamp(%q) = true", v)
		}
	}
}
