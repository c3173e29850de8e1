package pgwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/pluginhost"
	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/store"
)

// clientFlushAt is how much output the relay buffers for the client
// before writing it even while the backend has more.
const clientFlushAt = 64 << 10

// resultDesc is a RowDescription kept for masking.
type resultDesc struct {
	names []string
	cols  []column
}

// column is how one result column's values are masked and re-checked.
type column struct {
	oid    uint32
	binary bool
	kind   abi.Kind
	form   valueForm
}

// valueForm says what a masked value must look like to stay valid for
// the column's type and format.
type valueForm uint8

const (
	formText   valueForm = iota // any text: text types, enums, unknown types
	formNumber                  // text format of a numeric type
	formBool                    // text format of boolean
	formJSON                    // json, jsonb in text format
	formJSONB                   // jsonb in binary format: version byte 1 + JSON text
	formOpaque                  // anything else: a changed value becomes NULL
)

// Type OIDs (src/include/catalog/pg_type.dat).
const (
	oidBool, oidBytea, oidChar, oidName, oidInt8, oidInt2, oidInt4, oidText, oidOID = 16, 17, 18, 19, 20, 21, 23, 25, 26
	oidJSON, oidXML, oidFloat4, oidFloat8, oidUnknown                               = 114, 142, 700, 701, 705
	oidBpchar, oidVarchar, oidNumeric, oidJSONB, oidCitextFirstUser                 = 1042, 1043, 1700, 3802, 16384
)

func newDesc(m *pgproto3.RowDescription) *resultDesc {
	d := &resultDesc{names: make([]string, len(m.Fields)), cols: make([]column, len(m.Fields))}
	for i, f := range m.Fields {
		d.names[i] = string(f.Name)
		d.cols[i] = columnOf(f.DataTypeOID, f.Format == 1)
	}
	return d
}

func columnOf(oid uint32, binary bool) column {
	c := column{oid: oid, binary: binary, kind: abi.KindString, form: formOpaque}
	switch oid {
	case oidText, oidVarchar, oidBpchar, oidName, oidChar, oidUnknown, oidXML:
		c.form = formText // binary send of these is the text itself
	case oidJSON:
		c.form = formJSON
	case oidJSONB:
		c.form = formJSON
		if binary {
			c.form = formJSONB
		}
	case oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidNumeric:
		c.kind = abi.KindNumber
		if !binary {
			c.form = formNumber
		}
	case oidBool:
		c.kind = abi.KindBool
		if !binary {
			c.form = formBool
		}
	case oidBytea:
		c.kind = abi.KindBytes
	default:
		if oid >= oidCitextFirstUser {
			// Types created in the database (enums, citext, domains over
			// text) are text in text format.
			if !binary {
				c.form = formText
			}
		} else if !binary {
			c.form = formOpaque
		}
	}
	if binary && c.form == formOpaque {
		c.kind = abi.KindBytes
	}
	return c
}

// fix returns a masked value in a form valid for the column, or nil
// (NULL) when no masked value of that type is possible.
func (col column) fix(v []byte) []byte {
	switch col.form {
	case formText:
		return v
	case formNumber:
		if _, err := strconv.ParseFloat(string(v), 64); err == nil || strings.EqualFold(string(v), "NaN") {
			return v
		}
		return nil
	case formBool:
		switch string(v) {
		case "t", "f", "true", "false":
			return v
		}
		return nil
	case formJSON, formJSONB:
		if !json.Valid(v) {
			v, _ = json.Marshal(string(v))
		}
		if col.form == formJSONB {
			v = append([]byte{1}, v...)
		}
		return v
	}
	return nil
}

// relayer is the relay's state (the relay goroutine only).
type relayer struct {
	c       *conn
	portals map[string]*resultDesc
	cur     *resultDesc // simple query: the result being relayed

	chain       policy.Chain
	masker      *policy.Masker
	chainFresh  bool          // chain checked for the current result
	table       *policy.Table // from tablePool while a result is masked
	batch       *resultDesc
	batchBytes  int
	dropped     int // rows dropped by plugins in the current result
	vals        [][]byte
	recordLimit bool

	// Error, notice and notification texts go through a masker of their
	// own (its plan is per schema).
	msgMasker *policy.Masker
	msgTable  *policy.Table

	// COPY TO STDOUT being masked.
	copyDesc       *resultDesc // from sluice's Describe before the COPY
	copying        *copyPlan
	copyHeaderLeft bool
	copyRaw        [][]byte // the batched rows as the backend sent them
	copyFields     []copyField
	changed        []bool
	rowBuf         []byte

	chainErr error // the chain could not be had: fail closed

	// Rows relayed without masking, waiting to be recorded.
	passDesc *resultDesc
	passRows [][]any
}

