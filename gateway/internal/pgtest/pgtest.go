// Package pgtest starts a real PostgreSQL for tests: initdb into a
// temporary directory, scram-sha-256 for one user, a free port on
// loopback, the socket in the same directory, and no fsync (test data).
// As root, initdb and postgres run as the postgres user. Tests of every
// engine that talks to PostgreSQL share it; nothing here is for
// production.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Server is a running PostgreSQL.
type Server struct {
	Addr     string // host:port on 127.0.0.1
	User     string // the superuser created by initdb
	Password string
	Database string // created after start
	Bin      string // the directory of initdb, postgres, psql ...
	stop     func()
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 30s) and
// removes its directory.
func (s *Server) Stop() { s.stop() }

// Bin is the PostgreSQL binary directory: $SLUICE_PG_BIN, else Debian's
// /usr/lib/postgresql/15/bin.
func Bin() string {
	if d := os.Getenv("SLUICE_PG_BIN"); d != "" {
		return d
	}
	return "/usr/lib/postgresql/15/bin"
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a server whose superuser is user with password, and
// creates database.
func Start(userName, password, database string) (s *Server, err error) {
	bin := Bin()

	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "sluice-pg-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	// initdb and postgres refuse to run as root: run them as postgres.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	cmd := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, name), args...)
		c.Dir = dir
		c.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		return c
	}
	pwfile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o644); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := cmd("initdb", "-D", data, "-U", userName, "--pwfile", pwfile, "-A", "scram-sha-256",
		"-E", "UTF8", "--locale", "C", "--no-sync").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	os.Remove(pwfile)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	srv := cmd("postgres", "-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=60", "-c", "log_min_messages=warning")
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	stop := func() {
		srv.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		logf.Close()
		cleanup()
	}
	s = &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), User: userName, Password: password, Database: database, Bin: bin, stop: stop}
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d user=%s password=%s dbname=postgres sslmode=disable", port, userName, password)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			logs, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("postgres exited:\n%s", logs)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		pc, err := pgconn.Connect(ctx, dsn)
		cancel()
		if err == nil {
			err = pc.Exec(context.Background(), "CREATE DATABASE "+database).Close()
			pc.Close(context.Background())
			if err != nil {
				stop()
				return nil, err
			}
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.Join(errors.New("postgres did not accept connections"), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s, nil
}
