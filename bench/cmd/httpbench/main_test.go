package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"
)

// startUpstream serves the upstream on a free port until the test ends.
func startUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newUpstream()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestJSONDoc(t *testing.T) {
	doc := jsonDoc(1024)
	if len(doc) != 1024 {
		t.Fatalf("len %d, want 1024", len(doc))
	}
	var v struct {
		Customers []map[string]any `json:"customers"`
	}
	if err := json.Unmarshal(doc, &v); err != nil || len(v.Customers) == 0 {
		t.Fatalf("not customer JSON (%v): %s", err, doc)
	}
}

func TestLoad(t *testing.T) {
	url := startUpstream(t)
	r, err := load(url+"/json", headers{{"Authorization", "Bearer x"}}, 2, 0, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Errors != 0 || r.Bytes != int64(r.Requests)*1024 || r.All < r.Requests {
		t.Fatalf("%+v (first error %v)", r, r.FirstErr)
	}
	if len(r.Latencies) != r.Requests || r.quantile(0.5) > r.quantile(0.99) {
		t.Fatalf("latencies: %d for %d requests", len(r.Latencies), r.Requests)
	}
	r, err = load(url+"/nope", nil, 1, 0, 50*time.Millisecond)
	if err != nil || r.Requests != 0 || r.Errors == 0 {
		t.Fatalf("404s: %+v %v", r, err)
	}
}

func TestStream(t *testing.T) {
	url := startUpstream(t)
	r, err := stream(url+"/ndjson?mb=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bytes < 1<<20 || r.Bytes > 1<<20+1024 || r.Lines == 0 || r.At != r.Lines {
		t.Fatalf("%+v", r)
	}
	// Every line is one JSON object with a distinct id.
	resp, err := http.Get(url + "/ndjson?mb=0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("content type %q", ct)
	}
	seen := map[float64]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", len(seen)+1, err, sc.Bytes())
		}
		id := rec["id"].(float64)
		if seen[id] {
			t.Fatalf("id %v twice", id)
		}
		seen[id] = true
	}
	if len(seen) == 0 {
		t.Fatal("no lines")
	}
}
