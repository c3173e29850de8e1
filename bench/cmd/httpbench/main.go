// Command httpbench is the upstream and the load generator of
// bench/http.sh, the one-command HTTP comparison (direct, nginx, sluice).
//
//	httpbench upstream -listen 127.0.0.1:8081
//	    GET /json              1 KB of customer JSON (application/json)
//	    GET /ndjson?mb=100     100 MB of customer NDJSON, generated while
//	                           it is sent (application/x-ndjson, chunked)
//	httpbench load -url http://127.0.0.1:8081/json -c 32 -d 5s [-H 'Authorization: Bearer ...']
//	    keep-alive requests from c connections for d (after -warmup):
//	    one line "rps=... p50_us=... p99_us=... requests=... errors=... bytes_per_resp=..."
//	httpbench stream -url 'http://127.0.0.1:8081/ndjson?mb=100' [-H ...]
//	    reads one whole body: "mbps=... bytes=... lines=... secs=... at=..."
//	    (at: '@' bytes seen, 0 once every e-mail is masked)
//
// Every record is generated from its index: the same bytes on every run
// and machine. None of it is real data.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "upstream":
		err = upstreamCmd(os.Args[2:])
	case "load":
		err = loadCmd(os.Args[2:])
	case "stream":
		err = streamCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: httpbench upstream -listen ADDR | load -url URL [-c N] [-d DUR] [-H HDR] | stream -url URL [-H HDR]")
	os.Exit(2)
}

// headers collects repeated -H "Name: value" flags.
type headers [][2]string

func (h *headers) String() string { return fmt.Sprint(*h) }
func (h *headers) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	*h = append(*h, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	return nil
}

// ---- records ----

var (
	firstNames = []string{"Ann", "Bob", "Chloe", "Dawid", "Eve", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena"}
	lastNames  = []string{"Smith", "Jones", "Durand", "Kowalski", "Adams", "Haddad", "Hopper", "Tanaka", "Okafor", "Novak", "Silva"}
	plans      = []string{"free", "pro", "enterprise"}
	cities     = []string{"Springfield", "Rivertown", "Lakeside", "Hillview", "Bayport"}
	notes      = []string{
		"prefers e-mail contact",
		"renewal due next quarter",
		"asked about the API rate limits",
		"migrated from the legacy plan",
	}
)

// appendRecord appends customer i as one JSON object (~230 bytes): a name,
// an e-mail, a phone, an address and a free-text note, the fields
// pii-mask's detectors and field rules look at.
func appendRecord(b []byte, i int) []byte {
	f, l := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(100000+i), 10)
	b = append(b, `,"name":"`...)
	b = append(b, f...)
	b = append(b, ' ')
	b = append(b, l...)
	b = append(b, `","email":"`...)
	b = appendLower(b, f)
	b = append(b, '.')
	b = appendLower(b, l)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `@example.com","phone":"+1 415 555 `...)
	p := (i * 37) % 10000
	b = append(b, byte('0'+p/1000), byte('0'+p/100%10), byte('0'+p/10%10), byte('0'+p%10))
	b = append(b, `","address":{"street":"`...)
	b = strconv.AppendInt(b, int64(1+i%999), 10)
	b = append(b, ` Main Street","city":"`...)
	b = append(b, cities[i%len(cities)]...)
	b = append(b, `"},"plan":"`...)
	b = append(b, plans[i%len(plans)]...)
	b = append(b, `","active":`...)
	b = strconv.AppendBool(b, i%5 != 0)
	b = append(b, `,"note":"`...)
	b = append(b, notes[i%len(notes)]...)
	b = append(b, `"}`...)
	return b
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// jsonDoc is the /json body: {"customers":[...],"next":...} padded with
// a "cursor" to exactly size bytes.
func jsonDoc(size int) []byte {
	var recs []byte
	n := 0
	for {
		next := appendRecord(nil, n)
		if len(recs)+len(next)+64 > size {
			break
		}
		if n > 0 {
			recs = append(recs, ',')
		}
		recs = append(recs, next...)
		n++
	}
	b := append([]byte(`{"customers":[`), recs...)
	b = append(b, `],"cursor":"`...)
	for len(b)+2 < size {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// ndjsonLines appends records start to start+n-1, one per line.
func ndjsonLines(start, n int, b []byte) []byte {
	for i := start; i < start+n; i++ {
		b = appendRecord(b, i)
		b = append(b, '\n')
	}
	return b
}

// ---- upstream ----

func upstreamCmd(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on")
	fs.Parse(args)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := newUpstream()
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
		<-ch
		srv.Shutdown()
	}()
	return srv.Serve(ln)
}

func newUpstream() *fasthttp.Server {
	doc := jsonDoc(1024)
	return &fasthttp.Server{
		Name:                          "httpbench",
		DisableHeaderNamesNormalizing: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			switch string(ctx.Path()) {
			case "/json":
				ctx.SetContentType("application/json")
				ctx.SetBody(doc)
			case "/ndjson":
				mb, err := strconv.ParseFloat(string(ctx.QueryArgs().Peek("mb")), 64)
				if err != nil || mb <= 0 {
					mb = 100
				}
				total := int64(mb * (1 << 20))
				ctx.SetContentType("application/x-ndjson")
				ctx.SetBodyStreamWriter(func(w *bufio.Writer) { writeNDJSON(w, total) })
			default:
				ctx.Error("not found", fasthttp.StatusNotFound)
			}
		},
	}
}

