package main

import (
	"bytes"
	"unsafe"
)

// The built-in detectors: hand-written scanners, one pass over a value, no
// regexp and no allocation. README.md ("Detectors") states each rule; every
// rule has true and false positives in vectors/detectors.json and
// rules_test.go.
//
// scan first runs a prefilter (every e-mail has an '@', every other entity
// a digit), then finds e-mails from their '@', then jumps from digit to
// digit, backs up to the start of the digit's token and runs a detector
// only where the digit run's length and the byte after it allow an entity.
// Prose costs an 8-bytes-at-a-time search.

// entity is a built-in detector.
type entity uint8

const (
	entEmail entity = iota
	entPhone
	entCard
	entIBAN
	entSSN
	entIPv4
	entIPv6
	numBuiltin
)

// entityNames are the config names of the built-in entities, by entity.
var entityNames = [numBuiltin]string{"email", "phone", "credit_card", "iban", "ssn", "ipv4", "ipv6"}

// span is a byte range [s, e) of a value found by entity or custom rule r
// (an index into masker.rules).
type span struct {
	s, e int32
	r    int32
}

// Byte classes.
const (
	cDigit = 1 << iota
	cUpper
	cLower
	cHex    // 0-9 a-f A-F
	cLocal  // e-mail local part: alnum . _ % + -
	cDomain // e-mail domain: alnum . -
	cWord   // alnum _
	cStart  // may start an entity or a word: alnum + ( :
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		var k uint8
		switch {
		case c >= '0' && c <= '9':
			k = cDigit | cHex
		case c >= 'A' && c <= 'Z':
			k = cUpper
			if c <= 'F' {
				k |= cHex
			}
		case c >= 'a' && c <= 'z':
			k = cLower
			if c <= 'f' {
				k |= cHex
			}
		}
		if k != 0 {
			k |= cLocal | cDomain | cWord | cStart
		}
		switch c {
		case '.', '-':
			k |= cLocal | cDomain
		case '_':
			k |= cLocal | cWord
		case '%', '+':
			k |= cLocal
		}
		switch c {
		case '+', '(', ':':
			k |= cStart
		}
		t[c] = k
	}
	return t
}()

const (
	hasDigit = 1 << iota
	hasAt
)

var prefilter = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = hasDigit
	}
	t['@'] = hasAt
	return t
}()

func isDigit(c byte) bool { return class[c]&cDigit != 0 }
func isUpper(c byte) bool { return class[c]&cUpper != 0 }
func isHex(c byte) bool   { return class[c]&cHex != 0 }
func isWord(c byte) bool  { return class[c]&cWord != 0 }
func isAlnum(c byte) bool { return class[c]&(cDigit|cUpper|cLower) != 0 }

// boundaryBefore reports whether an entity may start at v[i]: it is not
// inside a word, and not the continuation of a dotted or dashed token
// ("ORD-415-555-2671", "1.4111...", "+415").
func boundaryBefore(v []byte, i int) bool {
	if i == 0 {
		return true
	}
	p := v[i-1]
	if isWord(p) || p == '+' {
		return false
	}
	if (p == '.' || p == '-') && i >= 2 && isWord(v[i-2]) {
		return false
	}
	return true
}

// boundaryAfter reports whether an entity may end before v[e]: the token
// does not go on with a letter, digit or underscore, nor with '.' or '-'
// and a digit ("415-555-2671-99", "10.0.0.1.5").
func boundaryAfter(v []byte, e int) bool {
	if e >= len(v) {
		return true
	}
	c := v[e]
	if isWord(c) {
		return false
	}
	if (c == '.' || c == '-') && e+1 < len(v) && isDigit(v[e+1]) {
		return false
	}
	return true
}

// scan appends the spans of the built-in entities enabled in en (bit i =
// entity i) found in v to out, in order and without overlap. rule maps an
// entity to the rule index written in its spans.
func scan(v []byte, en uint32, rule *[numBuiltin]int32, out []span) []span {
	has := prefilterOf(v)
	if has == hasDigit && isoTimestamp(v) {
		return out
	}
	return scanHas(v, has, en, rule, out)
}

// prefilterOf is the prefilter of v: hasAt if it has an '@' (every e-mail
// does), hasDigit if it has a digit (every other entity does). One
// branch-free pass; most values of a record (names, words, flags) have
// neither and cost nothing more.
func prefilterOf(v []byte) uint8 {
	var has uint8
	i := 0
	for ; i+8 <= len(v); i += 8 {
		// Eight bytes at a time (SWAR). The test is "any byte", so the
		// byte order of the load does not matter, and wasm and the
		// native targets we test on allow unaligned loads.
		x := *(*uint64)(unsafe.Pointer(&v[i]))
		has |= prefilterWord(x)
		if has == hasDigit|hasAt {
			return has
		}
	}
	for ; i < len(v); i++ {
		has |= prefilter[v[i]]
	}
	return has
}

