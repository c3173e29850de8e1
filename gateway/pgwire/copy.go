package pgwire

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// copyPlan is how sluice masks the output of a COPY ... TO STDOUT: the
// columns come from a Describe of the equivalent query (the COPY output
// itself carries no names), and each CopyData message, one row as
// PostgreSQL sends it (copyto.c: CopySendEndOfRow), is cut into fields
// by the statement's format options.
type copyPlan struct {
	describeSQL string // the query whose RowDescription names the columns
	csv         bool
	delim       byte
	quote       byte   // csv
	escape      byte   // csv
	null        string // the NULL marker as written
	header      bool
}

const copyDescribeStmt = "_sluice_copy_describe"

// planCopy reads a single COPY ... TO STDOUT statement. It refuses what
// it cannot mask: binary format, options it does not know.
func planCopy(sql string) (*copyPlan, error) {
	tree, err := pg.Parse(sql)
	if err != nil || len(tree.Stmts) != 1 {
		return nil, errors.New("COPY TO STDOUT must be the only statement of its query on a target with masking plugins")
	}
	cs := tree.Stmts[0].Stmt.GetCopyStmt()
	if cs == nil || cs.IsFrom || cs.Filename != "" || cs.IsProgram {
		return nil, errors.New("not a COPY TO STDOUT")
	}
	p := &copyPlan{delim: '\t', null: `\N`}
	var nullSet, delimSet, quoteSet, escapeSet bool
	for _, o := range cs.Options {
		d := o.GetDefElem()
		if d == nil {
			return nil, errors.New("unknown COPY option")
		}
		val := defString(d.Arg)
		switch d.Defname {
		case "format":
			switch strings.ToLower(val) {
			case "text":
			case "csv":
				p.csv = true
			default:
				return nil, fmt.Errorf("COPY format %s cannot be masked yet: use text or csv", val)
			}
		case "delimiter":
			if len(val) != 1 {
				return nil, errors.New("COPY delimiter must be one byte")
			}
			p.delim, delimSet = val[0], true
		case "null":
			p.null, nullSet = val, true
		case "header":
			switch strings.ToLower(val) {
			case "", "true", "on", "1":
				p.header = true
			case "false", "off", "0":
			default:
				return nil, fmt.Errorf("COPY header %s cannot be masked", val)
			}
		case "quote":
			if len(val) != 1 {
				return nil, errors.New("COPY quote must be one byte")
			}
			p.quote, quoteSet = val[0], true
		case "escape":
			if len(val) != 1 {
				return nil, errors.New("COPY escape must be one byte")
			}
			p.escape, escapeSet = val[0], true
		case "force_quote", "encoding":
			// Output quoting only; UTF8 is the only client encoding.
		default:
			return nil, fmt.Errorf("COPY option %s cannot be masked yet", d.Defname)
		}
	}
	if p.csv {
		if !delimSet {
			p.delim = ','
		}
		if !nullSet {
			p.null = ""
		}
		if !quoteSet {
			p.quote = '"'
		}
		if !escapeSet {
			p.escape = p.quote
		}
	}
	var stmt *pg.Node
	if cs.Query != nil {
		stmt = cs.Query
	} else {
		targets := []*pg.Node{pg.MakeResTargetNodeWithVal(pg.MakeColumnRefNode([]*pg.Node{pg.MakeAStarNode()}, 0), 0)}
		if len(cs.Attlist) > 0 {
			targets = targets[:0]
			for _, a := range cs.Attlist {
				targets = append(targets, pg.MakeResTargetNodeWithVal(pg.MakeColumnRefNode([]*pg.Node{pg.MakeStrNode(a.GetString_().GetSval())}, 0), 0))
			}
		}
		stmt = &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: &pg.SelectStmt{
			TargetList: targets,
			FromClause: []*pg.Node{{Node: &pg.Node_RangeVar{RangeVar: cs.Relation}}},
		}}}
	}
	p.describeSQL, err = pg.Deparse(&pg.ParseResult{Version: tree.Version, Stmts: []*pg.RawStmt{{Stmt: stmt}}})
	if err != nil {
		return nil, fmt.Errorf("COPY source: %v", err)
	}
	return p, nil
}

