package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/detect"
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

const key = `"key":"test-key-1"`

// pinned marks a case whose output is computed by the plugin (hash, fpe).
var pinned = s("pinned")

func one(name, config, col, in string, want *string) tcase {
	c := tcase{name: name, config: config, cols: []string{col}, in: []*string{s(in)}, want: []*string{want}}
	if want == pinned {
		c.want = nil
	}
	return c
}

var strategyCases = []tcase{
	one("partial email keeps the domain", `{"strategy":"partial"}`, "v", "mail ann.smith@example.com now", s("mail *********@example.com now")),
	one("partial card keeps the last 4 and the spacing", `{"strategy":"partial"}`, "v", "4111 1111 1111 1111", s("**** **** **** 1111")),
	one("partial phone keeps the last 4 and the punctuation", `{"strategy":"partial"}`, "v", "+1 (415) 555-2671", s("+* (***) ***-2671")),
	one("partial SSN keeps the last 4", `{"strategy":"partial"}`, "v", "ssn 123-45-6789", s("ssn ***-**-6789")),
	one("partial IBAN keeps the last 4", `{"strategy":"partial"}`, "v", "DE89 3704 0044 0532 0130 00", s("**** **** **** **** **30 00")),
	one("partial IPv4 zeroes the host octet", `{"strategy":"partial"}`, "v", "from 10.1.2.3:80", s("from 10.1.2.0:80")),
	one("partial IPv6 keeps the /48", `{"strategy":"partial"}`, "v", "2001:db8:85a3::8a2e:370:7334", s("2001:db8:85a3::")),
	one("partial IPv6 expands a short prefix", `{"strategy":"partial"}`, "v", "fe80::1ff:fe23:4567:890a", s("fe80:0:0::")),
	one("per-entity strategy and label", `{"entities":{"email":{"label":"<email>"},"phone":{"strategy":"partial"}}}`, "v",
		"ann@example.com 415-555-2671 123-45-6789", s("<email> ***-***-2671 [SSN]")),
	one("keep turns an entity off", `{"entities":{"ipv4":{"strategy":"keep"}}}`, "v", "10.1.2.3 ann@example.com", s("10.1.2.3 [EMAIL]")),
	one("nullify of an embedded match nulls the field", `{"entities":{"ssn":{"strategy":"nullify"}}}`, "v", "ssn 123-45-6789 on file", null),
	one("redact is the default", `{}`, "v", "a@b.io +14155552671 4111111111111111 GB82WEST12345698765432 123-45-6789 10.0.0.1 2001:db8::1",
		s("[EMAIL] [PHONE] [CREDIT_CARD] [IBAN] [SSN] [IPV4] [IPV6]")),
	one("hash of an e-mail", `{"strategy":"hash",`+key+`}`, "v", "ann@example.com", pinned),
	one("hash ignores the e-mail's case (joins)", `{"strategy":"hash",`+key+`}`, "v", "Ann@Example.COM", pinned),
	one("hash of a phone ignores its punctuation", `{"strategy":"hash",`+key+`}`, "v", "(415) 555-2671", pinned),
	one("hash of the same phone written otherwise", `{"strategy":"hash",`+key+`}`, "v", "415.555.2671", pinned),
	one("hash_length", `{"strategy":"hash","hash_length":8,`+key+`}`, "v", "card 4111111111111111", pinned),
	one("fpe phone keeps the shape", `{"strategy":"fpe",`+key+`}`, "v", "call 415-555-2671", pinned),
	one("fpe e-mail keeps the punctuation", `{"strategy":"fpe",`+key+`}`, "v", "Ann.Smith@Example.com", pinned),
	one("fpe card", `{"strategy":"fpe",`+key+`}`, "v", "4111 1111 1111 1111", pinned),
	one("fpe SSN", `{"strategy":"fpe",`+key+`}`, "v", "123-45-6789", pinned),
	one("fpe IBAN", `{"strategy":"fpe",`+key+`}`, "v", "GB82WEST12345698765432", pinned),
	one("format_preserving is fpe", `{"strategy":"format_preserving",`+key+`}`, "v", "call 415-555-2671", pinned),
	one("a masked value stays masked (idempotent redact)", `{}`, "v", "[EMAIL] [PHONE]", s("[EMAIL] [PHONE]")),
	one("an empty string stays empty", `{}`, "v", "", s("")),
}