// nextDigit returns the index of the first ASCII digit of v at or after
// i, or -1.
func nextDigit(v []byte, i int) int {
	for ; i+8 <= len(v); i += 8 {
		x := *(*uint64)(unsafe.Pointer(&v[i]))
		low := x &^ msb
		if (low+0x5050505050505050)&^(low+0x4646464646464646)&^x&msb != 0 {
			break
		}
	}
	for ; i < len(v); i++ {
		if class[v[i]]&cDigit != 0 {
			return i
		}
	}
	return -1
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// prefilterWord is the prefilter of the 8 bytes of x: a byte is an ASCII
// digit when its low 7 bits are >= 0x30 and < 0x3a and its high bit is
// clear (adding 0x50 and 0x46 to a 7-bit byte sets its high bit exactly
// then, without a carry into the next byte); an '@' is a zero byte of
// x ^ 0x40.. (the classic has-zero-byte test, exact as a whole-word test).
func prefilterWord(x uint64) uint8 {
	var has uint8
	low := x &^ msb
	if (low+0x5050505050505050)&^(low+0x4646464646464646)&^x&msb != 0 {
		has = hasDigit
	}
	if y := x ^ 0x4040404040404040; (y-lsb)&^y&msb != 0 {
		has |= hasAt
	}
	return has
}

// scanHas is scan with the prefilter of v already computed.
func scanHas(v []byte, has uint8, en uint32, rule *[numBuiltin]int32, out []span) []span {
	if has == 0 {
		return out
	}
	first := len(out)
	if en&(1<<entEmail) != 0 && has&hasAt != 0 {
		out = findEmails(v, rule[entEmail], out)
	}
	if en&^(1<<entEmail) == 0 || has&hasDigit == 0 {
		return out
	}
	emails := len(out)
	next := first // next e-mail span to step over
	n := len(v)
	ip6 := en&(1<<entIPv6) != 0
	for i := 0; i < n; {
		// Every entity but the e-mail has a digit, and starts at most a
		// token before it (IBAN "GB82", IPv6 "fe80::1", phone "+44",
		// "(415)"): jump to the next digit, then back to the start of its
		// token (letters, digits, ':', '+', '('). Prose between digits
		// costs one 8-bytes-at-a-time search.
		d := nextDigit(v, i)
		if d < 0 {
			break
		}
		for d > i && class[v[d-1]]&(cDigit|cUpper|cLower) != 0 || d > i && (v[d-1] == ':' || v[d-1] == '+' || v[d-1] == '(') {
			d--
		}
		i = d
		k := class[v[i]]
		if k&cStart == 0 {
			i++
			continue
		}
		for next < emails && int(out[next].e) <= i {
			next++
		}
		if next < emails && i >= int(out[next].s) {
			i = int(out[next].e)
			next++
			continue
		}
		// Most words start with a letter and are no entity: skip them
		// without calling a detector. An upper-case letter may start an
		// IBAN (two letters, two digits), a hex letter an IPv6 address
		// (a ':' within five bytes).
		if k&(cUpper|cLower) != 0 {
			maybe := k&cHex != 0 && ip6 && colonSoon(v, i) ||
				k&cUpper != 0 && i+4 < n && class[v[i+1]]&cUpper != 0 && class[v[i+2]]&cDigit != 0 && class[v[i+3]]&cDigit != 0
			if !maybe {
				for i++; i < n && class[v[i]]&cWord != 0; i++ {
				}
				continue
			}
		} else if k&cDigit != 0 {
			// A digit run: the same dispatch as detectAt's, inline, so
			// that a year, a time or a quantity costs no call (calls are
			// dear in Go's wasm code).
			r := i + 1
			for r < n && class[v[r]]&cDigit != 0 {
				r++
			}
			run := r - i
			var nb byte
			if r < n {
				nb = v[r]
			}
			var p byte
			if i > 0 {
				p = v[i-1]
			}
			sep := nb == '-' || nb == ' ' || nb == '.'
			maybe := (run >= 13 || run <= 5 && sep || run <= 4 && ip6 && p != ':' && p != '.' && (nb == ':' || class[nb]&cHex != 0)) &&
				!(class[p]&cWord != 0 || p == '+' || (p == '.' || p == '-') && i >= 2 && class[v[i-2]]&cWord != 0)
			if !maybe {
				i = r
				for i < n && class[v[i]]&cWord != 0 {
					i++
				}
				continue
			}
		} else if k&cStart != 0 && v[i] == ':' && (i+1 >= n || v[i+1] != ':') {
			i++
			continue
		}
		ent, e := detectAt(v, i, k, en)
		if ent == numBuiltin && e > i {
			i = e // a rejected shape (an IBAN or card failing its check)
			continue
		}
		if e > i {
			// An e-mail found first wins over anything that would overlap it.
			if next < emails && e > int(out[next].s) {
				i = int(out[next].e)
				next++
				continue
			}
			out = appendSpan(out, first, emails, span{int32(i), int32(e), rule[ent]})
			i = e
			continue
		}
		if k&cWord != 0 {
			for i++; i < n && class[v[i]]&cWord != 0; i++ {
			}
			continue
		}
		i++
	}
	return out
}

// isoTimestamp reports whether v is exactly a date-time as databases and
// JSON encoders write it, YYYY-MM-DDThh:mm:ss with an optional fraction of
// 1 to 9 digits and an optional 'Z'. No built-in entity can be found in
// one (TestISOTimestampHasNoEntity checks it), and such values, common in
// records, cost the digit loop of scanHas several detector dispatches:
// ten times what this check costs in Go's Wasm code. scan and the records
// hook skip them before calling scanHas.
func isoTimestamp(v []byte) bool {
	n := len(v)
	if n < 19 || n > 30 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' {
		return false
	}
	digits := class[v[0]] & class[v[1]] & class[v[2]] & class[v[3]] & class[v[5]] & class[v[6]] &
		class[v[8]] & class[v[9]] & class[v[11]] & class[v[12]] & class[v[14]] & class[v[15]] &
		class[v[17]] & class[v[18]]
	if digits&cDigit == 0 {
		return false
	}
	rest := v[19:]
	if len(rest) > 0 && rest[len(rest)-1] == 'Z' {
		rest = rest[:len(rest)-1]
	}
	if len(rest) == 0 {
		return true
	}
	if len(rest) < 2 || len(rest) > 10 || rest[0] != '.' {
		return false
	}
	for _, c := range rest[1:] {
		if class[c]&cDigit == 0 {
			return false
		}
	}
	return true
}