func defString(n *pg.Node) string {
	if n == nil {
		return ""
	}
	switch v := n.Node.(type) {
	case *pg.Node_String_:
		return v.String_.Sval
	case *pg.Node_Boolean:
		if v.Boolean.Boolval {
			return "true"
		}
		return "false"
	case *pg.Node_Integer:
		return fmt.Sprint(v.Integer.Ival)
	}
	return "?"
}

// copyField is one field of a COPY row: its raw text in the row and its
// value.
type copyField struct {
	raw   []byte
	value []byte
	null  bool
}

// splitRow cuts one row (one CopyData payload) into fields.
func (p *copyPlan) splitRow(row []byte, fields []copyField) ([]copyField, error) {
	fields = fields[:0]
	if len(row) == 0 || row[len(row)-1] != '\n' {
		return nil, errors.New("COPY row without its newline")
	}
	row = row[:len(row)-1]
	if p.csv {
		return p.splitCSV(row, fields)
	}
	for _, raw := range bytes.Split(row, []byte{p.delim}) {
		if string(raw) == p.null {
			fields = append(fields, copyField{raw: raw, null: true})
			continue
		}
		fields = append(fields, copyField{raw: raw, value: unescapeText(raw)})
	}
	return fields, nil
}

func (p *copyPlan) splitCSV(row []byte, fields []copyField) ([]copyField, error) {
	i := 0
	for {
		start := i
		if i < len(row) && row[i] == p.quote {
			var v []byte
			i++
			for {
				if i >= len(row) {
					return nil, errors.New("COPY CSV row with an unterminated quote")
				}
				c := row[i]
				if c == p.escape && i+1 < len(row) && (row[i+1] == p.quote || row[i+1] == p.escape) && (p.escape != p.quote || row[i+1] == p.quote) {
					v = append(v, row[i+1])
					i += 2
					continue
				}
				if c == p.quote {
					i++
					break
				}
				v = append(v, c)
				i++
			}
			if v == nil {
				v = []byte{}
			}
			fields = append(fields, copyField{raw: row[start:i], value: v})
		} else {
			for i < len(row) && row[i] != p.delim {
				if row[i] == p.quote {
					return nil, errors.New("COPY CSV row with a quote inside an unquoted field")
				}
				i++
			}
			raw := row[start:i]
			fields = append(fields, copyField{raw: raw, value: raw, null: string(raw) == p.null})
		}
		if i == len(row) {
			return fields, nil
		}
		if row[i] != p.delim {
			return nil, errors.New("COPY CSV row with text after a closing quote")
		}
		i++
	}
}

// appendField writes a field for a row being re-framed.
func (p *copyPlan) appendField(dst []byte, v []byte, null bool) []byte {
	if null {
		return append(dst, p.null...)
	}
	if p.csv {
		dst = append(dst, p.quote)
		for _, c := range v {
			if c == p.quote || c == p.escape {
				dst = append(dst, p.escape)
			}
			dst = append(dst, c)
		}
		return append(dst, p.quote)
	}
	start := len(dst)
	for _, c := range v {
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			if c == p.delim {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
	}
	if string(dst[start:]) == p.null {
		// A value that reads as the NULL marker (NULL 'x' and the value
		// x): a backslash before it keeps it a value (COPY compares the
		// raw field with the marker before unescaping).
		dst = append(dst[:start+1], dst[start:]...)
		dst[start] = '\\'
	}
	return dst
}

// unescapeText decodes COPY text format escapes (section "File Formats"
// of the COPY reference): \b \f \n \r \t \v, \digits (octal), \xhh, and
// a backslash before any other byte stands for that byte.
func unescapeText(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 == len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch c = raw[i]; c {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, '\v')
		case 'x':
			v, n := 0, 0
			for n < 2 && i+1 < len(raw) && isHex(raw[i+1]) {
				i++
				v = v*16 + hexVal(raw[i])
				n++
			}
			if n == 0 {
				out = append(out, 'x')
			} else {
				out = append(out, byte(v))
			}
		default:
			if c >= '0' && c <= '7' {
				v := int(c - '0')
				for n := 1; n < 3 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; n++ {
					i++
					v = v*8 + int(raw[i]-'0')
				}
				out = append(out, byte(v))
			} else {
				out = append(out, c)
			}
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
