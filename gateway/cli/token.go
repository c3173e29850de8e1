package cli

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicegw/sluice/gateway/admin"
	"github.com/sluicegw/sluice/gateway/auth"
	"github.com/sluicegw/sluice/gateway/store"
)

func tokenCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "issue, revoke, list and hash sluice tokens",
	}
	c.AddCommand(&cobra.Command{
		Use:   "hash",
		Short: "read a token on stdin and print its sha256: form for identities[].token_hashes",
		Long: `Reads one token from standard input (the first line; surrounding white space
is ignored) and prints "sha256:<hex>", the form identities[].token_hashes
takes. The token itself is never written anywhere.`,
		Example: `  printf %s "$TOKEN" | sluice token hash`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc := bufio.NewScanner(s.in)
			sc.Buffer(make([]byte, 4096), 64<<10)
			var tok string
			if sc.Scan() {
				tok = strings.TrimSpace(sc.Text())
			}
			if err := sc.Err(); err != nil {
				return fail(ExitUsage, "reading the token: %w", err)
			}
			if tok == "" {
				return fail(ExitUsage, "no token on standard input")
			}
			sum := sha256.Sum256([]byte(tok))
			_, err := fmt.Fprintf(s.out, "sha256:%s\n", hex.EncodeToString(sum[:]))
			return err
		},
	})
	c.AddCommand(tokenCreateCmd(s), tokenRevokeCmd(s), tokenListCmd(s))
	return c
}

func tokenCreateCmd(s *streams) *cobra.Command {
	var f adminFlags
	var identity, ttl, note string
	c := &cobra.Command{
		Use:   "create --identity NAME [--ttl 24h]",
		Short: "issue a token for an identity; prints it once (only its hash is stored)",
		Long: `Asks the running gateway (admin API, admin role) for a new random token of an
identity in the config, valid for --ttl (default and maximum: 90 days). The
token is printed once on standard output and never again: the gateway keeps
only its SHA-256. Details go to standard error, so

  TOKEN=$(sluice token create --identity ci-deploy --ttl 24h)

captures just the token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if identity == "" {
				return fail(ExitUsage, "--identity is required")
			}
			cl, err := f.client()
			if err != nil {
				return err
			}
			b, err := cl.do("POST", "/v1/tokens", admin.NewToken{Identity: identity, TTL: ttl, Note: note})
			if err != nil {
				return err
			}
			var t admin.IssuedToken
			if err := json.Unmarshal(b, &t); err != nil {
				return fail(ExitUnavailable, "unexpected answer: %v", err)
			}
			if f.json {
				return printJSON(s.out, t)
			}
			fmt.Fprintln(s.out, t.Secret)
			fmt.Fprintf(s.err, "token for %s, expires %s, hash %s (shown once: store it now)\n", t.Identity, t.Expires.Local().Format(time.RFC3339), t.Hash)
			return nil
		},
	}
	f.add(c, true)
	c.Flags().StringVar(&identity, "identity", "", "the identity the token authenticates as (required)")
	c.Flags().StringVar(&ttl, "ttl", "", "how long the token is valid (24h, 30m; default and maximum 90 days)")
	c.Flags().StringVar(&note, "note", "", "a note kept with the token (who or what it is for)")
	return c
}

func tokenRevokeCmd(s *streams) *cobra.Command {
	var f adminFlags
	c := &cobra.Command{
		Use:   "revoke sha256:HASH",
		Short: "revoke an issued token by its hash (sluice token list shows them); it is refused everywhere at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := auth.ParseHash(args[0]); err != nil {
				return fail(ExitUsage, "%w", err)
			}
			cl, err := f.client()
			if err != nil {
				return err
			}
			b, err := cl.do("DELETE", "/v1/tokens/"+args[0], nil)
			if err != nil {
				return err
			}
			var t store.Token
			json.Unmarshal(b, &t)
			fmt.Fprintf(s.out, "revoked token of %s (%s)\n", t.Identity, t.Hash)
			return nil
		},
	}
	f.add(c, false)
	return c
}

func tokenListCmd(s *streams) *cobra.Command {
	var f adminFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "list issued tokens (hashes, identities, expiry, revocation)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client()
			if err != nil {
				return err
			}
			var list []store.Token
			if err := cl.getJSON("/v1/tokens", &list); err != nil {
				return err
			}
			if f.json {
				return printJSON(s.out, list)
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HASH\tIDENTITY\tCREATED\tEXPIRES\tSTATE\tNOTE")
			now := time.Now()
			for _, t := range list {
				state := "valid"
				switch {
				case !t.Revoked.IsZero():
					state = "revoked"
				case !t.Valid(now):
					state = "expired"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Hash, t.Identity, t.Created.Local().Format(time.DateTime),
					t.Expires.Local().Format(time.DateTime), state, orDash(t.Note))
			}
			return tw.Flush()
		},
	}
	f.add(c, true)
	return c
}
