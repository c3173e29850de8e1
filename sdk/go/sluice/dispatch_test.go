package sluice

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice/jsonconfig"
)

// maskingPlugin masks the local part of "email" in place, replaces "ssn"
// and nullifies "token": one of each common edit, as a real plugin would.
var maskingPlugin = Plugin{
	Records: func(b *Batch, e *Edits) error {
		for f := range b.Fields() {
			if f.Null {
				continue
			}
			switch string(f.Name) {
			case "email":
				at := len(f.Value)
				for i, c := range f.Value {
					if c == '@' {
						at = i
						break
					}
				}
				e.Mask(f, 0, at, '*')
			case "ssn":
				e.ReplaceString(f, "***-**-****")
			case "token":
				e.Nullify(f)
			}
		}
		return nil
	},
	Command: func(c *Command) Verdict {
		if c.Has("where", "false") {
			return Block("DELETE without WHERE")
		}
		if v, ok := c.Lookup(-1, "tag"); ok && string(v) == "DROP TABLE" {
			return RequireApproval("DROP TABLE needs a reviewer")
		}
		return Allow()
	},
	Plan: func(c Column) Action {
		switch string(c.Name) {
		case "email", "ssn", "token":
			return Inspect
		case "secret":
			return Redact
		}
		return Ignore
	},
}

func buildUsers(bb *abi.BatchBuilder, n int) {
	bb.Reset()
	email := bb.AddColumn([]byte("email"), abi.TypeText, 25)
	ssn := bb.AddColumn([]byte("ssn"), abi.TypeText, 25)
	token := bb.AddColumn([]byte("token"), abi.TypeText, 25)
	id := bb.AddColumn([]byte("id"), abi.TypeInt, 20)
	for i := range n {
		bb.BeginRecord()
		bb.AddField(email, abi.KindString, false, []byte("user"+itoa(i)+"@example.com"))
		if i%3 == 0 {
			bb.AddField(ssn, abi.KindNull, true, nil)
		} else {
			bb.AddField(ssn, abi.KindString, false, []byte("123-45-6789"))
		}
		bb.AddField(token, abi.KindString, false, []byte("tok"))
		bb.AddField(id, abi.KindNumber, false, []byte(itoa(i)))
	}
}

// encodeInto encodes bb at the start of arena and returns in_len, out_off.
func encodeInto(arena []byte, bb *abi.BatchBuilder) (uint32, uint32) {
	n := bb.Encode(arena)
	return uint32(n), uint32(abi.AlignUp(n))
}

func TestRecordsDispatchAllocatesNothing(t *testing.T) {
	var bb abi.BatchBuilder
	buildUsers(&bb, 256)
	arena := make([]byte, 1<<20)
	inLen, outOff := encodeInto(arena, &bb)
	d := dispatcher{p: maskingPlugin, set: true}
	if st := d.records(arena, inLen, outOff); st != abi.StatusOK {
		t.Fatalf("status %v", st)
	}
	// Repeating the call on the same (already masked) input is allowed:
	// hooks must be repeatable.
	allocs := testing.AllocsPerRun(100, func() {
		if st := d.records(arena, inLen, outOff); st != abi.StatusOK {
			t.Fatalf("status %v", st)
		}
	})
	if allocs != 0 {
		t.Fatalf("records dispatch: %v allocs per batch, want 0", allocs)
	}
}

func TestRecordsIteratorsAllocateNothing(t *testing.T) {
	var bb abi.BatchBuilder
	buildUsers(&bb, 64)
	arena := make([]byte, 1<<20)
	inLen, outOff := encodeInto(arena, &bb)
	var seen int
	d := dispatcher{set: true, p: Plugin{Records: func(b *Batch, e *Edits) error {
		for c := range b.Columns() {
			seen += len(c.Name)
		}
		for r := range b.Records() {
			for f := range r.Fields() {
				seen += len(f.Value)
			}
			if f, ok := r.FieldByName("email"); ok {
				e.Mask(f, 0, 1, 'x')
			}
		}
		for i := range b.NumFields() {
			seen += b.Field(i).Record
		}
		for range b.Findings() {
			seen++
		}
		return nil
	}}}
	allocs := testing.AllocsPerRun(100, func() { d.records(arena, inLen, outOff) })
	if allocs != 0 {
		t.Fatalf("iterators: %v allocs per batch, want 0", allocs)
	}
}

