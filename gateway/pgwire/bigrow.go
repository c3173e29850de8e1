package pgwire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/gateway/policy"
)

// Large rows. pgproto3 reads a message whole, so a DataRow holding a
// 100 MB field would be held in memory (twice: read and re-encoded). The
// backend stream is therefore read through backendReader, which hands the
// Frontend every message except a DataRow larger than
// Options.MaxBufferedRow: that one it holds back, and the relay streams it
// itself (bigRow), in constant memory: passed through as it arrives on a
// target without masking; on a masked target its small fields are masked
// as usual and its large ones in chunks, spooled to an unlinked temporary
// file so the new lengths are known before the row is sent.

// DefaultMaxBufferedRow is the largest DataRow read whole (see
// Options.MaxBufferedRow).
const DefaultMaxBufferedRow = 8 << 20

// bigFieldChunk is how much of a large field goes to the masking chain
// in one call; a chunk ends at a line break where there is one nearby.
const bigFieldChunk = 256 << 10

// errBigRow tells the relay that the next message is a large DataRow for
// it to stream.
var errBigRow = errors.New("pgwire: a large data row is next")

// backendReader frames the backend stream for pgproto3's Frontend: it
// never hands over part of the next message once it has delivered some
// bytes, and it holds back a large DataRow (reporting errBigRow on the
// read that would start it). pgproto3 reads a message's 5-byte header
// before its body, so an error before the header leaves it in a clean
// state.
type backendReader struct {
	br        *bufio.Reader
	remaining int // bytes of the current message not yet delivered
	big       int // body length of a held-back large DataRow; -1: none
	threshold int
}

func newBackendReader(r io.Reader, threshold int) *backendReader {
	return &backendReader{br: bufio.NewReaderSize(r, 64<<10), big: -1, threshold: threshold}
}

func (r *backendReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.remaining == 0 {
			if r.big >= 0 || n > 0 && r.br.Buffered() < 5 {
				break
			}
			hdr, err := r.br.Peek(5)
			if err != nil {
				if n > 0 {
					break
				}
				return 0, err
			}
			l := int(binary.BigEndian.Uint32(hdr[1:]))
			switch {
			case l < 4:
				r.remaining = 5 // pgproto3 reports the invalid length
			case hdr[0] == 'D' && l-4 > r.threshold:
				r.br.Discard(5)
				r.big = l - 4
				continue
			default:
				r.remaining = 1 + l
			}
		}
		k := min(len(p)-n, r.remaining)
		if n > 0 {
			if k = min(k, r.br.Buffered()); k == 0 {
				break
			}
		}
		m, err := r.br.Read(p[n : n+k])
		n += m
		r.remaining -= m
		if err != nil {
			return n, err
		}
	}
	if n == 0 && r.big >= 0 {
		return 0, errBigRow
	}
	return n, nil
}

// buffered reports whether backend bytes are waiting to be read.
func (r *backendReader) buffered() bool { return r.br.Buffered() > 0 }

// takeBig returns the held-back row's body length and releases it.
func (r *backendReader) takeBig() int {
	n := r.big
	r.big = -1
	return n
}

// bigField is one field of a large row: in memory, or spooled.
type bigField struct {
	null  bool
	value []byte   // a small field
	file  *os.File // a large one (unlinked), from offset 0
	size  int64
}

