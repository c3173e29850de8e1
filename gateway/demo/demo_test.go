package demo

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler(20))
	defer srv.Close()
	get := func(method, path string) (*http.Response, string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	resp, body := get("GET", "/customers")
	var cs []Customer
	if err := json.Unmarshal([]byte(body), &cs); err != nil || len(cs) != 20 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(cs[0].Email, "@example.com") {
		t.Fatalf("/customers: %v %d", err, len(cs))
	}
	if _, body := get("GET", "/customers.ndjson"); strings.Count(body, "\n") != 20 {
		t.Errorf("ndjson lines: %d", strings.Count(body, "\n"))
	}
	_, body = get("GET", "/customers.csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 21 || rows[0][2] != "email" {
		t.Errorf("csv: %v %d", err, len(rows))
	}
	if resp, body := get("DELETE", "/customers/1003"); resp.StatusCode != 200 || !strings.Contains(body, "1003") {
		t.Errorf("delete: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get("GET", "/customers/1"); resp.StatusCode != 404 {
		t.Errorf("unknown id: %d", resp.StatusCode)
	}
	if _, body := get("GET", "/logs"); strings.Count(body, "\n") != 5 {
		t.Errorf("logs: %q", body)
	}
	// Deterministic.
	if Customers(3)[2] != Customers(5)[2] {
		t.Error("records differ between calls")
	}
}
