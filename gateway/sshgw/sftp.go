package sshgw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/config"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/records"
	"github.com/sluicegw/sluice/gateway/store"
)

// kindSFTP is the store event of one sftp operation.
const kindSFTP = store.KindSFTP

// Operations of ssh.sftp.rules (config.SFTPOps), and the events that are
// not operations a rule can name.
const (
	opRead    = "read"
	opWrite   = "write"
	opRemove  = "remove"
	opRename  = "rename"
	opMkdir   = "mkdir"
	opRmdir   = "rmdir"
	opSetstat = "setstat"
	opSymlink = "symlink"
	opList    = "list"
	opStat    = "stat"

	opStart = "start" // the subsystem started: the upstream's home
	opClose = "close" // a file handle closed: bytes moved
	opLink  = "link"  // hardlink@openssh.com: always refused
	opEnd   = "end"   // the subsystem ended
)

// maskedReadWindow is how far behind the furthest read of a masked file
// a read may start. The client reads ahead with several requests in
// flight (OpenSSH: 64 of 32 KiB), which sluice's workers serve in any
// order; masked bytes are kept this far back for them (and up to twice
// that before they are compacted). A variable for tests.
var maskedReadWindow int64 = 4 << 20

// maxMaskedFiles caps the masked files open at once on one sftp channel:
// each holds up to twice maskedReadWindow of masked bytes.
const maxMaskedFiles = 16

// Batches of masked reads, as policy.MaskStream cuts them.
const (
	maskBatchRecords = policy.DefaultBatchRecords
	maskBatchBytes   = policy.DefaultBatchBytes
)

// sftpEvent is the data of an sftp event in the store.
type sftpEvent struct {
	Op       string `json:"op"`
	Path     string `json:"path,omitempty"`   // masked like a command
	Target   string `json:"target,omitempty"` // rename: the new path; symlink: the link's target
	Verdict  string `json:"verdict,omitempty"`
	Rule     int    `json:"rule,omitempty"`     // 1-based index in ssh.sftp.rules of the rule that blocked
	Resolved string `json:"resolved,omitempty"` // the blocked path as the upstream resolves it, when it differs
	Error    string `json:"error,omitempty"`
	Read     int64  `json:"bytes_read,omitempty"`
	Written  int64  `json:"bytes_written,omitempty"`
	Masked   bool   `json:"masked,omitempty"`
}

// sftpRule is a compiled ssh.sftp.rules entry.
type sftpRule struct {
	pattern string
	re      *regexp.Regexp
	ops     []string // empty: all
	block   bool
}

func compileSFTPRules(rules []config.SFTPRule) []sftpRule {
	out := make([]sftpRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, sftpRule{pattern: r.Path, re: globRegexp(r.Path), ops: r.Ops, block: r.Action == "block"})
	}
	return out
}

func (r *sftpRule) applies(op string) bool { return len(r.ops) == 0 || slices.Contains(r.ops, op) }