// typeCases need column types, which only the native harness passes for
// now: the gateway's masking path (gateway/policy.Masker, used by `sluice
// mask` and `sluice plugin test`) sends every column as unknown. They run
// in TestTables and are not written to vectors/.
var typeCases = []tcase{
	one("int column: a card number redacted becomes NULL", `{}`, "n:int", "4111111111111111", null),
	one("int column: a number that is no entity is kept", `{}`, "n:int", "42", s("42")),
	one("int column: hash keeps an integer", `{`+key+`,"fields":[{"match":"customer_id","strategy":"hash"}]}`, "customer_id:int", "1234567", pinned),
	one("int column: fpe keeps the sign", `{`+key+`,"fields":[{"match":"n","strategy":"fpe"}]}`, "n:int", "-98765", pinned),
	one("int column: partial becomes NULL", `{"fields":[{"match":"n","strategy":"partial"}]}`, "n:int", "98765", null),
	one("int column: 19 digits overflow, NULL", `{`+key+`,"fields":[{"match":"n","strategy":"fpe"}]}`, "n:int", "1234567890123456789", null),
	one("float column: fpe keeps a float", `{`+key+`,"fields":[{"match":"salary","strategy":"fpe"}]}`, "salary:float", "1234.56", pinned),
	one("float column: exponent kept", `{`+key+`,"fields":[{"match":"x","strategy":"hash"}]}`, "x:float", "6.02e23", pinned),
	one("float column: redact becomes NULL", `{"fields":[{"match":"salary"}]}`, "salary:float", "1234.56", null),
	one("float column: NaN with fpe becomes NULL", `{`+key+`,"fields":[{"match":"x","strategy":"fpe"}]}`, "x:float", "NaN", null),
	one("bool column: any strategy becomes NULL", `{"fields":[{"match":"vip","strategy":"partial"}]}`, "vip:bool", "true", null),
	one("timestamp column: partial keeps the year", `{"fields":[{"match":"dob","strategy":"partial"}]}`, "dob:timestamp", "1985-07-23", s("1985-01-01")),
	one("timestamp column: partial zeroes the time", `{"fields":[{"match":"dob","strategy":"partial"}]}`, "dob:timestamp", "1985-07-23T10:30:15.250Z", s("1985-01-01T00:00:00.000Z")),
	one("timestamp column: fpe keeps a valid date", `{`+key+`,"fields":[{"match":"dob","strategy":"fpe"}]}`, "dob:timestamp", "1985-07-23 10:30:15+02", pinned),
	one("timestamp column: redact becomes NULL", `{"fields":[{"match":"dob"}]}`, "dob:timestamp", "1985-07-23", null),
	one("timestamp column: hash becomes NULL", `{`+key+`,"fields":[{"match":"dob","strategy":"hash"}]}`, "dob:timestamp", "1985-07-23", null),
	one("timestamp column: unparsable with partial becomes NULL", `{"fields":[{"match":"dob","strategy":"partial"}]}`, "dob:timestamp", "July 23rd", null),
	one("timestamp column: not scanned", `{}`, "ts:timestamp", "2024-01-15 10:30:00", s("2024-01-15 10:30:00")),
	one("json column: a match inside a string", `{}`, "doc:json", `{"e":"ann@example.com","n":1}`, s(`{"e":"[EMAIL]","n":1}`)),
	one("json column: a card as a JSON number becomes a string", `{}`, "doc:json", `{"card":4111111111111111}`, s(`{"card":"[CREDIT_CARD]"}`)),
	one("json column: an escaped quote before the match", `{}`, "doc:json", `{"a":"say \"hi\" 415-555-2671"}`, s(`{"a":"say \"hi\" [PHONE]"}`)),
	one("json column: whole-field redact is a JSON string", `{"fields":[{"match":"doc"}]}`, "doc:json", `{"a":1}`, s(`"[REDACTED]"`)),
	one("json column: whole-field partial is a JSON string", `{"fields":[{"match":"doc","strategy":"partial"}]}`, "doc:json", `{"a":"xy"}`, s(`"{\"*\":\"**\"}"`)),
	one("json column: embedded nullify makes it null", `{"entities":{"email":{"strategy":"nullify"}}}`, "doc:json", `{"e":"ann@example.com"}`, null),
	one("unknown column: a JSON number is masked as text", `{}`, "n:unknown", "4111111111111111", s("[CREDIT_CARD]")),
	one("bytes column: scanned as text", `{}`, "b:bytes", "ann@example.com", s("[EMAIL]")),
	{name: "NULL fields stay NULL in every type", config: `{"fields":[{"match":"*"}]}`,
		cols: []string{"a:text", "b:int", "c:timestamp", "d:json"}, in: []*string{null, null, null, null}, want: []*string{null, null, null, null}},
}

