package cli

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Exit codes of the commands that talk to a running gateway, on top of
// ExitOK, ExitFailure (the gateway answered no: not found, refused,
// verification failed) and ExitUsage.
const (
	ExitUnavailable = 3 // the gateway could not be reached, or failed (5xx)
	ExitAuth        = 4 // no token, a bad token, or a missing role (401/403)
)

// DefaultAdminURL is where the CLI looks for the admin API by default.
const DefaultAdminURL = "http://127.0.0.1:9090"

// adminFlags are the connection flags of every admin API command.
type adminFlags struct {
	url, token, dataDir, ca string
	json                    bool
}

func (f *adminFlags) add(c *cobra.Command, jsonFlag bool) {
	c.Flags().StringVar(&f.url, "admin-url", "", "admin API URL (default $SLUICE_ADMIN_URL, else "+DefaultAdminURL+")")
	c.Flags().StringVar(&f.token, "token", "", "admin API token (default $SLUICE_TOKEN, else the bootstrap token in <data-dir>/admin.token)")
	c.Flags().StringVar(&f.ca, "admin-ca", "", "PEM CA file for an https admin URL signed by a private CA (default $SLUICE_ADMIN_CA)")
	c.Flags().StringVar(&f.dataDir, "data-dir", "", "where to find the bootstrap admin token (default $SLUICE_DATA_DIR, else ./sluice-data)")
	if jsonFlag {
		c.Flags().BoolVar(&f.json, "json", false, "print JSON for scripts instead of a table")
	}
}

// client is a small admin API client.
type client struct {
	base  string
	token string
	http  *http.Client
}

func (f *adminFlags) client() (*client, error) {
	base := f.url
	if base == "" {
		base = os.Getenv("SLUICE_ADMIN_URL")
	}
	if base == "" {
		base = DefaultAdminURL
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return nil, fail(ExitUsage, "admin URL %q is not a URL", base)
	}
	tok := f.token
	if tok == "" {
		tok = os.Getenv("SLUICE_TOKEN")
	}
	if tok == "" {
		dir := f.dataDir
		if dir == "" {
			dir = os.Getenv("SLUICE_DATA_DIR")
		}
		if dir == "" {
			dir = "./sluice-data"
		}
		// The bootstrap token of a gateway without an admin identity: a
		// plain file, not the store (the CLI never opens that).
		if b, err := os.ReadFile(filepath.Join(dir, "admin.token")); err == nil {
			tok = strings.TrimSpace(string(b))
		}
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	ca := f.ca
	if ca == "" {
		ca = os.Getenv("SLUICE_ADMIN_CA")
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fail(ExitUsage, "--admin-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fail(ExitUsage, "--admin-ca: %s holds no PEM certificate", ca)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return &client{base: strings.TrimRight(base, "/"), token: tok, http: hc}, nil
}

// apiError is an error answer of the admin API.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

// do sends a request and returns the response body of a 2xx answer, or
// an exit error that says what went wrong.
func (c *client) do(method, path string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return nil, fail(ExitUsage, "%w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fail(ExitUnavailable, "cannot reach the sluice admin API at %s (is `sluice serve` running? set --admin-url or SLUICE_ADMIN_URL): %v", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, fail(ExitUnavailable, "reading the answer of %s: %w", c.base, err)
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	ae := &apiError{code: resp.StatusCode, msg: msg}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		hint := ""
		if c.token == "" {
			hint = " (no token: pass --token or set SLUICE_TOKEN)"
		}
		return nil, &exitError{code: ExitAuth, err: fmt.Errorf("%s%s", ae.msg, hint)}
	case resp.StatusCode == http.StatusForbidden:
		return nil, &exitError{code: ExitAuth, err: ae}
	case resp.StatusCode >= 500:
		return nil, &exitError{code: ExitUnavailable, err: ae}
	default:
		return nil, &exitError{code: ExitFailure, err: ae}
	}
}

func (c *client) getJSON(path string, v any) error {
	b, err := c.do("GET", path, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fail(ExitUnavailable, "the admin API answered %s with something that is not the expected JSON: %v", path, err)
	}
	return nil
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var errNotOK = errors.New("not ok")
