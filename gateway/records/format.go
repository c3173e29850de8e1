package records

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format is an input format.
type Format uint8

const (
	// FormatText: each line is a record with one field, column "line",
	// whose value is the line without its "\n" or "\r\n". Text has no
	// escaping, so an edit that inserts a line break splits the line.
	FormatText Format = iota + 1
	// FormatJSON: a JSON text (RFC 8259), or several separated by
	// whitespace. A text that is an array with elements yields one record
	// per element, under columns `[]...`; dropping one removes it and its
	// comma. Any other text (object, scalar, empty array) is one record;
	// dropping it writes null in its place, so the output stays one JSON
	// text per input text. Each text is held and validated whole before
	// its first record is handed out.
	FormatJSON
	// FormatNDJSON: one JSON value per line (NDJSON, JSON Lines); a line of
	// only whitespace is a record without fields.
	FormatNDJSON
	// FormatCSV: RFC 4180 rows, CRLF or LF, with the header handling of
	// Options.CSVNoHeader. An empty line is a record without fields.
	FormatCSV
	// FormatLines: line by line, a line that is one JSON object is an
	// NDJSON record, any other line a FormatText record (column "line"),
	// for output that mixes the two (a command's stdout). Never a syntax
	// error: a line that is not JSON is text. The records' own format
	// says which each one is.
	FormatLines
)

// ParseFormat parses a format name: "text", "json", "ndjson" (or its
// synonym "jsonl"), "csv". Case is ignored. "auto" is not a format: the
// caller resolves it with Sniff.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "text":
		return FormatText, nil
	case "json":
		return FormatJSON, nil
	case "ndjson", "jsonl":
		return FormatNDJSON, nil
	case "csv":
		return FormatCSV, nil
	}
	return 0, fmt.Errorf("records: unknown format %q (want text, json, ndjson, jsonl or csv)", s)
}

func (f Format) String() string {
	switch f {
	case FormatText:
		return "text"
	case FormatJSON:
		return "json"
	case FormatNDJSON:
		return "ndjson"
	case FormatCSV:
		return "csv"
	case FormatLines:
		return "lines"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Sniff guesses the format of an input from its first bytes (a few KiB is
// plenty), for --format auto. It errs towards Text, which masks by pattern
// over whole lines, rather than claim a structure that is not there:
//
//  1. After a UTF-8 byte order mark and whitespace, a '{' or '[' means JSON
//     of some kind:
//     - the whole prefix is one JSON value: JSON (a one-line NDJSON stream
//     reads the same either way);
//     - the first line is one complete JSON value, every other complete
//     line is a JSON value or blank, and a second line starts with '{' or
//     '[': NDJSON;
//     - the prefix is a sequence of JSON values, the last possibly cut
//     off by the end of the prefix: JSON (pretty-printed documents);
//     - anything else (a log line such as "[INFO] ..."): Text.
//  2. Otherwise CSV (with the default ',' delimiter) when a header row and
//     at least one data row parse as RFC 4180, every row has the header's
//     number of fields (at least two), and the header names look like
//     names: unique, non-empty, starting with a letter or '_', made of
//     letters, digits, spaces and _-./()#, no space at either end. A header
//     must be there because the first row of a CSV input is not masked.
//     The last line of the prefix may be cut off and is ignored when it
//     does not fit.
//  3. Otherwise Text.
func Sniff(prefix []byte) Format {
	p := bytes.TrimPrefix(prefix, []byte("\xef\xbb\xbf"))
	i := skipSpace(p, 0)
	if i == len(p) {
		return FormatText
	}
	if p[i] == '{' || p[i] == '[' {
		return sniffJSON(p[i:])
	}
	if sniffCSV(p) {
		return FormatCSV
	}
	return FormatText
}

func sniffJSON(p []byte) Format {
	var t jsonTokenizer
	end, err := t.value(p, 0, 0, false)
	if err == nil && skipSpace(p, end) == len(p) {
		return FormatJSON
	}
	if isNDJSON(p) {
		return FormatNDJSON
	}
	// A sequence of values, the last one possibly truncated.
	for pos := 0; ; {
		if pos = skipSpace(p, pos); pos == len(p) {
			return FormatJSON
		}
		end, err := t.value(p, pos, 0, false)
		if err != nil {
			if je, ok := err.(*jsonError); ok && je.eof {
				return FormatJSON
			}
			return FormatText
		}
		if end < len(p) && !isDelimiter(p[end]) && !isDelimiter(p[end-1]) {
			return FormatText // "12ab": not two values
		}
		pos = end
	}
}

func isNDJSON(p []byte) bool {
	var t jsonTokenizer
	lines := 0
	for len(p) > 0 {
		line, rest, complete := bytes.Cut(p, nl)
		p = rest
		if skipSpace(line, 0) == len(line) {
			continue
		}
		lines++
		if lines == 2 {
			if c := line[skipSpace(line, 0)]; c != '{' && c != '[' {
				return false
			}
		}
		end, err := t.value(line, 0, 0, false)
		if err == nil && skipSpace(line, end) != len(line) {
			return false
		}
		if err != nil {
			// Only a last line cut off by the end of the prefix may fail,
			// and only by ending early.
			je, ok := err.(*jsonError)
			if complete || !ok || !je.eof {
				return false
			}
		}
	}
	return lines >= 2
}

func sniffCSV(p []byte) bool {
	rows, ok := sniffCSVRows(p)
	if !ok || len(rows) < 2 || len(rows[0]) < 2 {
		return false
	}
	seen := make(map[string]bool, len(rows[0]))
	for _, name := range rows[0] {
		if !csvNameLike(name) || seen[name] {
			return false
		}
		seen[name] = true
	}
	for _, row := range rows[1:] {
		if len(row) != len(rows[0]) {
			return false
		}
	}
	return true
}

// sniffCSVRows parses the complete lines of p, plus the last line if it
// parses and has the header's width. ok is false on a parse error in the
// complete lines.
func sniffCSVRows(p []byte) (rows [][]string, ok bool) {
	complete := p
	if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
		complete = p[:i+1]
	} else {
		complete = nil
	}
	parse := func(b []byte) ([][]string, bool) {
		var out [][]string
		rd := NewReader(bytes.NewReader(b), FormatCSV, Options{CSVNoHeader: true})
		for {
			rec, err := rd.Next()
			if err != nil {
				return out, errors.Is(err, io.EOF)
			}
			if len(rec.Fields) == 0 {
				continue
			}
			row := make([]string, len(rec.Fields))
			for i := range rec.Fields {
				row[i] = string(rec.Fields[i].Value)
			}
			out = append(out, row)
		}
	}
	rows, ok = parse(complete)
	if !ok {
		return nil, false
	}
	if len(complete) < len(p) {
		if all, ok := parse(p); ok && len(all) == len(rows)+1 && len(rows) > 0 && len(all[len(rows)]) == len(rows[0]) {
			rows = all
		}
	}
	return rows, true
}

func csvNameLike(name string) bool {
	if name == "" || strings.TrimSpace(name) != name || !utf8.ValidString(name) {
		return false
	}
	for i, r := range name {
		switch {
		case unicode.IsLetter(r) || r == '_':
		case i > 0 && (unicode.IsDigit(r) || strings.ContainsRune(" -./()#", r)):
		default:
			return false
		}
	}
	return true
}