var fieldCases = []tcase{
	{name: "*.email matches nested paths and the bare name, not a longer name", config: `{"fields":[{"match":"*.email","strategy":"partial"}]}`,
		cols: []string{"customer.email", "email", "items[].email", "email_verified"},
		in:   []*string{s("ann@x.io"), s("bob@y.io"), s("cy@z.io"), s("yes")},
		want: []*string{s("***@x.io"), s("***@y.io"), s("**@z.io"), s("yes")}},
	{name: "a name without a dot matches the leaf at any depth", config: `{"fields":[{"match":"customer_id"}]}`,
		cols: []string{"customer_id", "order.customer_id", "customer_ids"},
		in:   []*string{s("C-1"), s("C-2"), s("C-3")},
		want: []*string{s("[REDACTED]"), s("[REDACTED]"), s("C-3")}},
	{name: "*name* matches any name containing name", config: `{"fields":[{"match":"*name*","label":"[NAME]"}]}`,
		cols: []string{"first_name", "user.last_name", "username", "id"},
		in:   []*string{s("Ann"), s("Smith"), s("ann1"), s("7")},
		want: []*string{s("[NAME]"), s("[NAME]"), s("[NAME]"), s("7")}},
	{name: "dob nullified", config: `{"fields":[{"match":"dob","strategy":"nullify"}]}`,
		cols: []string{"dob", "note"}, in: []*string{s("1985-07-23"), s("born 1985")}, want: []*string{null, s("born 1985")}},
	{name: "keep skips detection in a column", config: `{"fields":[{"match":"notes","strategy":"keep"}]}`,
		cols: []string{"notes", "other"}, in: []*string{s("ann@example.com"), s("ann@example.com")}, want: []*string{s("ann@example.com"), s("[EMAIL]")}},
	{name: "first matching rule wins", config: `{"fields":[{"match":"ssn","strategy":"partial"},{"match":"*","strategy":"nullify"}]}`,
		cols: []string{"ssn", "x"}, in: []*string{s("123-45-6789"), s("y")}, want: []*string{s("***-**-6789"), null}},
	{name: "matching ignores case", config: `{"fields":[{"match":"*.Email"}]}`,
		cols: []string{"Customer.EMAIL"}, in: []*string{s("a")}, want: []*string{s("[REDACTED]")}},
	{name: "a pattern with a dot matches the whole path", config: `{"fields":[{"match":"customer.*"}]}`,
		cols: []string{"customer.phone", "customer.address.zip", "customer", "vendor.phone"},
		in:   []*string{s("1"), s("2"), s("3"), s("4")},
		want: []*string{s("[REDACTED]"), s("[REDACTED]"), s("3"), s("4")}},
	{name: "? matches one character", config: `{"fields":[{"match":"phone?"}]}`,
		cols: []string{"phone1", "phone", "phone12"}, in: []*string{s("1"), s("2"), s("3")}, want: []*string{s("[REDACTED]"), s("2"), s("3")}},
	{name: "partial of a text field keeps the last 4", config: `{"fields":[{"match":"account","strategy":"partial"}]}`,
		cols: []string{"account"}, in: []*string{s("ACCT-00123456")}, want: []*string{s("****-****3456")}},
	{name: "partial of a short text field masks it all but a quarter", config: `{"fields":[{"match":"name","strategy":"partial"}]}`,
		cols: []string{"name"}, in: []*string{s("Zoë Li")}, want: []*string{s("*** *i")}},
	{name: "hash of a field", config: `{` + key + `,"fields":[{"match":"customer_id","strategy":"hash"}]}`,
		cols: []string{"customer_id"}, in: []*string{s("C-1001")}},
	{name: "fpe of a name keeps the letters' case", config: `{` + key + `,"fields":[{"match":"name","strategy":"fpe"}]}`,
		cols: []string{"name"}, in: []*string{s("Ann O'Neil")}},
	{name: "a JSON array path", config: `{"fields":[{"match":"[].name"}]}`,
		cols: []string{"[].name", "[].id"}, in: []*string{s("Ann"), s("1")}, want: []*string{s("[REDACTED]"), s("1")}},
}