// colonSoon reports whether v[i:] is 0 to 4 hex digits and a ':', as an
// IPv6 address starts.
func colonSoon(v []byte, i int) bool {
	for k := i; k < len(v) && k <= i+4; k++ {
		if v[k] == ':' {
			return true
		}
		if class[v[k]]&cHex == 0 {
			return false
		}
	}
	return false
}

// appendSpan appends sp, keeping out[first:] sorted when there are e-mail
// spans (found in a pass of their own) among out[first:emails].
func appendSpan(out []span, first, emails int, sp span) []span {
	out = append(out, sp)
	if emails == first {
		return out
	}
	for j := len(out) - 1; j > first && out[j-1].s > out[j].s; j-- {
		out[j-1], out[j] = out[j], out[j-1]
	}
	return out
}

// detectAt runs the detectors that can start at v[i] (class k) and returns
// the entity and end of the first match, numBuiltin and the end of a
// rejected shape to skip whole, or e = -1.
func detectAt(v []byte, i int, k uint8, en uint32) (entity, int) {
	c := v[i]
	switch {
	case k&cDigit != 0:
		if !boundaryBefore(v, i) {
			return 0, -1
		}
		// Dispatch on the length of the digit run and the byte after it,
		// so that a number that cannot start an entity (a year, a time, a
		// quantity) costs no detector call.
		r := i + 1
		for r < len(v) && isDigit(v[r]) {
			r++
		}
		run := r - i
		var next byte
		if r < len(v) {
			next = v[r]
		}
		sep := next == '-' || next == ' '
		if en&(1<<entCard) != 0 && (run >= 13 || run == 4 && sep && r+4 < len(v) && isDigit(v[r+1]) && isDigit(v[r+2]) && isDigit(v[r+3]) && isDigit(v[r+4])) {
			if e := card(v, i); e > 0 {
				return entCard, e
			} else if e < -1 {
				return numBuiltin, -e
			}
		}
		if run == 3 && sep && en&(1<<entSSN) != 0 {
			if e := ssn(v, i); e > 0 {
				return entSSN, e
			}
		}
		if en&(1<<entPhone) != 0 {
			if (run == 3 || run == 1 && v[i] == '1') && (sep || next == '.') {
				if e := phoneNANP(v, i); e > 0 {
					return entPhone, e
				}
			}
			if v[i] == '0' && run >= 2 && run <= 5 && sep {
				if e := phoneNational(v, i); e > 0 {
					return entPhone, e
				}
			}
		}
		if run <= 3 && next == '.' && en&(1<<entIPv4) != 0 {
			if e := ipv4(v, i); e > 0 {
				return entIPv4, e
			}
		}
		if run <= 4 && en&(1<<entIPv6) != 0 && (next == ':' || isHex(next)) && colonSoon(v, i) {
			if e := ipv6(v, i, nil); e > 0 {
				return entIPv6, e
			}
		}
	case k&cUpper != 0:
		if en&(1<<entIBAN) != 0 && i+4 < len(v) && isUpper(v[i+1]) && isDigit(v[i+2]) && isDigit(v[i+3]) && boundaryBefore(v, i) {
			if e := iban(v, i); e > 0 {
				return entIBAN, e
			} else if e < -1 {
				return numBuiltin, -e
			}
		}
		if en&(1<<entIPv6) != 0 && k&cHex != 0 && colonSoon(v, i) {
			if e := ipv6(v, i, nil); e > 0 {
				return entIPv6, e
			}
		}
	case k&cHex != 0: // a-f
		if en&(1<<entIPv6) != 0 && colonSoon(v, i) {
			if e := ipv6(v, i, nil); e > 0 {
				return entIPv6, e
			}
		}
	case c == '+':
		if en&(1<<entPhone) != 0 {
			if e := phoneE164(v, i); e > 0 {
				return entPhone, e
			}
		}
	case c == '(':
		if en&(1<<entPhone) != 0 && (i == 0 || !isWord(v[i-1])) {
			if e := phoneParen(v, i); e > 0 {
				return entPhone, e
			}
		}
	case c == ':':
		if en&(1<<entIPv6) != 0 && i+2 < len(v) && v[i+1] == ':' {
			if e := ipv6(v, i, nil); e > 0 {
				return entIPv6, e
			}
		}
	}
	return 0, -1
}

