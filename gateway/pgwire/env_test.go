package pgwire

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/internal/syncbuf"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Tokens of the test identities.
const (
	botToken      = "slc_test-bot-token-4b1d"
	intruderToken = "slc_test-intruder-token-77aa"
	aliceToken    = "slc_test-alice-token-0c0c"
	targetName    = "orders"
)

// env is sluice's pgwire engine in front of the test PostgreSQL.
type env struct {
	t        testing.TB
	eng      *Engine
	port     int
	st       *store.Store
	apr      *approvals.Manager
	logs     *syncBuffer
	chain    atomic.Pointer[policy.Chain]
	chainErr atomic.Pointer[error]
}

type envOptions struct {
	guard, mask    bool
	allowCleartext bool
	clientAuth     string
	maxBufferedRow int
	maxMessageLen  int
	// upstreamPassword replaces the backend password sluice holds.
	upstreamPassword string
}

var (
	pluginsOnce sync.Once
	guardPlugin *pluginhost.Plugin
	maskPlugin  *pluginhost.Plugin
	pluginsErr  error
)

// bundledPlugins loads sql-guard (DELETE/UPDATE without WHERE held for
// approval, everything else at its default: block) and the Go SDK's
// json-field-mask masking email, once per test binary.
func bundledPlugins(t testing.TB) (guard, mask *pluginhost.Plugin) {
	t.Helper()
	pluginsOnce.Do(func() {
		h, err := pluginhost.New(pluginhost.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			pluginsErr = err
			return
		}
		load := func(name, path, cfg string) *pluginhost.Plugin {
			if _, err := os.Stat(path); err != nil {
				pluginsErr = fmt.Errorf("%v: build the plugins with `make plugins`", err)
				return nil
			}
			p, err := h.Load(context.Background(), pluginhost.Spec{Name: name, Path: path, Config: []byte(cfg)})
			if err != nil {
				pluginsErr = err
			}
			return p
		}
		guardPlugin = load("sql-guard", filepath.Join("..", "..", "plugins", "sql-guard", "sql-guard.wasm"), `{"unbounded_write":"approve"}`)
		maskPlugin = load("json-field-mask", filepath.Join("..", "..", "sdk", "go", "example", "json-field-mask.wasm"), `{"fields":["email"]}`)
	})
	if pluginsErr != nil {
		t.Fatal(pluginsErr)
	}
	return guardPlugin, maskPlugin
}

var fixtureOnce sync.Once

// fixtures creates the tables the tests read, once per binary.
func fixtures(t testing.TB) {
	t.Helper()
	fixtureOnce.Do(func() {
		pc := backendConn(t)
		defer pc.Close(context.Background())
		err := pc.Exec(context.Background(), `
CREATE TABLE customers (id int PRIMARY KEY, name text, email text, score int, meta jsonb);
INSERT INTO customers VALUES
  (1, 'Ann', 'ann@example.com', 10, '{"tier": "gold"}'),
  (2, 'Bob', 'bob@example.org', 20, NULL),
  (3, 'Cy', NULL, 30, '{}');
CREATE TABLE scratch (id int, note text);
INSERT INTO scratch VALUES (1, 'a'), (2, 'b');`).Close()
		if err != nil {
			t.Fatal(err)
		}
	})
}