var customCases = []tcase{
	one("custom regex entity", `{"custom":[{"name":"employee_id","pattern":"EMP-[0-9]{6}"}]}`, "v", "by EMP-004211 and EMP-1", s("by [EMPLOYEE_ID] and EMP-1")),
	one("custom with a label and partial", `{"custom":[{"name":"ticket","pattern":"TCK[0-9]{8}","strategy":"partial","label":"x"}]}`, "v", "TCK12345678", s("*******5678")),
	one("custom wins over an overlapping built-in", `{"custom":[{"name":"internal","pattern":"ext [0-9]{3}-[0-9]{3}-[0-9]{4}"}]}`, "v", "ext 415-555-2671 and 212-555-0100", s("[INTERNAL] and [PHONE]")),
	one("custom regex case-insensitive flag", `{"custom":[{"name":"code","pattern":"(?i)secret-[a-z]+"}]}`, "v", "SECRET-Alpha ok", s("[CODE] ok")),
	one("deny list, case-insensitive, whole words", `{"deny":[{"name":"codename","values":["Project Falcon","ACME-7"]}]}`, "v", "project falcon and acme-7, not falconry or ACME-77", s("[CODENAME] and [CODENAME], not falconry or ACME-77")),
	one("deny list, case-sensitive", `{"deny":[{"name":"vip","values":["Ann Smith"],"case_sensitive":true}]}`, "v", "Ann Smith, ann smith", s("[VIP], ann smith")),
	one("deny list with hash", `{`+key+`,"deny":[{"name":"vip","values":["Ann Smith"],"strategy":"hash"}]}`, "v", "to Ann Smith", pinned),
	one("deny list and built-ins together", `{"deny":[{"name":"person","values":["Bob"]}]}`, "v", "Bob <bob@example.com> 415-555-2671", s("[PERSON] <[EMAIL]> [PHONE]")),
	one("deny value with punctuation", `{"deny":[{"name":"host","values":["db-01.internal"]}]}`, "v", "at db-01.internal:5432", s("at [HOST]:5432")),
	one("custom keep is an allow list that shields built-ins", `{"custom":[{"name":"test_card","pattern":"4111 1111 1111 1111","strategy":"keep"}]}`, "v", "test 4111 1111 1111 1111, real 5555555555554444", s("test 4111 1111 1111 1111, real [CREDIT_CARD]")),
	one("deny keep allows a known address", `{"deny":[{"name":"support","values":["support@example.com"],"strategy":"keep"}]}`, "v", "support@example.com or ann@example.com", s("support@example.com or [EMAIL]")),
	one("custom nullify", `{"custom":[{"name":"secret","pattern":"sk_[a-z0-9]{8}","strategy":"nullify"}]}`, "v", "key sk_abcdef12", null),
}

