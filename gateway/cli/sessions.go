package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicegw/sluice/gateway/admin"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/store"
)

func sessionsCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "sessions",
		Short: "list, show, replay, export and verify recorded sessions (through the admin API)",
		Long: `Reads the sessions a running gateway recorded, through its admin API (an
identity with the admin role). Exit codes: 0 ok, 1 the gateway answered no
(unknown session, verification failed), 2 usage, 3 gateway unreachable or
failing, 4 authentication or role refused.`,
	}
	c.AddCommand(sessionsListCmd(s), sessionsShowCmd(s), sessionsReplayCmd(s), sessionsExportCmd(s), sessionsVerifyCmd(s))
	return c
}

func sessionsListCmd(s *streams) *cobra.Command {
	var f adminFlags
	var identity, target, protocol, since string
	var limit int
	c := &cobra.Command{
		Use:   "list",
		Short: "list sessions, newest first",
		Example: `  sluice sessions list --identity ci-deploy --since 24h
  sluice sessions list --target prod-db --since 2026-11-01T00:00:00Z --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"identity": identity, "target": target, "protocol": protocol} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return fail(ExitUsage, "--since: %w", err)
				}
				q.Set("since", t.Format(time.RFC3339))
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			var list []store.SessionInfo
			if err := cl.getJSON("/v1/sessions?"+q.Encode(), &list); err != nil {
				return err
			}
			if f.json {
				return printJSON(s.out, list)
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTART\tIDENTITY\tTARGET\tPROTOCOL\tEVENTS\tVERDICTS\tSTATE")
			for _, i := range list {
				state := "open"
				if !i.Open() {
					state = "ended " + i.End.Local().Format("15:04:05")
				}
				if i.Truncated {
					state += " (truncated)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", i.ID, i.Start.Local().Format("2006-01-02 15:04:05"),
					i.Identity, i.Target, i.Protocol, i.Events, verdictSummary(i.Verdicts), state)
			}
			return tw.Flush()
		},
	}
	f.add(c, true)
	c.Flags().StringVar(&identity, "identity", "", "only sessions of this identity")
	c.Flags().StringVar(&target, "target", "", "only sessions on this target")
	c.Flags().StringVar(&protocol, "protocol", "", "only sessions of this protocol (postgres, http, ssh)")
	c.Flags().StringVar(&since, "since", "", "only sessions started since: an RFC 3339 time, or a duration back from now (24h, 30m)")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many sessions (0: all)")
	return c
}

// parseSince accepts an RFC 3339 time or a duration before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 24h", v)
	}
	return t, nil
}

func verdictSummary(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	var parts []string
	for _, k := range []string{"allow", "block", "approve", "require_approval"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
		}
	}
	for k, v := range m {
		switch k {
		case "allow", "block", "approve", "require_approval":
		default:
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
	}
	return strings.Join(parts, ",")
}

func sessionArg(args []string) (string, error) {
	if _, err := store.ParseID(args[0]); err != nil {
		return "", fail(ExitUsage, "%w", err)
	}
	return args[0], nil
}

func sessionsShowCmd(s *streams) *cobra.Command {
	var f adminFlags
	c := &cobra.Command{
		Use:   "show ID",
		Short: "show one session's record",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := sessionArg(args)
			if err != nil {
				return err
			}
			cl, err := f.client()
			if err != nil {
				return err
			}
			var i store.SessionInfo
			if err := cl.getJSON("/v1/sessions/"+id, &i); err != nil {
				return err
			}
			if f.json {
				return printJSON(s.out, i)
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			end := "(open)"
			if !i.Open() {
				end = i.End.Local().Format(time.RFC3339) + " (" + i.EndReason + ")"
			}
			for _, row := range [][2]string{
				{"id", i.ID}, {"identity", i.Identity}, {"target", i.Target}, {"protocol", i.Protocol},
				{"client", i.ClientAddr}, {"start", i.Start.Local().Format(time.RFC3339)}, {"end", end},
				{"bytes in/out", fmt.Sprintf("%d / %d", i.BytesIn, i.BytesOut)},
				{"verdicts", verdictSummary(i.Verdicts)}, {"events", strconv.FormatUint(i.Events, 10)},
				{"recorded", fmt.Sprintf("%d bytes%s", i.Recorded, map[bool]string{true: " (truncated)"}[i.Truncated])},
				{"head", i.Head},
			} {
				fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
			}
			return tw.Flush()
		},
	}
	f.add(c, true)
	return c
}

// streamEvents reads a session's events from the admin API.
func streamEvents(cl *client, id string, fn func(admin.EventJSON) error) error {
	b, err := cl.do("GET", "/v1/sessions/"+id+"/events", nil)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		var e admin.EventJSON
		var failure struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &failure) == nil && failure.Error != "" {
			return fail(ExitUnavailable, "reading events: %s", failure.Error)
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fail(ExitUnavailable, "reading events: %v", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

func sessionsReplayCmd(s *streams) *cobra.Command {
	var f adminFlags
	var speed float64
	var width int
	var timeline bool
	c := &cobra.Command{
		Use:   "replay ID",
		Short: "print a session as a readable timeline: commands, verdicts, approvals, masked output",
		Long: `Prints the session's events in order, each with its offset from the start:
connection and authentication, every command with its verdict and reason,
approval requests and decisions with the reviewer, masked output and
errors. --speed 1 replays in real time (2 twice as fast); the default 0
prints at once.

A recorded interactive shell (an SSH pty session) is played back in the
terminal instead: its masked output at the recorded speed (--speed 1 by
default; --timeline prints the event timeline instead).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := sessionArg(args)
			if err != nil {
				return err
			}
			if speed < 0 {
				return fail(ExitUsage, "--speed: %v is negative", speed)
			}
			cl, err := f.client()
			if err != nil {
				return err
			}
			var info store.SessionInfo
			if err := cl.getJSON("/v1/sessions/"+id, &info); err != nil {
				return err
			}
			if !timeline {
				var cast [][]byte
				if err := streamEvents(cl, id, func(e admin.EventJSON) error {
					if line, ok := asciicastLine(e); ok {
						cast = append(cast, line)
					}
					return nil
				}); err != nil {
					return err
				}
				if len(cast) > 0 {
					if !cmd.Flags().Changed("speed") {
						speed = 1
					}
					return playCast(cmd.Context(), s, cast[1:], speed)
				}
			}
			fmt.Fprintf(s.out, "session %s: %s -> %s (%s) from %s, %s\n", info.ID, info.Identity, info.Target,
				info.Protocol, orDash(info.ClientAddr), info.Start.Local().Format(time.RFC3339))
			var last time.Time
			return streamEvents(cl, id, func(e admin.EventJSON) error {
				if speed > 0 && !last.IsZero() {
					if d := e.Time.Sub(last); d > 0 {
						select {
						case <-time.After(time.Duration(float64(d) / speed)):
						case <-cmd.Context().Done():
							return cmd.Context().Err()
						}
					}
				}
				last = e.Time
				fmt.Fprintf(s.out, "%+10.3fs  %-18s %s\n", e.Time.Sub(info.Start).Seconds(), e.Kind, describeEvent(e, width))
				return nil
			})
		},
	}
	f.add(c, false)
	c.Flags().Float64Var(&speed, "speed", 0, "replay speed: 1 real time, 2 twice as fast, 0 at once (a shell session: 1 by default)")
	c.Flags().IntVar(&width, "width", 200, "cut long output lines to this many characters (0: never)")
	c.Flags().BoolVar(&timeline, "timeline", false, "for a shell session too, print the event timeline instead of playing the terminal")
	return c
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describeEvent renders an event's data for the timeline. The engines'
// conventions: commands have text, verdict, reason; approvals id,
// reviewer, decision, reason; output text or records.
func describeEvent(e admin.EventJSON, width int) string {
	var d map[string]any
	if json.Unmarshal(e.Data, &d) != nil {
		var str string
		if json.Unmarshal(e.Data, &str) == nil {
			return clip(str, width)
		}
		return clip(string(e.Data), width)
	}
	str := func(k string) string {
		if v, ok := d[k].(string); ok {
			return v
		}
		return ""
	}
	switch e.Kind {
	case string(store.KindCommand):
		out := str("text")
		if v := str("verdict"); v != "" {
			out += "  => " + v
		}
		if r := str("reason"); r != "" {
			out += ": " + r
		}
		return clip(out, width)
	case string(store.KindExecute):
		name := str("statement")
		if name == "" {
			name = "(unnamed)"
		}
		return clip(fmt.Sprintf("execute %s: %s", name, str("text")), width)
	case string(store.KindApprovalRequest):
		return clip(fmt.Sprintf("request %s: %s", str("id"), str("reason")), width)
	case string(store.KindApprovalDecision):
		vote := str("vote")
		if vote == "" {
			vote = str("decision")
		}
		out := fmt.Sprintf("request %s: %s", str("id"), vote)
		if r := str("reviewer"); r != "" {
			out += " by " + r
		}
		if st := str("state"); st != "" {
			out += " -> " + st
		}
		if r := str("reason"); r != "" {
			out += ": " + r
		}
		return clip(out, width)
	case string(store.KindOutput):
		if t := str("text"); t != "" {
			return clip(t, width)
		}
	}
	return clip(string(compactJSON(e.Data)), width)
}