// globRegexp compiles an sftp rule's glob, matched against a whole
// cleaned absolute path: "*" and "?" stay inside one segment, "**"
// crosses "/"; "/**" at the end also matches the directory itself
// ("/etc/**" covers "/etc"), "**/" matches zero or more directories. A
// pattern without "/" matches the last segment of any path ("*.pem" is
// "**/*.pem").
func globRegexp(glob string) *regexp.Regexp {
	if !strings.Contains(glob, "/") {
		glob = "**/" + glob
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); {
		switch {
		case strings.HasPrefix(glob[i:], "/**") && i+3 == len(glob):
			b.WriteString("(?:/.*)?")
			i += 3
		case strings.HasPrefix(glob[i:], "**/") && (i == 0 || glob[i-1] == '/'):
			b.WriteString("(?:.*/)?")
			i += 3
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i += 2
		case glob[i] == '*':
			b.WriteString("[^/]*")
			i++
		case glob[i] == '?':
			b.WriteString("[^/]")
			i++
		default:
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
			i++
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// sftp serves the sftp subsystem on the session channel: a
// pkg/sftp RequestServer to the client whose handlers judge every
// operation by ssh.sftp.rules, record it, and carry it out through an
// sftp client on a subsystem session of the connection's upstream.
func (s *session) sftp(ctx context.Context) exitResult {
	c := s.c
	up, err := c.upstream()
	if err != nil {
		return s.sftpUpstreamFailed(err)
	}
	us, err := up.NewSession()
	if err != nil {
		return s.sftpUpstreamFailed(err)
	}
	defer us.Close()
	w, err1 := us.StdinPipe()
	r, err2 := us.StdoutPipe()
	if err := errors.Join(err1, err2); err != nil {
		return s.sftpUpstreamFailed(err)
	}
	if err := us.RequestSubsystem("sftp"); err != nil {
		return s.sftpUpstreamFailed(err)
	}
	client, err := sftp.NewClientPipe(r, w)
	if err != nil {
		return s.sftpUpstreamFailed(err)
	}
	defer client.Close()
	// Relative paths of the client are relative to the upstream's
	// working directory, as they would be on a direct connection.
	home, err := client.Getwd()
	if err != nil {
		return s.sftpUpstreamFailed(err)
	}
	home = path.Clean(home)
	cfg := c.target.SSH.SFTP
	h := &sftpHandler{s: s, ctx: ctx, up: client, home: home, rules: compileSFTPRules(cfg.Rules), maskReads: cfg.MaskReads}
	if _, err := c.sess.Durable(kindSFTP, mustJSON(sftpEvent{Op: opStart, Path: h.show(home)})); err != nil {
		c.e.log.Error("sshgw: cannot record an sftp session: refusing it", "identity", c.identity, "err", err)
		s.stderr("sluice: cannot record this session: sftp was not started")
		return exitResult{status: ExitGatewayError}
	}
	c.e.log.Info("sshgw: sftp started", "identity", c.identity, "home", home)
	rs := sftp.NewRequestServer(s.ch, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}, sftp.WithStartDirectory(home))
	stop := context.AfterFunc(ctx, func() { rs.Close() })
	defer stop()
	served := make(chan error, 1)
	go func() { served <- rs.Serve() }()
	upEnded := make(chan error, 1)
	go func() { upEnded <- client.Wait() }() // returns at the latest at client.Close
	end := sftpEvent{Op: opEnd}
	select {
	case err = <-served:
		if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
			end.Error = err.Error()
		}
	case err = <-upEnded:
		// The upstream's sftp-server (or the connection to it) is gone:
		// the client's requests have nowhere to go.
		c.e.log.Warn("sshgw: upstream sftp ended", "identity", c.identity, "err", err)
		end.Error = "upstream sftp ended"
		if err != nil {
			end.Error += ": " + err.Error()
		}
		s.stderr("sluice: lost the upstream host")
		rs.Close()
		<-served
		c.sess.Append(kindSFTP, mustJSON(end))
		return exitResult{status: ExitGatewayError}
	}
	c.sess.Append(kindSFTP, mustJSON(end))
	return exitResult{}
}

// sftpUpstreamFailed tells the client sluice could not open sftp on the
// upstream, and the log why.
func (s *session) sftpUpstreamFailed(err error) exitResult {
	c := s.c
	c.e.log.Warn("sshgw: upstream sftp failed", "identity", c.identity, "upstream", c.target.Upstream.Address, "err", err)
	c.sess.Append(store.KindError, mustJSON(map[string]any{"error": "upstream sftp: " + err.Error()}))
	s.stderr("sluice: cannot open sftp on the upstream host")
	return exitResult{status: ExitGatewayError}
}

// sftpHandler carries out the client's sftp requests on the upstream.
// pkg/sftp calls it from several goroutines: opens and commands one at a
// time, reads and writes of open files concurrently.
type sftpHandler struct {
	s         *session
	ctx       context.Context
	up        *sftp.Client
	home      string
	rules     []sftpRule
	maskReads bool

	mu     sync.Mutex // the path masker, masked
	masked int        // masked files open
}

var (
	errSFTPRecord    = fmt.Errorf("sluice: cannot record this session: %w", sftp.ErrSSHFxFailure)
	errSFTPNoPolicy  = fmt.Errorf("sluice: the policy of this target is unavailable: %w", sftp.ErrSSHFxFailure)
	errSFTPReadWrite = fmt.Errorf("sluice: reads are masked on this target: a file cannot be opened for reading and writing at once: %w", sftp.ErrSSHFxPermissionDenied)
)

// clean makes a client's path absolute (against the upstream's working
// directory) and clean, so "a/../../etc" is judged and sent as "/etc".
func (h *sftpHandler) clean(p string) string {
	if !path.IsAbs(p) {
		p = path.Join(h.home, p)
	}
	return path.Clean(p)
}

// allow judges op on each path, records the operation (durably unless it
// only looks: stat, list), and returns nil if it may go ahead or the
// error for the client.
func (h *sftpHandler) allow(op string, ev sftpEvent, paths ...string) error {
	ev.Op, ev.Verdict = op, verdictAllow
	var blocked error
	for _, p := range paths {
		rule, resolved := h.judge(op, p)
		if rule == 0 {
			continue
		}
		ev.Verdict, ev.Rule = verdictBlock, rule
		if resolved != p {
			ev.Resolved = h.show(resolved)
		}
		blocked = fmt.Errorf("sluice: %s %s blocked by ssh.sftp.rules[%d] (%s): %w", op, p, rule-1,
			h.rules[rule-1].pattern, sftp.ErrSSHFxPermissionDenied)
		break
	}
	ev.Path, ev.Target = h.show(ev.Path), h.show(ev.Target)
	c := h.s.c
	if op == opStat || op == opList {
		c.sess.Append(kindSFTP, mustJSON(ev))
	} else if _, err := c.sess.Durable(kindSFTP, mustJSON(ev)); err != nil {
		// Nothing happens unaudited.
		c.e.log.Error("sshgw: cannot record an sftp operation: refusing it", "identity", c.identity, "op", op, "err", err)
		return errSFTPRecord
	}
	if blocked != nil {
		c.e.log.Info("sshgw: sftp operation blocked", "identity", c.identity, "op", op, "rule", ev.Rule)
	}
	return blocked
}

// refused records an operation sluice refuses whatever the rules say.
func (h *sftpHandler) refused(ev sftpEvent) {
	ev.Verdict = verdictBlock
	ev.Path, ev.Target = h.show(ev.Path), h.show(ev.Target)
	h.s.c.sess.Append(kindSFTP, mustJSON(ev))
}

// judge returns the 1-based index of the rule that blocks op on p, or 0.
// The path is judged as named and as the upstream resolves it (its
// symlinks followed), and must be allowed both ways: a link inside an
// allowed directory does not lead around a rule.
func (h *sftpHandler) judge(op, p string) (rule int, blockedPath string) {
	if len(h.rules) == 0 {
		return 0, ""
	}
	cands := []string{p}
	// OpenSSH's realpath resolves every symlink and accepts a last
	// component that does not exist yet (a file about to be written).
	if r, err := h.up.RealPath(p); err == nil && path.IsAbs(r) && path.Clean(r) != p {
		cands = append(cands, path.Clean(r))
	}
	for _, cand := range cands {
		for i := range h.rules {
			r := &h.rules[i]
			if !r.applies(op) || !r.re.MatchString(cand) {
				continue
			}
			if r.block {
				return i + 1, cand
			}
			break // first match decides
		}
	}
	return 0, ""
}

// show returns a path as it is recorded: through the chain's masking
// plugins, like a command line.
func (h *sftpHandler) show(p string) string {
	if p == "" {
		return ""
	}
	chain, err := h.s.c.e.o.Chain()
	if err != nil {
		chain = nil
	}
	m := policy.NewMasker(chain)
	if !m.Active() {
		return p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	shown, _ := policy.MaskText(h.ctx, m, "path", p)
	return shown
}

// upstreamErr gives the client the upstream's status code for a failed
// operation (pkg/sftp's client turns some into os errors).
func upstreamErr(err error) error {
	var se *sftp.StatusError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist):
		return sftp.ErrSSHFxNoSuchFile
	case errors.Is(err, os.ErrPermission):
		return sftp.ErrSSHFxPermissionDenied
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.As(err, &se):
		return se.FxCode()
	}
	return sftp.ErrSSHFxFailure
}

