package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicegw/sluice/gateway/admin"
	"github.com/sluicegw/sluice/gateway/approvals"
)

func approvalsCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "approvals",
		Short: "see and decide commands held for approval (through the admin API)",
		Long: `Commands a plugin sends for approval wait in the gateway until reviewers
decide. Reviewers are identities of kind human with the reviewer role
(--token or SLUICE_TOKEN); nobody approves their own request, and
approvals.required distinct approvals may be needed. Exit codes: 0 ok,
1 the gateway refused (unknown request, already decided, expired, your own
request), 2 usage, 3 gateway unreachable, 4 authentication or role refused.`,
	}
	c.AddCommand(approvalsListCmd(s), approvalsShowCmd(s), approvalsDecideCmd(s, true), approvalsDecideCmd(s, false), approvalsWatchCmd(s))
	return c
}

func approvalsListCmd(s *streams) *cobra.Command {
	var f adminFlags
	var state, identity, target string
	var limit int
	c := &cobra.Command{
		Use:   "list",
		Short: "list requests, newest first (default: pending ones)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if state != "all" {
				q.Set("state", state)
			}
			if identity != "" {
				q.Set("identity", identity)
			}
			if target != "" {
				q.Set("target", target)
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var list []approvals.Request
			if err := cl.getJSON("/v1/approvals?"+q.Encode(), &list); err != nil {
				return err
			}
			if f.json {
				return printJSON(s.out, list)
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tIDENTITY\tTARGET\tAPPROVALS\tEXPIRES\tCOMMAND")
			for _, r := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", r.ID, r.State, r.Identity, r.Target,
					r.Approvals(), r.Required, r.Expires.Local().Format("15:04:05"), clip(r.Command, 60))
			}
			return tw.Flush()
		},
	}
	f.add(c, true)
	c.Flags().StringVar(&state, "state", "pending", "pending, approved, denied, expired or all")
	c.Flags().StringVar(&identity, "identity", "", "only requests of this identity")
	c.Flags().StringVar(&target, "target", "", "only requests on this target")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many (0: all)")
	return c
}

func printRequest(s *streams, r *approvals.Request) {
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"id", r.ID}, {"state", string(r.State)}, {"identity", r.Identity}, {"target", r.Target},
		{"session", orDash(r.Session)}, {"command", r.Command}, {"reason", orDash(r.Reason)},
		{"plugin", orDash(r.Plugin)}, {"fingerprint", orDash(r.Fingerprint)},
		{"created", r.Created.Local().Format(time.RFC3339)}, {"expires", r.Expires.Local().Format(time.RFC3339)},
		{"approvals", fmt.Sprintf("%d of %d", r.Approvals(), r.Required)},
	}
	for _, v := range r.Votes {
		what := "deny"
		if v.Approve {
			what = "approve"
			if v.Grant.Window > 0 {
				what += " for " + v.Grant.Window.String()
			}
		}
		who := v.Reviewer
		if who == "" {
			who = "(expiry)"
		}
		rows = append(rows, [2]string{"vote", fmt.Sprintf("%s %s at %s: %s", who, what, v.Time.Local().Format(time.RFC3339), orDash(v.Reason))})
	}
	if r.Grant != nil {
		g := "once"
		if !r.Grant.Once {
			g = "until " + r.Grant.Expires.Local().Format(time.RFC3339) + " for this statement"
		}
		rows = append(rows, [2]string{"grant", g})
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	tw.Flush()
	if len(r.Analysis) > 0 {
		fmt.Fprintf(s.out, "analysis\n%s\n", compactJSON(r.Analysis))
	}
}

func approvalsShowCmd(s *streams) *cobra.Command {
	var f adminFlags
	c := &cobra.Command{
		Use:   "show ID",
		Short: "show a request: command, analysis, reason, votes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := f.client()
			if err != nil {
				return err
			}
			var r approvals.Request
			if err := cl.getJSON("/v1/approvals/"+url.PathEscape(args[0]), &r); err != nil {
				return err
			}
			if f.json {
				return printJSON(s.out, r)
			}
			printRequest(s, &r)
			return nil
		},
	}
	f.add(c, true)
	return c
}

