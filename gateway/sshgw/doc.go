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
// connection runs on a goroutine of its own (with one more watching its
// timeouts and one sending upstream keepalives, when configured), each
// session channel on another, each running command with three more
// (stdin, stdout, stderr).
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
//	  |<------------------------------|    policy.MaskStream, line by line   |
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
// (sftp too, unless the target enables it: see SFTP) are refused, each
// with a message the client prints
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
// rsync ("rsync --server ...", both ways) arrive as exec commands and are
// judged like any other: shell-guard's rule on writes into system paths
// refuses "rsync --server ... /etc/x" before anything runs. With masking
// plugins their data streams are masked like any output, which can break
// the transfer when a value in a file is masked; Options.PassBinaryOutput
// lets binary chunks through, but a chunk of a file that happens to be
// text is still masked: targets that serve file transfers should not
// mask.
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
// policy.MaskStream line by line (records.FormatLines): a line that is a
// JSON object is a JSON record, its fields by path (a field rule such as
// pii-mask's "*.email" applies), any other line a text record (column
// "line") that pattern maskers mask in place. Output whose first read
// starts with a CSV header row and rows of as many columns
// (records.Sniff's rules) is CSV instead, masked by column; a header is
// never masked. Both are lossless: bytes no plugin changed are copied as
// they came. A line longer than records.DefaultMaxRecordSize (or a CSV
// row malformed past its start) stops masking of its stream: the rest is
// withheld, never passed unmasked, and stderr says how many bytes. A
// plugin failure applies its fail mode and the stream goes on. Without
// masking plugins output is copied as is.
//
// Binary output (ssh.binary_output) is masked as text lines by default,
// which keeps it byte for byte unless a plugin matches inside it. With
// Options.PassBinaryOutput, each read of a stream (up to 32 KiB) that has
// a NUL byte or is not UTF-8 goes to the client unmasked and unrecorded;
// the text around it is masked, each run of text chunks by one
// MaskStream. The choice is per chunk: text inside a binary chunk passes
// with it.
//
// Each stream is recorded as an output event with the masked text (up to
// Options.MaxRecordedOutput), its byte count and the bytes of it passed
// as binary, then one with the exit status or signal.
//
// # SFTP
//
// Off by default: the sftp subsystem is refused like any other, and so
// is modern scp (OpenSSH 9's scp speaks sftp; scp -O, the legacy
// protocol, still runs as an exec command). With ssh.sftp.enabled,
// sluice is an sftp server to the client (pkg/sftp's RequestServer) and
// an sftp client to the upstream, on an "sftp" subsystem session of the
// connection's upstream connection:
//
//	client (sftp, scp)        sluice                              upstream (sshd)
//	  | subsystem "sftp"       | 1. dial the upstream (if not yet),  |
//	  |----------------------->|    open its sftp subsystem, getwd   |
//	  | OPEN /srv/../etc/x     | 2. clean: /etc/x (relative paths    |
//	  |----------------------->|    against the upstream's home)     |
//	  |                        | 3. ssh.sftp.rules on the path and   |
//	  |                        |    on the upstream's realpath of it |
//	  |                        | 4. sftp event (durable), verdict    |
//	  |  PERMISSION_DENIED     | 5. block: nothing sent upstream     |
//	  |<-----------------------|    allow: the same request,         |
//	  |                        |    cleaned path, upstream           |
//	  |                        |------------------------------------>|
//	  |  handle, data, status  |<------------------------------------|
//	  |<-----------------------| 6. reads masked (mask_reads)        |
//
// Every operation is judged by ssh.sftp.rules (not by the plugin chain,
// whose hooks judge commands): open for reading (read) or writing
// (write; both for a read-write open), remove, rename (both paths),
// mkdir, rmdir, setstat (chmod, chown, truncate, times; fsetstat on a
// handle too), symlink (the link and the path it points to, resolved
// against the link's directory), opendir (list), stat, lstat, fstat,
// readlink and statvfs (stat). The first rule whose glob and ops match
// decides; no match allows. A path is cleaned first (path.Clean, made
// absolute against the upstream's working directory), so ".." cannot
// lead out of a rule, and the cleaned path is what goes upstream. Each
// path is judged twice, as named and as the upstream's realpath resolves
// it (symlinks followed; OpenSSH accepts a last component that does not
// exist yet), and must be allowed both ways, so a symlink inside an
// allowed directory does not lead around a rule. Hard links
// (hardlink@openssh.com) are refused: they would give a file a second
// name. Realpath requests (the client's cd) are answered from the path
// alone. A blocked operation gets SSH_FX_PERMISSION_DENIED with the rule
// in the message; OpenSSH's get and ls stat a path first and print
// "not found" when that stat is blocked.
//
// Every operation is recorded as an event of kind "sftp": op, path (and
// target of a rename or symlink), through the chain's masking plugins
// like a command; verdict, the 1-based rule that blocked it and the
// resolved path it blocked on. The event is durable before the operation
// runs (stat and list are appended, not synced); if the store cannot,
// the operation fails. Closing a file records the bytes read and
// written. Events "start" (the upstream's working directory) and "end"
// frame the subsystem. File contents are not recorded.
//
// With ssh.sftp.mask_reads, file contents read through sftp pass the
// chain's masking plugins in the format of command output (see Output:
// chosen from the file's first 32 KiB). Masking can change a file's
// length, so a masked file is served as its masked stream, produced in
// order from the start: the client's reads ahead (in flight at once,
// served in any order) are answered from masked bytes kept up to 4 MiB
// behind the furthest read; a read further back fails, never served
// unmasked. At most 16 masked files are open at once per channel. Sizes
// shown by stat are the upstream's, not the masked length (OpenSSH's sftp
// and scp read to EOF regardless). A plugin failure, whatever the
// plugin's fail mode, fails the read and every later one on that handle;
// an unavailable chain fails the open; a file cannot be opened for
// reading and writing at once. Writes are not masked.
//
// If the upstream's sftp session ends under the client (the upstream
// connection lost), the client hears "sluice: lost the upstream host"
// and the channel ends with exit status 255. A RequestServer serves each
// sftp channel: opens and other requests one at a time, reads and writes
// of open files on up to 8 goroutines.
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
// The held key is given as a key, a file, or an environment variable
// (Options.UpstreamKeyEnv, for CI secrets), read once at New.
//
// Every Options.KeepaliveInterval sluice sends keepalive@openssh.com on
// the upstream connection (OpenSSH's ServerAliveInterval; any reply
// counts). When KeepaliveCountMax intervals pass with one unanswered, the
// upstream is given up: closed and recorded, its commands end with
// "sluice: lost the upstream host" on stderr and exit status 255, and the
// connection's next command dials again.
// The client leaving closes the command's channel upstream after a
// SIGTERM request, and the client connection leaving closes the upstream
// connection; sshd delivers the signal only where it can (not to root
// sessions in every configuration), and, as for a direct client, a
// command that neither reads nor writes may outlive its connection.
//
// # Timeouts
//
// A client connection on which no bytes went either way for
// Options.IdleTimeout (client keepalives count), or that has lasted
// Options.SessionTimeout, is closed: each open session hears why on
// stderr ("sluice: no data for 1h0m0s: closing the connection"), the
// client exits 255, and the recorded session ends with the reason ("idle
// timeout (1h0m0s)"). The idle clock costs one atomic store per read or
// write of the connection; its timer is re-armed only when it fires.
//
// # Not yet
//
// Output that switches to CSV after its first read
// (a CSV file printed after a banner) is masked line by line, as text.
package sshgw