// bigRow relays a DataRow of n body bytes without holding it in memory.
func (r *relayer) bigRow(n int) error {
	c := r.c
	br := c.brd.br
	if err := r.flushRows(); err != nil {
		return err
	}
	var cnt [2]byte
	if _, err := io.ReadFull(br, cnt[:]); err != nil {
		return fmt.Errorf("reading a large data row: %w", err)
	}
	nf := int(binary.BigEndian.Uint16(cnt[:]))
	if !r.masking() {
		// Passed through as it arrives.
		c.wmu.Lock()
		c.out = append(c.out, 'D')
		c.out = binary.BigEndian.AppendUint32(c.out, uint32(n+4))
		c.out = append(c.out, cnt[:]...)
		err := c.flushLocked()
		if err == nil {
			_, err = io.CopyN(c.cc, br, int64(n-2))
		}
		c.wmu.Unlock()
		if err != nil {
			return fmt.Errorf("relaying a large data row: %w", err)
		}
		r.recordBigRow(nf, n, "")
		return nil
	}
	if r.chainErr != nil {
		return fmt.Errorf("masking policy unavailable: %v", r.chainErr)
	}
	d := r.desc()
	if d == nil || len(d.cols) != nf {
		return errors.New("a large data row without a matching row description on a target with masking plugins")
	}
	fields, err := r.readBigFields(br, nf, n-2)
	defer func() {
		for _, f := range fields {
			if f.file != nil {
				f.file.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	m := policy.NewMasker(r.chain)
	t := new(policy.Table)
	t.Columns = d.names
	// The small fields, masked as one record (the large ones as NULL).
	t.AddRecord()
	for i, f := range fields {
		t.AddField(i, d.cols[i].kind, f.null || f.file != nil, f.value)
	}
	if err := m.Mask(c.ctx, t); err != nil {
		c.e.log.Warn("pgwire: masking plugin failure", "identity", c.identity, "err", err, "fail_closed", policy.FailedClosed(err))
	}
	if t.Dropped(0) {
		r.dropped++
		r.recordBigRow(nf, n, "; dropped by a plugin")
		return nil
	}
	first, _ := t.Fields(0)
	for i := range fields {
		if fields[i].file != nil {
			continue
		}
		v, null, changed := t.Field(first + i)
		switch {
		case null:
			fields[i].null, fields[i].value = true, nil
		case changed:
			fields[i].value = d.cols[i].fix(v)
			fields[i].null = fields[i].value == nil
		}
	}
	// The large fields, masked in chunks into a second spool file.
	for i := range fields {
		if fields[i].file == nil {
			continue
		}
		if d.cols[i].form != formText {
			// A chunk of JSON or of a binary value is not valid on its
			// own: such a field cannot be masked piecewise, so it is
			// withheld (NULL), never passed.
			c.e.log.Warn("pgwire: a large non-text field on a masked target is sent as NULL", "identity", c.identity, "column", d.names[i], "bytes", fields[i].size)
			fields[i].file.Close()
			fields[i] = bigField{null: true}
			continue
		}
		masked, size, err := r.maskBigField(m, d, i, fields)
		fields[i].file.Close()
		fields[i].file, fields[i].size = masked, size
		if err != nil {
			return err
		}
	}
	total := 2
	for _, f := range fields {
		total += 4
		switch {
		case f.null:
		case f.file != nil:
			total += int(f.size)
		default:
			total += len(f.value)
		}
	}
	if err := r.sendBigRow(total, fields); err != nil {
		return err
	}
	r.recordBigRow(nf, n, "; masked")
	return nil
}

// sendBigRow writes a large row whose body is total bytes.
func (r *relayer) sendBigRow(total int, fields []bigField) error {
	c := r.c
	nf := len(fields)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.out = append(c.out, 'D')
	c.out = binary.BigEndian.AppendUint32(c.out, uint32(total+4))
	c.out = binary.BigEndian.AppendUint16(c.out, uint16(nf))
	for _, f := range fields {
		switch {
		case f.null:
			c.out = binary.BigEndian.AppendUint32(c.out, 0xFFFFFFFF)
		case f.file != nil:
			c.out = binary.BigEndian.AppendUint32(c.out, uint32(f.size))
			if err := c.flushLocked(); err != nil {
				return err
			}
			if _, err := io.Copy(c.cc, f.file); err != nil {
				return fmt.Errorf("relaying a large masked field: %w", err)
			}
		default:
			c.out = binary.BigEndian.AppendUint32(c.out, uint32(len(f.value)))
			c.out = append(c.out, f.value...)
		}
	}
	return nil
}

// readBigFields reads a large row's fields (left bytes after the count):
// small ones into memory, large ones into unlinked temporary files.
func (r *relayer) readBigFields(br *bufio.Reader, nf, left int) ([]bigField, error) {
	fields := make([]bigField, nf)
	var lenBuf [4]byte
	for i := range fields {
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			return fields, fmt.Errorf("reading a large data row: %w", err)
		}
		left -= 4
		l := int32(binary.BigEndian.Uint32(lenBuf[:]))
		switch {
		case l == -1:
			fields[i].null = true
			continue
		case l < 0 || int(l) > left:
			return fields, fmt.Errorf("a large data row with a field of invalid length %d", l)
		}
		left -= int(l)
		if l <= bigFieldChunk {
			fields[i].value = make([]byte, l)
			if _, err := io.ReadFull(br, fields[i].value); err != nil {
				return fields, fmt.Errorf("reading a large data row: %w", err)
			}
			continue
		}
		f, err := spoolFile()
		if err != nil {
			return fields, err
		}
		fields[i].file, fields[i].size = f, int64(l)
		if _, err := io.CopyN(f, br, int64(l)); err != nil {
			return fields, fmt.Errorf("spooling a large field: %w", err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fields, err
		}
	}
	return fields, nil
}

// maskBigField masks field i of a large row chunk by chunk: each chunk
// goes to the chain as that column's value in a record with the row's
// other (masked) small fields, so plugins see the column's name and kind.
func (r *relayer) maskBigField(m *policy.Masker, d *resultDesc, i int, fields []bigField) (*os.File, int64, error) {
	out, err := spoolFile()
	if err != nil {
		return nil, 0, err
	}
	in := bufio.NewReaderSize(fields[i].file, 64<<10)
	t := new(policy.Table)
	t.Columns = d.names
	chunk := make([]byte, 0, bigFieldChunk+64<<10)
	var size int64
	for {
		chunk = chunk[:0]
		for len(chunk) < bigFieldChunk {
			b, err := in.ReadSlice('\n')
			chunk = append(chunk, b...)
			if err == io.EOF {
				break
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return out, size, err
			}
		}
		if len(chunk) == 0 {
			break
		}
		t.Reset()
		t.AddRecord()
		for j, f := range fields {
			switch {
			case j == i:
				t.AddField(j, abi.KindString, false, chunk)
			case f.file != nil || f.null:
				t.AddField(j, d.cols[j].kind, true, nil)
			default:
				t.AddField(j, d.cols[j].kind, false, f.value)
			}
		}
		if err := m.Mask(r.c.ctx, t); err != nil {
			r.c.e.log.Warn("pgwire: masking plugin failure", "identity", r.c.identity, "err", err, "fail_closed", policy.FailedClosed(err))
		}
		first, _ := t.Fields(0)
		v, null, _ := t.Field(first + i)
		if t.Dropped(0) || null {
			v = nil // a chunk a plugin removes is left out, never passed
		}
		k, err := out.Write(v)
		size += int64(k)
		if err != nil {
			return out, size, fmt.Errorf("spooling a masked field: %w", err)
		}
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return out, size, err
	}
	return out, size, nil
}

// spoolFile is an unlinked temporary file: nothing is left behind, even
// if the process dies.
func spoolFile() (*os.File, error) {
	f, err := os.CreateTemp("", "sluice-row-*")
	if err != nil {
		return nil, fmt.Errorf("spooling a large field: %w", err)
	}
	os.Remove(f.Name())
	return f, nil
}

// recordBigRow records a large row as its size (its fields are not kept).
func (r *relayer) recordBigRow(nf, n int, note string) {
	if r.recordBudget(1) < 1 {
		return
	}
	r.c.recordedRows++
	r.record(outputEvent{Text: fmt.Sprintf("(a row of %d fields and %d bytes, relayed in a stream, not recorded%s)", nf, n, note)})
}
