package httpgw

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/gateway/policy"
)

// FuzzRequest sends raw requests with arbitrary methods, targets and a
// header through a gateway guarded by http-guard and pii-mask. Whatever
// the input: the gateway answers with a well-formed response (or closes
// the connection), a request it forwards reaches the upstream with
// exactly the target the policy judged and sluice's credential, and the
// client's token never does.
func FuzzRequest(f *testing.F) {
	for _, seed := range [][3]string{
		{"GET", "/customers.json", "x"},
		{"TRACE", "/", ""},
		{"GET", "/static/%2e%2e/etc/passwd", ""},
		{"GET", "/a/../b?c=d", "e"},
		{"POST", "/x?_method=DELETE", "DELETE"},
		{"GET", "http://evil.example/abs", ""},
		{"GET", "*", ""},
		{"GET", "/%00", "\x7f"},
		{"G\x00T", "/", ""},
		{"GET", "/ HTTP/1.1\r\nX-Injected: 1", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	g := startGateway(f, policy.Chain{plugin(f, "http-guard", ""), plugin(f, "pii-mask", "")}, func(o *Options) {
		o.HeaderTimeout = 2 * time.Second
	})
	f.Fuzz(func(t *testing.T, method, target, hdr string) {
		before := g.up.count()
		c, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nX-Fuzz: %s\r\nConnection: close\r\n\r\n", method, target, ciToken, hdr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		} else if err != io.EOF && err != io.ErrUnexpectedEOF && !strings.Contains(err.Error(), "connection reset") {
			t.Fatalf("malformed response: %v", err)
		}
		for _, s := range g.up.all()[before:] {
			if !s.CredentialOK {
				t.Errorf("forwarded without the credential: %q", s.URI)
			}
			for k, v := range s.Header {
				if strings.Contains(strings.Join(v, ","), ciToken) {
					t.Errorf("the client's token reached the upstream in %s", k)
				}
			}
			plain := strings.HasPrefix(target, "/") && !strings.ContainsFunc(target, func(r rune) bool { return r <= ' ' || r == 0x7f })
			if resp != nil && resp.StatusCode == 200 && s.Method == method && plain && s.URI != target {
				t.Errorf("judged %q, forwarded %q", target, s.URI)
			}
		}
	})
}
