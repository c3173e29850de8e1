package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluicegw/sluice/gateway/config"
)

func configCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "check a config file or print the defaults",
	}
	c.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "load and validate FILE (with the environment's overrides) and report every error",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := config.Load(args[0]); err != nil {
				return fail(ExitFailure, "%w", err)
			}
			_, err := fmt.Fprintf(s.out, "%s: ok\n", args[0])
			return err
		},
	}, &cobra.Command{
		Use:   "default",
		Short: "print the embedded default configuration (a starting point for sluice.yaml)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := s.out.Write(config.DefaultYAML())
			return err
		},
	})
	return c
}