// ---- e-mail ----

// fileExtensions are "TLDs" that make name@2x.png an asset, not an address.
var fileExtensions = []string{"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "bmp", "css", "js", "json", "map", "woff", "woff2", "ttf"}

// findEmails appends every local@domain.tld of v: a local part of
// [A-Za-z0-9._%+-] not starting or ending with '.', a domain of dot
// separated labels of [A-Za-z0-9-] (not starting or ending with '-'), and
// a TLD of 2 to 24 letters that is not a file extension.
func findEmails(v []byte, r int32, out []span) []span {
	from := 0
	for at := indexByte(v, 0, '@'); at >= 0; at = indexByte(v, at+1, '@') {
		if at < from {
			continue
		}
		s := at
		for s > from && class[v[s-1]]&cLocal != 0 {
			s--
		}
		for s < at && (v[s] == '.' || v[s] == '-' || v[s] == '+') {
			s++
		}
		if s == at || v[at-1] == '.' {
			continue
		}
		e := at + 1
		for e < len(v) && class[v[e]]&cDomain != 0 {
			e++
		}
		for e > at+1 && (v[e-1] == '.' || v[e-1] == '-') {
			e--
		}
		if !emailDomain(v[at+1 : e]) {
			continue
		}
		out = append(out, span{int32(s), int32(e), r})
		from = e
	}
	return out
}

func indexByte(v []byte, from int, c byte) int {
	if from >= len(v) {
		return -1
	}
	if k := bytes.IndexByte(v[from:], c); k >= 0 {
		return from + k
	}
	return -1
}

func emailDomain(d []byte) bool {
	if len(d) < 4 {
		return false
	}
	label, dots := 0, 0
	for i, c := range d {
		if c == '.' {
			if label == 0 || d[i-1] == '-' {
				return false
			}
			dots++
			label = 0
			continue
		}
		if c == '-' && label == 0 {
			return false
		}
		label++
	}
	if dots == 0 {
		return false
	}
	tld := d[len(d)-label:]
	if len(tld) < 2 || len(tld) > 24 {
		return false
	}
	for _, c := range tld {
		if class[c]&(cUpper|cLower) == 0 {
			return false
		}
	}
	if len(tld) <= 8 {
		var key uint64
		for _, c := range tld {
			key = key<<8 | uint64(lower(c))
		}
		for _, x := range fileExtensionKeys {
			if key == x {
				return false
			}
		}
	}
	return true
}

// fileExtensionKeys are fileExtensions packed as emailDomain packs a TLD,
// so that the check is one loop of integer compares.
var fileExtensionKeys = func() []uint64 {
	var keys []uint64
	for _, x := range fileExtensions {
		var key uint64
		for i := 0; i < len(x); i++ {
			key = key<<8 | uint64(x[i])
		}
		keys = append(keys, key)
	}
	return keys
}()

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ---- payment card ----

// card matches 13 to 19 digits at v[i], either contiguous or in groups
// split by one kind of separator (single spaces or single dashes) with a
// first group of 4 and the others of 1 to 6, whose issuer prefix and
// length are those of a card scheme and whose Luhn check passes. With
// separators, the longest prefix of whole groups that qualifies wins; a
// run of such groups that does not qualify as a whole gives minus its end,
// and the scanner skips it (no phone among the groups of an invalid card).
func card(v []byte, i int) int {
	var digits [19]byte
	var ends [8]int // end offset of each group
	var counts [8]int
	n, groups, group, sep, j := 0, 0, 0, byte(0), i
	for j < len(v) {
		c := v[j]
		if isDigit(c) {
			if n == len(digits) {
				break
			}
			digits[n] = c - '0'
			n++
			group++
			j++
			continue
		}
		if (c == ' ' || c == '-') && j+1 < len(v) && isDigit(v[j+1]) && (sep == 0 || sep == c) {
			if groups == len(ends)-1 {
				break
			}
			ends[groups], counts[groups] = j, n
			groups++
			group = 0
			sep = c
			j++
			continue
		}
		break
	}
	if n < 13 {
		return -1
	}
	if group > 0 {
		ends[groups], counts[groups] = j, n
		groups++
	}
	if sep == 0 {
		if j < len(v) && isDigit(v[j]) { // more than 19 digits
			return -1
		}
		if boundaryAfter(v, j) && cardOK(digits[:n]) {
			return j
		}
		return -1
	}
	if counts[0] != 4 {
		return -1
	}
	shaped := false // 13-19 digits grouped as cards are, ending the token
	for g := groups - 1; g >= 1; g-- {
		size := counts[g] - counts[g-1]
		if size > 6 || counts[g] < 13 {
			continue
		}
		if g < groups-1 && size < 4 {
			continue
		}
		if !groupsOK(counts[:g+1]) {
			continue
		}
		if !boundaryAfter(v, ends[g]) {
			continue
		}
		if cardOK(digits[:counts[g]]) {
			return ends[g]
		}
		if g == groups-1 {
			shaped = true
		}
	}
	if shaped {
		return -j // a grouped card number that fails its checks: skip it whole
	}
	return -1
}

// groupsOK: every group but the first (4) and the last has 4 to 6 digits.
func groupsOK(counts []int) bool {
	for g := 1; g < len(counts)-1; g++ {
		if size := counts[g] - counts[g-1]; size < 4 || size > 6 {
			return false
		}
	}
	return true
}

// cardOK checks the scheme prefix and length (ISO/IEC 7812 IINs as the
// schemes publish them) and the Luhn check digit.
func cardOK(d []byte) bool {
	n := len(d)
	p2 := int(d[0])*10 + int(d[1])
	p4 := p2*100 + int(d[2])*10 + int(d[3])
	ok := false
	switch d[0] {
	case 2: // Mastercard 2-series
		ok = p4 >= 2221 && p4 <= 2720 && n == 16
	case 3:
		switch {
		case p2 == 34 || p2 == 37: // American Express
			ok = n == 15
		case p2 == 35: // JCB
			ok = n >= 16
		case p2 == 30 || p2 == 36 || p2 == 38 || p2 == 39: // Diners Club
			ok = n >= 14
		}
	case 4: // Visa
		ok = n == 13 || n == 16 || n == 19
	case 5:
		switch {
		case p2 >= 51 && p2 <= 55: // Mastercard
			ok = n == 16
		case p2 == 50 || p2 >= 56: // Maestro
			ok = true
		}
	case 6: // Discover, UnionPay, Maestro, RuPay
		ok = true
	}
	return ok && luhn(d)
}

func luhn(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i])
		if double {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		double = !double
		sum += x
	}
	return sum%10 == 0
}