// Fileread opens a file for reading (sftp.FileReader).
func (h *sftpHandler) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	p := h.clean(r.Filepath)
	var masker *policy.Masker
	if h.maskReads {
		chain, err := h.s.c.e.o.Chain()
		if err != nil {
			h.s.c.e.log.Error("sshgw: the target's plugin chain is unavailable: refusing masked reads", "err", err)
			return nil, errSFTPNoPolicy
		}
		if m := policy.NewMasker(chain); m.Active() {
			masker = m
		}
	}
	if err := h.allow(opRead, sftpEvent{Path: p, Masked: masker != nil}, p); err != nil {
		return nil, err
	}
	f, err := h.up.Open(p)
	if err != nil {
		return nil, upstreamErr(err)
	}
	hf := &sftpFile{h: h, f: f, path: p}
	if masker == nil {
		return hf, nil
	}
	h.mu.Lock()
	full := h.masked >= maxMaskedFiles
	if !full {
		h.masked++
	}
	h.mu.Unlock()
	if full {
		f.Close()
		return nil, fmt.Errorf("sluice: at most %d masked files may be open at once: %w", maxMaskedFiles, sftp.ErrSSHFxFailure)
	}
	return &maskedFile{sftpFile: hf, ctx: h.ctx, masker: masker}, nil
}

