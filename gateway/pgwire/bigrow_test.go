package pgwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// backendReader hands pgproto3 every message but a large DataRow, which
// it holds back at a message boundary, and the stream stays in step.
func TestBackendReaderFraming(t *testing.T) {
	var stream []byte
	stream, _ = (&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("v")}}}).Encode(stream)
	stream, _ = (&pgproto3.DataRow{Values: [][]byte{[]byte("small")}}).Encode(stream)
	big := bytes.Repeat([]byte("x"), 1000)
	stream, _ = (&pgproto3.DataRow{Values: [][]byte{big}}).Encode(stream)
	stream, _ = (&pgproto3.CommandComplete{CommandTag: []byte("SELECT 2")}).Encode(stream)
	br := newBackendReader(bytes.NewReader(stream), 100)
	fe := pgproto3.NewFrontend(br, io.Discard)
	var got []string
	for {
		msg, err := fe.Receive()
		if errors.Is(err, errBigRow) {
			n := br.takeBig()
			body := make([]byte, n)
			if _, err := io.ReadFull(br.br, body); err != nil {
				t.Fatal(err)
			}
			if binary.BigEndian.Uint16(body) != 1 || !bytes.Equal(body[6:], big) {
				t.Fatalf("big row body %q...", body[:10])
			}
			got = append(got, "big")
			continue
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			got = append(got, "row "+string(m.Values[0]))
		case *pgproto3.CommandComplete:
			got = append(got, string(m.CommandTag))
		default:
			got = append(got, "desc")
		}
	}
	if strings.Join(got, ",") != "desc,row small,big,SELECT 2" {
		t.Errorf("messages: %v", got)
	}
}

// heapPeak samples the live heap (as of the last GC, so garbage does not
// count) until stop is closed and reports the highest level seen above
// the one at its start.
func heapPeak(stop <-chan struct{}) *atomic.Int64 {
	var peak atomic.Int64
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	metrics.Read(sample)
	base := int64(sample[0].Value.Uint64())
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			metrics.Read(sample)
			peak.Store(max(peak.Load(), int64(sample[0].Value.Uint64())-base))
		}
	}()
	return &peak
}

type countWriter struct {
	n    int64
	tail []byte
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	w.tail = append(w.tail, p...)
	if len(w.tail) > 4096 {
		w.tail = w.tail[len(w.tail)-4096:]
	}
	return len(p), nil
}

// A 100 MB field streams through sluice: psql (another process) gets
// every byte, and sluice's heap never holds the row.
func TestHundredMegabyteField(t *testing.T) {
	if _, err := os.Stat("/usr/bin/psql"); err != nil {
		t.Skip("no psql")
	}
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	run := func(e *env, sql string) (*countWriter, string, int64) {
		cmd := exec.Command("/usr/bin/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", strings.Replace(e.dsn("ci-bot", ""), "password=''", "", 1), "-c", sql)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+botToken, "PGCLIENTENCODING=UTF8", "PGCONNECT_TIMEOUT=30")
		out := &countWriter{}
		var errOut strings.Builder
		cmd.Stdout, cmd.Stderr = out, &errOut
		stop := make(chan struct{})
		peak := heapPeak(stop)
		err := cmd.Run()
		close(stop)
		if err != nil {
			t.Fatalf("psql: %v\n%s", err, errOut.String())
		}
		return out, errOut.String(), peak.Load()
	}
	const mb = 1 << 20

	plain := newEnv(t, envOptions{})
	out, _, peak := run(plain, "SELECT repeat('ab', 50 * 1048576) AS big, 42 AS n")
	if out.n != 100*mb+len64("|42\n") || !bytes.HasSuffix(out.tail, []byte("ab|42\n")) {
		t.Errorf("psql got %d bytes ending %q", out.n, out.tail[max(0, len(out.tail)-10):])
	}
	// Read whole, the row would be in the heap at least twice (read and
	// re-encoded); streamed, it is not there at all.
	t.Logf("relayed: heap +%d MB", peak/mb)
	if peak > 40*mb {
		t.Errorf("sluice's heap grew by %d MB relaying a 100 MB field", peak/mb)
	}

	// On a masked target the field is masked chunk by chunk (here every
	// chunk of the email column becomes ****), the small field as usual.
	masked := newEnv(t, envOptions{guard: true, mask: true})
	out, _, peak = run(masked, "SELECT 7 AS id, repeat('ann@example.com wrote a line' || chr(10), 3500000) AS email")
	if out.n > mb || !bytes.Contains(out.tail, []byte("7|****")) || bytes.Contains(out.tail, []byte("@example.com")) {
		t.Errorf("masked 100 MB field: %d bytes, ending %q", out.n, out.tail)
	}
	t.Logf("masked: heap +%d MB", peak/mb)
	if peak > 40*mb {
		t.Errorf("sluice's heap grew by %d MB masking a 100 MB field", peak/mb)
	}
	// The session ends (and its buffered output is written) when sluice
	// sees psql leave, a moment after psql exits.
	found := false
	for deadline := time.Now().Add(10 * time.Second); !found && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, evs := masked.events(t)
		for _, ev := range evs {
			found = found || strings.Contains(string(ev.Data), "relayed in a stream")
		}
	}
	if !found {
		t.Error("the large row is not in the recording")
	}
}

func len64(s string) int64 { return int64(len(s)) }
