package httpgw

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"mime"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/records"
	"github.com/sluicegw/sluice/gateway/store"
)

// outputEvent records one response: its status and type, and its body as
// the client got it (masked), capped.
type outputEvent struct {
	RequestID    string `json:"request_id"`
	Status       int    `json:"status"`
	ContentType  string `json:"content_type,omitempty"`
	Masked       bool   `json:"masked"`
	Bytes        int64  `json:"bytes"`
	Records      int    `json:"records,omitempty"`
	MaskedFields int    `json:"masked_fields,omitempty"`
	Text         string `json:"text,omitempty"`
	Truncated    bool   `json:"truncated,omitempty"` // Text is a prefix
	NotRecorded  string `json:"not_recorded,omitempty"`
	Error        string `json:"error,omitempty"`
}

// forward sends the request upstream with sluice's credential and streams
// the response back, masked when the chain has masking plugins and the
// content type is one sluice can cut into records.
func (e *Engine) forward(ctx *fasthttp.RequestCtx, cc *clientConn, sess *store.Session, rid string, chain policy.Chain, masker *policy.Masker, target string) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	e.buildRequest(ctx, req, rid, masker.Active(), target)

	var body *bodyReader
	var src io.Reader
	size := 0
	if stream := ctx.RequestBodyStream(); stream != nil {
		if cl := ctx.Request.Header.ContentLength(); cl > 0 || cl == -1 {
			body = &bodyReader{r: stream, ctx: ctx, idle: e.o.BodyIdleTimeout, max: e.o.MaxRequestBody}
			src, size = body, cl // -1: chunked upstream too
		}
	} else if b := ctx.Request.Body(); len(b) > 0 {
		src, size = bytes.NewReader(b), len(b)
	}
	stopMasking := func() error { return nil }
	if src != nil && e.o.MaskRequestBody && masker.Active() {
		format := responseFormat(string(ctx.Request.Header.ContentType()))
		if enc := strings.ToLower(string(ctx.Request.Header.ContentEncoding())); format != 0 && enc != "" && enc != "identity" {
			sess.Append(store.KindError, mustJSON(map[string]any{"request_id": rid, "status": 415, "error": "encoded request body cannot be masked"}))
			reply(ctx, fasthttp.StatusUnsupportedMediaType, errorBody{Error: "sluice masks request bodies of this target and cannot read a " + enc + " body", RequestID: rid})
			return
		}
		if format != 0 {
			var pr *io.PipeReader
			pr, stopMasking = e.maskRequestBody(sess, rid, policy.NewMasker(chain), src, format)
			src, size = pr, -1
		}
	}
	if src != nil {
		req.SetBodyStream(src, size)
	}

	resp := fasthttp.AcquireResponse()
	err := e.up.client.Do(req, resp)
	// The masking goroutine reads the client's body, which is valid only
	// during this handler: it is stopped and waited for here.
	maskErr := stopMasking()
	if body != nil {
		sess.AddBytes(body.n, 0)
	}
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		status, msg := fasthttp.StatusBadGateway, "upstream unavailable"
		var ne net.Error
		switch {
		case maskErr != nil && (body == nil || body.err == nil):
			status, msg = fasthttp.StatusBadRequest, "sluice could not mask the request body"
		case body != nil && errors.Is(body.err, errBodyTooLarge):
			status, msg = fasthttp.StatusRequestEntityTooLarge, "request body too large"
		case body != nil && body.err != nil && isTimeout(body.err):
			status, msg = fasthttp.StatusRequestTimeout, "request body not received in time"
		case body != nil && body.err != nil:
			status, msg = fasthttp.StatusBadRequest, "request body incomplete"
		case errors.Is(err, fasthttp.ErrTimeout), errors.As(err, &ne) && ne.Timeout():
			status, msg = fasthttp.StatusGatewayTimeout, "upstream did not answer in time"
		}
		e.log.Warn("httpgw: forwarding failed", "request_id", rid, "status", status, "err", err)
		sess.Append(store.KindError, mustJSON(map[string]any{"request_id": rid, "status": status, "error": msg}))
		reply(ctx, status, errorBody{Error: msg, RequestID: rid})
		ctx.SetConnectionClose()
		return
	}
	e.respond(ctx, cc, sess, rid, masker, resp)
}

