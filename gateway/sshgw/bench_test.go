package sshgw

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/records"
)

// customers is NDJSON like bench/ssh.sh's file: ~130 bytes a line, an
// e-mail in each.
func customers(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"id":%d,"name":"Customer %d","email":"user%d@example.com","plan":"pro","balance":%d.%02d,"created":"2026-01-02T15:04:05Z"}`+"\n",
			i, i, i, i%10000, i%100)
	}
	return b.Bytes()
}

// BenchmarkMaskOutput: the masking of one output stream with pii-mask,
// without SSH: as text lines (before per-line recognition) and line by
// line (JSON objects as JSON records). go test -bench MaskOutput
// -cpuprofile says where the time goes.
func BenchmarkMaskOutput(b *testing.B) {
	data := customers(20000)
	chain := policy.Chain{plugin(b, "pii-mask", "")}
	for _, f := range []records.Format{records.FormatText, records.FormatLines} {
		b.Run(f.String(), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := policy.MaskStream(context.Background(), policy.NewMasker(chain), bytes.NewReader(data), io.Discard,
					policy.StreamOptions{Format: f}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExec: one command on an open connection, direct and through
// sluice without plugins (x/crypto/ssh as the client), to an in-process
// upstream that answers every exec at once with exit status 0: what
// sluice adds per command (judging, the durable record, the upstream
// channel) without the handshakes, and without the upstream's own cost
// (sshd starts the account's shell, whose rc files may take longer than
// all of sluice). ns/op.
func BenchmarkExec(b *testing.B) {
	up := startInstantUpstream(b)
	g := startGateway(b, nil, func(o *Options, _ *sshd) {
		o.Target.Upstream.Address = up.addr
		o.UpstreamHostKeyFingerprint = ssh.FingerprintSHA256(up.hostKey)
	})
	direct, err := ssh.Dial("tcp", up.addr, &ssh.ClientConfig{User: "bench", Auth: []ssh.AuthMethod{ssh.Password("x")},
		HostKeyCallback: ssh.FixedHostKey(up.hostKey)})
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	via := g.goClient(b)
	for _, tc := range []struct {
		name string
		c    *ssh.Client
	}{{"direct", direct}, {"sluice", via}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				s, err := tc.c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Run("true"); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// instantUpstream is an SSH server that logs anyone in and answers every
// exec with exit status 0 and nothing else.
type instantUpstream struct {
	addr    string
	hostKey ssh.PublicKey
}

func startInstantUpstream(b testing.TB) *instantUpstream {
	hk := newKey(b, b.TempDir(), "instant_host")
	cfg := &ssh.ServerConfig{
		PasswordCallback:  func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, nil },
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil },
	}
	cfg.AddHostKey(hk.Signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(nc, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for nch := range chans {
					ch, creqs, err := nch.Accept()
					if err != nil {
						continue
					}
					go func() {
						for req := range creqs {
							req.Reply(req.Type == "exec", nil)
							if req.Type == "exec" {
								ch.CloseWrite()
								ch.SendRequest("exit-status", false, ssh.Marshal(exitStatusMsg{}))
								ch.Close()
							}
						}
					}()
				}
			}()
		}
	}()
	return &instantUpstream{addr: ln.Addr().String(), hostKey: hk.Signer.PublicKey()}
}

// BenchmarkCat: `cat FILE` of customers' NDJSON on an open connection,
// direct, through sluice without plugins and with pii-mask (MB/s).
func BenchmarkCat(b *testing.B) {
	data := customers(150000) // ~20 MB
	file := filepath.Join(b.TempDir(), "customers.ndjson")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		chain policy.Chain
	}{{"direct", nil}, {"sluice", nil}, {"sluice-pii-mask", policy.Chain{plugin(b, "pii-mask", "")}}} {
		b.Run(tc.name, func(b *testing.B) {
			g := startGateway(b, tc.chain, nil)
			c := g.goClient(b)
			if tc.name == "direct" {
				var err error
				c, err = ssh.Dial("tcp", g.up.Addr, &ssh.ClientConfig{User: g.up.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(g.up.Key.Signer)},
					HostKeyCallback: ssh.FixedHostKey(g.up.HostKey)})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
			}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				s, err := c.NewSession()
				if err != nil {
					b.Fatal(err)
				}
				s.Stdout = io.Discard
				if err := s.Run("cat " + file); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkCatOpenSSH: `ssh HOST 'cat FILE' > /dev/null` with the
// OpenSSH client (its default cipher, chacha20-poly1305) through sluice
// without plugins: this process is only sluice, so -cpuprofile shows
// where the gateway's time goes (bench/ssh.sh compares with direct).
func BenchmarkCatOpenSSH(b *testing.B) {
	if _, err := os.Stat(sshBin); err != nil {
		b.Skip("no OpenSSH client")
	}
	data := customers(150000) // ~20 MB
	file := filepath.Join(b.TempDir(), "customers.ndjson")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		b.Fatal(err)
	}
	g := startGateway(b, nil, nil)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		cmd := g.command(g.client.File, "ci", "cat "+file)
		cmd.Stdout = io.Discard
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}
