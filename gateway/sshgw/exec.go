package sshgw

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/approvals"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/shellscan"
	"github.com/sluicegw/sluice/gateway/store"
)

// commandEvent is the data of a command event in the store.
type commandEvent struct {
	Text        string   `json:"text"` // masked
	Verdict     string   `json:"verdict"`
	Reason      string   `json:"reason,omitempty"`
	Plugin      string   `json:"plugin,omitempty"`
	Fingerprint string   `json:"fingerprint"`
	Commands    []string `json:"commands,omitempty"` // names shellscan found
	ParseError  string   `json:"parse_error,omitempty"`
	Env         []string `json:"env,omitempty"` // names passed upstream
	Grant       string   `json:"grant,omitempty"`
	Note        string   `json:"note,omitempty"`
}

// outputEvent is the data of an output event: one stream of one command,
// masked, capped; the last one of a command carries its exit.
type outputEvent struct {
	Stream     string `json:"stream,omitempty"` // stdout, stderr
	Text       string `json:"text,omitempty"`
	Bytes      int64  `json:"bytes,omitempty"`  // bytes sent to the client
	Binary     int64  `json:"binary,omitempty"` // of which binary, passed unmasked and not in Text
	Truncated  bool   `json:"truncated,omitempty"`
	Withheld   int64  `json:"withheld,omitempty"` // bytes not sent: masking stopped
	Error      string `json:"error,omitempty"`
	ExitStatus *int   `json:"exit_status,omitempty"`
	ExitSignal string `json:"exit_signal,omitempty"`
}

// Verdict names in the store, as the other engines write them.
const (
	verdictAllow   = "allow"
	verdictBlock   = "block"
	verdictApprove = "require_approval"
)

func verdictName(v abi.Verdict) string {
	switch v {
	case abi.Allow:
		return verdictAllow
	case abi.RequireApproval:
		return verdictApprove
	}
	return verdictBlock
}

// fingerprint identifies a command line for window grants: an approval
// "for an hour" covers exactly this line (shell has no normal form that
// would be safe to generalise over).
func fingerprint(cmd string) string {
	h := sha256.Sum256([]byte(cmd))
	return hex.EncodeToString(h[:16])
}

// exec judges a command, records it, waits for approval when asked, runs
// it upstream with its output masked, and returns how it ended.
func (s *session) exec(ctx context.Context, cmd string) exitResult {
	chain, ok, refused := s.decide(ctx, cmd, "")
	if !ok {
		return refused
	}
	return s.run(ctx, cmd, chain)
}

// decide analyses a command line, runs the chain, records the command
// durably and, for REQUIRE_APPROVAL, waits for the reviewers. It returns
// the chain (for masking what follows), whether the line may run, and
// otherwise how the refusal ends an exec. note marks the command event
// (a shell line sluice could not follow exactly).
func (s *session) decide(ctx context.Context, cmd, note string) (policy.Chain, bool, exitResult) {
	c := s.c
	chain, chainErr := c.e.o.Chain()
	a := shellscan.Analyze(cmd)
	var cb abi.CommandBuilder
	cb.Set(abi.CommandShell, cmd, c.identity, c.target.Name)
	a.AddFacts(&cb)
	res := chain.Evaluate(ctx, &cb)
	if chainErr != nil {
		// Fail closed: no policy, no command.
		c.e.log.Error("sshgw: the target's plugin chain is unavailable: refusing commands", "err", chainErr)
		chain = nil
		res = policy.Result{Verdict: abi.Block, Plugin: "sluice", Reason: "the policy of this target is unavailable"}
	}
	if err := res.Err(); err != nil {
		c.e.log.Warn("sshgw: plugin failure while deciding a command", "identity", c.identity, "err", err)
	}
	shown, merr := policy.MaskText(ctx, policy.NewMasker(chain), "command", cmd)
	if merr != nil {
		c.e.log.Warn("sshgw: plugin failure while masking a command", "err", merr)
	}
	ev := commandEvent{Text: shown, Verdict: verdictName(res.Verdict), Reason: res.Reason, Plugin: res.Plugin,
		Fingerprint: fingerprint(cmd), ParseError: a.ParseError, Note: note}
	for i := range a.Commands {
		if n := a.Commands[i].Name; n != "" {
			ev.Commands = append(ev.Commands, n)
		}
	}
	for _, kv := range s.env {
		ev.Env = append(ev.Env, kv[0])
	}
	if res.Verdict == abi.RequireApproval && c.e.o.Approvals != nil {
		if g, ok := c.e.o.Approvals.Granted(c.identity, c.target.Name, ev.Fingerprint); ok {
			ev.Grant = g.Request
			res.Verdict = abi.Allow
		}
	}
	// Recorded before anything runs: nothing runs unaudited.
	if _, err := c.sess.Durable(store.KindCommand, mustJSON(ev)); err != nil {
		c.e.log.Error("sshgw: cannot record a command: not running it", "identity", c.identity, "err", err)
		s.stderr("sluice: cannot record this session: the command was not run")
		return chain, false, exitResult{status: ExitGatewayError}
	}
	switch res.Verdict {
	case abi.Allow:
	case abi.RequireApproval:
		if !s.awaitApproval(ctx, a, ev, res) {
			return chain, false, exitResult{status: ExitRefused}
		}
	default:
		msg := "sluice: blocked by policy: " + res.Reason
		if res.Plugin != "" {
			msg += fmt.Sprintf(" (plugin %s, target %s)", res.Plugin, c.target.Name)
		}
		s.stderr(msg)
		return chain, false, exitResult{status: ExitRefused}
	}
	return chain, true, exitResult{}
}

