package main

import (
	"unicode/utf8"

	"github.com/sluicegw/sluice/sdk/go/sluice"
)

// The strategies: what replaces a match (render) or a whole field
// (maskWhole), and how a typed column stays valid. README.md
// ("Strategies", "Typed columns") states the rules.

const hexDigits = "0123456789abcdef"

// render returns the replacement of val (a match of r) in m.buf, quoted as
// a JSON string when quote is set. Nullify and keep are handled by the
// callers.
func (m *masker) render(r *rule, val []byte, builtin, quote bool) []byte {
	b := m.buf[:0]
	if quote {
		b = append(b, '"')
	}
	switch r.strategy {
	case stRedact:
		b = append(b, r.label...)
	case stPartial:
		b = m.partial(b, r, val, builtin)
	case stHash:
		b = m.hashHex(b, r, val, builtin)
	case stFPE:
		b = m.fpe(b, val)
	}
	if quote {
		b = append(b, '"')
	}
	m.buf = b
	return b
}

// partial keeps what identifies the least: the domain of an e-mail, the
// network part of an IP address (192.168.1.0, 2001:db8:85a3::), and
// otherwise the last 4 letters or digits (the last quarter of values with
// fewer than 8), masking the others with '*' and keeping punctuation.
func (m *masker) partial(b []byte, r *rule, val []byte, builtin bool) []byte {
	if builtin {
		switch r.ent {
		case entIPv4:
			for i := len(val) - 1; i >= 0; i-- {
				if val[i] == '.' {
					return append(append(b, val[:i+1]...), '0')
				}
			}
		case entIPv6:
			var g [8]uint16
			if ipv6(val, 0, &g) == len(val) {
				for k := 0; k < 3; k++ {
					b = appendHex16(b, g[k])
					b = append(b, ':')
				}
				return append(b, ':')
			}
		}
	}
	if at := lastIndexByte(val, '@'); at > 0 && (!builtin || r.ent == entEmail) {
		for _, c := range val[:at] {
			if c < utf8.RuneSelf || utf8.RuneStart(c) {
				b = append(b, '*')
			}
		}
		return append(b, val[at:]...)
	}
	n := 0
	for i := 0; i < len(val); {
		c, size := val[i], 1
		if c >= utf8.RuneSelf {
			_, size = utf8.DecodeRune(val[i:])
			n++
		} else if isAlnum(c) {
			n++
		}
		i += size
	}
	keep := 4
	if n < 8 {
		keep = n / 4
	}
	k := 0
	for i := 0; i < len(val); {
		c, size := val[i], 1
		alnum := isAlnum(c)
		if c >= utf8.RuneSelf {
			_, size = utf8.DecodeRune(val[i:])
			alnum = true
		}
		if alnum {
			k++
			if k <= n-keep {
				b = append(b, '*')
				i += size
				continue
			}
		}
		b = append(b, val[i:i+size]...)
		i += size
	}
	return b
}

func lastIndexByte(v []byte, c byte) int {
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == c {
			return i
		}
	}
	return -1
}

func appendHex16(b []byte, x uint16) []byte {
	started := false
	for shift := 12; shift >= 0; shift -= 4 {
		d := x >> uint(shift) & 0xf
		if d == 0 && !started && shift > 0 {
			continue
		}
		started = true
		b = append(b, hexDigits[d])
	}
	return b
}

// normalize is the hash input of a built-in match, so that one person's
// value hashes the same however it is written: e-mails lower-cased,
// phone, card and SSN digits only, IBANs without spaces.
func (m *masker) normalize(r *rule, val []byte, builtin bool) []byte {
	if !builtin {
		return val
	}
	n := m.norm[:0]
	switch r.ent {
	case entEmail:
		for _, c := range val {
			n = append(n, lower(c))
		}
	case entPhone, entCard, entSSN:
		for _, c := range val {
			if isDigit(c) {
				n = append(n, c)
			}
		}
	case entIBAN:
		for _, c := range val {
			if c != ' ' {
				n = append(n, c)
			}
		}
	default:
		return val
	}
	m.norm = n
	return n
}

// hashHex writes the first hashLen hex digits of HMAC-SHA256(key, value).
func (m *masker) hashHex(b []byte, r *rule, val []byte, builtin bool) []byte {
	m.mac.Reset()
	m.mac.Write(m.normalize(r, val, builtin))
	m.sum = m.mac.Sum(m.sum[:0])
	for i := 0; i < m.hashLen; i++ {
		x := m.sum[i/2]
		if i%2 == 0 {
			x >>= 4
		}
		b = append(b, hexDigits[x&0xf])
	}
	return b
}

// keystream is the format-preserving pseudonym's source of digits and
// letters: HMAC-SHA256(key, counter || value), 32 bytes per counter.
type keystream struct {
	m     *masker
	val   []byte
	block int
	pos   int
}

func (k *keystream) next() byte {
	if k.pos == 0 || k.pos == 32 {
		m := k.m
		m.mac.Reset()
		m.ctr[0] = byte(k.block)
		m.ctr[1] = byte(k.block >> 8)
		m.mac.Write(m.ctr[:])
		m.mac.Write(k.val)
		m.sum = m.mac.Sum(m.sum[:0])
		k.block++
		k.pos = 0
	}
	x := k.m.sum[k.pos]
	k.pos++
	return x
}