// maskRequestBody streams a request body through the masking chain to the
// upstream (chunked), and records it masked and capped as a
// "request_body" event once it has been read.
func (e *Engine) maskRequestBody(sess *store.Session, rid string, masker *policy.Masker, src io.Reader, format records.Format) (*io.PipeReader, func() error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var maskErr error
	var capt *capture
	if e.o.MaxRecordedBody > 0 {
		capt = &capture{max: e.o.MaxRecordedBody}
	}
	go func() {
		defer close(done)
		cw := &countWriter{w: pw, capture: capt}
		stats, err := policy.MaskStream(e.ctx, masker, src, cw, policy.StreamOptions{Format: format, Workers: policy.StreamWorkers()})
		ev := map[string]any{"request_id": rid, "masked": true, "bytes": cw.n, "records": stats.Records, "masked_fields": stats.MaskedFields}
		if capt != nil {
			ev["text"], ev["truncated"] = capt.text()
		}
		if err != nil && !policy.FailedClosed(err) && !errors.Is(err, io.ErrClosedPipe) {
			ev["error"] = err.Error()
			maskErr = err
			pw.CloseWithError(err) // the upstream gets an incomplete body, never an unmasked one
		} else {
			pw.Close()
		}
		sess.Append(kindRequestBody, mustJSON(ev))
	}()
	return pr, func() error {
		pr.Close()
		<-done
		return maskErr
	}
}

// buildRequest copies the client's request into req for the upstream:
// hop-by-hop headers and the client's credentials dropped, X-Forwarded-*
// set, sluice's credential added.
func (e *Engine) buildRequest(ctx *fasthttp.RequestCtx, req *fasthttp.Request, rid string, masking bool, target string) {
	in := &ctx.Request.Header
	// The headers a Connection header names are hop-by-hop too
	// (RFC 9110 §7.6.1); read them before the copy loses them.
	named := connectionTokens(in.Peek(fasthttp.HeaderConnection))
	req.Header.SetMethodBytes(in.Method())
	// The full form keeps the target a path even when it starts with "//"
	// (which origin-form parsing would take for an authority).
	req.SetRequestURI(e.up.scheme + "://" + e.up.host + e.up.prefix + target)
	for k, v := range in.All() {
		name := string(k)
		switch {
		case isHopByHop(name), strings.EqualFold(name, "Authorization"), strings.EqualFold(name, "Host"),
			strings.EqualFold(name, "Content-Length"), strings.EqualFold(name, "Expect"),
			strings.EqualFold(name, "X-Forwarded-Proto"), strings.EqualFold(name, "X-Forwarded-Host"),
			strings.EqualFold(name, requestIDHeader):
			continue
		}
		skip := false
		for _, n := range named {
			if strings.EqualFold(n, name) {
				skip = true
			}
		}
		if !skip {
			req.Header.AddBytesKV(k, v)
		}
	}
	// X-Forwarded-For gains the client's address; Proto and Host are what
	// the client used (de-facto standard, see RFC 7239 for the Forwarded
	// form).
	ip := ctx.RemoteIP().String()
	if prior := in.Peek("X-Forwarded-For"); len(prior) > 0 {
		req.Header.Set("X-Forwarded-For", string(prior)+", "+ip)
	} else {
		req.Header.Set("X-Forwarded-For", ip)
	}
	if e.https {
		req.Header.Set("X-Forwarded-Proto", "https")
	} else {
		req.Header.Set("X-Forwarded-Proto", "http")
	}
	if h := in.Host(); len(h) > 0 {
		req.Header.SetBytesV("X-Forwarded-Host", h)
	}
	req.Header.Set(requestIDHeader, rid)
	if masking {
		// sluice masks what it can read: ask for an unencoded body. A
		// gzip or deflate body sent anyway is decoded (respond).
		req.Header.Set(fasthttp.HeaderAcceptEncoding, "identity")
	}
	if e.cred.name != "" {
		req.Header.Set(e.cred.name, e.cred.value)
	}
}

// kindRequestBody is the event of a request body, masked and capped.
const kindRequestBody store.Kind = "request_body"

