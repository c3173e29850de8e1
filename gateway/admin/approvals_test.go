package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/store"
	"github.com/sluicegw/sluice/gateway/telemetry"
)

type nopRecorder struct{}

func (nopRecorder) Durable(store.Kind, []byte) (uint64, error) { return 1, nil }

func TestApprovalsWatch(t *testing.T) {
	cfg, _ := config.Parse("t.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
  - {name: ci, kind: service, token_hashes: [%s]}
`, auth.HashString(reviewerToken), auth.HashString("ci-token"))), nil)
	st, err := store.Open(t.TempDir(), store.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	apr, err := approvals.New(approvals.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer apr.Close()
	host, _ := pluginhost.New(pluginhost.Options{})
	defer host.Close(context.Background())
	srv := httptest.NewServer(New(Options{Host: host, Metrics: telemetry.NewMetrics(), Store: st, Approvals: apr,
		Logger: slog.New(slog.DiscardHandler), Auth: &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: st}}))
	defer srv.Close()
	f := &fixture{t: t, url: srv.URL, store: st}

	// Only reviewers and admins see requests.
	if code, body, _ := f.do("GET", "/v1/approvals", "ci-token", ""); code != 403 || !strings.Contains(body, "neither the reviewer nor the admin role") {
		t.Errorf("ci lists approvals: %d %s", code, body)
	}
	if code, _, _ := f.do("GET", "/v1/approvals?state=bogus", reviewerToken, ""); code != 400 {
		t.Errorf("bad state: %d", code)
	}
	// A long poll that times out answers with no events.
	code, body, _ := f.do("GET", "/v1/approvals/watch?wait=10ms", reviewerToken, "")
	var ans WatchAnswer
	if json.Unmarshal([]byte(body), &ans); code != 200 || len(ans.Events) != 0 {
		t.Fatalf("idle watch: %d %s", code, body)
	}
	// Server-sent events: a created and a denied event.
	req, _ := http.NewRequest("GET", srv.URL+"/v1/approvals/watch", nil)
	req.Header.Set("Authorization", "Bearer "+reviewerToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r, err := apr.Request(context.Background(), approvals.NewRequest{Identity: "ci", Target: "db", Command: "DROP TABLE t", Reason: "destructive_ddl", Expiry: time.Minute}, nopRecorder{})
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := f.do("POST", "/v1/approvals/"+r.ID+"/approve", reviewerToken, `{"grant":"forever"}`); code != 400 {
		t.Errorf("bad grant: %d %s", code, body)
	}
	if code, body, _ := f.do("POST", "/v1/approvals/"+r.ID+"/deny", reviewerToken, `{"reason":"no"}`); code != 200 || !strings.Contains(body, `"state": "denied"`) {
		t.Errorf("deny: %d %s", code, body)
	}
	if code, _, _ := f.do("POST", "/v1/approvals/"+r.ID+"/deny", reviewerToken, `{"reason":"again"}`); code != 409 {
		t.Errorf("second deny: %d", code)
	}
	if code, _, _ := f.do("GET", "/v1/approvals/nope", reviewerToken, ""); code != 404 {
		t.Errorf("unknown id: %d", code)
	}
	sc := bufio.NewScanner(resp.Body)
	var events []string
	for sc.Scan() && len(events) < 2 {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, ev)
		}
	}
	if strings.Join(events, ",") != "created,denied" {
		t.Errorf("events %v", events)
	}
	// The long poll from seq 0 returns both.
	code, body, _ = f.do("GET", "/v1/approvals/watch?since=0", reviewerToken, "")
	if json.Unmarshal([]byte(body), &ans); code != 200 || len(ans.Events) != 2 || ans.Seq != 2 {
		t.Errorf("watch since 0: %d %s", code, body)
	}
}
