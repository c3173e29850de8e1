// Package sshgw is sluice's SSH engine, on golang.org/x/crypto/ssh: an SSH
// server to non-human clients (CI jobs, bots) and an SSH client to the
// host behind it, holding the host's credential so the caller never has
// it. Every command is judged by the target's plugin chain before it runs,
// its output masked before it reaches the caller, and all of it recorded.
//
// # Entry points
//
// New(Options) returns an *Engine for one target of protocol ssh;
// Serve(ln) accepts clients on a listener (it may be called for several);
// Close stops it. An Engine is safe for concurrent use: each client
// connection runs on a goroutine of its own, each session channel on
// another, each running command with three more (stdin, stdout, stderr).
//
// # The path of one command
//
//	client (ssh)                     sluice                               upstream (sshd)
//	  | key exchange, host key        |                                      |
//	  | (Options.HostKey or generated)|                                      |
//	  | userauth: publickey of the    | 1. key listed for the identity       |
//	  |   identity, a certificate, or |    (UserKeys), a user CA's cert, or  |
//	  |   a sluice token as password  |    auth.Token; the user name is the  |
//	  |------------------------------>|    identity; not in target.allow:    |
//	  |                               |    refused alike                     |
//	  |<------------------------------| 2. store session + auth event        |
//	  | session channel, env, pty-req,| 3. env: LANG, LC_*, TERM only;       |
//	  | exec "cat export.ndjson"      |    forwarding, agent, X11,           |
//	  |------------------------------>|    subsystems refused                |
//	  |                               | 4. shellscan.Analyze -> facts (a     |
//	  |                               |    shell: each line at its Enter),   |
//	  |                               |    policy.Chain.Evaluate(shell cmd)  |
//	  |                               | 5. command event, durable (text      |
//	  |                               |    through policy.MaskText)          |
//	  |  stderr: reason, exit 126     | 6. block: nothing runs upstream      |
//	  |<------------------------------|    approve: request id on stderr,    |
//	  |                               |    wait for the reviewers            |
//	  |                               | 7. first command of the connection:  |
//	  |                               |    dial, check the host key (pinned  |
//	  |                               |    SHA256 or known_hosts), log in    |
//	  |                               |    with the held key                 |
//	  |                               |------------------------------------->|
//	  |                               |<-------------------------------------|
//	  |  masked stdout / stderr       | 8. each stream through               |
//	  |<------------------------------|    policy.MaskStream as text lines   |
//	  |  exit-status / exit-signal    | 9. output events (masked, capped),   |
//	  |<------------------------------|    exit status; EOF, close           |
//
// # Identity
//
// The SSH user name is the sluice identity (ssh ci-deploy@gateway). A
// client authenticates with a public key listed for that identity
// (Options.UserKeys, until the config has identities[].ssh_keys) or with a
// sluice token as the password (config token hashes or issued tokens,
// through auth.Authenticator), for jobs without keys. The identity must be
// in the target's allow list (read from the running config at connect).
// Every refusal looks the same to the client ("Permission denied"); the
// reasons of all refused attempts of a connection are recorded: a
// connection that never authenticates is a session of its own (identity:
// the name claimed) with one auth event "denied" listing its attempts
// (method, key fingerprint, reason), and refusals before a success are
// listed in the successful auth event.
//
// OpenSSH user certificates signed by a CA of Options.UserCAKeys
// authenticate too: the identity must be among the certificate's
// principals, the validity window is checked, source-address is enforced
// (and a refusal recorded), and any other critical option, force-command
// included, refuses the certificate. The auth event names the key's
// fingerprint, serial, key ID and CA.
//
// # What is refused
//
// Local and remote port forwarding (direct-tcpip and tcpip-forward, and
// their streamlocal forms), agent forwarding, X11 and every subsystem
// (sftp included) are refused, each with a message the client prints
// (channel open failure text, or a line on stderr and exit status 126)
// and an error event. Environment requests are accepted only for LANG,
// LC_* and TERM (anything else could change what a judged command does:
// LD_PRELOAD, PATH, BASH_ENV) and passed upstream, where sshd's AcceptEnv
// decides. A shell without a terminal (ssh -T HOST, lines from a pipe) is
// refused with a message and exit status 126. At most Options.MaxChannels
// sessions run at once per connection.
//
// # Exec
//
// The command line of an exec request is an abi.CommandShell command,
// with the facts of shellscan.Analyze (every simple command, through sh
// -c, sudo, pipes, substitutions, env prefixes). It is recorded durably
// before anything else happens; if the store cannot, the command does not
// run (exit status 255). BLOCK: "sluice: blocked by policy: REASON (plugin
// P, target T)" on stderr, exit status 126, nothing sent upstream.
// REQUIRE_APPROVAL: a window grant for the identity, target and command
// fingerprint (a hash of the exact line) lets it run at once; otherwise an
// approval request is opened and stderr says
//
//	sluice: command held for approval, request ID: REASON
//	sluice: a reviewer approves it with: sluice approvals approve ID
//	sluice: waiting until 2026-01-02T15:04:05Z
//
// and the command waits (bounded by the request's expiry): approved, it
// runs; denied or expired, the reviewer's reason on stderr and exit
// status 126. A client that closes the channel stops the wait; the
// request stays for the reviewers and nothing runs later for nobody.
// An unavailable chain (Options.Chain returns an error) blocks every
// command.
//
// scp (legacy protocol, scp -O: "scp -t PATH" and "scp -f PATH") and
// rsync ("rsync --server ...") arrive as exec commands and are judged like
// any other. With masking plugins their data streams are masked as text
// like any output, which can break the transfer when a value in a file
// is masked: targets that serve file transfers should not mask yet.
//
// With a pty-req before the exec (ssh -t HOST 'top'), the command runs on
// a terminal upstream (its stderr merged into stdout by the terminal) and
// window changes are forwarded.
//
// # Shells
//
// An interactive shell (ssh -t HOST, a pty-req then a shell request) runs
// upstream on a terminal of the client's size; window changes are
// forwarded. Command blocking is best effort: keystrokes are forwarded as
// they come while sluice assembles its own copy of the line (printable
// characters, Backspace, Ctrl-U, Ctrl-W, Ctrl-C), and the Enter is held
// back until that line is judged like an exec command (recorded with note
// "shell"). Refused, the line is erased upstream with Ctrl-U and an Enter
// gives a fresh prompt; the reason goes to stderr. A line edited with keys
// whose effect sluice cannot follow (arrow keys and other escape
// sequences, Tab completion, other control keys) is refused whole when the
// chain judges commands. Known limits: history recall and completion are
// thereby unusable; what a line typed into a running program (cat, a
// password prompt, an editor) means is not known, and such lines are
// judged as shell lines too; a construct spread over several lines
// (for ...; do / done, a trailing backslash, a heredoc) is judged line by
// line, and guards that block unparseable lines refuse its first line.
//
// Terminal output is masked line by line, escape sequences being bytes of
// the line like any other; a partial line (a prompt) is held up to 30ms
// for its rest, then masked and sent alone, so a value split across that
// pause is masked in two halves. The session is recorded as an asciicast
// v2 stream of the masked output: an output event {"asciicast_header":
// {version, width, height, timestamp, env}} at the start, then output
// events {"asciicast": [seconds, "o", text]} and, on window changes,
// {"asciicast": [seconds, "r", "COLSxROWS"]}. Concatenated in order they
// are an .cast file that asciinema players accept.
//
// # Output
//
// When the chain has masking plugins, stdout and stderr each go through
// policy.MaskStream as text lines (records.FormatText, column "line"):
// lossless for text, a JSON line is one value that pattern maskers such
// as pii-mask mask in place. A line longer than
// records.DefaultMaxRecordSize stops masking of its stream: the rest is
// withheld, never passed unmasked, and stderr says how many bytes. A
// plugin failure applies its fail mode and the stream goes on. Without
// masking plugins output is copied as is. Each stream is recorded as an
// output event with the masked text (up to Options.MaxRecordedOutput) and
// its byte count, then one with the exit status or signal.
//
// # Upstream
//
// One upstream connection per client connection, dialed for its first
// allowed command (so a refused command never touches the host), logged
// in as target.upstream.user with the held key (Options.UpstreamKey or
// UpstreamKeyFile) or upstream.password. The upstream host key must match
// a pinned SHA256 fingerprint or a known_hosts file; an unknown or changed
// key is refused, never trusted on first use. A failure is logged with its
// reason and recorded; the client hears only "sluice: cannot run the
// command on the upstream host" and exit status 255. Exit status, exit
// signal, EOF on stdin and signals sent by the client are passed through.
// The client leaving closes the command's channel upstream after a
// SIGTERM request, and the client connection leaving closes the upstream
// connection; sshd delivers the signal only where it can (not to root
// sessions in every configuration), and, as for a direct client, a
// command that neither reads nor writes may outlive its connection.
//
// # Not yet
//
// SFTP with path rules, idle and total session timeouts, upstream
// keepalives, per-line recognition of JSON and CSV in output (JSON lines
// are masked as text), binary output passed unmasked when a target says
// so, the upstream key from an environment variable, and rsync tests
// (rsync is judged as an exec command like scp, but untested here).
package sshgw