func TestCommandDispatchAllocatesNothing(t *testing.T) {
	var cb abi.CommandBuilder
	cb.Set(abi.CommandSQL, "DELETE FROM users", "ci-deploy", "prod-db")
	cb.AddFact(0, "tag", "DELETE")
	cb.AddFact(0, "where", "false")
	arena := make([]byte, 64<<10)
	n := cb.Encode(arena)
	d := dispatcher{p: maskingPlugin, set: true}
	allocs := testing.AllocsPerRun(100, func() {
		if st := d.command(arena, uint32(n), uint32(abi.AlignUp(n))); st != abi.StatusOK {
			t.Fatalf("status %v", st)
		}
	})
	if allocs != 0 {
		t.Fatalf("command dispatch: %v allocs per call, want 0", allocs)
	}
	payload, err := abi.ParseOutput(arena[abi.AlignUp(n):])
	if err != nil {
		t.Fatal(err)
	}
	v, reason, err := abi.ParseVerdict(payload)
	if err != nil || v != abi.Block || string(reason) != "DELETE without WHERE" {
		t.Fatalf("verdict %v %q %v", v, reason, err)
	}
}

func TestHarnessRecordsAppliesEdits(t *testing.T) {
	var bb abi.BatchBuilder
	buildUsers(&bb, 3)
	h := NewHarness(maskingPlugin)
	got, err := h.Records(&bb)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"*****@example.com", "NULL", "NULL", "0"},
		{"*****@example.com", "***-**-****", "NULL", "1"},
		{"*****@example.com", "***-**-****", "NULL", "2"},
	}
	checkRecords(t, got, want)
}

func checkRecords(t *testing.T, got [][]Value, want [][]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records %v, want %d", len(got), got, len(want))
	}
	for r := range want {
		if len(got[r]) != len(want[r]) {
			t.Fatalf("record %d: got %v, want %v", r, got[r], want[r])
		}
		for i := range want[r] {
			if got[r][i].String() != want[r][i] {
				t.Errorf("record %d field %d: got %q, want %q", r, i, got[r][i], want[r][i])
			}
		}
	}
}

func TestHarnessRangesAndDrop(t *testing.T) {
	var bb abi.BatchBuilder
	col := bb.AddColumn([]byte("card"), abi.TypeText, 0)
	bb.BeginRecord()
	bb.AddField(col, abi.KindString, false, []byte("4111111111111111"))
	bb.BeginRecord()
	bb.AddField(col, abi.KindString, false, []byte("drop me"))
	bb.BeginRecord()
	bb.AddField(col, abi.KindString, false, []byte("héllo"))
	h := NewHarness(Plugin{Records: func(b *Batch, e *Edits) error {
		for r := range b.Records() {
			f := r.Field(0)
			switch r.Index {
			case 0:
				e.ReplaceRange(f, 12, 4, []byte("####"))
				e.ReplaceRange(f, 0, 4, []byte("x"))
				e.Mask(f, 4, 8, '*')
			case 1:
				e.Drop(f.Record)
			case 2:
				e.Replace(f, []byte("ü"))
			}
		}
		return nil
	}})
	got, err := h.Records(&bb)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, got, [][]string{{"x********####"}, {"ü"}})
}

