// Package records cuts structured output into records of field spans and
// writes records back after masking edits, re-framing each format.
//
// It is the room between a protocol engine and the plugin host: an engine
// (or `sluice mask`) reads a backend's output through a Reader, the host
// turns each Record's fields into ABI batches for the masking plugins, and
// the edits they return go to a Writer, which re-encodes just the edited
// values and copies every other byte through unchanged.
//
// Formats:
//   - FormatJSON: a JSON document (RFC 8259), or a sequence of them; each
//     element of a top-level array is a record, otherwise a document is one.
//   - FormatNDJSON: one JSON value per line (NDJSON / JSON Lines).
//   - FormatCSV: RFC 4180 rows; by default the first row is a header that
//     names the columns and is passed through, never masked.
//   - FormatText: each line is a record with one field.
//   - FormatLines: line by line, a JSON object line is an NDJSON record and
//     any other line a FormatText record (a command's mixed output); it
//     never fails on syntax.
//
// A field is a leaf value (string, number, bool, null) under a column of
// the stream's Schema: a JSON path such as `items[].email`, a CSV header
// name, or `line`. Edits replace a value, a byte range of it, or nullify
// it; a record can be dropped.
//
// Entry points: NewReader and NewWriter for streams, Sniff and ParseFormat
// to choose a format. Memory is bounded by Options.MaxRecordSize
// (DefaultMaxRecordSize): a record, or a whole JSON document, must fit in
// it; beyond it reading fails with ErrRecordTooLarge. Malformed input fails
// with a *SyntaxError naming the line and byte, and no record of it is
// handed out, so the caller can fail closed.
//
// On the hot path nothing is allocated per record once buffers are warm:
// records, fields and decoded values point into buffers the Reader reuses,
// so a Record is valid only until the next call to Next, and a Writer
// appends into a buffer it reuses.
//
// Concurrency: a Reader or a Writer is used by one goroutine at a time, and
// the Schema a Reader returns is read by the Reader's goroutine. A Reader
// and a Writer share nothing, so they may run in different goroutines. A
// Record from Next is valid until the next call to Next; to hold records
// longer (a plugin batch), copy them with Record.CopyTo.
package records
