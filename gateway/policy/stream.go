package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/records"
)

// StreamOptions tune MaskStream. The zero value gives the defaults.
type StreamOptions struct {
	// Format of the input; 0 sniffs it from the first 64 KiB.
	Format records.Format
	// Records tunes the tokenizer (max record size, CSV header, ...).
	Records records.Options
	// BatchRecords and BatchBytes cut batches (defaults 256 and 1 MiB).
	BatchRecords int
	BatchBytes   int
	// FlushAfter sends a partial batch when no record arrived for this
	// long (default 50ms), so a slow live stream is not held back.
	FlushAfter time.Duration
}

// Defaults of StreamOptions.
const (
	DefaultBatchRecords = 256
	DefaultBatchBytes   = 1 << 20
	DefaultFlushAfter   = 50 * time.Millisecond
	sniffSize           = 64 << 10
)

// StreamStats count what MaskStream did.
type StreamStats struct {
	Format        records.Format
	Records       int // records read
	Dropped       int // records a plugin dropped
	MaskedFields  int // fields changed
	Batches       int
	FailedBatches int // batches a plugin failed on (fail mode applied)
}

// slot is one record copied out of the reader, with the buffer that holds
// its bytes; slots are recycled, so memory stays bounded by the batch.
type slot struct {
	rec records.Record
	buf []byte
}

func (s *slot) alloc(n int) []byte {
	if cap(s.buf) < n {
		s.buf = make([]byte, n, n+n/4)
	}
	return s.buf[:n]
}

// readResult carries a record, or the reader's final error, and the
// columns the schema gained with it (the schema belongs to the reading
// goroutine).
type readResult struct {
	s       *slot
	newCols []string
	err     error
}

// MaskStream reads records from in, masks them through m in batches, and
// writes them to out, in order, in constant memory. Plugin failures apply
// the fail mode (fail_closed redacts the whole batch) and are returned
// joined at the end, so a caller can exit non-zero; malformed input stops
// the stream at the offending record, of which nothing is written.
func MaskStream(ctx context.Context, m *Masker, in io.Reader, out io.Writer, opts StreamOptions) (StreamStats, error) {
	if opts.BatchRecords <= 0 {
		opts.BatchRecords = DefaultBatchRecords
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = DefaultBatchBytes
	}
	if opts.FlushAfter <= 0 {
		opts.FlushAfter = DefaultFlushAfter
	}
	br := bufio.NewReaderSize(in, sniffSize)
	if opts.Format == 0 {
		prefix, _ := br.Peek(sniffSize)
		opts.Format = records.Sniff(prefix)
	}
	st := StreamStats{Format: opts.Format}
	rd := records.NewReader(br, opts.Format, opts.Records)
	wr := records.NewWriter(out, opts.Format, opts.Records)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan *slot, 2*opts.BatchRecords)
	for i := 0; i < cap(free); i++ {
		free <- &slot{}
	}
	recs := make(chan readResult, opts.BatchRecords)
	go func() {
		defer close(recs)
		schema := rd.Schema()
		known := 0
		for {
			var s *slot
			select {
			case s = <-free:
			case <-ctx.Done():
				return
			}
			rec, err := rd.Next()
			if err != nil {
				recs <- readResult{err: err}
				return
			}
			rec.CopyTo(&s.rec, s.alloc)
			var cols []string
			for ; known < schema.Len(); known++ {
				cols = append(cols, schema.Column(known))
			}
			select {
			case recs <- readResult{s: s, newCols: cols}:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		t       Table
		batch   []*slot
		bytes   int
		edits   []records.Edit
		failed  []error
		timer   = time.NewTimer(opts.FlushAfter)
		pending = false
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		st.Batches++
		if err := maskSlots(ctx, m, &t, batch); err != nil {
			st.FailedBatches++
			failed = append(failed, err)
		}
		for r, s := range batch {
			edits = edits[:0]
			if t.Dropped(r) {
				st.Dropped++
				edits = append(edits, records.Edit{Op: records.EditDrop})
			} else {
				first, end := t.Fields(r)
				for f := first; f < end; f++ {
					v, null, changed := t.Field(f)
					if !changed {
						continue
					}
					st.MaskedFields++
					if null {
						edits = append(edits, records.Edit{Op: records.EditNullify, Field: f - first})
					} else {
						edits = append(edits, records.Edit{Op: records.EditReplace, Field: f - first, Data: v})
					}
				}
			}
			if err := wr.Write(&s.rec, edits); err != nil {
				return fmt.Errorf("writing record at line %d: %w", s.rec.Line, err)
			}
			free <- s
		}
		batch, bytes = batch[:0], 0
		return wr.Flush()
	}
	for {
		var res readResult
		var ok bool
		select {
		case res, ok = <-recs:
		case <-timer.C:
			pending = false
			if err := flush(); err != nil {
				return st, err
			}
			continue
		case <-ctx.Done():
			return st, ctx.Err()
		}
		if !ok {
			return st, errors.New("record reader stopped")
		}
		if res.err != nil {
			if err := flush(); err != nil {
				return st, err
			}
			if res.err == io.EOF {
				return st, errors.Join(failed...)
			}
			return st, errors.Join(append(failed, res.err)...)
		}
		st.Records++
		t.Columns = append(t.Columns, res.newCols...)
		batch = append(batch, res.s)
		bytes += len(res.s.rec.Raw)
		if len(batch) >= opts.BatchRecords || bytes >= opts.BatchBytes {
			if err := flush(); err != nil {
				return st, err
			}
		} else if !pending {
			timer.Reset(opts.FlushAfter)
			pending = true
		}
	}
}

// maskSlots fills t from the held records and runs the masker over it.
func maskSlots(ctx context.Context, m *Masker, t *Table, batch []*slot) error {
	t.Reset()
	for _, s := range batch {
		t.AddRecord()
		for i := range s.rec.Fields {
			f := &s.rec.Fields[i]
			t.addFieldRef(f.Column, kindOf(f.Kind), f.Kind == records.KindNull, f.Value)
		}
	}
	return m.Mask(ctx, t)
}

func kindOf(k records.Kind) abi.Kind {
	switch k {
	case records.KindNumber:
		return abi.KindNumber
	case records.KindBool:
		return abi.KindBool
	case records.KindNull:
		return abi.KindNull
	}
	return abi.KindString
}
