package httpgw

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluicegw/sluice/gateway/store"
)

// maxRecordedFrames caps the frame events of one WebSocket; the closing
// summary counts every frame.
const maxRecordedFrames = 1000

// kindFrame is the event of one WebSocket frame: direction, opcode and
// length, never the payload (WebSocket messages are opaque to sluice).
const kindFrame store.Kind = "ws_frame"

// isWebSocket reports whether the request asks to upgrade to WebSocket
// (RFC 6455 §4.1).
func isWebSocket(ctx *fasthttp.RequestCtx) bool {
	if !ctx.IsGet() || !strings.EqualFold(string(ctx.Request.Header.Peek(fasthttp.HeaderUpgrade)), "websocket") {
		return false
	}
	for _, t := range connectionTokens(ctx.Request.Header.Peek(fasthttp.HeaderConnection)) {
		if strings.EqualFold(t, "upgrade") {
			return true
		}
	}
	return false
}

// websocket passes an upgrade through: the handshake goes to the upstream
// (with sluice's credential), and on 101 the two connections are joined
// and their frames recorded as opaque (direction, opcode, length).
func (e *Engine) websocket(ctx *fasthttp.RequestCtx, cc *clientConn, sess *store.Session, rid, target string) {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	e.buildRequest(ctx, req, rid, false, target)
	req.URI().DisablePathNormalizing = true
	// The upgrade is hop-by-hop: sluice asks the upstream for it itself.
	req.Header.Set(fasthttp.HeaderConnection, "Upgrade")
	req.Header.Set(fasthttp.HeaderUpgrade, "websocket")
	req.Header.Del(fasthttp.HeaderAcceptEncoding)

	up, err := e.dialUpstream()
	if err != nil {
		e.log.Warn("httpgw: websocket: cannot reach the upstream", "request_id", rid, "err", err)
		sess.Append(store.KindError, mustJSON(map[string]any{"request_id": rid, "status": 502, "error": "upstream unavailable"}))
		reply(ctx, fasthttp.StatusBadGateway, errorBody{Error: "upstream unavailable", RequestID: rid})
		return
	}
	up.SetDeadline(time.Now().Add(max(e.o.UpstreamTimeout, time.Second)))
	bw := bufio.NewWriter(up)
	br := bufio.NewReader(up)
	var resp fasthttp.Response
	resp.SkipBody = true
	if err = req.Write(bw); err == nil {
		if err = bw.Flush(); err == nil {
			err = resp.Header.Read(br)
		}
	}
	if err != nil || resp.StatusCode() != fasthttp.StatusSwitchingProtocols {
		up.Close()
		msg := "the upstream refused the WebSocket upgrade"
		if err != nil {
			msg = "upstream unavailable"
		}
		sess.Append(store.KindError, mustJSON(map[string]any{"request_id": rid, "status": 502, "error": msg, "upstream_status": resp.StatusCode()}))
		reply(ctx, fasthttp.StatusBadGateway, errorBody{Error: msg, RequestID: rid})
		return
	}
	up.SetDeadline(time.Time{})
	out := &ctx.Response
	out.SetStatusCode(fasthttp.StatusSwitchingProtocols)
	for k, v := range resp.Header.All() {
		name := string(k)
		if isHopByHop(name) || strings.EqualFold(name, "Content-Length") {
			continue
		}
		out.Header.AddBytesKV(k, v)
	}
	out.Header.Set(fasthttp.HeaderConnection, "Upgrade")
	out.Header.Set(fasthttp.HeaderUpgrade, "websocket")
	out.Header.Set(requestIDHeader, rid)
	sess.Append(store.KindOutput, mustJSON(outputEvent{RequestID: rid, Status: 101, NotRecorded: "websocket: frames recorded as opaque"}))

	// The connection leaves fasthttp once the 101 is written; the hijack
	// handler then owns both connections and ends the client connection's
	// sessions. If the 101 cannot be written, connState closes up.
	cc.mu.Lock()
	cc.pendingUpstream = up
	cc.mu.Unlock()
	nc := ctx.Conn()
	ctx.Hijack(func(client net.Conn) {
		cc.mu.Lock()
		up := cc.pendingUpstream
		cc.pendingUpstream = nil
		cc.mu.Unlock()
		if up == nil || !e.track() {
			client.Close()
			if up != nil {
				up.Close()
			}
			return
		}
		defer e.wg.Done()
		e.joinWebSocket(client, up, br, sess, rid)
		e.mu.Lock()
		delete(e.conns, nc)
		e.mu.Unlock()
		cc.close("websocket closed")
	})
}