// ---- US SSN ----

// ssn matches AAA-GG-SSSS (or with single spaces) where the area is not
// 000, 666 or 900-999, the group not 00 and the serial not 0000 (the SSA's
// never-issued ranges). Nine digits without separators are not matched:
// without a field name they are any number.
func ssn(v []byte, i int) int {
	if i+11 > len(v) {
		return -1
	}
	sep := v[i+3]
	if (sep != '-' && sep != ' ') || v[i+6] != sep {
		return -1
	}
	for _, k := range [...]int{0, 1, 2, 4, 5, 7, 8, 9, 10} {
		if !isDigit(v[i+k]) {
			return -1
		}
	}
	area := int(v[i]-'0')*100 + int(v[i+1]-'0')*10 + int(v[i+2]-'0')
	if area == 0 || area == 666 || area >= 900 {
		return -1
	}
	if v[i+4] == '0' && v[i+5] == '0' {
		return -1
	}
	if v[i+7] == '0' && v[i+8] == '0' && v[i+9] == '0' && v[i+10] == '0' {
		return -1
	}
	if !boundaryAfter(v, i+11) {
		return -1
	}
	return i + 11
}

// ---- phone numbers ----

// digitsAt returns the end of the run of exactly n digits at v[i], or -1.
func digitsAt(v []byte, i, n int) int {
	if i+n > len(v) {
		return -1
	}
	for k := i; k < i+n; k++ {
		if !isDigit(v[k]) {
			return -1
		}
	}
	if i+n < len(v) && isDigit(v[i+n]) {
		return -1
	}
	return i + n
}