// Filewrite opens a file for writing (sftp.FileWriter).
func (h *sftpHandler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	p := h.clean(r.Filepath)
	if err := h.allow(opWrite, sftpEvent{Path: p}, p); err != nil {
		return nil, err
	}
	f, err := h.up.OpenFile(p, osFlags(r.Pflags()))
	if err != nil {
		return nil, upstreamErr(err)
	}
	return &sftpFile{h: h, f: f, path: p}, nil
}

// OpenFile opens a file for reading and writing (sftp.OpenFileWriter);
// without it pkg/sftp would serve such a handle's reads as writes.
func (h *sftpHandler) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	p := h.clean(r.Filepath)
	if h.maskReads {
		// A file being written cannot be served from a masked stream.
		h.refused(sftpEvent{Op: opRead, Path: p, Error: "read-write open: reads are masked"})
		return nil, errSFTPReadWrite
	}
	if err := h.allow(opRead, sftpEvent{Path: p}, p); err != nil {
		return nil, err
	}
	if err := h.allow(opWrite, sftpEvent{Path: p}, p); err != nil {
		return nil, err
	}
	f, err := h.up.OpenFile(p, osFlags(r.Pflags()))
	if err != nil {
		return nil, upstreamErr(err)
	}
	return &sftpFile{h: h, f: f, path: p}, nil
}

func osFlags(f sftp.FileOpenFlags) int {
	var fl int
	switch {
	case f.Read && f.Write:
		fl = os.O_RDWR
	case f.Write, f.Append, f.Creat, f.Trunc:
		fl = os.O_WRONLY
	default:
		fl = os.O_RDONLY
	}
	if f.Append {
		fl |= os.O_APPEND
	}
	if f.Creat {
		fl |= os.O_CREATE
	}
	if f.Trunc {
		fl |= os.O_TRUNC
	}
	if f.Excl {
		fl |= os.O_EXCL
	}
	return fl
}

// Filecmd carries out the operations that change a path
// (sftp.FileCmder).
func (h *sftpHandler) Filecmd(r *sftp.Request) error {
	p := h.clean(r.Filepath)
	switch r.Method {
	case "Remove":
		if err := h.allow(opRemove, sftpEvent{Path: p}, p); err != nil {
			return err
		}
		return upstreamErr(h.up.Remove(p))
	case "Mkdir":
		if err := h.allow(opMkdir, sftpEvent{Path: p}, p); err != nil {
			return err
		}
		return upstreamErr(h.up.Mkdir(p))
	case "Rmdir":
		if err := h.allow(opRmdir, sftpEvent{Path: p}, p); err != nil {
			return err
		}
		return upstreamErr(h.up.RemoveDirectory(p))
	case "Rename":
		to := h.clean(r.Target)
		if err := h.allow(opRename, sftpEvent{Path: p, Target: to}, p, to); err != nil {
			return err
		}
		return upstreamErr(h.up.Rename(p, to))
	case "Symlink":
		// pkg/sftp: Filepath is the link's target as the client gave it
		// (relative to the link), Target the link itself.
		link := h.clean(r.Target)
		to := r.Filepath
		abs := to
		if !path.IsAbs(abs) {
			abs = path.Join(path.Dir(link), abs)
		}
		if err := h.allow(opSymlink, sftpEvent{Path: link, Target: to}, link, path.Clean(abs)); err != nil {
			return err
		}
		return upstreamErr(h.up.Symlink(to, link))
	case "Setstat":
		if err := h.allow(opSetstat, sftpEvent{Path: p}, p); err != nil {
			return err
		}
		return h.setstat(p, r.AttrFlags(), r.Attributes())
	case "Link":
		// A hard link would give a blocked file a second, allowed name.
		h.refused(sftpEvent{Op: opLink, Path: p, Target: h.clean(r.Target), Error: "hard links are not supported"})
		return fmt.Errorf("sluice: hard links are not supported: %w", sftp.ErrSSHFxOpUnsupported)
	}
	return sftp.ErrSSHFxOpUnsupported
}