var errBodyTooLarge = errors.New("request body too large")

// bodyReader streams the client's body upstream: each read waits at most
// idle for bytes and the total is capped.
type bodyReader struct {
	r    io.Reader
	ctx  *fasthttp.RequestCtx
	idle time.Duration
	max  int64
	n    int64
	err  error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.idle > 0 {
		b.ctx.SetReadDeadline(time.Now().Add(b.idle))
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.max > 0 && b.n > b.max {
		b.err = errBodyTooLarge
		return 0, b.err
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// responseFormat maps a media type to the records format sluice masks it
// as; 0 for types it cannot read.
func responseFormat(contentType string) records.Format {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
	}
	switch mt {
	case "application/json", "text/json":
		return records.FormatJSON
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonl",
		"application/jsonlines", "application/x-jsonlines", "application/json-lines":
		return records.FormatNDJSON
	case "text/csv", "application/csv":
		return records.FormatCSV
	case "text/plain":
		return records.FormatText
	}
	if strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json") {
		return records.FormatJSON // RFC 6839 structured syntax suffix
	}
	return 0
}

// respond copies the upstream's response to the client, streaming.
func (e *Engine) respond(ctx *fasthttp.RequestCtx, cc *clientConn, sess *store.Session, rid string, masker *policy.Masker, resp *fasthttp.Response) {
	out := &ctx.Response
	status := resp.StatusCode()
	named := connectionTokens(resp.Header.Peek(fasthttp.HeaderConnection))
	out.SetStatusCode(status)
	for k, v := range resp.Header.All() {
		name := string(k)
		if isHopByHop(name) || strings.EqualFold(name, "Content-Length") {
			continue
		}
		skip := false
		for _, n := range named {
			if strings.EqualFold(n, name) {
				skip = true
			}
		}
		if !skip {
			out.Header.AddBytesKV(k, v)
		}
	}
	out.Header.Set(requestIDHeader, rid)
	ctype := string(resp.Header.ContentType())
	size := resp.Header.ContentLength()
	stream := resp.BodyStream()
	if stream == nil && len(resp.Body()) > 0 {
		stream, size = bytes.NewReader(resp.Body()), len(resp.Body())
	}
	ev := outputEvent{RequestID: rid, Status: status, ContentType: ctype}

	noBody := stream == nil || size == 0 || ctx.IsHead() || status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified || status < 200
	if noBody {
		if ctx.IsHead() && size >= 0 {
			out.Header.SetContentLength(size)
		}
		out.SkipBody = ctx.IsHead()
		closeUpstream(resp)
		sess.Append(store.KindOutput, mustJSON(ev))
		return
	}
	format := responseFormat(ctype)
	encoding := strings.ToLower(strings.TrimSpace(string(resp.Header.ContentEncoding())))
	if masker.Active() && format == 0 && e.o.UnknownContentType == UnknownBlock {
		closeUpstream(resp)
		ev.NotRecorded = "content type not masked: blocked"
		sess.Append(store.KindOutput, mustJSON(ev))
		reply(ctx, fasthttp.StatusBadGateway, errorBody{Error: "the upstream's response has a content type sluice does not pass", Reason: ctype, RequestID: rid})
		return
	}
	if !masker.Active() || format == 0 {
		// Passed through as is, with its length. Recorded when sluice
		// could have read it (no masking plugin means nothing is
		// sensitive), else described only.
		rec := format != 0 && (encoding == "" || encoding == "identity")
		if !rec {
			ev.NotRecorded = "content type or encoding not masked"
		}
		if size < 0 {
			size = -1
		}
		e.passThrough(ctx, cc, sess, resp, stream, size, ev, rec)
		return
	}
	var decode func(io.Reader) (io.Reader, error)
	switch encoding {
	case "", "identity":
	case "gzip", "x-gzip":
		decode = func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case "deflate":
		decode = func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }
	default:
		// Unmasked bytes must not reach the client: refuse what sluice
		// cannot decode.
		closeUpstream(resp)
		ev.NotRecorded = "encoding " + encoding + " cannot be masked: blocked"
		sess.Append(store.KindOutput, mustJSON(ev))
		reply(ctx, fasthttp.StatusBadGateway, errorBody{Error: "the upstream's response is encoded in a way sluice cannot mask", Reason: encoding, RequestID: rid})
		return
	}
	if decode != nil {
		// Sent decoded: re-encoding would cost more CPU than the bytes
		// it saves on the client's (usually local) link.
		out.Header.Del(fasthttp.HeaderContentEncoding)
	}
	out.Header.Del(fasthttp.HeaderETag) // the masked body is another representation
	ev.Masked = true
	if size >= 0 && size <= smallBody && decode == nil {
		e.maskSmall(ctx, sess, rid, masker, resp, stream, size, format, ev)
		return
	}
	e.maskThrough(ctx, cc, sess, masker, resp, stream, decode, format, ev)
}