type streamCase struct{ name, config, format, in, want string }

var streamCases = []streamCase{
	{"ndjson with PII among other fields", `{}`, "ndjson",
		`{"id":100001,"name":"Ann Smith","email":"ann.0@example.com","plan":"pro","active":true,"balance":12.50,"created_at":"2024-01-15T10:30:00Z","note":"call +44 20 7946 0958 re order ORD-2024-000123"}` + "\n" +
			`{"id":100002,"card":"4111 1111 1111 1111","ip":"203.0.113.9","ver":"1.2.3.4","uuid":"550e8400-e29b-41d4-a716-446655440000"}` + "\n",
		`{"id":100001,"name":"Ann Smith","email":"[EMAIL]","plan":"pro","active":true,"balance":12.50,"created_at":"2024-01-15T10:30:00Z","note":"call [PHONE] re order ORD-2024-000123"}` + "\n" +
			`{"id":100002,"card":"[CREDIT_CARD]","ip":"[IPV4]","ver":"1.2.3.4","uuid":"550e8400-e29b-41d4-a716-446655440000"}` + "\n"},
	{"ndjson number fields", `{}`, "ndjson",
		`{"card":4111111111111111,"order":4111111111111112,"price":1234.56}` + "\n",
		`{"card":"[CREDIT_CARD]","order":4111111111111112,"price":1234.56}` + "\n"},
	{"csv with quoted cells", `{}`, "csv",
		"name,phone,ssn,note\nAnn,(415) 555-2671,123-45-6789,\"IBAN DE89 3704 0044 0532 0130 00, thanks\"\nBob,n/a,666-12-3456,v1.2.3.4\n",
		"name,phone,ssn,note\nAnn,[PHONE],[SSN],\"IBAN [IBAN], thanks\"\nBob,n/a,666-12-3456,v1.2.3.4\n"},
	{"csv with field rules", `{"fields":[{"match":"name","strategy":"partial"},{"match":"ssn","strategy":"nullify"}]}`, "csv",
		"name,ssn\nAnn Smith,123-45-6789\n",
		"name,ssn\n*** *mith,\n"},
	{"text log lines", `{}`, "text",
		"2024-01-15T10:30:00Z login ok user=ann@example.com ip=192.168.1.10 build 10.0.19041.1\n2024-01-15T10:31:00Z fe80::1%eth0 up, v2.3.4.5\n",
		"2024-01-15T10:30:00Z login ok user=[EMAIL] ip=[IPV4] build 10.0.19041.1\n2024-01-15T10:31:00Z [IPV6]%eth0 up, v2.3.4.5\n"},
	{"json document", `{}`, "json",
		`[{"contact":{"email":"ann@example.com","phone":"415.555.2671"},"tags":["vip","ssn 078-05-1120"]}]`,
		`[{"contact":{"email":"[EMAIL]","phone":"[PHONE]"},"tags":["vip","ssn [SSN]"]}]`},
}

type loadErrorCase struct{ file, config, want string }

var loadErrorCases = []loadErrorCase{
	{"unknown_key", `{"entitys":{}}`, `unknown field "entitys"`},
	{"unknown_entity", `{"entities":{"passport":{}}}`, `unknown entity "passport"`},
	{"unknown_strategy", `{"strategy":"scramble"}`, `unknown strategy "scramble"`},
	{"hash_without_key", `{"entities":{"email":{"strategy":"hash"}}}`, `"key": required by the hash strategy of "email"`},
	{"bad_regex", `{"custom":[{"name":"x","pattern":"a("}]}`, "missing closing )"},
	{"name_taken", `{"custom":[{"name":"email","pattern":"x"}]}`, `name "email" is already used`},
	{"bad_label", `{"entities":{"email":{"label":"\"x\""}}}`, `no '"'`},
	{"hash_length", `{"hash_length":4}`, `"hash_length": must be 8 to 64`},
	{"empty_deny", `{"deny":[{"name":"x","values":[]}]}`, `"values" is empty`},
}