// relay reads the backend until it ends and returns why ("" when the
// client side ended first).
func (c *conn) relay() string {
	r := &relayer{c: c, portals: map[string]*resultDesc{}}
	for {
		if c.fe.ReadBufferLen() == 0 && !c.brd.buffered() {
			// About to wait for the backend: what it sent so far goes out
			// now, masked, so interactive results are not delayed.
			if err := r.flushRows(); err != nil {
				return r.fail(err)
			}
			if err := c.flush(); err != nil {
				return ""
			}
		}
		msg, err := c.fe.Receive()
		if errors.Is(err, errBigRow) {
			if err := r.bigRow(c.brd.takeBig()); err != nil {
				return r.fail(err)
			}
			continue
		}
		if err != nil {
			if c.ctx.Err() != nil {
				return ""
			}
			c.e.log.Warn("pgwire: backend connection lost", "identity", c.identity, "err", err)
			r.flushRows()
			c.sendNow(errorResponse("FATAL", codeConnectionFailure, "sluice: the connection to the database server was lost"))
			return "backend connection lost"
		}
		if err := r.handle(msg); err != nil {
			return r.fail(err)
		}
		if c.outLen() >= clientFlushAt {
			if err := c.flush(); err != nil {
				return ""
			}
		}
	}
}

func (c *conn) outLen() int {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return len(c.out)
}

// fail ends the session on a relay error, telling the client.
func (r *relayer) fail(err error) string {
	r.c.e.log.Error("pgwire: ending the session", "identity", r.c.identity, "err", err)
	r.c.sendNow(errorResponse("FATAL", codeProtocolViolation, "sluice: "+err.Error()))
	r.c.cc.Close()
	r.c.bc.Close()
	return err.Error()
}

var errDesync = errors.New("response does not match the request")

func (r *relayer) send(m pgproto3.BackendMessage) {
	r.c.writeMsgs(m)
}

// sendUnless relays m unless it answers sluice's own message.
func (r *relayer) sendUnless(internal bool, m pgproto3.BackendMessage) {
	if !internal {
		r.send(m)
	}
}

