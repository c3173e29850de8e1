package sshgw

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// Terminal output masking.
const (
	// lineWait is how long a partial output line (a prompt, a progress
	// bar) is held for the rest of its line before it is masked and sent
	// alone, so a value cut by a read boundary is still masked whole.
	lineWait = 30 * time.Millisecond
	// maxPartialLine sends a partial line that grew this long without
	// waiting.
	maxPartialLine = 64 << 10
)

// Control bytes of the line assembler.
const (
	keyCtrlC     = 0x03
	keyBackspace = 0x08
	keyTab       = 0x09
	keyLF        = 0x0a
	keyCR        = 0x0d
	keyCtrlU     = 0x15
	keyCtrlW     = 0x17
	keyEsc       = 0x1b
	keyDelete    = 0x7f
)

// shell runs an interactive shell upstream on a pty: input is assembled
// per line and judged when Enter is pressed (the Enter held back until
// then), output is masked line by line, and the session is recorded as
// an asciicast v2 stream of the masked output.
func (s *session) shell(ctx context.Context) exitResult {
	c := s.c
	chain, chainErr := c.e.o.Chain()
	if chainErr != nil {
		c.e.log.Error("sshgw: the target's plugin chain is unavailable: refusing the shell", "err", chainErr)
		s.stderr("sluice: the policy of this target is unavailable")
		return exitResult{status: ExitRefused}
	}
	up, err := c.upstream()
	if err != nil {
		return s.upstreamFailed(err)
	}
	us, err := up.NewSession()
	if err != nil {
		return s.upstreamFailed(err)
	}
	defer us.Close()
	for _, kv := range s.env {
		us.Setenv(kv[0], kv[1])
	}
	s.mu.Lock()
	p := *s.pty
	s.mu.Unlock()
	if err := us.RequestPty(p.Term, int(p.Rows), int(p.Cols), decodeModes(p.Modes)); err != nil {
		return s.upstreamFailed(err)
	}
	stdin, err1 := us.StdinPipe()
	stdout, err2 := us.StdoutPipe()
	stderr, err3 := us.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		return s.upstreamFailed(err)
	}
	start := time.Now()
	c.sess.Append(store.KindOutput, mustJSON(map[string]any{"asciicast_header": map[string]any{
		"version": 2, "width": p.Cols, "height": p.Rows, "timestamp": start.Unix(),
		"env": map[string]string{"TERM": p.Term}}}))
	if _, err := c.sess.Durable(store.KindCommand, mustJSON(commandEvent{Text: "(interactive shell)", Verdict: verdictAllow, Note: "shell"})); err != nil {
		s.stderr("sluice: cannot record this session: the shell was not started")
		return exitResult{status: ExitGatewayError}
	}
	if err := us.Shell(); err != nil {
		return s.upstreamFailed(err)
	}
	s.mu.Lock()
	s.running, s.castStart = us, start
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = nil
		s.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() { hangUp(us) })
	defer stop()

	judged := false
	for _, pl := range chain {
		judged = judged || pl.HasHook(abi.HookCommand)
	}
	go func() {
		s.shellInput(ctx, stdin, judged)
		stdin.Close()
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.shellOutput(ctx, policy.NewMasker(chain), stdout, start)
	}()
	go func() {
		defer wg.Done()
		// A pty merges the shell's stderr into stdout; drained anyway.
		s.pump(ctx, policy.NewMasker(chain), outputEvent{Stream: "stderr"}, stderr, s.ch.Stderr())
	}()
	wg.Wait()
	r := s.upstreamExit(up, us.Wait())
	end := outputEvent{ExitSignal: r.signal}
	if !r.none && r.signal == "" {
		st := int(r.status)
		end.ExitStatus = &st
	}
	c.sess.Append(store.KindOutput, mustJSON(end))
	return r
}