// smallBody is the largest body of known length handled in one piece:
// read, masked if need be, and sent with the headers in one write.
const smallBody = 64 << 10

// maskSmall masks a small body of known length before anything is sent,
// so a failure can still be a clean 502.
func (e *Engine) maskSmall(ctx *fasthttp.RequestCtx, sess *store.Session, rid string, masker *policy.Masker, resp *fasthttp.Response,
	stream io.Reader, size int, format records.Format, ev outputEvent) {
	defer closeUpstream(resp)
	src := io.LimitReader(stream, smallBody)
	var err error
	var capt *capture
	if e.o.MaxRecordedBody > 0 {
		capt = &capture{max: e.o.MaxRecordedBody}
	}
	cw := &countWriter{w: ctx.Response.BodyWriter(), capture: capt}
	var stats policy.StreamStats
	if err == nil {
		// No record is larger than the body: the tokenizer's buffer is
		// sized to it (one byte more, to see the end) instead of its
		// default 64 KiB, which a 1 KB response paid for every time.
		opts := policy.StreamOptions{Format: format}
		opts.Records.MaxRecordSize = size + 1
		stats, err = policy.MaskStream(e.ctx, masker, src, cw, opts)
	}
	ev.Bytes, ev.Records, ev.MaskedFields = cw.n, stats.Records, stats.MaskedFields
	if capt != nil {
		ev.Text, ev.Truncated = capt.text()
	}
	if err != nil && !policy.FailedClosed(err) {
		ev.Text, ev.Error = "", err.Error()
		sess.Append(store.KindOutput, mustJSON(ev))
		e.log.Warn("httpgw: cannot mask the upstream's response", "request_id", rid, "err", err)
		reply(ctx, fasthttp.StatusBadGateway, errorBody{Error: "sluice could not mask the upstream's response", RequestID: rid})
		return
	}
	sess.AddBytes(0, cw.n)
	sess.Append(store.KindOutput, mustJSON(ev))
}

// passThrough streams the upstream's body to the client unchanged.
func (e *Engine) passThrough(ctx *fasthttp.RequestCtx, cc *clientConn, sess *store.Session, resp *fasthttp.Response, stream io.Reader, size int, ev outputEvent, record bool) {
	pb := &passBody{r: stream, resp: resp, sess: sess, ev: ev, cc: cc}
	if record && e.o.MaxRecordedBody > 0 {
		pb.capture = &capture{max: e.o.MaxRecordedBody}
	}
	cc.begin()
	if size >= 0 && size <= smallBody {
		// Small: copied now, so headers and body leave in one write.
		_, err := io.CopyN(ctx.Response.BodyWriter(), pb, int64(size))
		pb.Close()
		if err != nil {
			ctx.Response.ResetBody()
			ctx.SetConnectionClose()
			ctx.Response.SetStatusCode(fasthttp.StatusBadGateway)
		}
		return
	}
	ctx.Response.SetBodyStream(pb, size)
}

// passBody is an upstream body on its way to the client; Close (by
// fasthttp, after the response is written or failed) records it and
// returns the upstream connection.
type passBody struct {
	r       io.Reader
	resp    *fasthttp.Response
	sess    *store.Session
	ev      outputEvent
	capture *capture
	cc      *clientConn
	err     error
	once    sync.Once
}

func (p *passBody) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.ev.Bytes += int64(n)
	if p.capture != nil {
		p.capture.Write(b[:n])
	}
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

