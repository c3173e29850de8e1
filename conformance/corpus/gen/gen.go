// Package gen generates the labelled PII corpus: NDJSON, CSV and text
// files in which every value that matters is labelled with its entity type
// (or "none" for a look-alike), its exact bytes and its byte offset.
//
// The corpus is a pure function of the seed (math/rand/v2 PCG), so it is
// generated at test time instead of committed; sample/ holds its first
// records for readers. See ../README.md.
package gen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Seed is the corpus's fixed seed.
const Seed uint64 = 0x51C3_2026

// Seg is a piece of a field's value: literal text (Label < 0) or a
// labelled value (an index into Corpus.Labels).
type Seg struct {
	Text  string
	Label int
}

// Field is one field of a record as sluice sees it: a JSON leaf (Name is
// its dotted path), a CSV cell (its header) or a text line ("line").
type Field struct {
	Name   string
	Segs   []Seg
	Number bool // a JSON number, not a string
}

// Text is the field's value.
func (f *Field) Text() string {
	var b strings.Builder
	for _, s := range f.Segs {
		b.WriteString(s.Text)
	}
	return b.String()
}

// Decompose splits a version of the field's value in which only the
// labelled values may have changed into those values' new text: the
// literal text around them must be intact, and each value takes the
// shortest text that lets the rest match (like a lazy regexp group). ok is
// false when the literal text changed.
func (f *Field) Decompose(s string) (vals []string, ok bool) {
	return decompose(f.Segs, s, nil)
}

func decompose(segs []Seg, s string, vals []string) ([]string, bool) {
	if len(segs) == 0 {
		return vals, s == ""
	}
	if segs[0].Label == -1 {
		if !strings.HasPrefix(s, segs[0].Text) {
			return nil, false
		}
		return decompose(segs[1:], s[len(segs[0].Text):], vals)
	}
	if len(segs) == 1 {
		return append(vals, s), true
	}
	for n := 0; n <= len(s); n++ {
		if segs[1].Label == -1 {
			// skip to the next place the following literal starts
			i := strings.Index(s[n:], segs[1].Text)
			if i < 0 {
				return nil, false
			}
			n += i
		}
		if v, ok := decompose(segs[1:], s[n:], append(vals, s[:n])); ok {
			return v, true
		}
	}
	return nil, false
}

// Record is one record: an NDJSON line, a CSV row, a text line.
type Record struct {
	Line       int // 1-based line in the file
	Start, End int // byte range in the file, line end included
	Fields     []Field
}

// File is one corpus file.
type File struct {
	Name    string
	Format  string // ndjson, csv, text (sluice mask --format)
	Data    []byte
	Records []Record
}

// Label is one labelled value.
type Label struct {
	ID     int    `json:"id"`
	File   string `json:"file"`
	Format string `json:"format"`
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Offset int    `json:"offset"` // byte offset in the file
	Type   string `json:"type"`   // entity type or "none"
	Kind   string `json:"kind"`   // variant (card-spaced, uuid, ...)
	// Resembles is, for a look-alike, the entity type it is most easily
	// mistaken for ("" when none in particular).
	Resembles string `json:"resembles,omitempty"`
	Value     string `json:"value"`
}

// Corpus is the generated corpus.
type Corpus struct {
	Seed   uint64
	Files  []*File
	Labels []Label
}

type item struct {
	spec  *kindSpec
	value string
}

type builder struct {
	r     *rand.Rand
	queue []item
	c     *Corpus
	specs map[string]*kindSpec
}

func (b *builder) take() (item, bool) {
	if len(b.queue) == 0 {
		return item{}, false
	}
	it := b.queue[0]
	b.queue = b.queue[1:]
	return it, true
}

// extra makes a look-alike outside the quotas (record timestamps).
func (b *builder) extra(kind string) item {
	s := b.specs[kind]
	return item{s, s.Gen(b.r)}
}

// label adds a label for it (file, line and offset are set when the
// record is written) and returns its segment.
func (b *builder) label(it item) Seg {
	id := len(b.c.Labels)
	b.c.Labels = append(b.c.Labels, Label{ID: id, Type: it.spec.Type, Kind: it.spec.Kind, Resembles: it.spec.Resembles, Value: it.value})
	return Seg{Text: it.value, Label: id}
}

func lit(s string) Seg { return Seg{Text: s, Label: -1} }

