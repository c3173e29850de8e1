package pgwire

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicegw/sluice/gateway/approvals"
)

// rawClient speaks the protocol message by message.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	fe *pgproto3.Frontend
}

func (e *env) raw(t *testing.T) *rawClient {
	t.Helper()
	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	ssl, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	nc.Write(ssl)
	var b [1]byte
	if _, err := io.ReadFull(nc, b[:]); err != nil || b[0] != 'S' {
		t.Fatalf("SSLRequest: %q %v", b, err)
	}
	tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{t: t, nc: tc, fe: pgproto3.NewFrontend(tc, tc)}
	rc.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "ci-bot", "database": targetName}})
	if got := rc.next(); got != "AuthenticationCleartextPassword" {
		t.Fatalf("startup: %s", got)
	}
	rc.send(&pgproto3.PasswordMessage{Password: botToken})
	for {
		if got := rc.next(); got == "ReadyForQuery I" {
			break
		} else if strings.HasPrefix(got, "Error") {
			t.Fatal(got)
		}
	}
	return rc
}

func (rc *rawClient) send(msgs ...pgproto3.FrontendMessage) {
	rc.t.Helper()
	for _, m := range msgs {
		rc.fe.Send(m)
	}
	if err := rc.fe.Flush(); err != nil {
		rc.t.Fatal(err)
	}
}

// next summarises the next message.
func (rc *rawClient) next() string {
	rc.t.Helper()
	msg, err := rc.fe.Receive()
	if err != nil {
		return "error: " + err.Error()
	}
	switch m := msg.(type) {
	case *pgproto3.ErrorResponse:
		return fmt.Sprintf("Error %s %s %s", m.Severity, m.Code, m.Message)
	case *pgproto3.ReadyForQuery:
		return "ReadyForQuery " + string(m.TxStatus)
	case *pgproto3.CommandComplete:
		return "CommandComplete " + string(m.CommandTag)
	case *pgproto3.DataRow:
		var vals []string
		for _, v := range m.Values {
			if v == nil {
				vals = append(vals, "NULL")
			} else {
				vals = append(vals, string(v))
			}
		}
		return "DataRow " + strings.Join(vals, ",")
	case *pgproto3.RowDescription:
		var names []string
		for _, f := range m.Fields {
			names = append(names, string(f.Name))
		}
		return "RowDescription " + strings.Join(names, ",")
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", msg), "*pgproto3.")
}

// until collects summaries up to and including n ReadyForQuery messages.
func (rc *rawClient) until(n int) []string {
	rc.t.Helper()
	var out []string
	for n > 0 {
		s := rc.next()
		out = append(out, s)
		if strings.HasPrefix(s, "ReadyForQuery") {
			n--
		}
		if strings.HasPrefix(s, "error:") {
			break
		}
	}
	return out
}

func expectLines(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("message %d: got %q, want %q\nall:\n%s", i, got[i], want[i], strings.Join(got, "\n"))
		}
	}
}