// extension extends a phone number ending at e with "x123", " x123",
// " ext 123", " ext. 123" (1 to 6 digits); it returns e when there is none.
func extension(v []byte, e int) int {
	j := e
	if j < len(v) && v[j] == ' ' {
		j++
	}
	switch {
	case j < len(v) && (v[j] == 'x' || v[j] == 'X'):
		j++
	case j+3 <= len(v) && equalFoldASCII(v[j:j+3], "ext"):
		j += 3
		if j < len(v) && v[j] == '.' {
			j++
		}
		if j < len(v) && v[j] == ' ' {
			j++
		}
	default:
		return e
	}
	k := j
	for k < len(v) && k-j < 7 && isDigit(v[k]) {
		k++
	}
	if k == j || k-j > 6 || !boundaryAfter(v, k) {
		return e
	}
	return k
}

// phoneEnd finishes a phone number ending at e: an optional extension,
// then the end of the token.
func phoneEnd(v []byte, e int) int {
	if e < 0 {
		return -1
	}
	if x := extension(v, e); x > e {
		return x
	}
	if !boundaryAfter(v, e) {
		return -1
	}
	return e
}

// phoneNANP matches North American numbers at a digit: NXX-NXX-XXXX and
// NXX.NXX.XXXX with any digits (one separator kind), NXX NXX XXXX with
// area and exchange starting 2-9, each optionally after "1" or "001" and
// the same separator, and "1 (415) 555-2671" (see phoneParen).
func phoneNANP(v []byte, i int) int {
	p := i
	if e := digitsAt(v, i, 1); e > 0 && v[i] == '1' && e < len(v) {
		p = e
	} else if e := digitsAt(v, i, 3); e > 0 && v[i] == '0' && v[i+1] == '0' && v[i+2] == '1' && e < len(v) {
		p = e
	}
	if p > i {
		sep := v[p]
		if sep != '-' && sep != '.' && sep != ' ' {
			return -1
		}
		if sep == ' ' && p+1 < len(v) && v[p+1] == '(' {
			return phoneParen(v, p+1)
		}
		return nanp3(v, p+1, sep)
	}
	if i+3 < len(v) {
		return nanp3(v, i, v[i+3])
	}
	return -1
}

// nanp3 matches 3 digits, sep, 3 digits, sep, 4 digits at v[i].
func nanp3(v []byte, i int, sep byte) int {
	if sep != '-' && sep != '.' && sep != ' ' {
		return -1
	}
	a := digitsAt(v, i, 3)
	if a < 0 || a >= len(v) || v[a] != sep {
		return -1
	}
	b := digitsAt(v, a+1, 3)
	if b < 0 || b >= len(v) || v[b] != sep {
		return -1
	}
	e := digitsAt(v, b+1, 4)
	if e < 0 {
		return -1
	}
	if sep == ' ' && (v[i] < '2' || v[a+1] < '2') {
		return -1
	}
	return phoneEnd(v, e)
}

// phoneParen matches "(415) 555-2671", "(415)555-2671", "(415) 555 2671",
// "(415) 555.2671" at '('.
func phoneParen(v []byte, i int) int {
	a := digitsAt(v, i+1, 3)
	if a < 0 || a >= len(v) || v[a] != ')' {
		return -1
	}
	j := a + 1
	if j < len(v) && v[j] == ' ' {
		j++
	}
	b := digitsAt(v, j, 3)
	if b < 0 || b >= len(v) || (v[b] != '-' && v[b] != '.' && v[b] != ' ') {
		return -1
	}
	return phoneEnd(v, digitsAt(v, b+1, 4))
}

// phoneNational matches numbers written with a trunk prefix 0 (UK, most of
// Europe, Australia...): "020 7946 0958", "01 23 45 67 89", "030-1234567":
// a first group of 2 to 5 digits starting 0 then 1-9, then groups of 2 or
// more digits split by one kind of separator (space or dash), 10 or 11
// digits in all, at least two groups.
func phoneNational(v []byte, i int) int {
	if v[i] != '0' || i+1 >= len(v) || v[i+1] < '1' || v[i+1] > '9' {
		return -1
	}
	n, groups, group, sep, j := 0, 0, 0, byte(0), i
	first := 0
	for j < len(v) && n <= 11 {
		c := v[j]
		if isDigit(c) {
			n++
			group++
			j++
			continue
		}
		if (c == ' ' || c == '-') && (sep == 0 || sep == c) && j+1 < len(v) && isDigit(v[j+1]) && group >= 2 && n < 11 {
			if groups == 0 {
				first = group
			}
			groups++
			group = 0
			sep = c
			j++
			continue
		}
		break
	}
	if groups == 0 || group < 2 || first > 5 || (n != 10 && n != 11) {
		return -1
	}
	return phoneEnd(v, j)
}

