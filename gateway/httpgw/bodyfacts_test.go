package httpgw

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/sluicegw/sluice/abi"
)

// A JSON or NDJSON request body reaches plugins as body.NAME facts, one
// statement per record; what sluice does not hold whole is flagged.
func TestBodyFacts(t *testing.T) {
	facts := func(contentType, body string, length int) map[string]string {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.Header.SetContentType(contentType)
		ctx.Request.SetBodyString(body)
		if length == 0 {
			length = len(body) // as a client's request says
		}
		ctx.Request.Header.SetContentLength(length)
		var cb abi.CommandBuilder
		cb.Set(abi.CommandHTTP, "POST /x", "ci", "api")
		addBodyFacts(&cb, &ctx)
		buf := make([]byte, cb.Size())
		cb.Encode(buf)
		cmd, err := abi.ParseCommand(buf)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for i := range cmd.NumFacts() {
			f := cmd.Fact(i)
			out[strings.Repeat("#", int(f.Stmt))+string(f.Key)] = string(f.Value)
		}
		return out
	}
	got := facts("application/json", `{"user":{"email":"a@b.c"},"action":"delete","ids":[1,2]}`, 0)
	if got["body.user.email"] != "a@b.c" || got["body.action"] != "delete" || got["body_truncated"] != "" {
		t.Errorf("json body facts: %v", got)
	}
	got = facts("application/x-ndjson", "{\"op\":\"a\"}\n{\"op\":\"b\"}\n", 0)
	if got["body.op"] != "a" || got["#body.op"] != "b" {
		t.Errorf("ndjson body facts (record 1 is statement 1): %v", got)
	}
	if got := facts("application/json", `{"a":`, 0); got["body_error"] == "" {
		t.Errorf("a broken body: %v", got)
	}
	if got := facts("application/json", `{}`, bodyPrefetch+1); got["body_truncated"] != "true" {
		t.Errorf("a body larger than sluice holds: %v", got)
	}
	if got := facts("application/json", `{}`, -1); got["body_truncated"] != "true" {
		t.Errorf("a chunked body: %v", got)
	}
	if got := facts("text/plain", `{"a":1}`, 0); len(got) != 0 {
		t.Errorf("a text body gives facts: %v", got)
	}
	var many strings.Builder
	many.WriteString("[")
	for i := range maxBodyFacts + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"n":1}`)
	}
	many.WriteString("]")
	if got := facts("application/json", many.String(), 0); got["body_truncated"] != "true" {
		t.Errorf("past maxBodyFacts: no body_truncated")
	}
}