// setstat applies the attributes a client set, in the order OpenSSH's
// sftp-server does.
func (h *sftpHandler) setstat(p string, fl sftp.FileAttrFlags, a *sftp.FileStat) error {
	if a == nil {
		return sftp.ErrSSHFxBadMessage
	}
	if fl.Size {
		if err := h.up.Truncate(p, int64(a.Size)); err != nil {
			return upstreamErr(err)
		}
	}
	if fl.Permissions {
		if err := h.up.Chmod(p, os.FileMode(a.Mode&0o7777)); err != nil {
			return upstreamErr(err)
		}
	}
	if fl.Acmodtime {
		if err := h.up.Chtimes(p, time.Unix(int64(a.Atime), 0), time.Unix(int64(a.Mtime), 0)); err != nil {
			return upstreamErr(err)
		}
	}
	if fl.UidGid {
		if err := h.up.Chown(p, int(a.UID), int(a.GID)); err != nil {
			return upstreamErr(err)
		}
	}
	return nil
}

// PosixRename is posix-rename@openssh.com: a rename that replaces the
// new path (sftp.PosixRenameFileCmder).
func (h *sftpHandler) PosixRename(r *sftp.Request) error {
	p, to := h.clean(r.Filepath), h.clean(r.Target)
	if err := h.allow(opRename, sftpEvent{Path: p, Target: to}, p, to); err != nil {
		return err
	}
	return upstreamErr(h.up.PosixRename(p, to))
}

// StatVFS is statvfs@openssh.com (df in sftp), judged as stat
// (sftp.StatVFSFileCmder).
func (h *sftpHandler) StatVFS(r *sftp.Request) (*sftp.StatVFS, error) {
	p := h.clean(r.Filepath)
	if err := h.allow(opStat, sftpEvent{Path: p}, p); err != nil {
		return nil, err
	}
	st, err := h.up.StatVFS(p)
	if err != nil {
		return nil, upstreamErr(err)
	}
	return st, nil
}

// Filelist lists a directory or stats a path (sftp.FileLister).
func (h *sftpHandler) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p := h.clean(r.Filepath)
	switch r.Method {
	case "List":
		if err := h.allow(opList, sftpEvent{Path: p}, p); err != nil {
			return nil, err
		}
		fis, err := h.up.ReadDir(p)
		if err != nil {
			return nil, upstreamErr(err)
		}
		l := make(fileList, len(fis))
		for i, fi := range fis {
			l[i] = upstreamInfo{fi}
		}
		return l, nil
	case "Stat":
		if err := h.allow(opStat, sftpEvent{Path: p}, p); err != nil {
			return nil, err
		}
		fi, err := h.up.Stat(p)
		if err != nil {
			return nil, upstreamErr(err)
		}
		return fileList{upstreamInfo{fi}}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat stats a path without following a last symlink
// (sftp.LstatFileLister).
func (h *sftpHandler) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	p := h.clean(r.Filepath)
	if err := h.allow(opStat, sftpEvent{Path: p}, p); err != nil {
		return nil, err
	}
	fi, err := h.up.Lstat(p)
	if err != nil {
		return nil, upstreamErr(err)
	}
	return fileList{upstreamInfo{fi}}, nil
}

// Readlink reads a symlink, judged as stat (sftp.ReadlinkFileLister).
func (h *sftpHandler) Readlink(p string) (string, error) {
	p = h.clean(p)
	if err := h.allow(opStat, sftpEvent{Path: p}, p); err != nil {
		return "", err
	}
	to, err := h.up.ReadLink(p)
	if err != nil {
		return "", upstreamErr(err)
	}
	return to, nil
}

