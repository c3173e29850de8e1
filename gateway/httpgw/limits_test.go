package httpgw

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/sluicegw/sluice/gateway/store"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/policy"
)

// rawRequest writes raw bytes to the gateway, then waits (at most 30s)
// for a response status line.
func rawRequest(t *testing.T, addr string, send func(net.Conn)) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go send(c)
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestLimits: oversized headers get 431, a client too slow with its
// headers or its body 408, a body over the cap 413 (declared or chunked),
// each with a JSON body; none of them reaches the upstream.
func TestLimits(t *testing.T) {
	g := startGateway(t, nil, func(o *Options) {
		o.HeaderTimeout = 300 * time.Millisecond
		o.BodyIdleTimeout = 300 * time.Millisecond
		o.MaxHeaderBytes = 4 << 10
		o.MaxRequestBody = 1 << 20
	})
	auth := "Authorization: Bearer " + ciToken + "\r\n"
	cases := []struct {
		name   string
		send   func(net.Conn)
		status int
	}{
		{"big header", func(c net.Conn) {
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n%sX-Big: %s\r\n\r\n", auth, strings.Repeat("a", 8<<10))
		}, 431},
		{"slow header", func(c net.Conn) { fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n") }, 408},
		{"declared body too large, expecting 100-continue", func(c net.Conn) {
			fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", auth, 2<<20)
		}, 413},
		{"declared body too large", func(c net.Conn) {
			fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s", auth, 1<<20+1, bytes.Repeat([]byte("z"), 70<<10))
		}, 413},
		{"chunked body too large", func(c net.Conn) {
			fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\n%sTransfer-Encoding: chunked\r\n\r\n", auth)
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for range 17 {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			}
		}, 413},
		{"slow small body", func(c net.Conn) {
			fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\n%sContent-Length: 100\r\n\r\n0123456789", auth)
		}, 408},
		{"slow streamed body", func(c net.Conn) {
			fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s", auth, 512<<10, bytes.Repeat([]byte("y"), 100<<10))
		}, 408},
	}
	for _, c := range cases {
		status, body := rawRequest(t, g.addr, c.send)
		var eb errorBody
		if status != c.status || json.Unmarshal([]byte(body), &eb) != nil || eb.Error == "" {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
	// curl asks before sending a large body.
	file := filepath.Join(t.TempDir(), "big")
	os.WriteFile(file, bytes.Repeat([]byte("b"), 2<<20), 0o600)
	raw, _ := curl(t, "-H", bearer(ciToken), "--data-binary", "@"+file, g.url+"/upload")
	if statusOf(raw) != 413 {
		t.Errorf("curl, body too large: %s", raw)
	}
	// A cut body may have reached the upstream in part; never whole.
	for _, s := range g.up.all() {
		if s.BodyLen == 2<<20 || s.BodyLen == 512<<10 || s.BodyLen == 100 {
			t.Errorf("a refused body reached the upstream whole: %d bytes", s.BodyLen)
		}
	}
}

// TestStreamingUpload: large request bodies, chunked (Go client, unknown
// length) and declared (curl, a file), stream through to the upstream
// intact.
func TestStreamingUpload(t *testing.T) {
	g := startGateway(t, nil, func(o *Options) { o.MaxRequestBody = -1 })
	const size = 24 << 20
	gen := func() io.Reader { return io.LimitReader(&pattern{}, size) }
	h := sha256.New()
	io.Copy(h, gen())
	want := hex.EncodeToString(h.Sum(nil))

	c := &http.Client{}
	defer c.CloseIdleConnections()
	resp, body := get(t, c, "POST", g.url+"/upload", ciToken, io.MultiReader(gen())) // MultiReader hides the length: chunked
	var s seen
	json.Unmarshal(body, &s)
	if resp.StatusCode != 200 || s.BodyLen != size || s.BodySHA != want {
		t.Errorf("chunked upload: %d %d %s", resp.StatusCode, s.BodyLen, s.BodySHA)
	}

	file := filepath.Join(t.TempDir(), "body")
	f, _ := os.Create(file)
	io.Copy(f, gen())
	f.Close()
	raw, _ := curl(t, "-H", bearer(ciToken), "--data-binary", "@"+file, g.url+"/upload")
	s = seen{}
	json.Unmarshal([]byte(bodyOf(raw)), &s)
	if statusOf(raw) != 200 || s.BodyLen != size || s.BodySHA != want {
		t.Errorf("curl upload: %d %d\n%.500s", statusOf(raw), s.BodyLen, raw)
	}
}

// pattern is an endless deterministic byte stream.
type pattern struct{ n byte }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'a' + p.n%26
		p.n++
	}
	return len(b), nil
}

// TestLargeNDJSONStream: a 100 MB NDJSON response streams through pii-mask
// record by record: every e-mail masked, every record there, and the
// heap stays far below the size of the stream.
func TestLargeNDJSONStream(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB stream")
	}
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, nil)
	records := largeRecords // about 100 MB of NDJSON (fewer under -race)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()

	start := time.Now()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/customers.ndjson?n=%d", g.url, records), nil)
	req.Header.Set("Authorization", "Bearer "+ciToken)
	c := &http.Client{}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var lines, bytesIn int64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Bytes()
		bytesIn += int64(len(line)) + 1
		if bytes.Contains(line, []byte("@example.com")) || !bytes.Contains(line, []byte(`"email":"[EMAIL]"`)) {
			t.Fatalf("line %d not masked: %s", lines, line)
		}
		lines++
	}
	resp.Body.Close()
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines != int64(records) {
		t.Fatalf("got %d records, want %d", lines, records)
	}
	growth := int64(peak) - int64(base.HeapInuse)
	t.Logf("%d records, %.1f MB masked in %v (%.1f MB/s); heap in use %.1f MB before, peak %.1f MB",
		lines, float64(bytesIn)/1e6, elapsed.Round(time.Millisecond), float64(bytesIn)/1e6/elapsed.Seconds(),
		float64(base.HeapInuse)/1e6, float64(peak)/1e6)
	// Constant memory: the plugin's instances and batches of at most 1 MiB
	// in flight, not the stream. The bound means something only when the
	// stream is larger than it (100 MB without the race detector).
	if bytesIn > 2*heapBound && growth > heapBound {
		t.Errorf("heap grew by %.1f MB while %.1f MB streamed", float64(growth)/1e6, float64(bytesIn)/1e6)
	}
}