func compactJSON(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func clip(s string, width int) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if width > 0 && len(s) > width {
		return s[:width] + "..."
	}
	return s
}

func sessionsExportCmd(s *streams) *cobra.Command {
	var f adminFlags
	var format string
	c := &cobra.Command{
		Use:   "export ID",
		Short: "write a session's events as JSON lines (seq, time, kind, data, hash)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := sessionArg(args)
			if err != nil {
				return err
			}
			if format != "jsonl" && format != "asciicast" {
				return fail(ExitUsage, "--format: %q is not a format (jsonl, asciicast)", format)
			}
			cl, err := f.client()
			if err != nil {
				return err
			}
			if format == "asciicast" {
				n := 0
				err := streamEvents(cl, id, func(e admin.EventJSON) error {
					line, ok := asciicastLine(e)
					if !ok {
						return nil
					}
					n++
					_, err := s.out.Write(append(line, '\n'))
					return err
				})
				if err == nil && n == 0 {
					return &exitError{code: ExitFailure, err: fmt.Errorf("session %s has no terminal recording (only interactive shell sessions do)", id)}
				}
				return err
			}
			enc := json.NewEncoder(s.out)
			return streamEvents(cl, id, func(e admin.EventJSON) error { return enc.Encode(e) })
		},
	}
	f.add(c, false)
	c.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl (every event), or asciicast (an interactive shell as an asciicast v2 file that asciinema plays)")
	return c
}