// stderr writes one line of sluice's own on the client's stderr (with a
// carriage return on a terminal, which is in raw mode).
func (s *session) stderr(line string) {
	if s.pty != nil {
		io.WriteString(s.ch.Stderr(), "\r\n"+line+"\r\n")
		return
	}
	io.WriteString(s.ch.Stderr(), line+"\n")
}

// awaitApproval asks for a reviewer's decision and waits for it, bounded
// by the request's expiry; the client closing the channel ends the wait
// (the request stays for the reviewers, and nothing runs for nobody).
func (s *session) awaitApproval(ctx context.Context, a *shellscan.Analysis, ev commandEvent, res policy.Result) bool {
	c := s.c
	apr := c.e.o.Approvals
	if apr == nil {
		s.stderr("sluice: this command needs a reviewer's approval, but approvals are not enabled on this gateway: " + res.Reason)
		return false
	}
	analysis, _ := json.Marshal(a.Commands)
	req, err := apr.Request(ctx, approvals.NewRequest{
		Session: c.sess.ID().String(), Identity: c.identity, Target: c.target.Name, Command: ev.Text,
		Analysis: analysis, Reason: res.Reason, Plugin: res.Plugin, Fingerprint: ev.Fingerprint,
	}, c.sess)
	if err != nil {
		c.e.log.Error("sshgw: cannot create an approval request", "identity", c.identity, "err", err)
		s.stderr("sluice: this command needs a reviewer's approval, and sluice could not create the request")
		return false
	}
	s.stderr(fmt.Sprintf("sluice: command held for approval, request %s: %s", req.ID, res.Reason))
	s.stderr("sluice: a reviewer approves it with: sluice approvals approve " + req.ID)
	s.stderr(fmt.Sprintf("sluice: waiting until %s", req.Expires.UTC().Format(time.RFC3339)))
	out, err := apr.Wait(ctx, req.ID)
	switch {
	case ctx.Err() != nil:
		return false
	case err != nil:
		s.stderr(fmt.Sprintf("sluice: approval request %s: %v", req.ID, err))
		return false
	case !out.Approved:
		msg := fmt.Sprintf("sluice: approval request %s %s", req.ID, out.State)
		if out.Reason != "" {
			msg += ": " + out.Reason
		}
		if len(out.Reviewers) > 0 {
			msg += " (decided by " + strings.Join(out.Reviewers, ", ") + ")"
		}
		s.stderr(msg)
		return false
	}
	return true
}