func TestLoadErrors(t *testing.T) {
	for _, c := range loadErrorCases {
		_, err := newMasker([]byte(c.config))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.file, err, c.want)
		}
	}
}

// TestStrategies checks the properties of the keyed strategies that the
// pinned vectors cannot state: deterministic, same shape, key-dependent.
func TestStrategies(t *testing.T) {
	m := mustMasker(t, `{"strategy":"fpe",`+key+`}`)
	m2 := mustMasker(t, `{"strategy":"fpe","key":"another"}`)
	for _, in := range []string{"415-555-2671", "Ann.Smith@Example.com", "4111 1111 1111 1111", "123-45-6789", "GB82WEST12345698765432", "10.1.2.3", "2001:db8::1"} {
		a, b := m.apply(in), m.apply(in)
		if a != b || a == in || m2.apply(in) == a {
			t.Errorf("fpe %q: %q, %q (other key %q)", in, a, b, m2.apply(in))
		}
		if len(a) != len(in) {
			t.Errorf("fpe %q: length changed: %q", in, a)
		}
		for i := range len(in) {
			x, y := in[i], a[i]
			if isDigit(x) != isDigit(y) || isUpper(x) != isUpper(y) || (!isAlnum(x) && x != y) {
				t.Errorf("fpe %q: character class changed at %d: %q", in, i, a)
				break
			}
		}
	}
	h := mustMasker(t, `{"strategy":"hash",`+key+`}`)
	if h.apply("Ann@Example.com") != h.apply("ann@example.com") || h.apply("(415) 555-2671") != h.apply("415.555.2671") {
		t.Error("hash: normalization")
	}
	if got := h.apply("ann@example.com"); len(got) != 16 || strings.Trim(got, hexDigits) != "" {
		t.Errorf("hash: %q", got)
	}
	// A typed int stays an int.
	for _, v := range []string{"1", "42", "-98765", "123456789012345678"} {
		d, ok := m.fpeNumber([]byte(v), false, 19)
		if !ok || !isInteger(d) || len(d) != len(v) || (len(d) > 1 && d[0] == '0') {
			t.Errorf("fpeNumber(%q) = %q, %v", v, d, ok)
		}
	}
	for _, v := range []string{"1985-07-23", "2024-02-29T23:59:59.999Z"} {
		d, ok := m.dateOut([]byte(v), true)
		if !ok || len(d) != len(v) || string(d[:5]) != v[:5] {
			t.Errorf("dateOut(%q) = %q", v, d)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		glob, name string
		want       bool
	}{
		{"*", "", true}, {"*", "a.b", true}, {"a*c", "abbbc", true}, {"a*c", "abd", false},
		{"*name*", "first_name", true}, {"*name*", "nam", false}, {"?", "ab", false}, {"a?c", "abc", true},
		{"*.email", "x.email", true}, {"*.email", "email", false}, {"a**b", "ab", true},
	} {
		if got := globMatch([]byte(c.glob), []byte(c.name)); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v", c.glob, c.name, got)
		}
	}
}

func TestPlan(t *testing.T) {
	h := sluice.NewHarness(hooks())
	if err := h.Init([]byte(`{"fields":[{"match":"notes","strategy":"keep"},{"match":"dob","strategy":"partial"}]}`)); err != nil {
		t.Fatal(err)
	}
	var bb abi.BatchBuilder
	bb.AddColumn([]byte("notes"), abi.TypeText, 0)
	bb.AddColumn([]byte("dob"), abi.TypeTimestamp, 0)
	bb.AddColumn([]byte("created_at"), abi.TypeTimestamp, 0)
	bb.AddColumn([]byte("active"), abi.TypeBool, 0)
	bb.AddColumn([]byte("email"), abi.TypeText, 0)
	bb.AddColumn([]byte("n"), abi.TypeInt, 0)
	got, err := h.Plan(&bb)
	if err != nil {
		t.Fatal(err)
	}
	want := []sluice.Action{sluice.Ignore, sluice.Inspect, sluice.Ignore, sluice.Ignore, sluice.Inspect, sluice.Inspect}
	if !slices.Equal(got, want) {
		t.Errorf("plan %v, want %v", got, want)
	}
}