func (r *relayer) handle(msg pgproto3.BackendMessage) error {
	switch m := msg.(type) {
	case *pgproto3.DataRow:
		return r.dataRow(m)
	case *pgproto3.CopyData:
		if r.copying != nil {
			return r.copyRow(m.Data)
		}
	}
	if err := r.flushRows(); err != nil {
		return err
	}
	q := &r.c.q
	h, ok := q.head()
	switch m := msg.(type) {
	case *pgproto3.ParseComplete:
		if !ok || h.op != 'P' {
			return fmt.Errorf("ParseComplete: %w", errDesync)
		}
		q.pop()
		r.sendUnless(h.internal, m)
	case *pgproto3.BindComplete:
		if !ok || h.op != 'B' {
			return fmt.Errorf("BindComplete: %w", errDesync)
		}
		q.pop()
		r.send(m)
	case *pgproto3.CloseComplete:
		if !ok || h.op != 'C' {
			return fmt.Errorf("CloseComplete: %w", errDesync)
		}
		if h.object == 'P' {
			delete(r.portals, h.name)
		}
		q.pop()
		r.sendUnless(h.internal, m)
	case *pgproto3.ParameterDescription:
		if !ok || h.op != 'D' {
			return fmt.Errorf("ParameterDescription: %w", errDesync)
		}
		r.sendUnless(h.internal, m)
	case *pgproto3.RowDescription:
		switch {
		case ok && h.op == 'D':
			if h.object == 'P' {
				r.portals[h.name] = newDesc(m)
			} else if h.internal {
				r.copyDesc = newDesc(m)
			}
			q.pop()
			if !h.internal {
				r.send(m)
			}
		case ok && h.op == 'Q':
			r.cur = newDesc(m)
			r.newResult()
			r.send(m)
		default:
			return fmt.Errorf("RowDescription: %w", errDesync)
		}
	case *pgproto3.NoData:
		if !ok || h.op != 'D' {
			return fmt.Errorf("NoData: %w", errDesync)
		}
		if h.object == 'P' {
			r.portals[h.name] = &resultDesc{}
		} else if h.internal {
			r.copyDesc = nil
		}
		q.pop()
		if !h.internal {
			r.send(m)
		}
	case *pgproto3.CommandComplete:
		tag := r.adjustTag(m.CommandTag)
		r.record(outputEvent{Text: string(tag)})
		r.send(&pgproto3.CommandComplete{CommandTag: tag})
		r.endResult(h, ok)
	case *pgproto3.EmptyQueryResponse:
		r.send(m)
		r.endResult(h, ok)
	case *pgproto3.PortalSuspended:
		r.send(m)
		r.endResult(h, ok)
	case *pgproto3.ErrorResponse:
		if ok && h.internal {
			// sluice's own Describe before a COPY failed; the COPY will
			// fail the same way and say so.
			r.copyDesc = nil
			if h.op != 'S' {
				q.dropUntilSync()
			}
			return nil
		}
		r.copying, r.copyDesc = nil, nil
		if ok && h.refuse != nil && m.Code == "42601" {
			r.send(h.refuse)
		} else {
			m = r.maskMessage(m)
			r.send(m)
			if m.Severity != "FATAL" && m.Severity != "PANIC" {
				r.record(outputEvent{Text: "ERROR " + m.Code + ": " + m.Message, Error: m.Code})
			}
		}
		r.cur = nil
		r.newResult()
		if ok && h.op != 'Q' && h.op != 'S' {
			q.dropUntilSync()
		}
	case *pgproto3.ReadyForQuery:
		if !ok || (h.op != 'Q' && h.op != 'S') {
			return fmt.Errorf("ReadyForQuery: %w", errDesync)
		}
		q.pop()
		r.cur = nil
		r.putTables()
		r.sendUnless(h.internal, m)
	case *pgproto3.CopyOutResponse:
		if r.masking() {
			d := r.copyDesc
			r.copyDesc = nil
			if r.chainErr != nil {
				return fmt.Errorf("masking policy unavailable: %v", r.chainErr)
			}
			if !ok || h.op != 'Q' || h.copy == nil || d == nil || m.OverallFormat != 0 || len(d.cols) != len(m.ColumnFormatCodes) {
				// Output sluice cannot name or cut must not pass unmasked.
				return errors.New("COPY output that sluice cannot mask on a target with masking plugins")
			}
			r.copying, r.copyHeaderLeft, r.cur = h.copy, h.copy.header, d
			r.newResult()
			r.chainFresh = true
		}
		r.send(m)
	case *pgproto3.CopyDone:
		r.copying = nil
		r.send(m)
	case *pgproto3.CopyBothResponse:
		return errors.New("CopyBothResponse: replication is not supported")
	case *pgproto3.NoticeResponse:
		r.send((*pgproto3.NoticeResponse)(r.maskMessage((*pgproto3.ErrorResponse)(m))))
	case *pgproto3.NotificationResponse:
		if r.masking() {
			payload := r.maskTexts([]string{"notification.payload"}, []string{m.Payload})
			m = &pgproto3.NotificationResponse{PID: m.PID, Channel: m.Channel, Payload: payload[0]}
		}
		r.send(m)
	case *pgproto3.CopyInResponse, *pgproto3.CopyData, *pgproto3.FunctionCallResponse:
		r.send(m)
	case *pgproto3.ParameterStatus:
		r.send(r.c.parameterStatus(m.Name, m.Value))
	default:
		return fmt.Errorf("unexpected backend message %T", msg)
	}
	return nil
}

// Columns of the record an error or notice is masked as.
var messageColumns = []string{"error.message", "error.detail", "error.hint", "error.where"}