// sentence embeds items in free text, each in a context of its kind.
func (b *builder) sentence(items ...item) []Seg {
	for try := 0; ; try++ {
		if try == 1000 {
			panic(fmt.Sprintf("gen: cannot embed %v in a sentence", items))
		}
		var segs []Seg
		var vals []string
		for i, it := range items {
			if i > 0 {
				segs = append(segs, lit(pick(b.r, []string{"; ", " | ", ", then "})))
			}
			tpl := pick(b.r, it.spec.Templates)
			if b.r.IntN(8) == 0 {
				tpl = pick(b.r, generic)
			}
			before, after, _ := strings.Cut(tpl, "{}")
			if before != "" {
				segs = append(segs, lit(before))
			}
			segs = append(segs, Seg{Text: it.value, Label: -2})
			vals = append(vals, it.value)
			if after != "" {
				segs = append(segs, lit(after))
			}
		}
		// Adjacent literals merge; the field must decompose back into
		// exactly its values, or scoring could not tell them apart.
		segs = mergeLits(segs)
		f := Field{Segs: segs}
		if got, ok := f.Decompose(f.Text()); ok && equal(got, vals) {
			n := 0
			for i := range segs {
				if segs[i].Label == -2 {
					segs[i] = b.label(items[n])
					n++
				}
			}
			return segs
		}
	}
}