// run runs an allowed command upstream: stdin passed through, stdout and
// stderr masked as text lines, exit status or signal passed back.
func (s *session) run(ctx context.Context, cmd string, chain policy.Chain) exitResult {
	c := s.c
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
		// The upstream's AcceptEnv decides; a refusal is not an error.
		us.Setenv(kv[0], kv[1])
	}
	if s.pty != nil {
		// A terminal for the command (ssh -t HOST 'top'): the upstream
		// merges stderr into it; window changes are forwarded.
		s.mu.Lock()
		p := *s.pty
		s.mu.Unlock()
		if err := us.RequestPty(p.Term, int(p.Rows), int(p.Cols), decodeModes(p.Modes)); err != nil {
			return s.upstreamFailed(err)
		}
	}
	stdin, err1 := us.StdinPipe()
	stdout, err2 := us.StdoutPipe()
	stderr, err3 := us.StderrPipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		return s.upstreamFailed(err)
	}
	if err := us.Start(cmd); err != nil {
		return s.upstreamFailed(err)
	}
	s.mu.Lock()
	s.running = us
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = nil
		s.mu.Unlock()
	}()
	// The client gone: end the upstream command. Closing the channel
	// alone leaves a command that neither reads nor writes running (sshd
	// only closes its pipes), so it gets SIGTERM first (RFC 4254 §6.9).
	stop := context.AfterFunc(ctx, func() { hangUp(us) })
	defer stop()

	go func() {
		io.Copy(stdin, s.ch)
		stdin.Close()
	}()
	var wg sync.WaitGroup
	outs := [2]outputEvent{{Stream: "stdout"}, {Stream: "stderr"}}
	pump := func(i int, src io.Reader, dst io.Writer) {
		defer wg.Done()
		// A Masker holds per-call state: one per stream.
		outs[i] = s.pump(ctx, policy.NewMasker(chain), outs[i], src, dst)
	}
	wg.Add(2)
	go pump(0, stdout, s.ch)
	go pump(1, stderr, s.ch.Stderr())
	wg.Wait()
	r := s.upstreamExit(up, us.Wait())
	for i := range outs {
		if outs[i].Bytes > 0 || outs[i].Withheld > 0 || outs[i].Error != "" {
			c.sess.Append(store.KindOutput, mustJSON(outs[i]))
		}
	}
	end := outputEvent{ExitSignal: r.signal}
	if !r.none && r.signal == "" {
		st := int(r.status)
		end.ExitStatus = &st
	}
	if r.none {
		end.Error = "the upstream sent no exit status"
	}
	c.sess.Append(store.KindOutput, mustJSON(end))
	return r
}

// pump copies one output stream to the client, masked as text lines
// through the chain when it has masking plugins, and keeps a capped copy
// of what was sent for the recording. If masking stops (a line longer
// than records.DefaultMaxRecordSize), the rest is withheld, not passed
// unmasked, and the client is told.
func (s *session) pump(ctx context.Context, masker *policy.Masker, ev outputEvent, src io.Reader, dst io.Writer) outputEvent {
	rec := &capped{max: s.c.e.o.MaxRecordedOutput}
	cw := &countWriter{w: io.MultiWriter(dst, rec)}
	var err error
	switch {
	case !masker.Active():
		_, err = io.Copy(cw, src)
	case s.c.e.o.PassBinaryOutput:
		// Binary chunks go to the client as they are, counted, not
		// recorded.
		ev.Binary, err = s.maskPassBinary(ctx, masker, src, cw, dst)
	default:
		err = s.maskOutput(ctx, masker, src, cw)
	}
	if err != nil {
		ev.Error = err.Error()
		// Drained, so the upstream command can finish; withheld, since
		// it could not be masked (or the client is gone).
		n, _ := io.Copy(io.Discard, src)
		ev.Withheld = n
		if n > 0 && ctx.Err() == nil {
			s.stderr(fmt.Sprintf("sluice: %d bytes of %s withheld: they could not be masked (%v)", n, ev.Stream, err))
		}
	}
	ev.Bytes = cw.n + ev.Binary
	ev.Text = rec.b.String()
	ev.Truncated = rec.cut
	return ev
}

// hangUp ends an upstream command whose client is gone.
func hangUp(us *ssh.Session) {
	us.Signal(ssh.SIGTERM)
	us.Close()
}

// decodeModes decodes RFC 4254 §8 encoded terminal modes: opcode byte,
// uint32 value, until TTY_OP_END (0) or an opcode of 160 and up, whose
// arguments are not defined.
func decodeModes(b string) ssh.TerminalModes {
	m := ssh.TerminalModes{}
	for len(b) >= 5 {
		op := b[0]
		if op == 0 || op >= 160 {
			break
		}
		m[op] = uint32(b[1])<<24 | uint32(b[2])<<16 | uint32(b[3])<<8 | uint32(b[4])
		b = b[5:]
	}
	return m
}

// upstreamFailed tells the client sluice could not run the command, and
// the log why (the reason may name the upstream; the client learns less).
func (s *session) upstreamFailed(err error) exitResult {
	c := s.c
	c.e.log.Warn("sshgw: upstream failed", "identity", c.identity, "upstream", c.target.Upstream.Address, "err", err)
	c.sess.Append(store.KindError, mustJSON(map[string]any{"error": "upstream: " + err.Error()}))
	s.stderr("sluice: cannot run the command on the upstream host")
	return exitResult{status: ExitGatewayError}
}

// capped keeps the first max bytes written to it.
type capped struct {
	b   strings.Builder
	max int
	cut bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.b.Len()
	if room <= 0 {
		c.cut = c.cut || len(p) > 0 && c.max > 0
		return len(p), nil
	}
	if len(p) > room {
		c.b.Write(p[:room])
		c.cut = true
		return len(p), nil
	}
	c.b.Write(p)
	return len(p), nil
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