// joinWebSocket copies both ways until either side ends, then closes both.
func (e *Engine) joinWebSocket(client, up net.Conn, upReader *bufio.Reader, sess *store.Session, rid string) {
	var mu sync.Mutex
	frames := map[string]int{}
	bytes := map[string]int64{}
	rec := func(dir string, opcode byte, n uint64) {
		mu.Lock()
		frames[dir]++
		total := frames["client"] + frames["upstream"]
		mu.Unlock()
		if total <= maxRecordedFrames {
			sess.Append(kindFrame, mustJSON(map[string]any{"request_id": rid, "from": dir, "opcode": opcode, "length": n}))
		}
	}
	var wg sync.WaitGroup
	pump := func(dst net.Conn, src io.Reader, dir string) {
		defer wg.Done()
		n, _ := io.Copy(dst, io.TeeReader(src, &frameParser{dir: dir, rec: rec}))
		mu.Lock()
		bytes[dir] = n
		mu.Unlock()
		// One side is done: end both, as a proxy cannot half-close a
		// WebSocket meaningfully.
		client.Close()
		up.Close()
	}
	wg.Add(2)
	go pump(up, client, "client")
	go pump(client, upReader, "upstream")
	wg.Wait()
	sess.AddBytes(bytes["client"], bytes["upstream"])
	sess.Append(kindFrame, mustJSON(map[string]any{"request_id": rid, "closed": true,
		"frames_from_client": frames["client"], "frames_from_upstream": frames["upstream"],
		"bytes_from_client": bytes["client"], "bytes_from_upstream": bytes["upstream"]}))
}

// dialUpstream opens a connection to the upstream (TLS when it is https),
// without the read deadline of pooled connections: a WebSocket may stay
// quiet for long. Writes still time out.
func (e *Engine) dialUpstream() (net.Conn, error) {
	hc := e.up.client
	d := net.Dialer{Timeout: max(e.o.UpstreamTimeout, time.Second), KeepAlive: 30 * time.Second}
	c, err := d.Dial("tcp", hc.Addr)
	if err != nil {
		return nil, err
	}
	var nc net.Conn = &deadlineConn{Conn: c, write: e.o.UpstreamTimeout}
	if hc.IsTLS {
		tc := tls.Client(nc, hc.TLSConfig)
		tc.SetDeadline(time.Now().Add(d.Timeout))
		if err := tc.Handshake(); err != nil {
			c.Close()
			return nil, err
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	return nc, nil
}

// frameParser follows the frame headers of one direction of a WebSocket
// (RFC 6455 §5.2) in the bytes written to it, and reports each frame.
type frameParser struct {
	dir  string
	rec  func(dir string, opcode byte, n uint64)
	hdr  [14]byte
	hn   int    // header bytes held
	need int    // header bytes needed (2 until the second byte is known)
	skip uint64 // payload bytes still to pass
}

func (f *frameParser) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if f.skip > 0 {
			k := min(uint64(len(p)), f.skip)
			f.skip -= k
			p = p[k:]
			continue
		}
		if f.need == 0 {
			f.need = 2
		}
		c := copy(f.hdr[f.hn:f.need], p)
		f.hn += c
		p = p[c:]
		if f.hn < f.need {
			break
		}
		if f.need == 2 {
			size := 2
			switch f.hdr[1] & 0x7f {
			case 126:
				size += 2
			case 127:
				size += 8
			}
			if f.hdr[1]&0x80 != 0 {
				size += 4 // masking key
			}
			if size > 2 {
				f.need = size
				continue
			}
		}
		length := uint64(f.hdr[1] & 0x7f)
		switch length {
		case 126:
			length = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
		case 127:
			length = binary.BigEndian.Uint64(f.hdr[2:10])
		}
		f.rec(f.dir, f.hdr[0]&0x0f, length)
		f.skip, f.hn, f.need = length, 0, 2
	}
	return n, nil
}