// maskMessage masks what an error or notice may quote of the data (an
// input value in "invalid input syntax", a key in a unique violation) on
// a target with masking plugins: its texts go through the chain as one
// record (detectors such as pii-mask's find values in them), values
// quoted by data exceptions (class 22) are blanked, and the detail of
// integrity violations (class 23, "Key (email)=(...)") is withheld.
func (r *relayer) maskMessage(m *pgproto3.ErrorResponse) *pgproto3.ErrorResponse {
	if !r.masking() {
		return m
	}
	c := *m
	if strings.HasPrefix(c.Code, "22") {
		c.Message = blankQuoted(c.Message)
	}
	if strings.HasPrefix(c.Code, "23") && c.Detail != "" {
		c.Detail = "(withheld by sluice: it may quote column values)"
	}
	out := r.maskTexts(messageColumns, []string{c.Message, c.Detail, c.Hint, c.Where})
	c.Message, c.Detail, c.Hint, c.Where = out[0], out[1], out[2], out[3]
	return &c
}

// maskTexts runs texts through the chain as one record; a text the chain
// nullified becomes "".
func (r *relayer) maskTexts(columns, texts []string) []string {
	if r.chainErr != nil {
		out := make([]string, len(texts))
		for i, s := range texts {
			if s != "" {
				out[i] = "(withheld by sluice: masking policy unavailable)"
			}
		}
		return out
	}
	if r.msgTable == nil {
		r.msgTable = tablePool.Get().(*policy.Table)
	}
	t := r.msgTable
	t.Reset()
	t.Columns = append(t.Columns[:0], columns...)
	t.AddRecord()
	for i, s := range texts {
		t.AddField(i, abi.KindString, s == "", []byte(s))
	}
	if err := r.msgMasker.Mask(r.c.ctx, t); err != nil {
		r.c.e.log.Warn("pgwire: masking plugin failure on a message", "identity", r.c.identity, "err", err)
	}
	out := make([]string, len(texts))
	first, end := t.Fields(0)
	for f := first; f < end; f++ {
		v, null, _ := t.Field(f)
		if !null && !t.Dropped(0) {
			out[t.Column(f)] = string(v)
		}
	}
	return out
}

