// Package detect holds the host-native detectors a plugin may declare in
// its manifest (ABI.md, "detectors"): the host scans the values it sends
// and the findings travel with the batch, so a plugin gets candidates found
// by compiled Go and spends its own time only on policy.
//
// Detectors are hand-written scanners rather than regular expressions:
// each is one pass over the value with no allocation, and the checksum
// detectors (Luhn, IBAN mod-97) reject most false positives a pattern
// would report. Find is safe for concurrent use.
package detect

import "github.com/sluicegw/sluice/abi"

// Find calls fn with the offset and length of every match of d in v, in
// order and without overlap.
func Find(d abi.Detector, v []byte, fn func(off, n int)) {
	switch d {
	case abi.DetectEmail:
		email(v, fn)
	case abi.DetectCreditCard:
		card(v, fn)
	case abi.DetectIBAN:
		iban(v, fn)
	case abi.DetectJWT:
		jwt(v, fn)
	case abi.DetectAWSKey:
		awsKey(v, fn)
	}
}

func isAlnum(c byte) bool { return isDigit(c) || isUpper(c) || c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomain(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

// email finds local@domain.tld with a dot in the domain and a TLD of at
// least two letters (the practical subset of RFC 5322 addr-spec).
func email(v []byte, fn func(off, n int)) {
	from := 0
	for i := 0; i < len(v); i++ {
		if v[i] != '@' || i < from {
			continue
		}
		s := i
		for s > from && isLocal(v[s-1]) {
			s--
		}
		for s < i && v[s] == '.' {
			s++
		}
		e := i + 1
		for e < len(v) && isDomain(v[e]) {
			e++
		}
		for e > i+1 && (v[e-1] == '.' || v[e-1] == '-') {
			e--
		}
		if s == i || e == i+1 {
			continue
		}
		dot := -1
		for j := e - 1; j > i+1; j-- {
			if v[j] == '.' {
				dot = j
				break
			}
		}
		if dot < 0 || e-dot-1 < 2 {
			continue
		}
		tldOK := true
		for j := dot + 1; j < e; j++ {
			if isDigit(v[j]) || v[j] == '-' {
				tldOK = false
			}
		}
		if !tldOK {
			continue
		}
		fn(s, e-s)
		from, i = e, e-1
	}
}

// card finds runs of 13 to 19 digits, optionally grouped by single spaces
// or dashes, that pass the Luhn check (ISO/IEC 7812-1 annex B).
func card(v []byte, fn func(off, n int)) {
	for i := 0; i < len(v); {
		if !isDigit(v[i]) || (i > 0 && (isDigit(v[i-1]) || isUpper(v[i-1]))) {
			i++
			continue
		}
		var digits [19]byte
		n, j, end := 0, i, i
		for j < len(v) && n < 20 {
			if isDigit(v[j]) {
				if n < len(digits) {
					digits[n] = v[j] - '0'
				}
				n++
				j++
				end = j
				continue
			}
			if (v[j] == ' ' || v[j] == '-') && j+1 < len(v) && isDigit(v[j+1]) && j > i {
				j++
				continue
			}
			break
		}
		if n >= 13 && n <= 19 && (end == len(v) || !isDigit(v[end])) && luhn(digits[:n]) {
			fn(i, end-i)
			i = end
			continue
		}
		i = max(end, i+1)
	}
}

func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		x := int(d[i])
		if (len(d)-1-i)%2 == 1 {
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return sum%10 == 0
}

// iban finds ISO 13616 IBANs (two letters, two check digits, 11 to 30
// alphanumerics, optionally in groups of four) whose mod-97 check is 1.
func iban(v []byte, fn func(off, n int)) {
	for i := 0; i+15 <= len(v); i++ {
		if !isUpper(v[i]) || !isUpper(v[i+1]) || !isDigit(v[i+2]) || !isDigit(v[i+3]) || (i > 0 && isAlnum(v[i-1])) {
			continue
		}
		var chars [34]byte
		n, j, end := 0, i, i
		for j < len(v) && n < len(chars) {
			c := v[j]
			if isDigit(c) || isUpper(c) {
				chars[n] = c
				n++
				j++
				end = j
				continue
			}
			if c == ' ' && j+1 < len(v) && isAlnum(v[j+1]) && n%4 == 0 {
				j++
				continue
			}
			break
		}
		if n < 15 || n > 34 || (end < len(v) && isAlnum(v[end])) {
			continue
		}
		// Move the first four characters to the end, map letters to
		// 10..35 and take the number mod 97 (ISO 13616-1, 7.1).
		rem := 0
		for k := 0; k < n; k++ {
			c := chars[(k+4)%n]
			if isDigit(c) {
				rem = (rem*10 + int(c-'0')) % 97
			} else {
				rem = (rem*100 + int(c-'A'+10)) % 97
			}
		}
		if rem == 1 {
			fn(i, end-i)
			i = end - 1
		}
	}
}

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// jwt finds compact JWS tokens: three base64url segments whose header
// starts with `{"` encoded (eyJ), RFC 7515 section 7.1.
func jwt(v []byte, fn func(off, n int)) {
	for i := 0; i+3 <= len(v); i++ {
		if v[i] != 'e' || v[i+1] != 'y' || v[i+2] != 'J' || (i > 0 && isB64URL(v[i-1])) {
			continue
		}
		j, dots := i, 0
		segStart := i
		ok := true
		for j < len(v) {
			if isB64URL(v[j]) {
				j++
				continue
			}
			if v[j] == '.' && dots < 2 {
				if j-segStart < 2 {
					ok = false
					break
				}
				dots++
				j++
				segStart = j
				continue
			}
			break
		}
		if ok && dots == 2 && j-segStart >= 2 {
			fn(i, j-i)
			i = j - 1
		}
	}
}

// awsKey finds AWS access key ids: AKIA (long-term) or ASIA (temporary)
// followed by 16 uppercase letters and digits.
func awsKey(v []byte, fn func(off, n int)) {
	for i := 0; i+20 <= len(v); i++ {
		if v[i] != 'A' || v[i+2] != 'I' || v[i+3] != 'A' || (v[i+1] != 'K' && v[i+1] != 'S') || (i > 0 && isAlnum(v[i-1])) {
			continue
		}
		ok := true
		for j := i + 4; j < i+20; j++ {
			if !isDigit(v[j]) && !isUpper(v[j]) {
				ok = false
				break
			}
		}
		if ok && (i+20 == len(v) || !isAlnum(v[i+20])) {
			fn(i, 20)
			i += 19
		}
	}
}
