package records

import (
	"bytes"
	"io"
	"strconv"
)

// CSV follows RFC 4180 with the tolerances of encoding/csv, so that what
// one accepts the other reads the same way:
//   - rows end in CRLF (§2.1) or a bare LF; a lone CR is field data, except
//     at the very end of the input, where it ends the row;
//   - a field is quoted when it starts with '"' (§2.5); inside, "" is one
//     quote (§2.7) and CR, LF and the delimiter are data (§2.6);
//   - a quote in an unquoted field, or anything but the delimiter or a line
//     end after a closing quote, is an error (LazyQuotes off);
//   - an empty line is a record without fields (encoding/csv skips it);
//   - rows may have different numbers of fields.

type csvState uint8

const (
	csvFieldStart csvState = iota
	csvUnquoted
	csvQuoted
	csvQuoteInQuoted // a quote inside a quoted field: closing, or the first of ""
)

func (rd *reader) nextCSV() error {
	for {
		isHeader := !rd.headerDone && !rd.opts.CSVNoHeader
		err := rd.csvRow(!isHeader)
		if err == io.EOF && rd.pendLead != nil {
			// A header with no rows under it: hand it out as framing.
			rd.setRecord(nil, rd.tok.fields[:0], rd.line)
			rd.rec.lead, rd.pendLead = rd.pendLead, nil
			return nil
		}
		if err != nil {
			return err
		}
		if isHeader && len(rd.rec.Fields) > 0 {
			rd.headerDone = true
			for i := range rd.rec.Fields {
				if _, err := rd.schema.add(string(rd.rec.Fields[i].Value)); err != nil {
					return &SyntaxError{Format: FormatCSV, Line: rd.rec.Line, Msg: "header: " + err.Error() + " " + strconv.Itoa(rd.schema.max), Err: err}
				}
			}
			rd.header = append(rd.header[:0], rd.rec.Raw...)
			rd.pendLead = rd.header
			continue
		}
		if rd.pendLead != nil {
			rd.rec.lead, rd.pendLead = rd.pendLead, nil
		}
		return nil
	}
}