// writeNDJSON writes whole lines until total bytes are reached (the last
// line may go past it).
func writeNDJSON(w io.Writer, total int64) {
	var buf []byte
	var sent int64
	for i := 0; sent < total; i += 256 {
		buf = ndjsonLines(i, 256, buf[:0])
		if rest := total - sent; int64(len(buf)) > rest {
			cut := bytes.IndexByte(buf[rest-1:], '\n')
			buf = buf[:int(rest)+cut]
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		sent += int64(len(buf))
	}
}

// ---- load ----

type loadResult struct {
	Requests  int
	All       int // successful requests, the warm-up's included
	Errors    int
	Bytes     int64
	Elapsed   time.Duration
	Latencies []time.Duration // sorted
	FirstErr  error
}

func (r loadResult) quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, int(q*float64(len(r.Latencies))))]
}

func (r loadResult) String() string {
	rps := float64(r.Requests) / r.Elapsed.Seconds()
	per := int64(0)
	if r.Requests > 0 {
		per = r.Bytes / int64(r.Requests)
	}
	return fmt.Sprintf("rps=%.0f p50_us=%d p99_us=%d requests=%d errors=%d bytes_per_resp=%d all_requests=%d",
		rps, r.quantile(0.50).Microseconds(), r.quantile(0.99).Microseconds(), r.Requests, r.Errors, per, r.All)
}

func loadCmd(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "", "URL to GET")
	conns := fs.Int("c", 32, "concurrent keep-alive connections")
	dur := fs.Duration("d", 5*time.Second, "measured duration")
	warm := fs.Duration("warmup", time.Second, "unmeasured load before the measurement")
	var hs headers
	fs.Var(&hs, "H", "request header \"Name: value\" (repeatable)")
	fs.Parse(args)
	if *url == "" {
		return errors.New("load: -url is required")
	}
	r, err := load(*url, hs, *conns, *warm, *dur)
	if err != nil {
		return err
	}
	fmt.Println(r)
	if r.Errors > 0 {
		fmt.Fprintln(os.Stderr, "httpbench: load: first error:", r.FirstErr)
	}
	if r.Requests == 0 {
		return errors.New("load: no successful request")
	}
	return nil
}