func TestSelfTest(t *testing.T) {
	for _, config := range []string{
		`{}`,
		`{"strategy":"partial"}`,
		`{"strategy":"nullify"}`,
		`{"strategy":"hash",` + key + `}`,
		`{"strategy":"fpe",` + key + `}`,
		`{"strategy":"keep"}`,
		`{"entities":{"credit_card":{"strategy":"keep"}}}`,
	} {
		h := sluice.NewHarness(hooks())
		if err := h.Init([]byte(config)); err != nil {
			t.Fatal(err)
		}
		if err := h.SelfTest(); err != nil {
			t.Errorf("%s: %v", config, err)
		}
	}
}

func TestUninitialized(t *testing.T) {
	saved := current
	defer func() { current = saved }()
	current = nil
	if err := selfTest(); err != errNotInitialized {
		t.Errorf("selftest: %v", err)
	}
}

func TestManifestMatchesHooks(t *testing.T) {
	raw, err := os.ReadFile("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m abi.Manifest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.ABI != abi.Version || m.Name != "pii-mask" || m.Version == "" || m.OnError != "fail_closed" {
		t.Errorf("manifest: %+v", m)
	}
	if !slices.Equal(m.Hooks, hooks().Hooks()) {
		t.Errorf("manifest hooks %v, registered hooks %v", m.Hooks, hooks().Hooks())
	}
}

// benchRecords fills bb with n JSON-like records of ~200 bytes as the
// host tokenizes them (8 columns; an e-mail, a note with a phone in every
// fourth record, numbers, a timestamp), like gateway/policy's
// bench_mask_test.go.
func benchRecords(bb *abi.BatchBuilder, n int) int {
	cols := []struct {
		name string
		kind abi.Kind
	}{
		{"id", abi.KindNumber}, {"name", abi.KindString}, {"email", abi.KindString}, {"plan", abi.KindString},
		{"active", abi.KindBool}, {"balance", abi.KindNumber}, {"created_at", abi.KindString}, {"note", abi.KindString},
	}
	var idx []int
	for _, c := range cols {
		idx = append(idx, bb.AddColumn([]byte(c.name), abi.TypeUnknown, 0))
	}
	names := []string{"Ann Smith", "Bob Jones", "Chloé Durand", "Dawid Kowalski", "Eve Adams"}
	size := 0
	for i := range n {
		note := "customer asked about the invoice and the delivery window for next week"
		if i%4 == 0 {
			note = "customer asked to be called back on 415-555-2671 about the delivery window"
		}
		vals := []string{
			"1000" + string(rune('0'+i%10)), names[i%len(names)], "user." + string(rune('a'+i%26)) + "@example.com", "pro",
			"true", "123.45", "2024-01-15T12:30:00Z", note,
		}
		bb.BeginRecord()
		for k, v := range vals {
			bb.AddField(idx[k], cols[k].kind, false, []byte(v))
			size += len(v) + len(cols[k].name) + 6 // JSON framing: quotes, colon, comma
		}
		size += 3
	}
	return size
}