// blankQuoted replaces every "..." in a message by "...": PostgreSQL
// quotes the offending input value there.
func blankQuoted(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		if r == '"' {
			if !in {
				b.WriteString(`"..."`)
			}
			in = !in
			continue
		}
		if !in {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// endResult closes a result set: an Execute is answered; a simple query
// may run more statements.
func (r *relayer) endResult(h pending, ok bool) {
	if ok && h.op == 'E' {
		r.c.q.pop()
	}
	r.cur = nil
	r.newResult()
}

func (r *relayer) newResult() {
	r.chainFresh = false
	r.dropped = 0
}

// adjustTag keeps the row count of SELECT and FETCH right when plugins
// dropped rows.
func (r *relayer) adjustTag(tag []byte) []byte {
	if r.dropped == 0 {
		return slices.Clone(tag)
	}
	s := string(tag)
	for _, p := range []string{"SELECT ", "FETCH ", "MOVE ", "COPY "} {
		if n, err := strconv.Atoi(strings.TrimPrefix(s, p)); strings.HasPrefix(s, p) && err == nil {
			return []byte(p + strconv.Itoa(max(n-r.dropped, 0)))
		}
	}
	return slices.Clone(tag)
}

// masking reports whether the target's chain masks records now.
func (r *relayer) masking() bool {
	if !r.chainFresh {
		chain, err := r.c.e.o.Chain()
		r.chainErr = err
		if err != nil {
			// Fail closed: treat the target as masked; dataRow and
			// copy refuse, messages are withheld.
			chain = nil
		}
		if r.masker == nil || !slices.Equal([]*pluginhost.Plugin(chain), []*pluginhost.Plugin(r.chain)) {
			r.chain, r.masker, r.msgMasker = chain, policy.NewMasker(chain), policy.NewMasker(chain)
		}
		r.chainFresh = true
	}
	return r.chainErr != nil || r.masker.Active()
}

// desc is the description of the rows arriving now.
func (r *relayer) desc() *resultDesc {
	h, ok := r.c.q.head()
	switch {
	case ok && h.op == 'Q':
		return r.cur
	case ok && h.op == 'E':
		return r.portals[h.name]
	}
	return nil
}

func (r *relayer) dataRow(m *pgproto3.DataRow) error {
	if !r.masking() {
		r.send(m)
		r.recordPassed(m)
		return nil
	}
	if r.chainErr != nil {
		return fmt.Errorf("masking policy unavailable: %v", r.chainErr)
	}
	d := r.desc()
	if d == nil || len(d.cols) != len(m.Values) {
		// Rows sluice cannot name cannot be masked: fail closed.
		return errors.New("data rows without a matching row description on a target with masking plugins")
	}
	if r.batch != d {
		if err := r.flushRows(); err != nil {
			return err
		}
		r.batch = d
		r.getTable()
		if !slices.Equal(r.table.Columns, d.names) {
			r.table.Columns = append(r.table.Columns[:0], d.names...)
		}
	}
	t := r.table
	t.AddRecord()
	for i, v := range m.Values {
		col := d.cols[i]
		if col.form == formJSONB && len(v) > 0 {
			v = v[1:]
		}
		t.AddField(i, col.kind, v == nil, v)
		r.batchBytes += len(v)
	}
	if t.NumRecords() >= r.c.e.o.MaskBatchRows || r.batchBytes >= maskBatchBytes {
		return r.flushRows()
	}
	return nil
}

// copyRow batches one row of COPY output for masking.
func (r *relayer) copyRow(data []byte) error {
	if r.copyHeaderLeft {
		r.copyHeaderLeft = false
		r.send(&pgproto3.CopyData{Data: data})
		return nil
	}
	d := r.cur
	fields, err := r.copying.splitRow(data, r.copyFields)
	if err != nil {
		return err
	}
	r.copyFields = fields
	if len(fields) != len(d.cols) {
		return fmt.Errorf("COPY row of %d fields for %d columns", len(fields), len(d.cols))
	}
	if r.batch != d {
		if err := r.flushRows(); err != nil {
			return err
		}
		r.batch = d
		r.getTable()
		r.table.Columns = append(r.table.Columns[:0], d.names...)
	}
	t := r.table
	t.AddRecord()
	for i, f := range fields {
		t.AddField(i, d.cols[i].kind, f.null, f.value)
	}
	r.copyRaw = append(r.copyRaw, bytes.Clone(data))
	r.batchBytes += len(data)
	if t.NumRecords() >= r.c.e.o.MaskBatchRows || r.batchBytes >= maskBatchBytes {
		return r.flushRows()
	}
	return nil
}

// copyOut re-frames row i of a masked COPY batch: as the backend sent it
// when nothing changed, else with the changed fields re-encoded.
func (r *relayer) copyOut(i int) {
	raw := r.copyRaw[i]
	anyChanged := false
	for _, ch := range r.changed {
		anyChanged = anyChanged || ch
	}
	if !anyChanged {
		r.c.out = encode(r.c.out, &pgproto3.CopyData{Data: raw})
		return
	}
	p := r.copying
	fields, _ := p.splitRow(raw, r.copyFields)
	r.copyFields = fields
	b := r.rowBuf[:0]
	for j, f := range fields {
		if j > 0 {
			b = append(b, p.delim)
		}
		if r.changed[j] {
			b = p.appendField(b, r.vals[j], r.vals[j] == nil)
		} else {
			b = append(b, f.raw...)
		}
	}
	b = append(b, '\n')
	r.rowBuf = b
	r.c.out = encode(r.c.out, &pgproto3.CopyData{Data: b})
}

// tablePool holds the tables and their value arenas (64 KiB chunks)
// between results, so an idle connection holds none.
var tablePool = sync.Pool{New: func() any { return new(policy.Table) }}

func (r *relayer) getTable() {
	if r.table == nil {
		r.table = tablePool.Get().(*policy.Table)
		r.table.Reset()
	}
}

// putTables returns the tables when the session is idle (ReadyForQuery):
// every batch was flushed before.
func (r *relayer) putTables() {
	for _, t := range []**policy.Table{&r.table, &r.msgTable} {
		if *t != nil {
			(*t).Reset()
			(*t).Columns = (*t).Columns[:0]
			tablePool.Put(*t)
			*t = nil
		}
	}
	r.batch = nil
}

// recordPassed keeps a row relayed as is (no masking plugin) for the
// recording, within the session's budget.
func (r *relayer) recordPassed(m *pgproto3.DataRow) {
	if r.recordBudget(len(r.passRows)+1) <= len(r.passRows) {
		return
	}
	d := r.desc()
	if d == nil || len(d.cols) != len(m.Values) {
		return
	}
	if d != r.passDesc {
		r.flushPassed()
		r.passDesc = d
	}
	row := make([]any, len(m.Values))
	for i, v := range m.Values {
		row[i] = recordValue(d.cols[i], v)
	}
	r.passRows = append(r.passRows, row)
	if len(r.passRows) >= r.c.e.o.MaskBatchRows {
		r.flushPassed()
	}
}

func (r *relayer) flushPassed() {
	if len(r.passRows) > 0 {
		r.recordRows(r.passDesc, r.passRows)
		r.passRows = r.passRows[:0]
	}
}

// flushRows masks the batched rows, re-frames them as DataRows for the
// client and records them.
func (r *relayer) flushRows() error {
	r.flushPassed()
	t := r.table
	if t == nil {
		return nil
	}
	n := t.NumRecords()
	if n == 0 {
		return nil
	}
	d := r.batch
	if err := r.masker.Mask(r.c.ctx, t); err != nil {
		r.c.e.log.Warn("pgwire: masking plugin failure", "identity", r.c.identity, "err", err, "fail_closed", policy.FailedClosed(err))
	}
	var rec [][]any
	recordN := r.recordBudget(n)
	r.c.wmu.Lock()
	for i := range n {
		if t.Dropped(i) {
			r.dropped++
			continue
		}
		first, end := t.Fields(i)
		r.vals, r.changed = r.vals[:0], r.changed[:0]
		var row []any
		if len(rec) < recordN {
			row = make([]any, 0, end-first)
		}
		for f := first; f < end; f++ {
			v, null, changed := t.Field(f)
			col := d.cols[t.Column(f)]
			r.changed = append(r.changed, changed)
			switch {
			case null:
				v = nil
			case changed:
				v = col.fix(v)
				if v != nil && len(v) == 0 {
					v = []byte{}
				}
			case col.form == formJSONB:
				v = append([]byte{1}, v...)
			case v == nil:
				v = []byte{}
			}
			r.vals = append(r.vals, v)
			if row != nil {
				row = append(row, recordValue(col, v))
			}
		}
		if r.copying != nil {
			r.copyOut(i)
		} else {
			r.c.out = encode(r.c.out, &pgproto3.DataRow{Values: r.vals})
		}
		if row != nil {
			rec = append(rec, row)
		}
	}
	r.c.wmu.Unlock()
	t.Reset()
	r.batchBytes = 0
	clear(r.copyRaw)
	r.copyRaw = r.copyRaw[:0]
	if len(rec) > 0 {
		r.recordRows(d, rec)
	}
	return nil
}

// recordBudget is how many of n rows may still be recorded.
func (r *relayer) recordBudget(n int) int {
	limit := r.c.e.o.MaxRecordedRows
	if limit < 0 {
		return 0
	}
	left := limit - r.c.recordedRows
	if left <= 0 {
		if !r.recordLimit {
			r.recordLimit = true
			r.record(outputEvent{Text: fmt.Sprintf("(row recording stopped: %d rows recorded, the session's limit)", limit)})
		}
		return 0
	}
	return min(n, left)
}

// recordRows stores masked rows: readable text for replay, and the
// values.
func (r *relayer) recordRows(d *resultDesc, rows [][]any) {
	r.c.recordedRows += len(rows)
	var b strings.Builder
	b.WriteString(strings.Join(d.names, " | "))
	for _, row := range rows {
		b.WriteByte('\n')
		for i, v := range row {
			if i > 0 {
				b.WriteString(" | ")
			}
			if v == nil {
				b.WriteString("NULL")
			} else {
				fmt.Fprint(&b, v)
			}
		}
	}
	r.record(outputEvent{Text: b.String(), Columns: d.names, Rows: rows})
}

func recordValue(col column, v []byte) any {
	switch {
	case v == nil:
		return nil
	case col.binary && col.form == formOpaque:
		return fmt.Sprintf("(binary, %d bytes)", len(v))
	case col.form == formJSONB:
		return string(v[1:])
	}
	return string(v)
}

// outputEvent is the data of an output event: a command tag, an error,
// or recorded rows (text for replay, and the values). A struct, not a
// map: encoding/json sorts a map's keys, per statement.
type outputEvent struct {
	Text    string   `json:"text"`
	Error   string   `json:"error,omitempty"`
	Columns []string `json:"columns,omitempty"`
	Rows    [][]any  `json:"rows,omitempty"`
}

func (r *relayer) record(v outputEvent) {
	r.c.sess.Append(store.KindOutput, mustJSON(v))
}
