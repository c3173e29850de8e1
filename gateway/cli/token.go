package cli

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func tokenCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "work with sluice tokens",
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
	return c
}