func approvalsDecideCmd(s *streams, approve bool) *cobra.Command {
	var f adminFlags
	var reason, grant string
	use, short := "deny ID --reason TEXT", "refuse a held command; the client gets the reason"
	if approve {
		use, short = "approve ID [--grant 15m] [--reason TEXT]", "approve a held command (once, or the same statement for a while with --grant)"
	}
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !approve && strings.TrimSpace(reason) == "" {
				return fail(ExitUsage, "--reason is required: the client is told why")
			}
			cl, err := f.client()
			if err != nil {
				return err
			}
			verb := "deny"
			if approve {
				verb = "approve"
			}
			b, err := cl.do("POST", "/v1/approvals/"+url.PathEscape(args[0])+"/"+verb, admin.Decision{Reason: reason, Grant: grant})
			if err != nil {
				return err
			}
			var r approvals.Request
			if err := json.Unmarshal(b, &r); err != nil {
				return fail(ExitUnavailable, "unexpected answer: %v", err)
			}
			if f.json {
				return printJSON(s.out, r)
			}
			switch r.State {
			case approvals.Pending:
				fmt.Fprintf(s.out, "%s: your approval is recorded; %d of %d so far\n", r.ID, r.Approvals(), r.Required)
			default:
				fmt.Fprintf(s.out, "%s: %s\n", r.ID, r.State)
			}
			return nil
		},
	}
	f.add(c, true)
	c.Flags().StringVar(&reason, "reason", "", "why (recorded, and shown to the client on a deny)")
	if approve {
		c.Flags().StringVar(&grant, "grant", "once", `"once" (this command), or a duration: the identity may run the same statement on the target for that long`)
	}
	return c
}

func approvalsWatchCmd(s *streams) *cobra.Command {
	var f adminFlags
	var once bool
	c := &cobra.Command{
		Use:   "watch",
		Short: "print requests as they are created and decided, until interrupted",
		Long: `Long-polls the admin API and prints a line per event (created, approved,
denied, expired). With --json each event is a JSON line. --once returns
after the first batch of events.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client()
			if err != nil {
				return err
			}
			cl.http.Timeout = 0 // long polls
			since := ""
			for {
				path := "/v1/approvals/watch?wait=30s"
				if since != "" {
					path += "&since=" + since
				}
				var ans admin.WatchAnswer
				if err := cl.getJSON(path, &ans); err != nil {
					if ae, ok := asAPIError(err); ok && ae.code == 410 {
						since = "" // fell behind: start from now
						fmt.Fprintln(s.err, "sluice: missed events; run `sluice approvals list` to catch up")
						continue
					}
					return err
				}
				since = strconv.FormatUint(ans.Seq, 10)
				for _, ev := range ans.Events {
					if f.json {
						json.NewEncoder(s.out).Encode(ev)
						continue
					}
					r := ev.Request
					who := ""
					if ev.Reviewer != "" {
						who = " by " + ev.Reviewer
					}
					fmt.Fprintf(s.out, "%s  %-8s %s%s  %s -> %s: %s\n", ev.Time.Local().Format("15:04:05"), ev.Type, r.ID, who,
						r.Identity, r.Target, clip(r.Command, 80))
				}
				if once && len(ans.Events) > 0 {
					return nil
				}
				if cmd.Context().Err() != nil {
					return nil
				}
			}
		},
	}
	f.add(c, true)
	c.Flags().BoolVar(&once, "once", false, "return after the first events")
	return c
}

// asAPIError finds the admin API's answer inside an exit error.
func asAPIError(err error) (*apiError, bool) {
	ee, ok := err.(*exitError)
	if !ok {
		return nil, false
	}
	ae, ok := ee.err.(*apiError)
	return ae, ok
}