func TestRecordsAllocateNothing(t *testing.T) {
	for _, config := range []string{
		`{}`,
		`{"strategy":"partial"}`,
		`{"strategy":"hash",` + key + `}`,
		`{"strategy":"fpe",` + key + `,"fields":[{"match":"name","strategy":"fpe"}]}`,
		`{"deny":[{"name":"x","values":["Bob Jones"]}]}`,
	} {
		h := sluice.NewHarness(hooks())
		if err := h.Init([]byte(config)); err != nil {
			t.Fatal(err)
		}
		var bb abi.BatchBuilder
		benchRecords(&bb, 256)
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

// BenchmarkRecords is the plugin's Records hook on a batch of 256
// ~200-byte records through the SDK's dispatch (what the module's export
// runs), natively. MB/s counts the records' JSON size.
func BenchmarkRecords(b *testing.B) {
	for _, bc := range []struct{ name, config string }{
		{"redact", `{}`},
		{"partial", `{"strategy":"partial"}`},
		{"hash", `{"strategy":"hash",` + key + `}`},
		{"fields", `{"fields":[{"match":"*.email"},{"match":"name","strategy":"partial"}]}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := sluice.NewHarness(hooks())
			if err := h.Init([]byte(bc.config)); err != nil {
				b.Fatal(err)
			}
			var bb abi.BatchBuilder
			size := benchRecords(&bb, 256)
			run, err := h.PrepareRecords(&bb)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchText is prose with a few entities and look-alikes, ~1 KiB.
var benchText = []byte(strings.Repeat("Order ORD-2024-000123 placed 2024-01-15T10:30:00Z by ann.smith@example.com from 192.168.1.10, "+
	"total $1,234.56; call back on (415) 555-2671. Release v1.2.3.4 shipped; the quick brown fox jumps over the lazy dog. ", 4))

// BenchmarkScan compares the guest scanner (all 7 entities) with the
// host-native detectors of gateway/detect (e-mail, card and IBAN only)
// on the same text.
func BenchmarkScan(b *testing.B) {
	m := mustMasker(b, `{}`)
	b.Run("guest-all", func(b *testing.B) {
		b.SetBytes(int64(len(benchText)))
		var spans []span
		for b.Loop() {
			spans = scan(benchText, m.en, &m.builtin, spans[:0])
		}
	})
	b.Run("host-email-card-iban", func(b *testing.B) {
		b.SetBytes(int64(len(benchText)))
		n := 0
		fn := func(off, l int) { n++ }
		for b.Loop() {
			detect.Find(abi.DetectEmail, benchText, fn)
			detect.Find(abi.DetectCreditCard, benchText, fn)
			detect.Find(abi.DetectIBAN, benchText, fn)
		}
	})
}

// FuzzRecords runs values through the records hook in text, json, int
// and unknown columns under several configs: the harness rejects invalid
// edits (overlaps, ranges), and an int column must stay an integer or
// NULL.
func FuzzRecords(f *testing.F) {
	for _, c := range detectorCases {
		f.Add(c.in)
	}
	f.Add(`{"card":4111111111111111,"e":"a\"b ann@example.com"}`)
	configs := []string{
		`{}`,
		`{"strategy":"partial"}`,
		`{"strategy":"fpe",` + key + `}`,
		`{"strategy":"hash",` + key + `,"custom":[{"name":"num","pattern":"[0-9]{3,}","strategy":"partial"}],"deny":[{"name":"d","values":["ann"]}]}`,
		`{"fields":[{"match":"j","strategy":"partial"}],"entities":{"email":{"strategy":"nullify"}}}`,
	}
	var hs []*sluice.Harness
	for _, c := range configs {
		h := sluice.NewHarness(hooks())
		if err := h.Init([]byte(c)); err != nil {
			f.Fatal(err)
		}
		hs = append(hs, h)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for i, h := range hs {
			var bb abi.BatchBuilder
			cols := []abi.ColumnType{abi.TypeText, abi.TypeJSON, abi.TypeInt, abi.TypeUnknown, abi.TypeJSON}
			names := []string{"t", "doc", "n", "u", "j"}
			var idx []int
			for k, ct := range cols {
				idx = append(idx, bb.AddColumn([]byte(names[k]), ct, 0))
			}
			bb.BeginRecord()
			for k, ct := range cols {
				bb.AddField(idx[k], kindOf(ct), false, []byte(v))
			}
			got, err := h.Records(&bb)
			if err != nil {
				t.Fatalf("config %d, %q: %v", i, v, err)
			}
			if n := got[0][2]; !n.Null && string(n.Data) != v && !isInteger(n.Data) {
				t.Fatalf("config %d, %q: int column became %s", i, v, n.String())
			}
		}
	})
}