// backendConn connects straight to the backend, as its owner.
func backendConn(t testing.TB) *pgconn.PgConn {
	t.Helper()
	needPG(t)
	pc, err := pgconn.Connect(context.Background(), fmt.Sprintf("host=127.0.0.1 port=%s user=%s password=%s dbname=%s sslmode=disable",
		strings.Split(testPG.addr, ":")[1], testPG.user, testPG.password, testPG.database))
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	needPG(t)
	fixtures(t)
	cfg, err := config.Parse("pgwire-test.yaml", []byte(fmt.Sprintf(`
identities:
  - {name: ci-bot, kind: service, token_hashes: [%s]}
  - {name: intruder, kind: service, token_hashes: [%s]}
  - {name: alice, kind: human, roles: [reviewer], token_hashes: [%s]}
targets:
  - name: %s
    protocol: postgres
    listen: 127.0.0.1:0
    upstream: {address: %q, database: %s, user: %s, password: %q}
    allow: [ci-bot]
`, auth.HashString(botToken), auth.HashString(intruderToken), auth.HashString(aliceToken), targetName,
		testPG.addr, testPG.database, testPG.user, cmp.Or(o.upstreamPassword, testPG.password))), nil)
	if err != nil {
		t.Fatal(err)
	}
	tgt, _ := cfg.Target(targetName)
	e := &env{t: t, logs: &syncBuffer{}}
	var chain policy.Chain
	if o.guard || o.mask {
		g, m := bundledPlugins(t)
		if o.guard {
			chain = append(chain, g)
		}
		if o.mask {
			chain = append(chain, m)
		}
	}
	e.chain.Store(&chain)
	e.st, err = store.Open(t.TempDir(), store.Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.apr, err = approvals.New(approvals.Options{Store: e.st, MaxGrant: time.Hour, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	e.eng, err = New(Options{
		Target: tgt, Config: func() *config.Config { return cfg },
		Auth: &auth.Authenticator{Config: func() *config.Config { return cfg }, Store: e.st},
		Chain: func() (policy.Chain, error) {
			if err := e.chainErr.Load(); err != nil {
				return nil, *err
			}
			return *e.chain.Load(), nil
		}, Store: e.st, Approvals: e.apr,
		DataDir: t.TempDir(), AllowCleartext: o.allowCleartext, ClientAuth: o.clientAuth, UpstreamSSLMode: "disable",
		MaxMessageLen: o.maxMessageLen, MaxBufferedRow: o.maxBufferedRow, Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.port = ln.Addr().(*net.TCPAddr).Port
	served := make(chan error, 1)
	go func() { served <- e.eng.Serve(ln) }()
	t.Cleanup(func() {
		e.eng.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		e.apr.Close()
		e.st.Close()
		if t.Failed() {
			t.Logf("gateway log:\n%s", e.logs.String())
		}
	})
	return e
}

// dsn is a libpq connection string to sluice.
func (e *env) dsn(user, token string) string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=%s password='%s' dbname=%s sslmode=require", e.port, user, token, targetName)
}

// pgx connects with pgx; received collects every byte it read after TLS.
func (e *env) pgx(t *testing.T, received *syncBuffer) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(e.dsn("ci-bot", botToken))
	if err != nil {
		t.Fatal(err)
	}
	if received != nil {
		cfg.AfterNetConnect = func(ctx context.Context, cfg *pgconn.Config, c net.Conn) (net.Conn, error) {
			return &recordingConn{Conn: c, got: received}, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("pgx through sluice: %v\n%s", err, e.logs.String())
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

type recordingConn struct {
	net.Conn
	got *syncBuffer
}

func (r *recordingConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.got.Write(p[:n])
	return n, err
}

// sessions returns every recorded session with its events' data.
func (e *env) events(t *testing.T) (infos []store.SessionInfo, events []store.Event) {
	t.Helper()
	infos, err := e.st.Sessions(store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		id, _ := store.ParseID(in.ID)
		if err := e.st.Events(id, 0, func(ev store.Event) error {
			ev.Data = bytes.Clone(ev.Data)
			events = append(events, ev)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return infos, events
}

// commands returns the data of the command events, in order.
func (e *env) commands(t *testing.T) []string {
	t.Helper()
	_, evs := e.events(t)
	var out []string
	for _, ev := range evs {
		if ev.Kind == store.KindCommand {
			out = append(out, string(ev.Data))
		}
	}
	return out
}

// syncBuffer is the tests' concurrent-safe output sink.
type syncBuffer = syncbuf.Buffer