// The extended protocol pipelined in one write: a masked Execute the
// client never described, a refused Parse in the middle (the rest up to
// Sync ignored, as PostgreSQL does after an error), a Bind of the refused
// statement after Sync, a Bind of an unknown statement and an Execute of
// an unknown portal, each refused.
func TestExtendedPipeline(t *testing.T) {
	e := newEnv(t, envOptions{guard: true, mask: true})
	rc := e.raw(t)
	rc.send(
		&pgproto3.Parse{Name: "ok", Query: "SELECT id, email FROM customers WHERE id <= $1 ORDER BY id"},
		&pgproto3.Bind{PreparedStatement: "ok", Parameters: [][]byte{[]byte("2")}},
		&pgproto3.Execute{},
		&pgproto3.Parse{Name: "bad", Query: "DROP TABLE customers"},
		&pgproto3.Bind{PreparedStatement: "bad"},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "bad"},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "nope"},
		&pgproto3.Sync{},
		&pgproto3.Execute{Portal: "never_bound"},
		&pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "ok", Parameters: [][]byte{[]byte("3")}},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	expectLines(t, rc.until(5),
		"ParseComplete", "BindComplete", "DataRow 1,****", "DataRow 2,****", "CommandComplete SELECT 2",
		"Error ERROR 42501 blocked by sluice policy: destructive_ddl", "ReadyForQuery I",
		`Error ERROR 42501 prepared statement "bad" was refused by sluice`, "ReadyForQuery I",
		`Error ERROR 26000 prepared statement "nope" does not exist`, "ReadyForQuery I",
		`Error ERROR 34000 portal "never_bound" does not exist`, "ReadyForQuery I",
		"BindComplete", "RowDescription id,email", "DataRow 1,****", "DataRow 2,****", "PortalSuspended",
		"DataRow 3,NULL", "CommandComplete SELECT 1", "ReadyForQuery I",
	)
	// SQL EXECUTE of a protocol-level statement carries its facts (and
	// its rows are masked); of a statement never prepared, it is refused.
	rc.send(&pgproto3.Parse{Name: "p1", Query: "SELECT email FROM customers WHERE id = 1"}, &pgproto3.Sync{})
	expectLines(t, rc.until(1), "ParseComplete", "ReadyForQuery I")
	rc.send(&pgproto3.Query{String: "EXECUTE p1"})
	expectLines(t, rc.until(1), "RowDescription email", "DataRow ****", "CommandComplete SELECT 1", "ReadyForQuery I")
	// sql-guard refuses it as execute_unknown (42501) since 5ee19f9; an
	// older build lets the backend say it does not exist (26000).
	rc.send(&pgproto3.Query{String: "EXECUTE nope"})
	if got := rc.until(1); len(got) != 2 || !(strings.HasPrefix(got[0], "Error ERROR 42501 blocked by sluice policy") ||
		strings.HasPrefix(got[0], "Error ERROR 26000")) {
		t.Fatalf("EXECUTE nope: %q", got)
	}
	// Simple queries with several statements, one result each, masked.
	rc.send(&pgproto3.Query{String: "SELECT email FROM customers WHERE id = 1; SELECT 'x@example.com' AS email, 7 AS n"})
	expectLines(t, rc.until(1), "RowDescription email", "DataRow ****", "CommandComplete SELECT 1",
		"RowDescription email,n", "DataRow ****,7", "CommandComplete SELECT 1", "ReadyForQuery I")
	// FunctionCall is refused; the session goes on.
	rc.send(&pgproto3.FunctionCall{Function: 1598, ResultFormatCode: 0})
	expectLines(t, rc.until(1), "Error ERROR 42501 function calls", "ReadyForQuery I")
	// COPY output sluice cannot cut into fields would pass unmasked:
	// refused on a masked target.
	rc.send(&pgproto3.Query{String: "COPY customers TO STDOUT (FORMAT binary)"})
	expectLines(t, rc.until(1), "Error ERROR 42501 blocked by sluice policy: COPY format binary cannot be masked", "ReadyForQuery I")
	rc.send(&pgproto3.Parse{Query: "COPY customers TO STDOUT"}, &pgproto3.Sync{})
	expectLines(t, rc.until(1), "Error ERROR 42501 blocked by sluice policy: COPY ... TO STDOUT in the extended protocol", "ReadyForQuery I")
	rc.send(&pgproto3.Query{String: "SELECT 1 AS one"})
	expectLines(t, rc.until(1), "RowDescription one", "DataRow 1", "CommandComplete SELECT 1", "ReadyForQuery I")
}