// RealPath answers realpath requests (the client's working directory,
// cd) from the path alone, as pkg/sftp does, but against the upstream's
// working directory (sftp.RealPathFileLister). Nothing is asked
// upstream, so nothing is judged or recorded.
func (h *sftpHandler) RealPath(p string) (string, error) { return h.clean(p), nil }

// fileList is a listing held whole (sftp.ListerAt).
type fileList []os.FileInfo

func (l fileList) ListAt(ls []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[off:])
	if n < len(ls) {
		return n, io.EOF
	}
	return n, nil
}

// upstreamInfo passes the owner of an upstream file on to the client
// (sftp.FileInfoUidGid).
type upstreamInfo struct{ os.FileInfo }

func (i upstreamInfo) Uid() uint32 {
	if st, ok := i.Sys().(*sftp.FileStat); ok {
		return st.UID
	}
	return 0
}

func (i upstreamInfo) Gid() uint32 {
	if st, ok := i.Sys().(*sftp.FileStat); ok {
		return st.GID
	}
	return 0
}

// sftpFile is an open upstream file; closing it records the bytes read
// and written.
type sftpFile struct {
	h    *sftpHandler
	f    *sftp.File
	path string

	mu      sync.Mutex
	read    int64
	written int64
	failed  error // the first read or write error, for the recording
	closed  bool
}

func (f *sftpFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	f.count(int64(n), 0, err)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, upstreamErr(err)
	}
	return n, err
}

func (f *sftpFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.f.WriteAt(p, off)
	f.count(0, int64(n), err)
	return n, upstreamErr(err)
}

func (f *sftpFile) count(read, written int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.read += read
	f.written += written
	if err != nil && !errors.Is(err, io.EOF) && f.failed == nil {
		f.failed = err
	}
}

// Close closes the upstream file and records what moved. pkg/sftp calls
// it once per handle, at the client's close or when the channel ends.
func (f *sftpFile) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	ev := sftpEvent{Op: opClose, Path: f.path, Read: f.read, Written: f.written}
	if f.failed != nil {
		ev.Error = f.failed.Error()
	}
	f.mu.Unlock()
	err := f.f.Close()
	if err != nil && ev.Error == "" {
		ev.Error = err.Error()
	}
	ev.Path = f.h.show(ev.Path)
	f.h.s.c.sess.Append(kindSFTP, mustJSON(ev))
	return upstreamErr(err)
}

// maskedFile serves a file read through the chain's masking plugins in
// the format command output is masked in, chosen from the file's first
// 32 KiB (outputFormat: CSV, else line by line, JSON object lines as
// JSON records, other lines as text). Masking can change the length, so offsets are those of the masked
// stream, produced in order from the start of the file: a read is served
// from the masked bytes kept (maskedReadWindow behind the furthest read)
// and the stream is masked on as far as it reaches; a read before the
// window fails. A plugin failure fails the read and every later one,
// whatever the plugin's fail mode: nothing unmasked is ever served.
type maskedFile struct {
	*sftpFile
	ctx    context.Context
	masker *policy.Masker
	rd     records.Reader
	wr     records.Writer

	mu    sync.Mutex
	buf   []byte // masked bytes from base
	base  int64
	eof   bool
	err   error
	done  bool // closed
	t     policy.Table
	held  []heldRecord
	edits []records.Edit
}

// heldRecord is a record copied out of the reader for a batch.
type heldRecord struct {
	rec records.Record
	buf []byte
}

func (r *heldRecord) alloc(n int) []byte {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	return r.buf[:n]
}

// Close lets the masked bytes go, then closes the upstream file and
// records it.
func (m *maskedFile) Close() error {
	m.mu.Lock()
	first := !m.done
	m.buf, m.held, m.done = nil, nil, true
	m.mu.Unlock()
	if first {
		m.h.mu.Lock()
		m.h.masked--
		m.h.mu.Unlock()
	}
	return m.sftpFile.Close()
}

// Write appends masked bytes (the records.Writer's destination).
func (m *maskedFile) Write(p []byte) (int, error) {
	m.buf = append(m.buf, p...)
	return len(p), nil
}