func TestHarnessRejectsSloppyEdits(t *testing.T) {
	var bb abi.BatchBuilder
	col := bb.AddColumn([]byte("v"), abi.TypeText, 0)
	bb.AddField(col, abi.KindString, false, []byte("abcdef"))
	cases := map[string]struct {
		hook func(b *Batch, e *Edits) error
		want string
	}{
		"overlap": {func(b *Batch, e *Edits) error {
			f := b.Field(0)
			e.ReplaceRange(f, 0, 3, nil)
			e.ReplaceRange(f, 2, 2, nil)
			return nil
		}, "edits overlap at byte 2"},
		"replace and range": {func(b *Batch, e *Edits) error {
			f := b.Field(0)
			e.Replace(f, nil)
			e.Mask(f, 0, 1, '*')
			return nil
		}, "overlaps another edit"},
		"undeclared in-place write": {func(b *Batch, e *Edits) error {
			b.Field(0).Value[1] = 'X'
			return nil
		}, "field 0 value byte 1) changed without an InPlace"},
		"range out of value": {func(b *Batch, e *Edits) error {
			e.Mask(b.Field(0), 4, 3, '*')
			return nil
		}, "records hook: panic: sluice: Mask: range [4:7] out of field 0 value of length 6"},
		"drop out of range": {func(b *Batch, e *Edits) error {
			e.Drop(1)
			return nil
		}, "Drop: record 1 out of range [0:1]"},
		"error": {func(b *Batch, e *Edits) error {
			return errors.New("cannot decide")
		}, "records: failed: records hook: cannot decide"},
		"runtime panic": {func(b *Batch, e *Edits) error {
			_ = b.Record(0).Field(3)
			return nil
		}, "Record.Field: index 3 out of range [0:1]"},
		"nil map write": {func(b *Batch, e *Edits) error {
			var m map[string]int
			m["x"] = 1
			return nil
		}, "records hook: panic: assignment to entry in nil map"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := NewHarness(Plugin{Records: c.hook}).Records(&bb)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestHarnessGrowsOnNoSpace(t *testing.T) {
	var bb abi.BatchBuilder
	col := bb.AddColumn([]byte("v"), abi.TypeText, 0)
	for range 4 {
		bb.BeginRecord()
		bb.AddField(col, abi.KindString, false, []byte("x"))
	}
	big := strings.Repeat("y", 100<<10) // 4 x 100 KiB does not fit 64 KiB
	calls := 0
	h := NewHarness(Plugin{Records: func(b *Batch, e *Edits) error {
		calls++
		for f := range b.Fields() {
			e.ReplaceString(f, big)
		}
		return nil
	}})
	got, err := h.Records(&bb)
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || len(got) != 4 || string(got[3][0].Data) != big {
		t.Fatalf("calls %d, records %d", calls, len(got))
	}
}

func TestHarnessCommandAndPlan(t *testing.T) {
	h := NewHarness(maskingPlugin)
	var cb abi.CommandBuilder
	for _, c := range []struct {
		tag, where string
		want       Verdict
	}{
		{"SELECT", "true", Allow()},
		{"DELETE", "false", Block("DELETE without WHERE")},
		{"DROP TABLE", "", RequireApproval("DROP TABLE needs a reviewer")},
	} {
		cb.Reset()
		cb.Set(abi.CommandSQL, "...", "ci", "db")
		cb.AddFact(0, "tag", c.tag)
		if c.where != "" {
			cb.AddFact(0, "where", c.where)
		}
		v, err := h.Command(&cb)
		if err != nil || v != c.want {
			t.Errorf("%s: got %+v %v, want %+v", c.tag, v, err, c.want)
		}
	}

	var bb abi.BatchBuilder
	for _, name := range []string{"id", "email", "secret", "token"} {
		bb.AddColumn([]byte(name), abi.TypeText, 0)
	}
	plan, err := h.Plan(&bb)
	if err != nil {
		t.Fatal(err)
	}
	want := []Action{Ignore, Inspect, Redact, Inspect}
	for i := range want {
		if plan[i] != want[i] {
			t.Errorf("plan[%d] = %v, want %v", i, plan[i], want[i])
		}
	}
}

func TestUnimplementedHooksFail(t *testing.T) {
	h := NewHarness(Plugin{Records: maskingPlugin.Records})
	var cb abi.CommandBuilder
	cb.Set(abi.CommandShell, "ls", "", "")
	if _, err := h.Command(&cb); err == nil || !strings.Contains(err.Error(), "command: hook not implemented") {
		t.Errorf("command: %v", err)
	}
	var bb abi.BatchBuilder
	bb.AddColumn([]byte("a"), abi.TypeText, 0)
	if _, err := h.Plan(&bb); err == nil || !strings.Contains(err.Error(), "plan: hook not implemented") {
		t.Errorf("plan: %v", err)
	}
	if err := h.SelfTest(); err == nil || !strings.Contains(err.Error(), "selftest: hook not implemented") {
		t.Errorf("selftest: %v", err)
	}
	if err := h.Init([]byte(`{"anything": 1}`)); err != nil {
		t.Errorf("nil Init must accept any config: %v", err)
	}

	// Nothing registered: every hook says how to fix it.
	var d dispatcher
	arena := make([]byte, 1024)
	for name, hook := range map[string]hookFunc{"init": (*dispatcher).init, "command": (*dispatcher).command,
		"records": (*dispatcher).records, "plan": (*dispatcher).plan} {
		if st := hook(&d, arena, 0, 0); st != abi.StatusFailed {
			t.Errorf("%s: status %v", name, st)
		}
		msg, _ := abi.ParseOutput(arena)
		if !strings.HasPrefix(string(msg), name+": no plugin registered: call sluice.Register from an init function") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
	if st, msg := d.selfTest(); st != abi.StatusFailed || !strings.Contains(msg, "no plugin registered") {
		t.Errorf("selftest: %v %q", st, msg)
	}
}

func TestBadInputAndRegions(t *testing.T) {
	d := dispatcher{p: maskingPlugin, set: true}
	arena := make([]byte, 256)
	copy(arena, "not a batch at all, not at all, no")
	if st := d.records(arena, 34, 40); st != abi.StatusBadInput {
		t.Fatalf("garbage batch: %v", st)
	}
	if msg, _ := abi.ParseOutput(arena[40:]); !strings.HasPrefix(string(msg), "records: abi: batch: header") {
		t.Fatalf("message %q", msg)
	}
	if st := d.command(arena, 34, 40); st != abi.StatusBadInput {
		t.Fatalf("garbage command: %v", st)
	}
	for _, c := range []struct{ inLen, outOff uint32 }{
		{34, 36},           // out_off not aligned
		{48, 40},           // output overlaps the input
		{8, 256},           // no room for the output header
		{8, 1 << 31},       // far outside the arena
		{1 << 31, 1 << 31}, // input outside the arena
	} {
		if st := d.records(arena, c.inLen, c.outOff); st != abi.StatusBadInput {
			t.Errorf("in_len %d out_off %d: %v", c.inLen, c.outOff, st)
		}
	}
}

func TestNoSpaceForVerdictAndPlan(t *testing.T) {
	d := dispatcher{set: true, p: Plugin{
		Command: func(*Command) Verdict { return Block(strings.Repeat("r", 100)) },
		Records: maskingPlugin.Records,
		Plan:    func(Column) Action { return Ignore },
	}}
	var cb abi.CommandBuilder
	cb.Set(abi.CommandSQL, "x", "", "")
	arena := make([]byte, 128)
	n := cb.Encode(arena)
	if st := d.command(arena, uint32(n), uint32(abi.AlignUp(n))); st != abi.StatusNoSpace {
		t.Errorf("command: %v", st)
	}
	var bb abi.BatchBuilder
	for i := range 100 {
		bb.AddColumn([]byte{byte('a' + i%26)}, abi.TypeText, 0)
	}
	arena = make([]byte, bb.SchemaSize()+16)
	n = bb.EncodeSchema(arena)
	if st := d.plan(arena, uint32(n), uint32(abi.AlignUp(n))); st != abi.StatusNoSpace {
		t.Errorf("plan: %v", st)
	}
}

func TestInvalidVerdictAndAction(t *testing.T) {
	h := NewHarness(Plugin{
		Command: func(*Command) Verdict { return Verdict{Decision: 7} },
		Records: maskingPlugin.Records,
		Plan:    func(Column) Action { return 9 },
	})
	var cb abi.CommandBuilder
	cb.Set(abi.CommandSQL, "x", "", "")
	if _, err := h.Command(&cb); err == nil || !strings.Contains(err.Error(), "unknown verdict 7") {
		t.Errorf("command: %v", err)
	}
	var bb abi.BatchBuilder
	bb.AddColumn([]byte("a"), abi.TypeText, 0)
	if _, err := h.Plan(&bb); err == nil || !strings.Contains(err.Error(), "column 0: unknown action 9") {
		t.Errorf("plan: %v", err)
	}
}

func TestInitAndSelfTest(t *testing.T) {
	var got string
	h := NewHarness(Plugin{
		Records: maskingPlugin.Records,
		Init: func(config []byte) error {
			var c struct{ Mask string }
			if err := jsonconfig.Decode(config, &c); err != nil {
				return err
			}
			got = c.Mask
			return nil
		},
		SelfTest: func() error { panic("boom") },
	})
	if err := h.Init([]byte(`{"mask": "##"}`)); err != nil || got != "##" {
		t.Fatalf("init: %v %q", err, got)
	}
	if err := h.Init([]byte(`{"maks": "##"}`)); err == nil || !strings.Contains(err.Error(), `init: failed: init hook: config: json: unknown field "maks"`) {
		t.Fatalf("init typo: %v", err)
	}
	if err := h.SelfTest(); err == nil || err.Error() != "selftest hook: panic: boom" {
		t.Fatalf("selftest: %v", err)
	}
}

func TestRegister(t *testing.T) {
	saved := registered
	defer func() { registered = saved }()
	registered = dispatcher{}
	mustPanic(t, "sluice: Register: plugin has neither a Command nor a Records hook", func() { Register(Plugin{}) })
	mustPanic(t, "sluice: Register: plugin has a Plan hook but no Records hook", func() {
		Register(Plugin{Command: maskingPlugin.Command, Plan: maskingPlugin.Plan})
	})
	Register(maskingPlugin)
	mustPanic(t, "sluice: Register called twice", func() { Register(maskingPlugin) })
	if got := strings.Join(maskingPlugin.Hooks(), ","); got != "command,records,plan" {
		t.Fatalf("Hooks() = %s", got)
	}
}

func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != want {
			t.Errorf("panic %v, want %q", r, want)
		}
	}()
	fn()
}

func TestFieldRecordLookup(t *testing.T) {
	var bb abi.BatchBuilder
	col := bb.AddColumn([]byte("c"), abi.TypeText, 0)
	// Records with 0, 2, 0, 0, 1, 0 fields.
	for _, n := range []int{0, 2, 0, 0, 1, 0} {
		bb.BeginRecord()
		for range n {
			bb.AddField(col, abi.KindString, false, []byte("v"))
		}
	}
	buf := make([]byte, bb.Size())
	bb.Encode(buf)
	ab, err := abi.ParseBatch(buf)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.reset(ab, buf)
	for i, want := range []int{1, 1, 4} {
		if got := b.Field(i).Record; got != want {
			t.Errorf("Field(%d).Record = %d, want %d", i, got, want)
		}
	}
	var iterated []int
	for f := range b.Fields() {
		iterated = append(iterated, f.Record)
	}
	if len(iterated) != 3 || iterated[0] != 1 || iterated[1] != 1 || iterated[2] != 4 {
		t.Errorf("Fields() records %v", iterated)
	}
}

func TestLogSink(t *testing.T) {
	var lines []string
	prev := SetLogger(func(level LogLevel, msg string) { lines = append(lines, itoa(int(level))+" "+msg) })
	defer SetLogger(prev)
	Debug("d")
	Info("i")
	Warn("w")
	Error("e")
	Log(LogError, "x")
	if got := strings.Join(lines, "|"); got != "0 d|1 i|2 w|3 e|3 x" {
		t.Fatalf("got %s", got)
	}
}

// FuzzDispatch feeds arbitrary inputs to every data hook of a plugin that
// walks everything the views offer: whatever ParseBatch/ParseCommand
// accept, the views must not panic on (a recovered panic would show up as
// StatusFailed, which a walking plugin never returns).
func FuzzDispatch(f *testing.F) {
	var bb abi.BatchBuilder
	buildUsers(&bb, 3)
	buf := make([]byte, bb.Size())
	bb.Encode(buf)
	f.Add(buf)
	var cb abi.CommandBuilder
	cb.Set(abi.CommandSQL, "DELETE FROM t", "id", "db")
	cb.AddFact(0, "where", "false")
	buf = make([]byte, cb.Size())
	cb.Encode(buf)
	f.Add(buf)
	walk := Plugin{
		Records: func(b *Batch, e *Edits) error {
			for c := range b.Columns() {
				_ = b.ColumnIndex(string(c.Name))
			}
			for r := range b.Records() {
				for f := range r.Fields() {
					if g := b.Field(f.Index); g.Record != r.Index {
						panic("record mismatch")
					}
					e.Mask(f, 0, len(f.Value)/2, '*')
				}
			}
			for range b.Findings() {
			}
			return nil
		},
		Command: func(c *Command) Verdict {
			for range c.Facts() {
			}
			_ = c.Has("where", "false")
			return Allow()
		},
		Plan: func(Column) Action { return Inspect },
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := dispatcher{p: walk, set: true}
		for _, hook := range []hookFunc{(*dispatcher).records, (*dispatcher).command, (*dispatcher).plan} {
			arena := make([]byte, abi.AlignUp(len(in))+4096)
			copy(arena, in)
			st := hook(&d, arena, uint32(len(in)), uint32(abi.AlignUp(len(in))))
			if st == abi.StatusFailed {
				msg, _ := abi.ParseOutput(arena[abi.AlignUp(len(in)):])
				t.Fatalf("failed: %s", msg)
			}
		}
	})
}

func TestPrepareRecords(t *testing.T) {
	var bb abi.BatchBuilder
	buildUsers(&bb, 128)
	run, err := NewHarness(maskingPlugin).PrepareRecords(&bb)
	if err != nil {
		t.Fatal(err)
	}
	if allocs := testing.AllocsPerRun(50, func() {
		if err := run(); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Fatalf("%v allocs per batch", allocs)
	}
	// A plugin that allocates per field is caught.
	var sink []string
	run, _ = NewHarness(Plugin{Records: func(b *Batch, e *Edits) error {
		sink = sink[:0]
		for f := range b.Fields() {
			sink = append(sink, string(f.Value))
		}
		return nil
	}}).PrepareRecords(&bb)
	if allocs := testing.AllocsPerRun(10, func() { run() }); allocs < 128 {
		t.Fatalf("allocating plugin: %v allocs per batch, want >= 128", allocs)
	}
}
