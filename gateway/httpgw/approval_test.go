package httpgw

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/policy"
)

const guardApprove = `{"rules":[{"methods":["DELETE"],"path":"/v1/users/*","action":"approve","reason":"deleting a user"}]}`

var alice = approvals.Reviewer{Name: "alice", Human: true, Roles: []string{approvals.RoleReviewer}}

// pendingID waits for the one pending approval request and returns it.
func (g *gateway) pendingID(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list, err := g.apr.List(approvals.Filter{State: approvals.Pending})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 {
			return list[0].ID
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no pending approval request")
	return ""
}

// TestApprovalHeld: a request a plugin sends for approval is held and
// released when a reviewer approves it; a denied one gets 403.
func TestApprovalHeld(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "http-guard", guardApprove)}, nil)
	type result struct {
		raw string
	}
	run := func(path string) chan string {
		ch := make(chan string, 1)
		go func() {
			raw, _ := curl(t, "-H", bearer(ciToken), "-X", "DELETE", g.url+path)
			ch <- raw
		}()
		return ch
	}
	done := run("/v1/users/42")
	id := g.pendingID(t)
	if g.up.count() != 0 {
		t.Fatal("the held request reached the upstream")
	}
	if _, err := g.apr.Approve(id, alice, "planned", approvals.GrantSpec{}); err != nil {
		t.Fatal(err)
	}
	raw := <-done
	if statusOf(raw) != 200 || g.up.last().Method != "DELETE" || g.up.last().URI != "/v1/users/42" {
		t.Fatalf("approved request: %s", raw)
	}

	done = run("/v1/users/43")
	id = g.pendingID(t)
	if _, err := g.apr.Deny(id, alice, "not today"); err != nil {
		t.Fatal(err)
	}
	raw = <-done
	var body errorBody
	json.Unmarshal([]byte(bodyOf(raw)), &body)
	if statusOf(raw) != 403 || body.State != "denied" || body.Reason != "not today" || body.ApprovalID != id {
		t.Fatalf("denied request: %s", raw)
	}
	if g.up.count() != 1 {
		t.Error("the denied request reached the upstream")
	}
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	for _, want := range []string{`"text":"DELETE /v1/users/42","verdict":"approve","reason":"http-guard: rule 0 (DELETE /v1/users/*): DELETE /v1/users/42: deleting a user"`,
		"approval_request", "approval_decision", `"status":200`} {
		if !strings.Contains(ev, want) {
			t.Errorf("recording lacks %s:\n%s", want, ev)
		}
	}
}

// TestApprovalRetry: past the wait the client gets 202 with the approval
// ID and a Retry-After; its retry waits on the same request, and passes
// once a reviewer approved it; a window grant lets later retries pass at
// once.
func TestApprovalRetry(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "http-guard", guardApprove)}, func(o *Options) {
		o.ApprovalWait = 50 * time.Millisecond
		o.RetryAfter = 3 * time.Second
	})
	del := func() (int, errorBody, string) {
		raw, _ := curl(t, "-H", bearer(ciToken), "-X", "DELETE", g.url+"/v1/users/7")
		var b errorBody
		json.Unmarshal([]byte(bodyOf(raw)), &b)
		return statusOf(raw), b, raw
	}
	status, b, raw := del()
	if status != 202 || b.ApprovalID == "" || b.State != "pending" || !strings.Contains(raw, "Retry-After: 3\r\n") {
		t.Fatalf("first attempt: %s", raw)
	}
	first := b.ApprovalID
	// Still pending: the retry waits on the same request.
	if status, b, raw = del(); status != 202 || b.ApprovalID != first {
		t.Fatalf("retry while pending: %s", raw)
	}
	if n, _ := g.apr.List(approvals.Filter{}); len(n) != 1 {
		t.Fatalf("%d approval requests, want 1", len(n))
	}
	// Approved once, nobody waiting: the next retry takes it.
	if _, err := g.apr.Approve(first, alice, "ok once", approvals.GrantSpec{}); err != nil {
		t.Fatal(err)
	}
	if status, _, raw = del(); status != 200 {
		t.Fatalf("retry after approval: %s", raw)
	}
	// A once grant is spent: the next attempt asks again.
	status, b, raw = del()
	if status != 202 || b.ApprovalID == first {
		t.Fatalf("after a spent once grant: %s", raw)
	}
	// A window grant lets every retry in the window through.
	if _, err := g.apr.Approve(b.ApprovalID, alice, "for a while", approvals.GrantSpec{Window: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if status, _, raw = del(); status != 200 {
			t.Fatalf("retry in a window grant: %s", raw)
		}
	}
	if g.up.count() != 4 {
		t.Errorf("the upstream saw %d requests, want 4", g.up.count())
	}
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	if !strings.Contains(ev, `"grant":"`+b.ApprovalID+`"`) {
		t.Errorf("the grant is not recorded:\n%s", ev)
	}
}