// COPY FROM STDIN and COPY TO STDOUT on a target without masking.
func TestCopyWithoutMasking(t *testing.T) {
	e := newEnv(t, envOptions{guard: true})
	c := e.pgx(t, nil)
	ctx := ctxT(t)
	if _, err := c.Exec(ctx, "CREATE TEMP TABLE t (id int, s text)"); err != nil {
		t.Fatal(err)
	}
	n, err := c.PgConn().CopyFrom(ctx, strings.NewReader("1\ta\n2\tb\n"), "COPY t FROM STDIN")
	if err != nil || n.RowsAffected() != 2 {
		t.Fatalf("COPY FROM: %v %v", n, err)
	}
	var out bytes.Buffer
	if _, err := c.PgConn().CopyTo(ctx, &out, "COPY t TO STDOUT (FORMAT csv)"); err != nil || out.String() != "1,a\n2,b\n" {
		t.Fatalf("COPY TO: %q %v", out.String(), err)
	}
}

// A client message over the cap ends the session with 54000.
func TestMessageTooLong(t *testing.T) {
	e := newEnv(t, envOptions{maxMessageLen: 1024})
	rc := e.raw(t)
	rc.send(&pgproto3.Query{String: "SELECT '" + strings.Repeat("x", 2000) + "'"})
	if got := rc.next(); !strings.HasPrefix(got, "Error FATAL 54000") {
		t.Fatal(got)
	}
	if got := rc.next(); !strings.HasPrefix(got, "error:") {
		t.Fatalf("connection still open: %s", got)
	}
}

// Bytes pipelined behind an SSLRequest are never read as protocol
// messages: they reach the TLS handshake, which fails.
func TestPipelinedBeforeTLS(t *testing.T) {
	e := newEnv(t, envOptions{allowCleartext: true})
	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	buf, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	buf, _ = (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "ci-bot", "database": targetName}}).Encode(buf)
	buf, _ = (&pgproto3.PasswordMessage{Password: botToken}).Encode(buf)
	buf, _ = (&pgproto3.Query{String: "DELETE FROM scratch WHERE id = 1"}).Encode(buf)
	nc.Write(buf)
	var b [1]byte
	if _, err := io.ReadFull(nc, b[:]); err != nil || b[0] != 'S' {
		t.Fatalf("SSLRequest: %q %v", b, err)
	}
	rest, _ := io.ReadAll(nc)
	// A TLS alert record (content type 21) or nothing; never an
	// authentication request.
	if len(rest) > 0 && rest[0] != 21 {
		t.Fatalf("after pipelined bytes the server sent %q", rest)
	}
	if infos, _ := e.events(t); len(infos) != 0 {
		t.Fatalf("sessions recorded: %+v", infos)
	}
}

// A cancel request with sluice's key cancels that client's query only.
func TestCancelOwnQueryOnly(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	a, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	if a.PID() == b.PID() {
		t.Fatal("two connections share a cancel key")
	}
	done := func(pc *pgconn.PgConn, sql string) chan error {
		ch := make(chan error, 1)
		go func() { ch <- pc.Exec(ctx, sql).Close() }()
		return ch
	}
	aDone := done(a, "SELECT pg_sleep(120) /* a */")
	bDone := done(b, "SELECT pg_sleep(120) /* b */")
	waitSleeping(t, 2)
	if err := a.CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-aDone; pgCode(err) != "57014" {
		t.Fatalf("a: %v", err)
	}
	waitSleeping(t, 1)
	if err := b.CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-bDone; pgCode(err) != "57014" {
		t.Fatalf("b: %v", err)
	}
	if c := e.eng.cancelFor(a.PID(), []byte("nope")); c != nil {
		t.Error("a wrong secret matched")
	}
}