// load runs conns workers, each with its own keep-alive connection,
// GETting url back to back; requests during warm are not counted. A
// response other than 200 counts as an error.
func load(url string, hs headers, conns int, warm, dur time.Duration) (loadResult, error) {
	req := fasthttp.AcquireRequest()
	req.SetRequestURI(url)
	if len(req.URI().Host()) == 0 {
		return loadResult{}, fmt.Errorf("load: %q has no host", url)
	}
	for _, h := range hs {
		req.Header.Set(h[0], h[1])
	}
	client := &fasthttp.HostClient{
		Addr:                          string(req.URI().Host()),
		MaxConns:                      conns,
		MaxConnWaitTimeout:            time.Second,
		MaxIdleConnDuration:           time.Minute,
		ReadTimeout:                   30 * time.Second,
		WriteTimeout:                  30 * time.Second,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
	}
	defer client.CloseIdleConnections()

	var measuring atomic.Bool
	var stop atomic.Bool
	type worker struct {
		lat    []time.Duration
		n, err int
		all    int
		bytes  int64
		first  error
	}
	ws := make([]worker, conns)
	var wg sync.WaitGroup
	for i := range ws {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			wreq := fasthttp.AcquireRequest()
			req.CopyTo(wreq)
			resp := fasthttp.AcquireResponse()
			for !stop.Load() {
				t0 := time.Now()
				err := client.Do(wreq, resp)
				d := time.Since(t0)
				if err == nil && resp.StatusCode() != 200 {
					err = fmt.Errorf("status %d: %.200s", resp.StatusCode(), resp.Body())
				}
				if err == nil {
					w.all++
				}
				if !measuring.Load() {
					continue
				}
				if err != nil {
					w.err++
					if w.first == nil {
						w.first = err
					}
					continue
				}
				w.n++
				w.bytes += int64(len(resp.Body()))
				w.lat = append(w.lat, d)
			}
		}(&ws[i])
	}
	time.Sleep(warm)
	measuring.Store(true)
	t0 := time.Now()
	time.Sleep(dur)
	measuring.Store(false)
	elapsed := time.Since(t0)
	stop.Store(true)
	wg.Wait()

	r := loadResult{Elapsed: elapsed}
	for _, w := range ws {
		r.Requests += w.n
		r.All += w.all
		r.Errors += w.err
		r.Bytes += w.bytes
		r.Latencies = append(r.Latencies, w.lat...)
		if r.FirstErr == nil {
			r.FirstErr = w.first
		}
	}
	slices.Sort(r.Latencies)
	return r, nil
}

// ---- stream ----

type streamResult struct {
	Bytes, Lines, At int64
	Elapsed          time.Duration
}

func (r streamResult) String() string {
	return fmt.Sprintf("mbps=%.1f bytes=%d lines=%d secs=%.4f at=%d",
		float64(r.Bytes)/(1<<20)/r.Elapsed.Seconds(), r.Bytes, r.Lines, r.Elapsed.Seconds(), r.At)
}

func streamCmd(args []string) error {
	fs := flag.NewFlagSet("stream", flag.ExitOnError)
	url := fs.String("url", "", "URL to GET")
	var hs headers
	fs.Var(&hs, "H", "request header \"Name: value\" (repeatable)")
	fs.Parse(args)
	if *url == "" {
		return errors.New("stream: -url is required")
	}
	r, err := stream(*url, hs)
	if err != nil {
		return err
	}
	fmt.Println(r)
	return nil
}

// stream GETs url and reads the whole body, counting bytes, lines and '@'
// bytes; the time runs from sending the request to the body's end.
func stream(url string, hs headers) (streamResult, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return streamResult{}, err
	}
	for _, h := range hs {
		req.Header.Set(h[0], h[1])
	}
	// No transparent gzip: count the bytes on the wire.
	req.Header.Set("Accept-Encoding", "identity")
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer c.CloseIdleConnections()
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return streamResult{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return streamResult{}, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var r streamResult
	buf := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(buf)
		r.Bytes += int64(n)
		r.Lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		r.At += int64(bytes.Count(buf[:n], []byte{'@'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, fmt.Errorf("after %d bytes: %w", r.Bytes, err)
		}
	}
	r.Elapsed = time.Since(t0)
	return r, nil
}