// csvRow reads one row into rd.rec. It is a resumable state machine over
// buf[r:w]: positions are relative to r, so the buffer may move when more
// input is read mid-row. With columns unset (the header row), fields get no
// columns.
func (rd *reader) csvRow(columns bool) error {
	comma := rd.opts.CSVComma
	// A UTF-8 byte order mark (Excel writes one) is kept in Raw but is not
	// part of the first field, so the header name reads "id", not "\ufeffid".
	p0 := rd.skipBOM()
	data := rd.buf[rd.r:rd.w]
	fields := rd.tok.fields[:0]
	var (
		p, fstart   = p0, p0
		state       = csvFieldStart
		quoted, esc bool
		nls, lastNL int // newlines inside quoted fields, offset after the last one
		fline, fcol int // where the current field starts
		end         = -1
	)
	errorAt := func(pos int, msg string) error {
		return &SyntaxError{Format: FormatCSV, Line: rd.line + nls, Byte: pos - lastNL, Msg: msg}
	}
	for end < 0 {
		if p >= len(data) || (data[p] == '\r' && p+1 >= len(data) && state != csvQuoted) {
			err := rd.more()
			if err == nil {
				data = rd.buf[rd.r:rd.w]
				continue
			}
			if err != io.EOF {
				return rd.fail(err, rd.line)
			}
			// End of input. A '\r' left at p ends the row, as in encoding/csv.
			switch state {
			case csvFieldStart:
				if len(data) == 0 {
					return io.EOF
				}
				if p > p0 { // after a delimiter: one more empty field
					fstart, quoted, esc = p, false, false
					fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				}
			case csvUnquoted, csvQuoteInQuoted:
				fields = appendCSVSpan(fields, fstart, p, quoted, esc)
			case csvQuoted:
				return &SyntaxError{Format: FormatCSV, Line: fline, Byte: fcol, Msg: "quoted field not terminated before end of input"}
			}
			end = len(data)
			break
		}
		c := data[p]
		switch state {
		case csvFieldStart:
			fstart, quoted, esc = p, false, false
			fline, fcol = rd.line+nls, p-lastNL
			switch {
			case c == '"':
				quoted, state = true, csvQuoted
				p++
			case c == comma:
				fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				p++
			case c == '\n':
				if p > p0 {
					fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				}
				end = p + 1
			case c == '\r' && data[p+1] == '\n':
				if p > p0 {
					fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				}
				end = p + 2
			default:
				state = csvUnquoted
				p++
			}
		case csvUnquoted:
			for p < len(data) && !rd.csvStop[data[p]] {
				p++
			}
			if p < len(data) {
				c = data[p]
			}
			switch {
			case p >= len(data):
			case c == comma:
				fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				p++
				state = csvFieldStart
			case c == '\n':
				fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				end = p + 1
			case c == '\r':
				if p+1 >= len(data) {
					continue // need the next byte to decide
				}
				if data[p+1] == '\n' {
					fields = appendCSVSpan(fields, fstart, p, quoted, esc)
					end = p + 2
				} else {
					p++
				}
			case c == '"':
				return errorAt(p, `bare quote in unquoted field (RFC 4180 §2.5: a field with quotes must be quoted)`)
			}
		case csvQuoted:
			i := bytes.IndexByte(data[p:], '"')
			seg := data[p:]
			if i >= 0 {
				seg = seg[:i]
			}
			if n := bytes.Count(seg, nl); n > 0 {
				nls += n
				lastNL = p + bytes.LastIndexByte(seg, '\n') + 1
			}
			if i < 0 {
				p = len(data)
				continue
			}
			p += i + 1
			state = csvQuoteInQuoted
		case csvQuoteInQuoted:
			switch {
			case c == '"':
				esc, state = true, csvQuoted
				p++
			case c == comma:
				fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				p++
				state = csvFieldStart
			case c == '\n':
				fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				end = p + 1
			case c == '\r' && data[p+1] == '\n':
				fields = appendCSVSpan(fields, fstart, p, quoted, esc)
				end = p + 2
			default:
				return errorAt(p, "invalid character "+quoteChar(c)+" after closing quote (RFC 4180 §2.7: a quote inside a quoted field is written \"\")")
			}
		}
	}

	raw := data[:end:end]
	// Values are set once the row is complete: the buffer no longer moves.
	scratch := rd.tok.scratch[:0]
	for i := range fields {
		f := &fields[i]
		tok := raw[f.start:f.end]
		switch {
		case f.quoted && f.decoded:
			n := len(scratch)
			scratch = appendCSVUnquoted(scratch, tok[1:len(tok)-1])
			f.Value = scratch[n:len(scratch):len(scratch)]
		case f.quoted:
			f.Value = tok[1 : len(tok)-1 : len(tok)-1]
		default:
			f.Value = tok[:len(tok):len(tok)]
		}
		if !columns {
			continue
		}
		if i >= rd.schema.Len() {
			if _, err := rd.schema.add(strconv.Itoa(i + 1)); err != nil {
				return &SyntaxError{Format: FormatCSV, Line: rd.line, Msg: err.Error() + " " + strconv.Itoa(rd.schema.max), Err: err}
			}
		}
		f.Column = i
	}
	rd.tok.scratch, rd.tok.fields = scratch, fields
	rd.setRecord(raw, fields, rd.line)
	rd.r += end
	rd.line += nls
	if raw[len(raw)-1] == '\n' {
		rd.line++
	}
	return nil
}

func appendCSVSpan(fields []Field, start, end int, quoted, decoded bool) []Field {
	return append(fields, Field{Kind: KindString, start: int32(start), end: int32(end), quoted: quoted, decoded: decoded})
}

// appendCSVUnquoted appends the contents of a quoted field with each ""
// turned into one quote.
func appendCSVUnquoted(dst, s []byte) []byte {
	for {
		i := bytes.IndexByte(s, '"')
		if i < 0 || i+1 >= len(s) {
			return append(dst, s...)
		}
		dst = append(dst, s[:i+1]...)
		s = s[i+2:]
	}
}

// csvNeedsQuotes reports whether an edited value must be quoted to read
// back as itself: it holds the delimiter, a quote, CR or LF (RFC 4180 §2.6),
// or starts or ends with a space or tab, which some readers trim.
func csvNeedsQuotes(v []byte, comma byte) bool {
	if len(v) == 0 {
		return false
	}
	if c := v[0]; c == ' ' || c == '\t' {
		return true
	}
	if c := v[len(v)-1]; c == ' ' || c == '\t' {
		return true
	}
	for _, c := range v {
		if c == comma || c == '"' || c == '\r' || c == '\n' {
			return true
		}
	}
	return false
}

// appendCSVField appends v as one field, quoted (with "" for each quote)
// when quote is set or the value needs it.
func appendCSVField(dst, v []byte, quote bool, comma byte) []byte {
	if !quote && !csvNeedsQuotes(v, comma) {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for {
		i := bytes.IndexByte(v, '"')
		if i < 0 {
			break
		}
		dst = append(dst, v[:i+1]...)
		dst = append(dst, '"')
		v = v[i+1:]
	}
	dst = append(dst, v...)
	return append(dst, '"')
}
