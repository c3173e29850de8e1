package pluginhost

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/abi"
)

// TestGuestLogRateLimit: a chatty guest cannot flood the gateway's log;
// what it loses is counted and said with the next line that gets through.
func TestGuestLogRateLimit(t *testing.T) {
	var buf bytes.Buffer
	gl := newGuestLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "chatty")
	for i := 0; i < 1000; i++ {
		gl.write(abi.LogInfo, []byte("line"))
	}
	lines := strings.Count(buf.String(), "\n")
	if lines < int(guestLogBurst) || lines > int(guestLogBurst)+5 {
		t.Fatalf("%d lines logged for 1000 written; burst is %v", lines, guestLogBurst)
	}
	gl.last = gl.last.Add(-time.Second) // a second later the bucket has refilled
	buf.Reset()
	gl.write(abi.LogError, []byte(strings.Repeat("x", 5000)))
	out := buf.String()
	if !strings.Contains(out, "dropped_before=") || !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "plugin=chatty") {
		t.Fatalf("after the limit: %q", out)
	}
	if strings.Count(out, "x") > guestLogMax+10 {
		t.Fatalf("a long line was not truncated: %d bytes", len(out))
	}
}