// phoneE164 matches '+', a country code starting 1-9, and 8 to 15 digits
// in all, written together (+14155552671) or in groups split by spaces,
// dashes, dots and one parenthesized group ("+44 (0)20 7946 0958",
// "+1 (415) 555-2671"); a trunk "(0)" is not counted.
func phoneE164(v []byte, i int) int {
	if i > 0 && isWord(v[i-1]) {
		return -1
	}
	j := i + 1
	if j >= len(v) || v[j] < '1' || v[j] > '9' {
		return -1
	}
	n, parens, end := 0, 0, -1
	spaceEnd := -1 // the last end before a space with 8 to 15 digits
	for j < len(v) {
		c := v[j]
		switch {
		case isDigit(c):
			n++
			j++
			end = j
			if n > 15 {
				// Too long for one number: the digits after the last
				// space may be another number ("+14155552671 4111...").
				if spaceEnd < 0 {
					return -1
				}
				return phoneEnd(v, spaceEnd)
			}
			continue
		case c == '(' && parens == 0 && end > 0:
			k := j + 1
			for k < len(v) && isDigit(v[k]) && k-j <= 4 {
				k++
			}
			if k == j+1 || k >= len(v) || v[k] != ')' {
				break
			}
			if !(k == j+2 && v[j+1] == '0') {
				n += k - j - 1
			}
			parens++
			j = k + 1
			end = j
			if j < len(v) && v[j] == ' ' && j+1 < len(v) && isDigit(v[j+1]) {
				j++
			}
			continue
		case (c == ' ' || c == '-' || c == '.') && j+1 < len(v) && (isDigit(v[j+1]) || (v[j+1] == '(' && parens == 0)):
			if c == ' ' && n >= 8 && end == j {
				spaceEnd = j
			}
			j++
			continue
		}
		break
	}
	if n < 8 || end < 0 {
		return -1
	}
	return phoneEnd(v, end)
}

// ---- IBAN ----

// ibanLengths is the length of the IBAN of each country (SWIFT IBAN
// registry), indexed by (c0-'A')*26 + c1-'A'; 0 for no IBAN.
var ibanLengths = func() (t [26 * 26]uint8) {
	const table = "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HN28HR21HU28IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18NO15OM23PK24PL28PS29PT25QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23TN24TR26UA29VA22VG24XK20YE30"
	for k := 0; k+4 <= len(table); k += 4 {
		t[int(table[k]-'A')*26+int(table[k+1]-'A')] = (table[k+2]-'0')*10 + table[k+3] - '0'
	}
	return t
}()

// iban matches a country code with an IBAN, two check digits and the
// country's length of upper-case letters and digits, contiguous or in
// groups of four split by single spaces, whose ISO 13616 mod-97 check is 1.
// It returns the end of the match, -1 for no IBAN shape, or minus the end
// of an IBAN shape whose check fails: the scanner skips such a value whole
// so that no phone or card is found among its groups.
func iban(v []byte, i int) int {
	want := int(ibanLengths[int(v[i]-'A')*26+int(v[i+1]-'A')])
	if want == 0 {
		return -1
	}
	var chars [34]byte
	n, j, spaced := 0, i, false
	for j < len(v) && n < want {
		c := v[j]
		if isDigit(c) || isUpper(c) {
			chars[n] = c
			n++
			j++
			continue
		}
		if c == ' ' && n%4 == 0 && n > 0 && (spaced || n == 4) && j+1 < len(v) && isAlnum(v[j+1]) {
			spaced = true
			j++
			continue
		}
		break
	}
	if n != want || !boundaryAfter(v, j) {
		return -1
	}
	if !ibanCheck(chars[:n]) {
		return -j // the shape of an IBAN with a wrong check: skip it whole
	}
	return j
}

// ibanCheck is the ISO 13616 check: the first four characters moved to
// the end, letters mapped to 10..35, the number mod 97 is 1.
func ibanCheck(chars []byte) bool {
	n := len(chars)
	rem := 0
	for k := 0; k < n; k++ {
		c := chars[(k+4)%n]
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	return rem == 1
}

// ---- IP addresses ----

// versionWords are words after which a dotted quad is a version, not an
// address: "version 1.2.3.4", "build: 10.0.19041.1".
var versionWords = []string{"v", "ver", "version", "release", "rel", "build", "rev", "revision", "firmware", "fw"}

// ipv4 matches a dotted quad of decimal octets 0-255 without leading zeros
// that is not a version: all four octets single digits (1.2.3.4), a
// version word before it, a fifth dotted part or a "-beta"/"+build" suffix
// after it are all read as versions.
func ipv4(v []byte, i int) int {
	j := i
	wide := false
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(v) || v[j] != '.' {
				return -1
			}
			j++
		}
		s := j
		val := 0
		for j < len(v) && isDigit(v[j]) && j-s < 4 {
			val = val*10 + int(v[j]-'0')
			j++
		}
		d := j - s
		if d == 0 || d > 3 || val > 255 || (d > 1 && v[s] == '0') {
			return -1
		}
		if d > 1 {
			wide = true
		}
	}
	if !wide || !boundaryAfter(v, j) {
		return -1
	}
	if j+1 < len(v) && (v[j] == '-' || v[j] == '+') && isAlnum(v[j+1]) {
		return -1
	}
	if j+1 < len(v) && v[j] == '.' && isAlnum(v[j+1]) {
		return -1
	}
	if afterVersionWord(v, i) {
		return -1
	}
	return j
}