func sessionsVerifyCmd(s *streams) *cobra.Command {
	var f adminFlags
	c := &cobra.Command{
		Use:   "verify ID",
		Short: "check a session's hash chain; exit 1 and say which event if it was tampered with",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := sessionArg(args)
			if err != nil {
				return err
			}
			cl, err := f.client()
			if err != nil {
				return err
			}
			var v store.Verification
			if err := cl.getJSON("/v1/sessions/"+id+"/verify", &v); err != nil {
				return err
			}
			if f.json {
				if err := printJSON(s.out, v); err != nil {
					return err
				}
			} else if v.OK {
				fmt.Fprintf(s.out, "session %s: ok, %d events, head %s\n", v.Session, v.Events, v.Head)
			} else {
				fmt.Fprintf(s.out, "session %s: FAILED at event %d: %s: %s\n", v.Session, v.BadSeq, v.Problem, v.Detail)
			}
			if !v.OK {
				return &exitError{code: ExitFailure, err: fmt.Errorf("session %s failed verification (%s at event %d)", v.Session, v.Problem, v.BadSeq)}
			}
			return nil
		},
	}
	f.add(c, true)
	return c
}

func pluginsCmd(s *streams) *cobra.Command {
	c := &cobra.Command{
		Use:   "plugins",
		Short: "the plugins a running gateway serves (through the admin API)",
	}
	var f adminFlags
	list := &cobra.Command{
		Use:   "list",
		Short: "list plugins: version, file hash, generation, last reload and error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := f.client()
			if err != nil {
				return err
			}
			var st []pluginhost.Status
			if err := cl.getJSON("/v1/plugins", &st); err != nil {
				return err
			}
			if f.json {
				return printJSON(s.out, st)
			}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tVERSION\tSHA256\tGENERATION\tLOADED\tLAST RELOAD\tLAST ERROR")
			for _, p := range st {
				sum := p.SHA256
				if len(sum) > 12 {
					sum = sum[:12]
				}
				loaded := "-"
				if !p.LoadedAt.IsZero() {
					loaded = p.LoadedAt.Local().Format("2006-01-02 15:04:05")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.Name, orDash(p.Version), orDash(sum), p.Generation, loaded, orDash(p.LastResult), orDash(p.LastError))
			}
			return tw.Flush()
		},
	}
	f.add(list, true)
	c.AddCommand(list)
	return c
}

// asciicastLine returns an event's asciicast v2 line: the header of a
// recorded terminal, or one of its [time, code, data] events (the SSH
// engine records them as output events {"asciicast_header": {...}} and
// {"asciicast": [...]}).
func asciicastLine(e admin.EventJSON) ([]byte, bool) {
	if e.Kind != string(store.KindOutput) {
		return nil, false
	}
	var d struct {
		Header json.RawMessage `json:"asciicast_header"`
		Event  json.RawMessage `json:"asciicast"`
	}
	if json.Unmarshal(e.Data, &d) != nil {
		return nil, false
	}
	switch {
	case len(d.Header) > 0:
		return compactJSON(d.Header), true
	case len(d.Event) > 0:
		return compactJSON(d.Event), true
	}
	return nil, false
}

// playCast writes a terminal recording's output to the terminal at speed
// (0: at once).
func playCast(ctx context.Context, s *streams, events [][]byte, speed float64) error {
	var last float64
	for _, line := range events {
		var ev []json.RawMessage
		if json.Unmarshal(line, &ev) != nil || len(ev) != 3 {
			continue
		}
		var t float64
		var code, data string
		json.Unmarshal(ev[0], &t)
		json.Unmarshal(ev[1], &code)
		json.Unmarshal(ev[2], &data)
		if code != "o" {
			continue
		}
		if speed > 0 && t > last {
			select {
			case <-time.After(time.Duration((t - last) / speed * float64(time.Second))):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		last = t
		if _, err := io.WriteString(s.out, data); err != nil {
			return err
		}
	}
	return nil
}