// heapBound is the most the heap may grow while TestLargeNDJSONStream
// streams.
const heapBound = 48 << 20

// TestFailures: a malformed record in the middle of a masked stream cuts
// the response (curl reports an incomplete body) without one unmasked
// byte; an upstream silent past UpstreamTimeout gives 504; a client that
// leaves in the middle of a large stream frees everything (Close does not
// hang, the session ends).
func TestFailures(t *testing.T) {
	g := startGateway(t, policy.Chain{plugin(t, "pii-mask", "")}, func(o *Options) { o.UpstreamTimeout = 300 * time.Millisecond })
	raw, code := curl(t, "-H", bearer(ciToken), g.url+"/broken.ndjson")
	if code == 0 || rawEmail.MatchString(raw) || !strings.Contains(raw, "[EMAIL]") {
		t.Errorf("broken stream: curl exit %d, %d bytes, raw e-mail: %v", code, len(raw), rawEmail.MatchString(raw))
	}
	raw, _ = curl(t, "-H", bearer(ciToken), g.url+"/slow")
	if statusOf(raw) != 504 {
		t.Errorf("slow upstream: %s", raw)
	}

	req, _ := http.NewRequest("GET", g.url+"/customers.ndjson?n=2000000", nil)
	req.Header.Set("Authorization", "Bearer "+ciToken)
	c := &http.Client{}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	io.ReadFull(resp.Body, buf)
	resp.Body.Close() // leaves mid-stream
	c.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ss, _ := g.st.Sessions(store.Filter{}); openSessions(ss) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ss, _ := g.st.Sessions(store.Filter{}); openSessions(ss) != 0 {
		t.Errorf("%d sessions still open after their clients left", openSessions(ss))
	}
	ev := strings.Join(g.events(t), "\n")
	if !strings.Contains(ev, `"error":"`) || !strings.Contains(ev, `"status":504`) {
		t.Errorf("failures not recorded:\n%.3000s", ev)
	}
}

func openSessions(ss []store.SessionInfo) int {
	n := 0
	for i := range ss {
		if ss[i].Open() {
			n++
		}
	}
	return n
}
