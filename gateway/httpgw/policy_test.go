package httpgw

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/gateway/policy"
)

// TestPolicyBlocks: with http-guard, TRACE and path traversal (in any
// spelling curl can send) are blocked with 403 {error, reason,
// request_id}, recorded, and never reach the upstream; GET passes.
func TestPolicyBlocks(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "http-guard", "")}, nil)
	blocked := []struct {
		args   []string
		reason string
	}{
		{[]string{"-X", "TRACE", g.url + "/customers.json"}, "method TRACE is denied"},
		{[]string{"--path-as-is", g.url + "/static/../../etc/passwd"}, "path traversal"},
		{[]string{"--path-as-is", g.url + "/static/%2e%2e/%2e%2e/etc/passwd"}, "path traversal"},
		{[]string{"-X", "POST", "-H", "X-HTTP-Method-Override: TRACE", g.url + "/x"}, "method TRACE is denied (by a method override)"},
	}
	for _, b := range blocked {
		raw, _ := curl(t, append([]string{"-H", bearer(ciToken)}, b.args...)...)
		var body errorBody
		if statusOf(raw) != 403 || json.Unmarshal([]byte(bodyOf(raw)), &body) != nil ||
			body.Error != "blocked by policy" || !strings.Contains(body.Reason, b.reason) || body.RequestID == "" {
			t.Errorf("%v: %s", b.args, raw)
		}
	}
	if n := g.up.count(); n != 0 {
		t.Errorf("the upstream saw %d blocked requests", n)
	}
	raw, _ := curl(t, "-H", bearer(ciToken), g.url+"/customers.json")
	if statusOf(raw) != 200 || !strings.Contains(raw, "user1@example.com") {
		t.Errorf("GET: %s", raw)
	}
	raw, _ = curl(t, "-H", bearer(ciToken), g.url+"/files/archive..tar.gz")
	if statusOf(raw) != 200 {
		t.Errorf("a name with .. : %s", raw)
	}
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	for _, want := range []string{`"text":"TRACE /customers.json","verdict":"block","reason":"http-guard: method TRACE is denied","plugin":"http-guard"`,
		`"text":"GET /static/../../etc/passwd","verdict":"block"`, `"text":"GET /customers.json","verdict":"allow"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("recording lacks %s:\n%s", want, ev)
		}
	}
}

var rawEmail = regexp.MustCompile(`user\d+@example\.com`)

// TestMasking: with pii-mask, e-mails in JSON, NDJSON, CSV and text
// responses come back masked to curl and to a Go client, chunked (the
// upstream's Content-Length dropped); a gzip body is decoded and masked;
// an unknown content type passes unmasked and is recorded without its
// body; the recording holds only masked output.
func TestMasking(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, nil)
	for _, path := range []string{"/customers.json", "/customers.ndjson", "/customers.csv", "/notes.txt", "/customers.json.gz", "/customers.ndjson?n=5000"} {
		raw, code := curl(t, "-H", bearer(ciToken), "--compressed", g.url+path)
		body := bodyOf(raw)
		if code != 0 || statusOf(raw) != 200 || rawEmail.MatchString(raw) || !strings.Contains(body, "[EMAIL]") {
			t.Errorf("%s: exit %d\n%s", path, code, raw)
		}
		// A streamed body (no length upstream, a large or an encoded one)
		// goes chunked; a small one of known length with its new length.
		lower := strings.ToLower(raw)
		if streamed := strings.HasPrefix(path, "/customers.ndjson") || path == "/customers.json.gz"; streamed &&
			(!strings.Contains(lower, "transfer-encoding: chunked") || strings.Contains(lower, "content-length")) {
			t.Errorf("%s: not chunked:\n%.300s", path, raw)
		} else if !streamed && !strings.Contains(lower, fmt.Sprintf("content-length: %d\r\n", len(body))) {
			t.Errorf("%s: wrong length:\n%.300s", path, raw)
		}
		if !strings.Contains(body, "ORD-000001") && !strings.Contains(body, "Customer 1") {
			t.Errorf("%s: lost unmasked data:\n%s", path, raw)
		}
	}
	// The upstream was asked for an unencoded body.
	raw, _ := curl(t, "-H", bearer(ciToken), "-H", "Accept-Encoding: gzip, br", g.url+"/echo")
	if !strings.Contains(raw, `"Accept-Encoding":["identity"]`) {
		t.Errorf("Accept-Encoding not narrowed: %s", raw)
	}
	// JSON stays valid JSON.
	c := &http.Client{}
	defer c.CloseIdleConnections()
	resp, body := get(t, c, "GET", g.url+"/customers.json", ciToken, nil)
	var doc struct {
		Customers []customer `json:"customers"`
		Count     int        `json:"count"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 || doc.Count != 20 || len(doc.Customers) != 20 ||
		doc.Customers[3].Email != "[EMAIL]" || doc.Customers[3].Name != "Customer 3" {
		t.Errorf("JSON: %v %s", err, body)
	}
	// Unknown types pass as they are (default), with their length.
	resp, body = get(t, c, "GET", g.url+"/blob", ciToken, nil)
	if resp.StatusCode != 200 || string(body) != "raw user7@example.com bytes" || resp.ContentLength != int64(len(body)) {
		t.Errorf("blob: %d %d %q", resp.StatusCode, resp.ContentLength, body)
	}
	c.CloseIdleConnections()
	g.e.Close()
	evs := g.events(t)
	ev := strings.Join(evs, "\n")
	if rawEmail.MatchString(ev) {
		t.Errorf("an unmasked e-mail was recorded:\n%s", ev)
	}
	for _, want := range []string{`"content_type":"application/x-ndjson","masked":true`, `[EMAIL]`,
		`"content_type":"application/octet-stream","masked":false,"bytes":27,"not_recorded":"content type or encoding not masked"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("recording lacks %s:\n%s", want, ev)
		}
	}
}

// TestUnknownContentTypeBlock: with "block", a response sluice cannot mask
// is refused with 502 instead of passing unmasked.
func TestUnknownContentTypeBlock(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, func(o *Options) { o.UnknownContentType = UnknownBlock })
	raw, _ := curl(t, "-H", bearer(ciToken), g.url+"/blob")
	if statusOf(raw) != 502 || rawEmail.MatchString(raw) {
		t.Errorf("blob: %s", raw)
	}
	raw, _ = curl(t, "-H", bearer(ciToken), g.url+"/customers.csv")
	if statusOf(raw) != 200 || rawEmail.MatchString(raw) {
		t.Errorf("csv: %s", raw)
	}
}

// TestRequestBodyMasking: with MaskRequestBody, logs posted as NDJSON
// reach the upstream with their e-mails masked, whether small or
// streamed; the recording holds the masked body; a body of a type sluice
// does not read passes as it is; a gzip body is refused with 415.
func TestRequestBodyMasking(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, func(o *Options) { o.MaskRequestBody = true })
	var small, large strings.Builder
	for i := range 3 {
		fmt.Fprintf(&small, `{"level":"info","msg":"login by %s"}`+"\n", fakeCustomer(i).Email)
	}
	for i := range 20000 {
		fmt.Fprintf(&large, `{"level":"info","msg":"login by %s"}`+"\n", fakeCustomer(i).Email)
	}
	for _, body := range []string{small.String(), large.String()} {
		file := filepath.Join(t.TempDir(), "logs.ndjson")
		os.WriteFile(file, []byte(body), 0o600)
		raw, _ := curl(t, "-H", bearer(ciToken), "-H", "Content-Type: application/x-ndjson", "--data-binary", "@"+file, g.url+"/logs")
		s := g.up.last()
		if statusOf(raw) != 200 || s.BodyLen == 0 || rawEmail.MatchString(s.Body) || !strings.Contains(s.Body, `"msg":"login by [EMAIL]"`) {
			t.Errorf("posted logs: %d, upstream got %d bytes: %.200s", statusOf(raw), s.BodyLen, s.Body)
		}
	}
	raw, _ := curl(t, "-H", bearer(ciToken), "-H", "Content-Type: application/octet-stream", "--data-binary", "user1@example.com", g.url+"/logs")
	if statusOf(raw) != 200 || g.up.last().Body != "user1@example.com" {
		t.Errorf("octet-stream: %s / %q", raw, g.up.last().Body)
	}
	// A malformed body is cut, never forwarded unmasked.
	before := g.up.count()
	raw, _ = curl(t, "-H", bearer(ciToken), "-H", "Content-Type: application/x-ndjson", "--data-binary", `{"msg":"user5@example.com", oops`, g.url+"/logs")
	if statusOf(raw) != 400 {
		t.Errorf("malformed body: %s", raw)
	}
	for _, s := range g.up.all()[before:] {
		if rawEmail.MatchString(s.Body) {
			t.Errorf("the upstream got an unmasked body: %q", s.Body)
		}
	}
	raw, _ = curl(t, "-H", bearer(ciToken), "-H", "Content-Type: application/x-ndjson", "-H", "Content-Encoding: gzip", "--data-binary", "xx", g.url+"/logs")
	if statusOf(raw) != 415 {
		t.Errorf("gzip body: %s", raw)
	}
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	if !strings.Contains(ev, `request_body {"bytes":`) || !strings.Contains(ev, `login by [EMAIL]`) {
		t.Errorf("request bodies not recorded:\n%.2000s", ev)
	}
	for _, line := range g.events(t) {
		if strings.Contains(line, "request_body") && rawEmail.MatchString(line) {
			t.Errorf("an unmasked request body was recorded: %.300s", line)
		}
	}
}
