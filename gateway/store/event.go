package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// Kind is what an event records.
type Kind string

// Event kinds. Engines may add their own; these are the ones the replay
// and the counters understand.
const (
	KindConnect          Kind = "connect"
	KindAuth             Kind = "auth"
	KindCommand          Kind = "command" // text (masked), analysis, verdict
	KindExecute          Kind = "execute" // one more run of a prepared statement
	KindSFTP             Kind = "sftp"    // one sftp operation: op, path, verdict
	KindApprovalRequest  Kind = "approval_request"
	KindApprovalDecision Kind = "approval_decision"
	KindOutput           Kind = "output" // masked records
	KindError            Kind = "error"
	KindDisconnect       Kind = "disconnect"
	KindTruncated        Kind = "truncated" // the quota or a full disk cut the recording
)

// Event is one recorded event of a session.
type Event struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Data is the event's payload, a JSON document by convention.
	Data []byte `json:"data"`
	// Prev is the hash of the predecessor the event was chained to, and
	// Hash the event's own (see the package doc).
	Prev [32]byte `json:"-"`
	Hash [32]byte `json:"-"`
	// storedSeq is the sequence number inside the value; Seq is the key's.
	// They differ only if someone moved events.
	storedSeq uint64
}

// HashHex is the event's hash in hex.
func (e *Event) HashHex() string { return hex.EncodeToString(e.Hash[:]) }

// chainHash is SHA-256(prev || seq || time || kind || data), each variable
// part length-prefixed so that no two events encode alike.
func chainHash(prev [32]byte, seq uint64, t int64, kind Kind, data []byte) [32]byte {
	h := sha256.New()
	var buf [8 + 8 + binary.MaxVarintLen64]byte
	h.Write(prev[:])
	binary.BigEndian.PutUint64(buf[0:8], seq)
	binary.BigEndian.PutUint64(buf[8:16], uint64(t))
	h.Write(buf[:16])
	n := binary.PutUvarint(buf[:], uint64(len(kind)))
	h.Write(buf[:n])
	h.Write([]byte(kind))
	n = binary.PutUvarint(buf[:], uint64(len(data)))
	h.Write(buf[:n])
	h.Write(data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// genesis is the "previous hash" of event 1: bound to the session ID, so
// events cannot be moved from one session to another.
func genesis(id ID) [32]byte { return sha256.Sum256(append([]byte("sluice session v1 "), id[:]...)) }

// Event values (format version 1):
//
//	u8 version (1) | u64 seq | u64 time (unix nanos) | uvarint len(kind) kind |
//	uvarint len(data) data | prev[32] | hash[32]
//
// The sequence number is in the key too; the copy in the value, with
// prev, lets Verify tell a moved event from an edited one.
const eventVersion = 1

func encodeEvent(dst []byte, e *Event) []byte {
	dst = append(dst, eventVersion)
	dst = binary.BigEndian.AppendUint64(dst, e.Seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Time.UnixNano()))
	dst = binary.AppendUvarint(dst, uint64(len(e.Kind)))
	dst = append(dst, e.Kind...)
	dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
	dst = append(dst, e.Data...)
	dst = append(dst, e.Prev[:]...)
	return append(dst, e.Hash[:]...)
}

var errBadEvent = errors.New("store: malformed event value")

func decodeEvent(seq uint64, v []byte) (Event, error) {
	e := Event{Seq: seq}
	if len(v) < 1+16 || v[0] != eventVersion {
		return e, errBadEvent
	}
	e.storedSeq = binary.BigEndian.Uint64(v[1:9])
	e.Time = time.Unix(0, int64(binary.BigEndian.Uint64(v[9:17]))).UTC()
	v = v[17:]
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return e, errBadEvent
	}
	e.Kind = Kind(v[k : k+int(n)])
	v = v[k+int(n):]
	n, k = binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return e, errBadEvent
	}
	e.Data = append([]byte(nil), v[k:k+int(n)]...)
	v = v[k+int(n):]
	if len(v) != 64 {
		return e, errBadEvent
	}
	copy(e.Prev[:], v[:32])
	copy(e.Hash[:], v[32:])
	return e, nil
}