func mergeLits(segs []Seg) []Seg {
	var out []Seg
	for _, s := range segs {
		if s.Label == -1 && len(out) > 0 && out[len(out)-1].Label == -1 {
			out[len(out)-1].Text += s.Text
			continue
		}
		out = append(out, s)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Generate builds the corpus from a seed.
func Generate(seed uint64) *Corpus {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	b := &builder{r: r, c: &Corpus{Seed: seed}, specs: map[string]*kindSpec{}}
	for i := range kinds {
		s := &kinds[i]
		b.specs[s.Kind] = s
		for range s.Quota {
			b.queue = append(b.queue, item{s, s.Gen(r)})
		}
	}
	r.Shuffle(len(b.queue), func(i, j int) { b.queue[i], b.queue[j] = b.queue[j], b.queue[i] })

	nd := &File{Name: "corpus.ndjson", Format: "ndjson"}
	js := &File{Name: "corpus.json", Format: "json", Data: []byte("[")}
	cs := &File{Name: "corpus.csv", Format: "csv"}
	tx := &File{Name: "corpus.txt", Format: "text"}
	cs.Data = append(cs.Data, strings.Join(csvHeader, ",")+"\n"...)
	for len(b.queue) > 0 {
		switch n := r.IntN(100); {
		case n < 30:
			b.jsonRecord(nd, false)
		case n < 45:
			b.jsonRecord(js, true)
		case n < 70:
			b.csvRecord(cs)
		default:
			b.textRecord(tx)
		}
	}
	js.Data = append(js.Data, "\n]\n"...)
	b.c.Files = []*File{nd, js, cs, tx}
	return b.c
}

// ---- NDJSON ----

var noteKeys = []string{"note", "msg", "comment", "description"}

func (b *builder) jsonRecord(f *File, pretty bool) {
	var fields []Field
	fields = append(fields, Field{Name: "id", Segs: []Seg{lit(strconv.Itoa(len(f.Records) + 1))}, Number: true})
	if b.r.IntN(2) == 0 {
		fields = append(fields, Field{Name: "ts", Segs: []Seg{b.label(b.extra("epoch"))}, Number: true})
	} else {
		fields = append(fields, Field{Name: "ts", Segs: []Seg{b.label(b.extra("timestamp"))}})
	}
	if b.r.IntN(3) == 0 {
		fields = append(fields, Field{Name: "level", Segs: []Seg{lit(pick(b.r, []string{"info", "warn", "debug"}))}})
	}
	fields = append(fields,
		Field{Name: "service", Segs: []Seg{lit(pick(b.r, []string{"checkout", "billing-api", "auth", "crm-sync", "edge-proxy"}))}},
		Field{Name: "region", Segs: []Seg{lit(pick(b.r, []string{"eu-west-1", "us-east-2", "ap-south-1"}))}})
	prefix := ""
	if b.r.IntN(4) == 0 {
		prefix = pick(b.r, []string{"customer.", "payment.", "event.", "data."})
	}
	used := map[string]bool{"id": true, "ts": true, "level": true, "service": true, "region": true}
	for range 2 + b.r.IntN(2) {
		it, ok := b.take()
		if !ok {
			break
		}
		key := pick(b.r, it.spec.Keys)
		if b.r.IntN(6) == 0 {
			key = pick(b.r, []string{"value", "ref", "data", "attr"})
		}
		for n := 2; used[prefix+key]; n++ {
			key = strings.TrimRight(key, "_0123456789") + "_" + strconv.Itoa(n)
		}
		used[prefix+key] = true
		num := (it.spec.Kind == "epoch" || it.spec.Kind == "epoch-ms") && b.r.IntN(2) == 0
		fields = append(fields, Field{Name: prefix + key, Segs: []Seg{b.label(it)}, Number: num})
	}
	if b.r.IntN(10) < 7 {
		var items []item
		for range 1 + b.r.IntN(2) {
			if it, ok := b.take(); ok {
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			fields = append(fields, Field{Name: pick(b.r, noteKeys), Segs: b.sentence(items...)})
		}
	}

	// Write: a nested prefix opens an object around its keys. Pretty
	// records are elements of the array of corpus.json, two-space indented.
	var buf bytes.Buffer
	nl := func(depth int) {
		if pretty {
			buf.WriteByte('\n')
			buf.WriteString(strings.Repeat("  ", depth))
		}
	}
	colon := ":"
	if pretty {
		colon = ": "
		if len(f.Records) > 0 {
			buf.WriteByte(',')
		}
		nl(1)
	}
	lead := buf.Len()
	buf.WriteByte('{')
	open := ""
	offsets := map[int]int{}
	for i, fl := range fields {
		obj, key, nested := strings.Cut(fl.Name, ".")
		if !nested {
			key, obj = obj, ""
		}
		if open != "" && obj != open {
			nl(2)
			buf.WriteByte('}')
			open = ""
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		if obj != "" && obj != open {
			nl(2)
			fmt.Fprintf(&buf, "%q%s{", obj, colon)
			open = obj
		}
		if open != "" {
			nl(3)
		} else {
			nl(2)
		}
		fmt.Fprintf(&buf, "%q%s", key, colon)
		if !fl.Number {
			buf.WriteByte('"')
		}
		for _, s := range fl.Segs {
			mustRaw(s.Text)
			if s.Label >= 0 {
				offsets[s.Label] = buf.Len()
			}
			buf.WriteString(s.Text)
		}
		if !fl.Number {
			buf.WriteByte('"')
		}
	}
	if open != "" {
		nl(2)
		buf.WriteByte('}')
	}
	nl(1)
	buf.WriteByte('}')
	if !pretty {
		buf.WriteByte('\n')
	}
	if !json.Valid(buf.Bytes()[lead:]) {
		panic("gen: invalid JSON record: " + buf.String())
	}
	b.add(f, fields, buf.Bytes(), lead, offsets)
}

// mustRaw panics if s would need escaping in a JSON string.
func mustRaw(s string) {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			panic(fmt.Sprintf("gen: %q needs JSON escaping", s))
		}
	}
}

// add appends a record's bytes to f and fixes its labels' positions;
// data[:lead] is framing before the record (a separating comma).
func (b *builder) add(f *File, fields []Field, data []byte, lead int, offsets map[int]int) {
	before := bytes.Count(f.Data, []byte{'\n'}) + 1
	rec := Record{Line: before + bytes.Count(data[:lead], []byte{'\n'}), Start: len(f.Data), Fields: fields}
	for id, off := range offsets {
		l := &b.c.Labels[id]
		l.File, l.Format, l.Line, l.Offset = f.Name, f.Format, before+bytes.Count(data[:off], []byte{'\n'}), rec.Start+off
		for _, fl := range fields {
			for _, s := range fl.Segs {
				if s.Label == id {
					l.Field = fl.Name
				}
			}
		}
	}
	f.Data = append(f.Data, data...)
	rec.End = len(f.Data)
	f.Records = append(f.Records, rec)
}

// ---- CSV ----

var csvHeader = []string{"id", "created_at", "value", "reference", "note"}

func (b *builder) csvRecord(f *File) {
	fields := []Field{
		{Name: "id", Segs: []Seg{lit(strconv.Itoa(len(f.Records) + 1))}},
		{Name: "created_at", Segs: []Seg{b.label(b.extra(pick(b.r, []string{"timestamp", "timestamp-log", "date"})))}},
	}
	for _, col := range []string{"value", "reference"} {
		if it, ok := b.take(); ok {
			fields = append(fields, Field{Name: col, Segs: []Seg{b.label(it)}})
		} else {
			fields = append(fields, Field{Name: col, Segs: []Seg{lit("")}})
		}
	}
	var items []item
	for range 1 + b.r.IntN(2) {
		if it, ok := b.take(); ok {
			items = append(items, it)
		}
	}
	if len(items) > 0 {
		fields = append(fields, Field{Name: "note", Segs: b.sentence(items...)})
	} else {
		fields = append(fields, Field{Name: "note", Segs: []Seg{lit("n/a")}})
	}
	var buf bytes.Buffer
	offsets := map[int]int{}
	for i, fl := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		text := fl.Text()
		if strings.Contains(text, `"`) || strings.ContainsAny(text, "\r\n") {
			panic("gen: CSV value needs escaping: " + text)
		}
		quote := strings.Contains(text, ",")
		if quote {
			buf.WriteByte('"')
		}
		for _, s := range fl.Segs {
			if s.Label >= 0 {
				offsets[s.Label] = buf.Len()
			}
			buf.WriteString(s.Text)
		}
		if quote {
			buf.WriteByte('"')
		}
	}
	buf.WriteByte('\n')
	b.add(f, fields, buf.Bytes(), 0, offsets)
}

// ---- text ----

func (b *builder) textRecord(f *File) {
	var segs []Seg
	if b.r.IntN(3) > 0 {
		segs = append(segs, b.label(b.extra(pick(b.r, []string{"timestamp", "timestamp-log"}))),
			lit(" "+pick(b.r, []string{"INFO", "WARN", "DEBUG", "ERROR"})+" "+pick(b.r, []string{"api", "billing", "auth", "worker", "edge"})+": "))
	}
	var items []item
	for range 1 + b.r.IntN(2) {
		if it, ok := b.take(); ok {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		segs = append(segs, lit("heartbeat ok"))
	} else {
		segs = mergeLits(append(segs, b.sentence(items...)...))
	}
	fields := []Field{{Name: "line", Segs: segs}}
	var buf bytes.Buffer
	offsets := map[int]int{}
	for _, s := range segs {
		if s.Label >= 0 {
			offsets[s.Label] = buf.Len()
		}
		buf.WriteString(s.Text)
	}
	buf.WriteByte('\n')
	b.add(f, fields, buf.Bytes(), 0, offsets)
}

// ---- output ----

// File returns the corpus file with this name.
func (c *Corpus) File(name string) *File {
	for _, f := range c.Files {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Head returns the corpus cut to the first n records of each file (with
// the CSV header), for the committed sample.
func (c *Corpus) Head(n int) *Corpus {
	h := &Corpus{Seed: c.Seed}
	keep := map[int]bool{}
	for _, f := range c.Files {
		g := &File{Name: f.Name, Format: f.Format, Records: f.Records[:min(n, len(f.Records))]}
		end := len(f.Data)
		if n < len(f.Records) {
			end = f.Records[n].Start
		}
		g.Data = f.Data[:end:end]
		if f.Format == "json" && n < len(f.Records) {
			g.Data = append(g.Data, "\n]\n"...)
		}
		for _, r := range g.Records {
			for _, fl := range r.Fields {
				for _, s := range fl.Segs {
					if s.Label >= 0 {
						keep[s.Label] = true
					}
				}
			}
		}
		h.Files = append(h.Files, g)
	}
	for _, l := range c.Labels {
		if keep[l.ID] {
			h.Labels = append(h.Labels, l)
		}
	}
	return h
}

// LabelsNDJSON is the labels file: one JSON object per labelled value.
func (c *Corpus) LabelsNDJSON() []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, l := range c.Labels {
		enc.Encode(l)
	}
	return buf.Bytes()
}

// Write writes the corpus files and labels.ndjson into dir.
func (c *Corpus) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range c.Files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "labels.ndjson"), c.LabelsNDJSON(), 0o644)
}

// Count returns the number of labelled values of an entity type (or None).
func (c *Corpus) Count(typ string) int {
	n := 0
	for _, l := range c.Labels {
		if l.Type == typ {
			n++
		}
	}
	return n
}