// fpe replaces each digit by a digit, each ASCII letter by a letter of the
// same case and each other character by a lower-case letter, keyed by the
// whole value, and keeps ASCII punctuation and blanks: same value, same
// pseudonym.
func (m *masker) fpe(b []byte, val []byte) []byte {
	ks := keystream{m: m, val: val}
	for i := 0; i < len(val); {
		c := val[i]
		switch {
		case isDigit(c):
			b = append(b, '0'+ks.next()%10)
		case c >= 'a' && c <= 'z':
			b = append(b, 'a'+ks.next()%26)
		case c >= 'A' && c <= 'Z':
			b = append(b, 'A'+ks.next()%26)
		case c >= utf8.RuneSelf:
			_, size := utf8.DecodeRune(val[i:])
			b = append(b, 'a'+ks.next()%26)
			i += size
			continue
		default:
			b = append(b, c)
		}
		i++
	}
	return b
}

// maskWhole masks field f as a whole with rule r, keeping it valid for its
// column type.
func (m *masker) maskWhole(e *sluice.Edits, f sluice.Field, typ sluice.ColumnType, src uint32, r *rule) {
	st := r.strategy
	if st == stNullify {
		e.Nullify(f)
		return
	}
	builtin := r.kind == kindBuiltin
	switch typ {
	case sluice.TypeBool:
		e.Nullify(f)
	case sluice.TypeInt, sluice.TypeFloat:
		if st == stHash || st == stFPE {
			if d, ok := m.fpeNumber(f.Value, typ == sluice.TypeFloat, maxIntDigits(src)); ok {
				e.Replace(f, d)
				return
			}
		}
		e.Nullify(f)
	case sluice.TypeTimestamp:
		if st == stPartial || st == stFPE {
			if d, ok := m.dateOut(f.Value, st == stFPE); ok {
				e.Replace(f, d)
				return
			}
		}
		e.Nullify(f)
	case sluice.TypeJSON:
		if st == stRedact || st == stHash {
			e.Replace(f, m.render(r, f.Value, builtin, true))
			return
		}
		inner := m.render(r, f.Value, builtin, false)
		m.quoted = jsonQuote(m.quoted[:0], inner)
		e.Replace(f, m.quoted)
	default:
		e.Replace(f, m.render(r, f.Value, builtin, false))
	}
}

// maxIntDigits is the digit count at which an integer of the column's
// PostgreSQL type (int2, int4, int8) could overflow after its digits are
// replaced; such values are nullified.
func maxIntDigits(oid uint32) int {
	switch oid {
	case 21:
		return 5
	case 23:
		return 10
	}
	return 19
}

// fpeNumber replaces the digits of a decimal number keyed by its value:
// the sign, the decimal point and the exponent are kept, and the integer
// part keeps its length with a non-zero first digit, so the result parses
// as the same type. An integer with maxDigits or more digits, or a value
// that is not a plain number (NaN, Infinity, hex), gives false.
func (m *masker) fpeNumber(val []byte, float bool, maxDigits int) ([]byte, bool) {
	b := m.buf[:0]
	i := 0
	if i < len(val) && (val[i] == '-' || val[i] == '+') {
		b = append(b, val[i])
		i++
	}
	intLen := 0
	for j := i; j < len(val) && isDigit(val[j]); j++ {
		intLen++
	}
	if intLen == 0 || (!float && (intLen != len(val)-i || intLen >= maxDigits)) {
		return nil, false
	}
	ks := keystream{m: m, val: val}
	for k := 0; k < intLen; k++ {
		if k == 0 && intLen > 1 {
			b = append(b, '1'+ks.next()%9)
		} else {
			b = append(b, '0'+ks.next()%10)
		}
	}
	i += intLen
	if float {
		if i < len(val) && val[i] == '.' {
			b = append(b, '.')
			for i++; i < len(val) && isDigit(val[i]); i++ {
				b = append(b, '0'+ks.next()%10)
			}
		}
		if i < len(val) && (val[i] == 'e' || val[i] == 'E') {
			b = append(b, val[i:]...)
			i = len(val)
		}
		if i != len(val) {
			return nil, false
		}
	}
	m.buf = b
	return b, true
}

// dateOut masks a date or timestamp that starts YYYY-MM-DD, optionally
// followed by T or ' ' and HH:MM[:SS[.fraction]], keeping the year and
// what follows (a zone): partial sets the rest to its minimum
// (YYYY-01-01 00:00:00), fpe to keyed values within range (day 1-28).
func (m *masker) dateOut(val []byte, fpe bool) ([]byte, bool) {
	d2 := func(i int) bool { return i+2 <= len(val) && isDigit(val[i]) && isDigit(val[i+1]) }
	if len(val) < 10 || !d2(0) || !d2(2) || val[4] != '-' || !d2(5) || val[7] != '-' || !d2(8) {
		return nil, false
	}
	ks := keystream{m: m, val: val}
	pick := func(lo, n int) int {
		if !fpe {
			return lo
		}
		return lo + int(ks.next())%n
	}
	two := func(b []byte, x int) []byte { return append(b, byte('0'+x/10), byte('0'+x%10)) }
	b := append(m.buf[:0], val[:5]...)
	b = two(b, pick(1, 12))
	b = append(b, '-')
	b = two(b, pick(1, 28))
	j := 10
	if j+6 <= len(val) && (val[j] == 'T' || val[j] == ' ') && d2(j+1) && val[j+3] == ':' && d2(j+4) {
		b = append(b, val[j])
		b = two(b, pick(0, 24))
		b = append(b, ':')
		b = two(b, pick(0, 60))
		j += 6
		if j+3 <= len(val) && val[j] == ':' && d2(j+1) {
			b = append(b, ':')
			b = two(b, pick(0, 60))
			j += 3
			if j < len(val) && val[j] == '.' {
				b = append(b, '.')
				for j++; j < len(val) && isDigit(val[j]); j++ {
					b = append(b, byte('0'+pick(0, 10)))
				}
			}
		}
	}
	b = append(b, val[j:]...)
	m.buf = b
	return b, true
}

// jsonQuote appends s as a JSON string.
func jsonQuote(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
