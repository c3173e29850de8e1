package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv makes the test binary a writer that the parent kills.
const crashChildEnv = "SLUICE_STORE_CRASH_CHILD"

// TestMain runs the child side of TestCrashRecovery when asked to.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild writes commands in 8 sessions as fast as it can, printing
// each once Durable returned, the moment an engine would forward it, until
// it is killed.
func crashChild(dir string) {
	s, err := Open(dir, Options{MinFreeBytes: -1, FlushInterval: 5 * time.Millisecond})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ss, err := s.OpenSession(NewSession{Identity: fmt.Sprint("bot", w)}, nil)
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			for i := 0; ; i++ {
				// Odd sessions also read: Written, then synced in a group,
				// or committed by the session's next Durable.
				if w%2 == 1 {
					if _, err := ss.Written(KindCommand, cmd(fmt.Sprintf("SELECT n FROM t WHERE id = %d", w), "allow")); err != nil {
						fmt.Println("error", err)
						os.Exit(1)
					}
				}
				seq, err := ss.Durable(KindCommand, cmd(fmt.Sprintf("UPDATE t SET n = %d WHERE id = %d", i, w), "allow"))
				if err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(out, "fwd %s %d\n", ss.ID(), seq)
				out.Flush()
				mu.Unlock()
				ss.Append(KindOutput, []byte(`{"rows":1}`))
			}
		}()
	}
	wg.Wait()
}

// TestCrashRecovery kills a writing gateway with SIGKILL and checks that
// the store reopens, that every command reported as forwarded is there,
// and that every session's chain verifies.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	forwarded := map[string]uint64{} // session -> highest forwarded seq
	sc := bufio.NewScanner(stdout)
	n := 0
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[0] != "fwd" {
			t.Fatalf("child: %s", sc.Text())
		}
		seq, _ := strconv.ParseUint(f[2], 10, 64)
		forwarded[f[1]] = max(forwarded[f[1]], seq)
		if n++; n == 3000 {
			// Kill mid-write: the child is committing right now.
			child.Process.Signal(syscall.SIGKILL)
			break
		}
	}
	// Lines already in the pipe were forwarded too.
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "fwd" {
			seq, _ := strconv.ParseUint(f[2], 10, 64)
			forwarded[f[1]] = max(forwarded[f[1]], seq)
		}
	}
	child.Wait()
	if len(forwarded) == 0 {
		t.Fatal("the child forwarded nothing")
	}

	s, err := Open(dir, Options{MinFreeBytes: -1})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer s.Close()
	for sid, last := range forwarded {
		id, err := ParseID(sid)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Session(id)
		if err != nil {
			t.Fatalf("session %s: %v", sid, err)
		}
		// Every forwarded command is recorded (the session may hold more:
		// a command durable but not yet reported, and output after it).
		found := false
		s.Events(id, last, func(e Event) error {
			if e.Seq == last && e.Kind == KindCommand {
				found = true
			}
			return errStopTest
		})
		if !found {
			t.Errorf("session %s: forwarded command %d is missing (record has %d events)", sid, last, info.Events)
		}
		if info.Open() || !strings.Contains(info.EndReason, "without ending") {
			t.Errorf("session %s not ended on reopen: %+v", sid, info)
		}
		v, err := s.Verify(id)
		if err != nil || !v.OK {
			t.Errorf("session %s: %+v %v", sid, v, err)
		}
	}
	t.Logf("%d sessions, %d commands forwarded before SIGKILL, all recorded and verified", len(forwarded), n)
}

var errStopTest = fmt.Errorf("stop")
