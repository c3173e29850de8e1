package httpgw

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"
)

// errorBody is the JSON body of every response sluice itself writes.
type errorBody struct {
	Error      string `json:"error"`
	Reason     string `json:"reason,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	ApprovalID string `json:"approval_id,omitempty"`
	State      string `json:"state,omitempty"`
}

// requestIDHeader carries sluice's request ID to the client and the
// upstream, so the three logs can be joined.
const requestIDHeader = "Sluice-Request-Id"

func newRequestID() string {
	var b [16]byte
	return string(strconv.AppendUint(b[:0], rand.Uint64()|1<<63, 16))
}

// reply writes a sluice response: a status and a JSON body. A request body
// that was not read makes the connection close after it, since the next
// request would start in the middle of it.
func reply(ctx *fasthttp.RequestCtx, status int, body errorBody) {
	b, _ := json.Marshal(body)
	ctx.Response.Reset()
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentType("application/json")
	if body.RequestID != "" {
		ctx.Response.Header.Set(requestIDHeader, body.RequestID)
	}
	ctx.Response.SetBody(append(b, '\n'))
	if hasBody(ctx) {
		ctx.SetConnectionClose()
	}
}

// errorHandler turns fasthttp's request-reading errors into the statuses a
// client can act on: a header too large (431), too slow (408), a body too
// large (413), anything else malformed (400).
func (e *Engine) errorHandler(ctx *fasthttp.RequestCtx, err error) {
	status, msg := fasthttp.StatusBadRequest, "malformed request"
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		status, msg = fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large"
	case errors.As(err, &ne) && ne.Timeout():
		status, msg = fasthttp.StatusRequestTimeout, "request not received in time"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, msg = fasthttp.StatusRequestEntityTooLarge, "request body too large"
	}
	e.log.Debug("httpgw: bad request", "status", status, "client", ctx.RemoteAddr().String(), "err", err)
	b, _ := json.Marshal(errorBody{Error: msg})
	ctx.Response.Reset()
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentType("application/json")
	ctx.Response.SetBody(append(b, '\n'))
}

// hasBody reports whether the request declares a body (a length or
// chunked); fasthttp gives -2 for none on requests without either.
func hasBody(ctx *fasthttp.RequestCtx) bool {
	cl := ctx.Request.Header.ContentLength()
	return cl > 0 || cl == -1
}