// afterVersionWord reports whether the word before v[i] (across blanks,
// ':' and '=') is one of versionWords.
func afterVersionWord(v []byte, i int) bool {
	j := i
	for j > 0 && (v[j-1] == ' ' || v[j-1] == ':' || v[j-1] == '=' || v[j-1] == '\t') && i-j < 4 {
		j--
	}
	if j == i {
		return false
	}
	e := j
	for j > 0 && isAlnum(v[j-1]) && e-j < 9 {
		j--
	}
	if j > 0 && isWord(v[j-1]) {
		return false
	}
	for _, w := range versionWords {
		if equalFoldASCII(v[j:e], w) {
			return true
		}
	}
	return false
}

// ipv6 matches an RFC 4291 text address at v[i]: eight groups of 1 to 4
// hex digits, or fewer with one "::", optionally ending in a dotted quad
// (::ffff:192.0.2.1). An address needs a digit (the prefilter of scan
// relies on it) and a compressed one at least two groups ("fe80::1", not
// "a::b" or "::1"). It fills g with the 8 groups when g is
// not nil.
func ipv6(v []byte, i int, g *[8]uint16) int {
	if i > 0 && (isWord(v[i-1]) || v[i-1] == ':' || v[i-1] == '.') {
		return -1
	}
	var groups [8]uint16
	n, gap, j, digit := 0, -1, i, false
	if v[j] == ':' {
		if j+1 >= len(v) || v[j+1] != ':' {
			return -1
		}
		gap = 0
		j += 2
	}
	end := j
	for j < len(v) && n < 8 {
		s := j
		val := 0
		for j < len(v) && isHex(v[j]) && j-s < 5 {
			c := v[j]
			if isDigit(c) {
				digit = true
			}
			val = val<<4 | int(hexVal(c))
			j++
		}
		if j-s == 0 {
			break
		}
		if j-s > 4 {
			return -1
		}
		// A dotted quad ends the address (::ffff:192.0.2.1); a '.' that is
		// not followed by a digit ends a sentence after it.
		if j+1 < len(v) && v[j] == '.' && isDigit(v[j+1]) {
			if q := ipv4Plain(v, s); q > 0 && n <= 6 {
				a, b, c, d := quad(v[s:q])
				groups[n], groups[n+1] = uint16(a)<<8|uint16(b), uint16(c)<<8|uint16(d)
				n += 2
				end = q
				j = q
				digit = true
				break
			}
			return -1
		}
		groups[n] = uint16(val)
		n++
		end = j
		if j+1 < len(v) && v[j] == ':' {
			if v[j+1] == ':' {
				if gap >= 0 {
					break
				}
				gap = n
				j += 2
				end = j
				continue
			}
			if isHex(v[j+1]) {
				j++
				continue
			}
		}
		break
	}
	if !digit || gap >= 0 && (n > 7 || n < 2) || gap < 0 && n != 8 {
		return -1
	}
	if end < len(v) && (isWord(v[end]) || v[end] == ':' && end+1 < len(v) && (isHex(v[end+1]) || v[end+1] == ':')) {
		return -1
	}
	if g != nil {
		*g = [8]uint16{}
		if gap < 0 {
			*g = groups
		} else {
			copy(g[:gap], groups[:gap])
			tail := n - gap
			copy(g[8-tail:], groups[gap:n])
		}
	}
	return end
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// ipv4Plain matches a dotted quad at v[i] without the version heuristics
// (inside an IPv6 address).
func ipv4Plain(v []byte, i int) int {
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(v) || v[j] != '.' {
				return -1
			}
			j++
		}
		s, val := j, 0
		for j < len(v) && isDigit(v[j]) && j-s < 4 {
			val = val*10 + int(v[j]-'0')
			j++
		}
		if d := j - s; d == 0 || d > 3 || val > 255 {
			return -1
		}
	}
	return j
}

// quad parses a dotted quad already matched.
func quad(b []byte) (o0, o1, o2, o3 int) {
	var o [4]int
	k := 0
	for _, c := range b {
		if c == '.' {
			k++
			continue
		}
		o[k] = o[k]*10 + int(c-'0')
	}
	return o[0], o[1], o[2], o[3]
}