// waitSleeping waits until n backends run pg_sleep.
func waitSleeping(t *testing.T, n int) {
	t.Helper()
	pc := backendConn(t)
	defer pc.Close(context.Background())
	for range 600 {
		res := pc.ExecParams(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(120)%'", nil, nil, nil, nil).Read()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if string(res.Rows[0][0]) == fmt.Sprint(n) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("never %d backends in pg_sleep", n)
}

// REQUIRE_APPROVAL: a notice with the request and how to approve it; an
// approval with a window runs the statement and lets the retry pass
// without a request; a deny refuses with the reviewer's reason; a cancel
// ends the wait.
func TestApprovals(t *testing.T) {
	e := newEnv(t, envOptions{guard: true})
	notices := make(chan *pgconn.Notice, 10)
	cfg, err := pgx.ParseConfig(e.dsn("ci-bot", botToken))
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { notices <- n }
	ctx := ctxT(t)
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	alice := approvals.Reviewer{Name: "alice", Human: true, Roles: []string{"reviewer"}}
	exec := func(sql string) chan error {
		ch := make(chan error, 1)
		go func() { _, err := c.Exec(ctx, sql); ch <- err }()
		return ch
	}
	held := func() string {
		t.Helper()
		n := <-notices
		if !strings.Contains(n.Message, "held for approval") || !strings.Contains(n.Detail, "sluice approvals approve ") {
			t.Fatalf("notice: %+v", n)
		}
		id := strings.TrimPrefix(n.Detail, "A reviewer approves it with: sluice approvals approve ")
		if _, err := e.apr.Get(id); err != nil {
			t.Fatalf("request %q: %v", id, err)
		}
		return id
	}

	done := exec("DELETE FROM scratch")
	id := held()
	if _, err := e.apr.Approve(id, alice, "planned", approvals.GrantSpec{Window: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("approved DELETE: %v", err)
	}
	if err := <-exec("DELETE FROM scratch"); err != nil {
		t.Fatalf("retry under the grant: %v", err)
	}
	if !strings.Contains(strings.Join(e.commands(t), "\n"), `"grant":"`+id+`"`) {
		t.Errorf("the retry does not name its grant:\n%s", strings.Join(e.commands(t), "\n"))
	}

	done = exec("UPDATE scratch SET note = 'x'")
	id = held()
	if _, err := e.apr.Deny(id, alice, "not during business hours"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; pgCode(err) != "42501" || !strings.Contains(err.Error(), "denied: not during business hours") {
		t.Fatalf("denied UPDATE: %v", err)
	}

	done = exec("UPDATE scratch SET id = 0")
	id = held()
	if err := c.PgConn().CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; pgCode(err) != "57014" {
		t.Fatalf("canceled wait: %v", err)
	}
	if r, _ := e.apr.Get(id); r.State != approvals.Pending {
		t.Errorf("canceled request is %s", r.State)
	}

	// A client that leaves while its statement waits: approving the
	// request afterwards runs nothing.
	pc := backendConn(t)
	defer pc.Close(ctx)
	if err := pc.Exec(ctx, "INSERT INTO scratch VALUES (7, 'kept')").Close(); err != nil {
		t.Fatal(err)
	}
	rc := e.raw(t)
	rc.send(&pgproto3.Query{String: "UPDATE scratch SET note = 'gone'"})
	var reqID string
	for range 600 {
		if list, _ := e.apr.List(approvals.Filter{State: approvals.Pending}); len(list) == 2 {
			for _, r := range list {
				if strings.Contains(r.Command, "note = $1") {
					reqID = r.ID
				}
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if reqID == "" {
		t.Fatal("the UPDATE was not held")
	}
	rc.nc.Close()
	for i := 0; ; i++ {
		infos, _ := e.events(t)
		open := 0
		for _, in := range infos {
			if in.Open() {
				open++
			}
		}
		if open == 1 { // the pgx connection
			break
		}
		if i == 600 {
			t.Fatal("the session of the client that left did not end")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := e.apr.Approve(reqID, alice, "too late", approvals.GrantSpec{}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM scratch WHERE note = 'gone'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("rows updated for a client that left: %d %v", n, err)
	}
}

func TestDecodeStartupPacket(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		want string
	}{
		{binary.BigEndian.AppendUint32(nil, codeSSLRequest), "*pgproto3.SSLRequest"},
		{binary.BigEndian.AppendUint32(nil, codeGSSENCRequest), "*pgproto3.GSSEncRequest"},
		{binary.BigEndian.AppendUint32(nil, 2<<16), "error"},
		{append(binary.BigEndian.AppendUint32(nil, codeSSLRequest), 0), "error"},
	} {
		m, err := decodeStartupPacket(tc.body)
		got := fmt.Sprintf("%T", m)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("%x: %s, want %s", tc.body, got, tc.want)
		}
	}
}

// FuzzStartup: whatever a client sends first, the decoder and the
// parameter check return instead of crashing.
func FuzzStartup(f *testing.F) {
	sm, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "ci-bot", "database": "orders", "options": "-c x=y"}}).Encode(nil)
	f.Add(sm)
	ssl, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	f.Add(ssl)
	cr, _ := (&pgproto3.CancelRequest{ProcessID: 1, SecretKey: []byte{1, 2, 3, 4}}).Encode(nil)
	f.Add(cr)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := readStartupPacket(bytes.NewReader(data))
		if err != nil {
			return
		}
		if sm, ok := m.(*pgproto3.StartupMessage); ok {
			checkParams(sm)
		}
	})
}

var _ = context.Background

// Malformed clients after login: each gets an error or a closed
// connection, and the gateway serves the next client.
func TestMalformedClients(t *testing.T) {
	e := newEnv(t, envOptions{maxMessageLen: 1 << 20})
	frames := map[string][]byte{
		"unknown type":    {'?', 0, 0, 0, 4},
		"length under 4":  {'Q', 0, 0, 0, 2},
		"negative length": {'Q', 0xff, 0xff, 0xff, 0xff},
		"over the cap":    {'Q', 0x7f, 0xff, 0xff, 0xff},
		"truncated":       {'Q', 0, 0, 0, 100, 'S', 'E'},
		"bind garbage":    {'B', 0, 0, 0, 9, 0, 0, 0xff, 0xff, 0},
		"startup again":   {0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f},
		"query no nul":    {'Q', 0, 0, 0, 5, 'x'},
	}
	for name, frame := range frames {
		rc := e.raw(t)
		rc.nc.Write(frame)
		if name == "truncated" {
			rc.nc.(interface{ CloseWrite() error }).CloseWrite()
		}
		for i := 0; ; i++ {
			got := rc.next()
			if strings.HasPrefix(got, "error:") || strings.HasPrefix(got, "Error FATAL") {
				break
			}
			if i == 10 {
				t.Fatalf("%s: the connection goes on: %s", name, got)
			}
		}
		rc.nc.Close()
	}
	rc := e.raw(t)
	rc.send(&pgproto3.Query{String: "SELECT 1 AS ok"})
	expectLines(t, rc.until(1), "RowDescription ok", "DataRow 1", "CommandComplete SELECT 1", "ReadyForQuery I")
}

// A client asking for protocol 3.2 is answered with
// NegotiateProtocolVersion and goes on in 3.0; GSSENCRequest gets 'N'
// and the client may go on with SSLRequest.
func TestProtocolNegotiation(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := ctxT(t)
	pc, err := pgconn.Connect(ctx, e.dsn("ci-bot", botToken)+" max_protocol_version=3.2")
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Exec(ctx, "SELECT 1").Close(); err != nil {
		t.Fatal(err)
	}
	pc.Close(ctx)

	nc, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.port))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	gss, _ := (&pgproto3.GSSEncRequest{}).Encode(nil)
	nc.Write(gss)
	var b [1]byte
	if _, err := io.ReadFull(nc, b[:]); err != nil || b[0] != 'N' {
		t.Fatalf("GSSENCRequest: %q %v", b, err)
	}
	ssl, _ := (&pgproto3.SSLRequest{}).Encode(nil)
	nc.Write(ssl)
	if _, err := io.ReadFull(nc, b[:]); err != nil || b[0] != 'S' {
		t.Fatalf("SSLRequest: %q %v", b, err)
	}
	if err := tls.Client(nc, &tls.Config{InsecureSkipVerify: true}).Handshake(); err != nil {
		t.Fatal(err)
	}
}
