package sshgw

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/store"
)

// Payloads of channel requests (RFC 4254 §6).
type (
	execPayload      struct{ Command string }     // §6.5 "exec"
	subsystemPayload struct{ Name string }        // §6.5 "subsystem"
	envPayload       struct{ Name, Value string } // §6.4 "env"
	signalPayload    struct{ Signal string }
	ptyPayload       struct { // §6.2 "pty-req"
		Term             string
		Cols, Rows, W, H uint32
		Modes            string
	}
	windowPayload struct{ Cols, Rows, W, H uint32 } // §6.7 "window-change"      // §6.9 "signal"
	exitStatusMsg struct{ Status uint32 }           // §6.10 "exit-status"
	exitSignalMsg struct {                          // §6.10 "exit-signal"
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}
)

// envAllowed is the environment a client may pass: locale and terminal
// type, as OpenSSH's default AcceptEnv and SendEnv. Anything else could
// change what a judged command does (LD_PRELOAD, PATH, BASH_ENV).
func envAllowed(name string) bool {
	return name == "LANG" || name == "TERM" || strings.HasPrefix(name, "LC_")
}

// session is one session channel: its requests, then at most one
// command.
type session struct {
	c   *conn
	ch  ssh.Channel
	env [][2]string
	pty *ptyPayload // the client asked for a terminal

	mu        sync.Mutex
	started   bool
	running   *ssh.Session // the upstream session, once the command runs
	castStart time.Time    // a shell's recording started
}

// session serves a session channel until the client closes it or its
// command ended. Requests keep being served while the command runs
// (signals).
func (c *conn) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	s := &session{c: c, ch: ch}
	c.track(s)
	defer c.untrack(s)
	ctx, cancel := context.WithCancel(c.ctx)
	var run sync.WaitGroup
	for req := range reqs {
		ok := s.request(ctx, req, &run)
		if req.WantReply {
			req.Reply(ok, nil)
		}
	}
	// The client closed the channel (or the command's end did): a
	// command still running upstream has nobody to talk to.
	cancel()
	run.Wait()
	ch.Close()
}

// request handles one channel request and says whether it succeeded.
func (s *session) request(ctx context.Context, req *ssh.Request, run *sync.WaitGroup) bool {
	switch req.Type {
	case "env":
		var p envPayload
		if ssh.Unmarshal(req.Payload, &p) != nil || !envAllowed(p.Name) || s.isStarted() {
			return false
		}
		s.env = append(s.env, [2]string{p.Name, p.Value})
		return true
	case "exec":
		var p execPayload
		if ssh.Unmarshal(req.Payload, &p) != nil || !s.start() {
			return false
		}
		run.Add(1)
		go func() {
			defer run.Done()
			s.finish(s.exec(ctx, p.Command))
		}()
		return true
	case "shell":
		if !s.start() {
			return false
		}
		if s.pty == nil {
			// Lines read from a pipe have no Enter to hold back.
			s.refuse(ctx, run, "shell", "sluice: a shell needs a terminal (ssh -t); or run a command: ssh HOST 'command'")
			return true
		}
		run.Add(1)
		go func() {
			defer run.Done()
			s.finish(s.shell(ctx))
		}()
		return true
	case "subsystem":
		var p subsystemPayload
		if ssh.Unmarshal(req.Payload, &p) != nil || !s.start() {
			return false
		}
		if p.Name == "sftp" && s.c.target.SSH.SFTP.Enabled {
			run.Add(1)
			go func() {
				defer run.Done()
				s.finish(s.sftp(ctx))
			}()
			return true
		}
		s.refuse(ctx, run, "subsystem "+p.Name, fmt.Sprintf("sluice: subsystem %q is not enabled on this target", p.Name))
		return true
	case "pty-req":
		var p ptyPayload
		if ssh.Unmarshal(req.Payload, &p) != nil || s.isStarted() {
			return false
		}
		s.mu.Lock() // expire reads it from another goroutine
		s.pty = &p
		s.mu.Unlock()
		return true
	case "window-change":
		var p windowPayload
		if ssh.Unmarshal(req.Payload, &p) != nil {
			return false
		}
		s.mu.Lock()
		up, cast := s.running, s.castStart
		if s.pty != nil {
			s.pty.Cols, s.pty.Rows = p.Cols, p.Rows
		}
		s.mu.Unlock()
		if !cast.IsZero() {
			s.c.sess.Append(store.KindOutput, mustJSON(map[string]any{"asciicast": []any{time.Since(cast).Seconds(), "r", fmt.Sprintf("%dx%d", p.Cols, p.Rows)}}))
		}
		// No reply is expected (RFC 4254 §6.7); before the command runs
		// the size is kept for its pty.
		if up != nil {
			up.WindowChange(int(p.Rows), int(p.Cols))
		}
		return true
	case "signal":
		var p signalPayload
		if ssh.Unmarshal(req.Payload, &p) != nil {
			return false
		}
		s.mu.Lock()
		up := s.running
		s.mu.Unlock()
		return up != nil && up.Signal(ssh.Signal(p.Signal)) == nil
	case "x11-req":
		s.notice(ctx, "x11-req", "sluice: X11 forwarding is not allowed on this target")
		return false
	case "auth-agent-req@openssh.com":
		s.notice(ctx, "auth-agent-req", "sluice: agent forwarding is not allowed on this target")
		return false
	}
	// eow@openssh.com, keepalive@openssh.com and unknown requests.
	return false
}

// start marks the channel as having its one command (RFC 4254 §6.5:
// "only one of these requests will succeed per channel").
func (s *session) start() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return false
	}
	s.started = true
	return true
}

func (s *session) isStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// notice writes a refusal the client did not ask to hear about on
// stderr, and records it.
func (s *session) notice(_ context.Context, what, msg string) {
	s.c.e.log.Warn("sshgw: request refused", "identity", s.c.identity, "request", what)
	s.c.sess.Append(store.KindError, mustJSON(map[string]any{"refused": what, "error": msg}))
	io.WriteString(s.ch.Stderr(), msg+"\r\n")
}

// refuse answers a shell or subsystem request that sluice does not serve:
// the reason on stderr and exit status 126, after the request's success
// reply (a failure reply would leave OpenSSH printing only "request
// failed").
func (s *session) refuse(ctx context.Context, run *sync.WaitGroup, what, msg string) {
	s.c.e.log.Warn("sshgw: request refused", "identity", s.c.identity, "request", what)
	s.c.sess.Append(store.KindError, mustJSON(map[string]any{"refused": what, "error": msg}))
	run.Add(1)
	go func() {
		defer run.Done()
		io.WriteString(s.ch.Stderr(), msg+"\n")
		s.finish(exitResult{status: ExitRefused})
	}()
}

// exitResult is how a command ended.
type exitResult struct {
	status uint32
	signal string // the upstream command died of this signal
	none   bool   // the upstream sent no exit status
}

// finish sends EOF, the exit status (or signal) and closes the channel
// (RFC 4254 §6.10: exit-status before close).
func (s *session) finish(r exitResult) {
	s.ch.CloseWrite()
	switch {
	case r.signal != "":
		s.ch.SendRequest("exit-signal", false, ssh.Marshal(exitSignalMsg{Signal: r.signal}))
	case !r.none:
		s.ch.SendRequest("exit-status", false, ssh.Marshal(exitStatusMsg{Status: r.status}))
	}
	s.ch.Close()
}