func (m *maskedFile) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if m.done {
		return 0, os.ErrClosed
	}
	if off < m.base {
		m.err = fmt.Errorf("sluice: reads of this file are masked and served in order: offset %d is before the masked bytes kept (%d): %w",
			off, m.base, sftp.ErrSSHFxFailure)
		m.count(0, 0, m.err)
		return 0, m.err
	}
	want := off + int64(len(p))
	for m.base+int64(len(m.buf)) < want && !m.eof {
		if err := m.fill(); err != nil {
			m.h.s.c.e.log.Warn("sshgw: masked sftp read failed", "identity", m.h.s.c.identity, "err", err)
			m.err = fmt.Errorf("sluice: this file could not be masked: %w", sftp.ErrSSHFxFailure)
			m.count(0, 0, err)
			return 0, m.err
		}
		if int64(len(m.buf)) > 2*maskedReadWindow {
			// Keep the window behind this read; compacting only when
			// twice as much piled up keeps the copying linear.
			drop := min(int64(len(m.buf))-maskedReadWindow, off-m.base)
			m.buf = append(m.buf[:0], m.buf[drop:]...)
			m.base += drop
		}
	}
	if off >= m.base+int64(len(m.buf)) {
		return 0, io.EOF
	}
	n := copy(p, m.buf[off-m.base:])
	m.count(int64(n), 0, nil)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fill reads the next batch of lines from the upstream file, masks them
// and appends them to buf. Any plugin failure is an error.
func (m *maskedFile) fill() error {
	if m.rd == nil {
		first := make([]byte, outputChunk)
		n, err := io.ReadFull(m.f, first)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return err
		}
		format := outputFormat(first[:n])
		m.rd = records.NewReader(io.MultiReader(bytes.NewReader(first[:n]), m.f), format, records.Options{})
		m.wr = records.NewWriter(m, format, records.Options{})
	}
	m.t.Reset()
	n, size := 0, 0
	for n < maskBatchRecords && size < maskBatchBytes {
		rec, err := m.rd.Next()
		if errors.Is(err, io.EOF) {
			m.eof = true
			break
		}
		if err != nil {
			return upstreamErr(err)
		}
		if n == len(m.held) {
			m.held = append(m.held, heldRecord{})
		}
		h := &m.held[n]
		rec.CopyTo(&h.rec, h.alloc)
		n++
		size += len(h.rec.Raw)
	}
	if n == 0 {
		return m.wr.Flush()
	}
	if len(m.t.Columns) == 0 {
		m.t.Columns = m.rd.Schema().Columns()
	}
	for i := range m.held[:n] {
		m.t.AddRecord()
		for _, f := range m.held[i].rec.Fields {
			m.t.AddField(f.Column, fieldKind(f.Kind), f.Kind == records.KindNull, f.Value)
		}
	}
	if err := m.masker.Mask(m.ctx, &m.t); err != nil {
		// Fail closed, whatever the plugin's own fail mode says.
		return err
	}
	for r := range m.held[:n] {
		m.edits = m.edits[:0]
		if m.t.Dropped(r) {
			m.edits = append(m.edits, records.Edit{Op: records.EditDrop})
		} else {
			first, end := m.t.Fields(r)
			for f := first; f < end; f++ {
				v, null, changed := m.t.Field(f)
				switch {
				case !changed:
				case null:
					m.edits = append(m.edits, records.Edit{Op: records.EditNullify, Field: f - first})
				default:
					m.edits = append(m.edits, records.Edit{Op: records.EditReplace, Field: f - first, Data: v})
				}
			}
		}
		if err := m.wr.Write(&m.held[r].rec, m.edits); err != nil {
			return err
		}
	}
	return m.wr.Flush()
}

func fieldKind(k records.Kind) abi.Kind {
	switch k {
	case records.KindNumber:
		return abi.KindNumber
	case records.KindBool:
		return abi.KindBool
	case records.KindNull:
		return abi.KindNull
	}
	return abi.KindString
}

// Interface guards.
var (
	_ sftp.FileReader           = (*sftpHandler)(nil)
	_ sftp.OpenFileWriter       = (*sftpHandler)(nil)
	_ sftp.PosixRenameFileCmder = (*sftpHandler)(nil)
	_ sftp.StatVFSFileCmder     = (*sftpHandler)(nil)
	_ sftp.LstatFileLister      = (*sftpHandler)(nil)
	_ sftp.ReadlinkFileLister   = (*sftpHandler)(nil)
	_ sftp.RealPathFileLister   = (*sftpHandler)(nil)
	_ sftp.FileInfoUidGid       = upstreamInfo{}
	_ io.Closer                 = (*maskedFile)(nil)
)
