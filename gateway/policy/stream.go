package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
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
	// Workers is how many batches are masked at once (default 1). With
	// more, batches go through the plugins on that many goroutines, each
	// with a masker of its own, and are written in order: a long stream
	// can use more than one core. Memory grows with it (a batch in
	// flight per worker).
	Workers int
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

// chunk is what the reading goroutine hands to the batching loop: up to
// chunkCap records, or fewer when the reader is about to wait for input,
// plus the columns the schema gained with them (the schema belongs to the
// reading goroutine). Handing over chunks instead of records keeps channel
// operations off the per-record path; chunks and their slots are recycled.
type chunk struct {
	slots   []*slot
	n       int
	newCols []string
	err     error
}

// handoffReader calls before ahead of every read from the source, so the
// records read so far are handed over before the reader may block: a slow
// live stream is never held back by a half-filled chunk.
type handoffReader struct {
	r      io.Reader
	before func()
}

func (h *handoffReader) Read(p []byte) (int, error) {
	if h.before != nil {
		h.before()
	}
	return h.r.Read(p)
}

// MaskStream reads records from in, masks them through m in batches, and
// writes them to out, in order, in constant memory. Plugin failures apply
// the fail mode (fail_closed redacts the whole batch) and are returned
// joined at the end, so a caller can exit non-zero; malformed input stops
// the stream at the offending record, of which nothing is written.
//
// A batch holds BatchRecords records (up to one chunk more when input
// arrives in bursts) or BatchBytes, or whatever half of the reader's
// chunks hold when input arrives in small reads; a partial batch is
// written when no input arrived for FlushAfter.
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
	workers := max(opts.Workers, 1)
	src := &handoffReader{r: in}
	// The tokenizer buffers its input itself: a bufio.Reader in between
	// is only for sniffing (64 KiB, and one more copy of every byte).
	var rsrc io.Reader = src
	if opts.Format == 0 {
		br := bufio.NewReaderSize(src, sniffSize)
		opts.Format = records.Sniff(sniffPrefix(br))
		rsrc = br
	}
	st := StreamStats{Format: opts.Format}
	rd := records.NewReader(rsrc, opts.Format, opts.Records)
	wr := records.NewWriter(out, opts.Format, opts.Records)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunkCap := min(64, opts.BatchRecords)
	// The pool starts with nil chunks, allocated when first taken: a small
	// body uses one or two chunks, not the whole pool.
	perBatch := opts.BatchRecords/chunkCap + 2
	pool := make(chan *chunk, (workers+1)*perBatch)
	for i := 0; i < cap(pool); i++ {
		pool <- nil
	}
	chunks := make(chan *chunk, cap(pool))
	go func() {
		defer close(chunks)
		schema := rd.Schema()
		known := 0
		var cur *chunk
		send := func() bool {
			for ; known < schema.Len(); known++ {
				cur.newCols = append(cur.newCols, schema.Column(known))
			}
			select {
			case chunks <- cur:
				cur = nil
				return true
			case <-ctx.Done():
				return false
			}
		}
		src.before = func() {
			if cur != nil && cur.n > 0 {
				send()
			}
		}
		// take starts a fresh chunk; the current one may have been handed
		// over by before while Next was reading.
		take := func() bool {
			select {
			case cur = <-pool:
				if cur == nil {
					cur = &chunk{slots: make([]*slot, chunkCap)}
					for j := range cur.slots {
						cur.slots[j] = &slot{}
					}
				}
				cur.n, cur.newCols, cur.err = 0, cur.newCols[:0], nil
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			rec, err := rd.Next()
			if cur == nil && !take() {
				return
			}
			if err != nil {
				cur.err = err
				send()
				return
			}
			rec.CopyTo(&cur.slots[cur.n].rec, cur.slots[cur.n].alloc)
			cur.n++
			if cur.n == len(cur.slots) && !send() {
				return
			}
		}
	}()

	var (
		cols     []string // the schema's columns so far
		batch    []*slot
		held     []*chunk // chunks whose slots are in batch
		bytes    int
		edits    []records.Edit
		failed   []error
		timer    = time.NewTimer(opts.FlushAfter)
		pending  = false
		inflight []*maskJob // dispatched, written in this order
	)
	tables := make(chan *Table, workers)
	for range workers {
		tables <- new(Table)
	}
	jobs := make(chan *maskJob)
	defer close(jobs)
	for w := 0; w < workers && workers > 1; w++ {
		mk := m // a Masker is one goroutine's: the others get their own
		if w > 0 {
			mk = &Masker{plugins: m.plugins}
		}
		go func() {
			for j := range jobs {
				j.run(ctx, mk)
			}
		}()
	}
	// write writes the job at the head of inflight, once it is masked.
	write := func() error {
		j := inflight[0]
		<-j.done
		inflight = inflight[1:]
		t := j.t
		st.Batches++
		if j.err != nil {
			st.FailedBatches++
			failed = append(failed, j.err)
		}
		for r, s := range j.slots {
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
		}
		for _, c := range j.held {
			pool <- c
		}
		tables <- t
		return nil
	}
	// dispatch hands the batch to be masked: at once with one worker, to
	// a free worker otherwise (writing the oldest job first when all are
	// busy). With all, it also writes every job in flight.
	dispatch := func(all bool) error {
		if len(batch) > 0 {
			if len(inflight) == workers {
				if err := write(); err != nil {
					return err
				}
			}
			j := &maskJob{slots: append([]*slot(nil), batch...), held: append([]*chunk(nil), held...), t: <-tables, done: make(chan struct{})}
			j.t.Columns = append(j.t.Columns[:0], cols...)
			inflight = append(inflight, j)
			batch, held, bytes = batch[:0], held[:0], 0
			if workers == 1 {
				j.run(ctx, m)
			} else {
				jobs <- j
			}
		}
		wrote := false
		for len(inflight) > 0 {
			if !all && !isDone(inflight[0]) {
				break // the next dispatch waits for it if it must
			}
			if err := write(); err != nil {
				return err
			}
			wrote = true
		}
		if wrote {
			return wr.Flush()
		}
		return nil
	}
	flush := func() error { return dispatch(true) }
	for {
		var c *chunk
		var ok bool
		select {
		case c, ok = <-chunks:
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
		cols = append(cols, c.newCols...)
		held = append(held, c)
		for _, s := range c.slots[:c.n] {
			st.Records++
			batch = append(batch, s)
			bytes += len(s.rec.Raw)
		}
		if c.err != nil {
			if err := flush(); err != nil {
				return st, err
			}
			if c.err == io.EOF {
				return st, errors.Join(failed...)
			}
			return st, errors.Join(append(failed, c.err)...)
		}
		// Input that arrives in small reads (a chunked upstream body, a
		// pipe) is handed over in partial chunks, so the batch may hold
		// most of the pool before it has BatchRecords records: past half
		// the pool, the reader would soon wait for a free chunk while
		// this loop waits for records, until FlushAfter. Flushing there
		// keeps the other half for the reader.
		if len(batch) >= opts.BatchRecords || bytes >= opts.BatchBytes || len(held) >= perBatch {
			if err := dispatch(workers == 1); err != nil {
				return st, err
			}
			if len(inflight) > 0 && !pending {
				// A batch still being masked is written by the next
				// dispatch, or by the timer if the input pauses.
				timer.Reset(opts.FlushAfter)
				pending = true
			}
		} else if !pending {
			timer.Reset(opts.FlushAfter)
			pending = true
		}
	}
}

// sniffPrefix returns the start of the input for format detection: up to
// 64 KiB, but no more than is there once two lines have arrived, so a slow
// live stream is not held until 64 KiB have accumulated.
func sniffPrefix(br *bufio.Reader) []byte {
	for {
		n := br.Buffered()
		p, err := br.Peek(n)
		if n >= sniffSize || err != nil || bytesCount(p, '\n') >= 2 {
			return p
		}
		if p, err = br.Peek(n + 1); err != nil {
			return p
		}
	}
}

func bytesCount(p []byte, c byte) int {
	n := 0
	for _, b := range p {
		if b == c {
			n++
		}
	}
	return n
}

// maskSlots fills t from the held records and runs the masker over it.
// StreamWorkers is the StreamOptions.Workers the engines use for a body
// or an output stream of unknown length: one per core, at most 4.
func StreamWorkers() int { return min(runtime.GOMAXPROCS(0), 4) }

// maskJob is one batch on its way through the plugins: its records, the
// chunks that hold them, and the table they are masked in.
type maskJob struct {
	slots []*slot
	held  []*chunk
	t     *Table
	err   error
	done  chan struct{} // closed when masked
}

func (j *maskJob) run(ctx context.Context, m *Masker) {
	j.err = maskSlots(ctx, m, j.t, j.slots)
	close(j.done)
}

func isDone(j *maskJob) bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

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