// shellInput forwards the client's keystrokes upstream as they come,
// keeping its own copy of the line being typed; Enter is held back until
// the line is judged. A line edited with keys whose effect sluice cannot
// follow (cursor and history keys, tab completion, other control keys)
// is refused when the chain judges commands: what would run is unknown.
func (s *session) shellInput(ctx context.Context, up io.Writer, judged bool) {
	var (
		line      []byte
		uncertain bool
		esc       int // 0: none; 1: after ESC; 2: in a CSI or SS3 sequence
		buf       = make([]byte, 4096)
	)
	for {
		n, err := s.ch.Read(buf)
		chunk := buf[:n]
		start := 0
		for i := 0; i < len(chunk); i++ {
			b := chunk[i]
			switch {
			case esc == 1:
				esc = 0
				if b == '[' || b == 'O' {
					esc = 2
				}
				continue
			case esc == 2:
				if b >= 0x40 && b <= 0x7e {
					esc = 0
				}
				continue
			}
			switch b {
			case keyCR, keyLF:
				// Everything typed before the Enter goes first; the
				// Enter waits for the verdict.
				if _, werr := up.Write(chunk[start:i]); werr != nil {
					return
				}
				start = i + 1
				if !s.judgeLine(ctx, up, string(line), uncertain, judged, b) {
					if ctx.Err() != nil {
						return
					}
				}
				line, uncertain = line[:0], false
			case keyBackspace, keyDelete:
				if len(line) > 0 {
					_, size := utf8.DecodeLastRune(line)
					line = line[:len(line)-size]
				}
			case keyCtrlU, keyCtrlC:
				line, uncertain = line[:0], false
			case keyCtrlW:
				line = bytes.TrimRight(line, " ")
				if i := bytes.LastIndexByte(line, ' '); i >= 0 {
					line = line[:i+1]
				} else {
					line = line[:0]
				}
			case keyEsc:
				esc = 1
				uncertain = true
			case keyTab:
				uncertain = true
			default:
				if b < 0x20 {
					uncertain = true
				} else {
					line = append(line, b)
				}
			}
		}
		if start < len(chunk) {
			if _, werr := up.Write(chunk[start:]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// judgeLine decides a shell line at its Enter: allowed, the Enter goes
// upstream; refused, the line is erased upstream (Ctrl-U) and an Enter
// sent for a fresh prompt. It reports whether the line ran.
func (s *session) judgeLine(ctx context.Context, up io.Writer, line string, uncertain, judged bool, enter byte) bool {
	if len(bytes.TrimSpace([]byte(line))) == 0 && !uncertain {
		_, err := up.Write([]byte{enter})
		return err == nil
	}
	ok := false
	switch {
	case uncertain && judged:
		s.c.sess.Durable(store.KindCommand, mustJSON(commandEvent{Text: "(edited line)", Verdict: verdictBlock, Plugin: "sluice",
			Reason: "edited with keys sluice cannot follow", Note: "shell"}))
		s.stderr("sluice: line not run: it was edited with keys sluice cannot follow (cursor, history, completion); type it plainly")
	default:
		note := "shell"
		if uncertain {
			note = "shell, edited line: text is approximate"
		}
		_, ok, _ = s.decide(ctx, line, note)
	}
	if ok {
		_, err := up.Write([]byte{enter})
		return err == nil
	}
	up.Write([]byte{keyCtrlU, enter})
	return false
}

// shellOutput masks terminal output line by line (escape sequences are
// bytes of the line like any other) and records it as asciicast "o"
// events. A partial line is held up to lineWait for its rest.
func (s *session) shellOutput(ctx context.Context, m *policy.Masker, src io.Reader, start time.Time) {
	chunks := make(chan []byte)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				select {
				case chunks <- buf[:n]:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var (
		pending []byte
		t       policy.Table
		timer   = time.NewTimer(time.Hour)
	)
	timer.Stop()
	defer timer.Stop()
	t.Columns = []string{"line"}
	emit := func(b []byte) {
		out := maskLines(ctx, m, &t, b)
		if len(out) == 0 {
			return
		}
		if _, err := s.ch.Write(out); err != nil {
			return
		}
		s.c.sess.Append(store.KindOutput, mustJSON(map[string]any{"asciicast": []any{time.Since(start).Seconds(), "o", string(out)}}))
	}
	for {
		select {
		case b, ok := <-chunks:
			if !ok {
				if len(pending) > 0 {
					emit(pending)
				}
				// Drained, so the upstream can finish after ctx ended.
				for range chunks {
				}
				return
			}
			pending = append(pending, b...)
			if i := bytes.LastIndexByte(pending, '\n'); i >= 0 {
				emit(pending[:i+1])
				pending = append(pending[:0], pending[i+1:]...)
			}
			switch {
			case len(pending) >= maxPartialLine:
				emit(pending)
				pending = pending[:0]
			case len(pending) > 0:
				timer.Reset(lineWait)
			}
		case <-timer.C:
			if len(pending) > 0 {
				emit(pending)
				pending = pending[:0]
			}
		}
	}
}

// maskLines masks each line of b (a line ends at "\n"; a last one may be
// partial) as a one-field record of column "line", keeping "\r\n" or "\n".
func maskLines(ctx context.Context, m *policy.Masker, t *policy.Table, b []byte) []byte {
	if !m.Active() {
		return append([]byte(nil), b...)
	}
	t.Reset()
	var ends [][]byte
	for rest := b; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		ln, end := rest, []byte(nil)
		if i >= 0 {
			ln, end, rest = rest[:i], rest[i:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if len(ln) > 0 && ln[len(ln)-1] == '\r' {
			ln, end = ln[:len(ln)-1], []byte("\r\n")
		}
		t.AddRecord()
		t.AddField(0, abi.KindString, false, ln)
		ends = append(ends, end)
	}
	m.Mask(ctx, t) // a failure applied its fail mode (redaction)
	var out []byte
	for r := range t.NumRecords() {
		if t.Dropped(r) {
			continue
		}
		first, _ := t.Fields(r)
		v, null, _ := t.Field(first)
		if null {
			v = []byte("[REDACTED]")
		}
		out = append(out, v...)
		out = append(out, ends[r]...)
	}
	return out
}
