package httpgw

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// wsAccept is the Sec-WebSocket-Accept of a key (RFC 6455 §4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// readFrame reads one frame and returns its opcode and unmasked payload.
func readFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	var mask [4]byte
	if h[1]&0x80 != 0 {
		io.ReadFull(r, mask[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		for i := range p {
			p[i] ^= mask[i%4]
		}
	}
	return h[0] & 0x0f, p, nil
}

// writeFrame writes a final frame, masked when a client sends it.
func writeFrame(w io.Writer, opcode byte, p []byte, masked bool) error {
	hdr := []byte{0x80 | opcode}
	mbit := byte(0)
	if masked {
		mbit = 0x80
	}
	switch {
	case len(p) < 126:
		hdr = append(hdr, mbit|byte(len(p)))
	case len(p) < 1<<16:
		hdr = append(hdr, mbit|126, byte(len(p)>>8), byte(len(p)))
	default:
		hdr = append(hdr, mbit|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(len(p)))
	}
	body := append([]byte(nil), p...)
	if masked {
		mask := [4]byte{1, 2, 3, 4}
		hdr = append(hdr, mask[:]...)
		for i := range body {
			body[i] ^= mask[i%4]
		}
	}
	_, err := w.Write(append(hdr, body...))
	return err
}

// TestWebSocket: an upgrade passes through to a WebSocket echo upstream
// with sluice's credential; messages flow both ways, small and large; the
// frames are recorded as opaque (direction, opcode, length); an upstream
// that refuses the upgrade gives 502; http-guard still judges the
// handshake.
func TestWebSocket(t *testing.T) {
	g := startGateway(t, nil, nil)
	g.up.srv.Handler.(*http.ServeMux).HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+upstreamToken || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "no", 403)
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(r.Header.Get("Sec-WebSocket-Key")))
		brw.Flush()
		for {
			op, p, err := readFrame(brw.Reader)
			if err != nil || op == 8 {
				writeFrame(c, 8, nil, false)
				return
			}
			writeFrame(c, op, append([]byte("echo: "), p...), false)
		}
	})

	c, err := net.Dial("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", ciToken, key)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}
	big := strings.Repeat("x", 200<<10)
	for _, msg := range []string{"hello", big} {
		if err := writeFrame(c, 1, []byte(msg), true); err != nil {
			t.Fatal(err)
		}
		op, p, err := readFrame(br)
		if err != nil || op != 1 || string(p) != "echo: "+msg {
			t.Fatalf("echo of %d bytes: op %d, %d bytes, %v", len(msg), op, len(p), err)
		}
	}
	writeFrame(c, 8, nil, true)
	if op, _, err := readFrame(br); err != nil || op != 8 {
		t.Errorf("close: op %d %v", op, err)
	}
	c.Close()

	// The upstream refuses: 502.
	raw, _ := curl(t, "-H", bearer(ciToken), "-H", "Upgrade: websocket", "-H", "Connection: Upgrade", "-H", "Sec-WebSocket-Key: "+key, g.url+"/customers.json")
	if statusOf(raw) != 502 {
		t.Errorf("refused upgrade: %s", raw)
	}

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(strings.Join(g.events(t), "\n"), `"closed":true`) {
		time.Sleep(20 * time.Millisecond)
	}
	g.e.Close()
	ev := strings.Join(g.events(t), "\n")
	for _, want := range []string{`"text":"GET /ws","verdict":"allow"`, `"status":101`,
		`ws_frame {"from":"client","length":5,"opcode":1`, `ws_frame {"from":"upstream","length":204806,"opcode":1`,
		`"frames_from_client":3,"frames_from_upstream":3`} {
		if !strings.Contains(ev, want) {
			t.Errorf("recording lacks %s:\n%.3000s", want, ev)
		}
	}
}