func (p *passBody) Close() error {
	p.once.Do(func() {
		if p.capture != nil {
			p.ev.Text, p.ev.Truncated = p.capture.text()
		}
		if p.err != nil {
			p.ev.Error = "upstream body: " + p.err.Error()
		}
		p.sess.AddBytes(0, p.ev.Bytes)
		p.sess.Append(store.KindOutput, mustJSON(p.ev))
		closeUpstream(p.resp)
		p.cc.end()
	})
	return nil
}

// maskThrough streams the upstream's body through the masking chain to
// the client, chunked (the masked length is not known in advance). A
// masking or upstream failure mid-stream aborts the response (the client
// sees a truncated chunked body, never unmasked bytes).
//
// The masker passes to the goroutine: the handler does not use it again.
func (e *Engine) maskThrough(ctx *fasthttp.RequestCtx, cc *clientConn, sess *store.Session, masker *policy.Masker, resp *fasthttp.Response,
	stream io.Reader, decode func(io.Reader) (io.Reader, error), format records.Format, ev outputEvent) {
	pr, pw := io.Pipe()
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(func() { resp.CloseBodyStream() }) }
	var capt *capture
	if e.o.MaxRecordedBody > 0 {
		capt = &capture{max: e.o.MaxRecordedBody}
	}
	if !e.track() {
		closeUpstream(resp)
		reply(ctx, fasthttp.StatusServiceUnavailable, errorBody{Error: "sluice is shutting down", RequestID: ev.RequestID})
		return
	}
	cc.begin()
	go func() {
		defer e.wg.Done()
		defer cc.end()
		var err error
		var stats policy.StreamStats
		cw := &countWriter{w: pw, capture: capt}
		src := stream
		if decode != nil {
			src, err = decode(stream)
		}
		if err == nil {
			stats, err = policy.MaskStream(e.ctx, masker, src, cw, policy.StreamOptions{Format: format, Workers: policy.StreamWorkers()})
		}
		ev.Bytes, ev.Records, ev.MaskedFields = cw.n, stats.Records, stats.MaskedFields
		if capt != nil {
			ev.Text, ev.Truncated = capt.text()
		}
		if err != nil && !policy.FailedClosed(err) && !errors.Is(err, io.ErrClosedPipe) {
			ev.Error = err.Error()
		}
		sess.AddBytes(0, cw.n)
		sess.Append(store.KindOutput, mustJSON(ev))
		stop()
		fasthttp.ReleaseResponse(resp)
		if err != nil && !policy.FailedClosed(err) {
			// Cut the response: without its last chunk the client knows
			// the body is incomplete.
			pw.CloseWithError(err)
			return
		}
		pw.Close()
	}()
	ctx.Response.SetBodyStream(&pipeBody{PipeReader: pr, stop: stop}, -1)
}

// pipeBody is the masked body fasthttp reads; its Close (the client is
// done or gone) stops the upstream read so the goroutine ends.
type pipeBody struct {
	*io.PipeReader
	stop func()
}

func (p *pipeBody) Close() error {
	p.PipeReader.Close()
	p.stop()
	return nil
}

// countWriter counts and captures what is written to the client.
type countWriter struct {
	w       io.Writer
	n       int64
	capture *capture
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	if c.capture != nil {
		c.capture.Write(b[:n])
	}
	return n, err
}

// capture keeps the first max bytes written to it.
type capture struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (c *capture) Write(b []byte) {
	if room := c.max - c.buf.Len(); room < len(b) {
		b = b[:max(room, 0)]
		c.truncated = true
	}
	c.buf.Write(b)
}

// text is the captured prefix as a string, cut at a UTF-8 boundary.
func (c *capture) text() (string, bool) {
	b := c.buf.Bytes()
	for i := 0; c.truncated && i < utf8.UTFMax-1 && len(b) > 0; i++ {
		if r, n := utf8.DecodeLastRune(b); r != utf8.RuneError || n != 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return string(b), c.truncated
}

// closeUpstream returns (or closes) the upstream connection of a response
// whose body sluice is done with.
func closeUpstream(resp *fasthttp.Response) {
	resp.CloseBodyStream()
	fasthttp.ReleaseResponse(resp)
}
