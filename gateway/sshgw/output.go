package sshgw

import (
	"bytes"
	"context"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/sluicegw/sluice/gateway/policy"
	"github.com/sluicegw/sluice/gateway/records"
)

// outputChunk is the read size of an output stream when binary chunks
// pass: an SSH channel hands over at most a packet (32 KiB with OpenSSH)
// per read anyway.
const outputChunk = 32 << 10

// outputFormat picks how a stream's text is cut into records for the
// chain, from what its first read brought (a command's first line is
// never held back waiting for a second): CSV when that starts with a
// header row and rows of as many columns (records.Sniff's rules), else
// records.FormatLines, line by line: a line that is a JSON object is a
// JSON record (its fields by name), any other line text. Both are
// lossless: unmasked bytes are copied as they came.
func outputFormat(first []byte) records.Format {
	if i := bytes.LastIndexByte(first, '\n'); i > 0 && bytes.Count(first[:i], []byte{'\n'}) >= 1 {
		if records.Sniff(first[:i+1]) == records.FormatCSV {
			return records.FormatCSV
		}
	}
	return records.FormatLines
}

// maskOutput masks a whole stream as one run, in the format its first
// read suggests.
func (s *session) maskOutput(ctx context.Context, masker *policy.Masker, src io.Reader, dst io.Writer) error {
	buf := make([]byte, outputChunk)
	n, err := readSome(src, buf)
	in := io.MultiReader(bytes.NewReader(buf[:n]), src)
	if err != nil {
		in = io.MultiReader(bytes.NewReader(buf[:n]), errReader{err})
	}
	return s.maskRun(ctx, masker, in, dst, outputFormat(buf[:n]))
}

// maskRun masks text through MaskStream. A plugin failure had its fail
// mode applied and the stream went on: logged, not an error.
func (s *session) maskRun(ctx context.Context, masker *policy.Masker, src io.Reader, dst io.Writer, f records.Format) error {
	stats, err := policy.MaskStream(ctx, masker, src, dst, policy.StreamOptions{Format: f, Workers: policy.StreamWorkers()})
	if err != nil && stats.FailedBatches > 0 {
		s.c.e.log.Warn("sshgw: plugin failure while masking output", "identity", s.c.identity, "err", err)
		return nil
	}
	return err
}

// maskPassBinary masks the text of a stream and lets its binary chunks
// through unmasked to raw (Options.PassBinaryOutput). A chunk is what one
// read brought; it is binary if it has a NUL byte or is not UTF-8 (a
// sequence cut by the read's end is kept for the next). Consecutive text
// chunks go through one MaskStream, ended before a binary chunk is
// written so the order is kept; the first run's format is sniffed, later
// runs are line by line (a CSV header mid-stream would go unmasked).
// It returns the bytes passed unmasked.
func (s *session) maskPassBinary(ctx context.Context, masker *policy.Masker, src io.Reader, text, raw io.Writer) (int64, error) {
	var (
		buf    = make([]byte, outputChunk)
		carry  int
		binary int64
		run    *textRun
		runs   int
	)
	endRun := func() error {
		if run == nil {
			return nil
		}
		err := run.close()
		run = nil
		return err
	}
	for {
		n, rerr := src.Read(buf[carry:])
		n += carry
		carry = 0
		if n > 0 {
			chunk := buf[:n]
			if rerr == nil {
				carry = incompleteRune(chunk)
				chunk = chunk[:n-carry]
			}
			switch {
			case len(chunk) == 0:
			case bytes.IndexByte(chunk, 0) < 0 && utf8.Valid(chunk):
				if run == nil {
					f := records.FormatLines
					if runs == 0 {
						f = outputFormat(chunk)
					}
					runs++
					run = s.startRun(ctx, masker, text, f)
				}
				if _, err := run.pw.Write(chunk); err != nil {
					return binary, errors.Join(err, endRun())
				}
			default:
				if err := endRun(); err != nil {
					return binary, err
				}
				w, err := raw.Write(chunk)
				binary += int64(w)
				if err != nil {
					return binary, err
				}
			}
			copy(buf, buf[n-carry:n])
		}
		if rerr != nil {
			err := endRun()
			if rerr != io.EOF {
				err = errors.Join(err, rerr)
			}
			return binary, err
		}
	}
}

// textRun is one MaskStream fed through a pipe.
type textRun struct {
	pw   *io.PipeWriter
	done chan error
}

func (s *session) startRun(ctx context.Context, masker *policy.Masker, dst io.Writer, f records.Format) *textRun {
	pr, pw := io.Pipe()
	r := &textRun{pw: pw, done: make(chan error, 1)}
	go func() {
		err := s.maskRun(ctx, masker, pr, dst, f)
		// A run that stopped early fails the writes still coming.
		pr.CloseWithError(errors.Join(err, errors.New("masking stopped")))
		r.done <- err
	}()
	return r
}

// close ends the run's input and waits until all of it was written.
func (r *textRun) close() error {
	r.pw.Close()
	return <-r.done
}

// incompleteRune is the length of a UTF-8 sequence cut off at the end of
// p (0 if the last sequence is whole or invalid anyway).
func incompleteRune(p []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(p); i++ {
		c := p[len(p)-i]
		if c < utf8.RuneSelf {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(p[len(p)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

// readSome reads until it has a byte or an error.
func readSome(r io.Reader, p []byte) (int, error) {
	for {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
