package pgwire

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/sluicegw/sluice/gateway/internal/pgtest"
)

// One PostgreSQL per test binary, started by TestMain (see pgtest).
var testPG struct {
	addr     string
	user     string // the backend user sluice holds
	password string
	database string
	bin      string
	err      error // why there is none: tests skip with it
}

const (
	backendUser     = "pgwire_backend_owner"
	backendPassword = "Backend-Secret-7f3a9c1e"
	backendDatabase = "appdb"
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(func() int {
		// Fuzzing runs only the decoders: no server for its workers.
		if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
			testPG.err = errors.New("fuzz worker")
			return m.Run()
		}
		srv, err := pgtest.Start(backendUser, backendPassword, backendDatabase)
		if err != nil {
			testPG.err = err
			fmt.Fprintln(os.Stderr, "pgwire: no PostgreSQL:", err)
		} else {
			defer srv.Stop()
			testPG.addr, testPG.user, testPG.password = srv.Addr, srv.User, srv.Password
			testPG.database, testPG.bin = srv.Database, srv.Bin
		}
		return m.Run()
	}())
}

// needPG skips a test that needs the server when there is none, except
// in CI ($CI set), where a missing server is a failure: .ci/run installs
// it, and a skipped integration test proves nothing.
func needPG(t testing.TB) {
	t.Helper()
	if testPG.err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no PostgreSQL for this test binary: %v", testPG.err)
	}
	t.Skipf("no PostgreSQL for this test binary: %v (install postgresql-15; .ci/run does)", testPG.err)
}
