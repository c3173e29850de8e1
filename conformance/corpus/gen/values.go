package gen

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Rand is the generator's source of randomness.
type Rand = rand.Rand

// A value generator returns one value of its kind.
type valueFunc func(r *Rand) string

// kindSpec is one kind of value in the corpus: a PII entity type's variant
// (email/plus-tag, card/amex-grouped) or a look-alike (none/uuid).
type kindSpec struct {
	Type  string // entity type, or None
	Kind  string // variant, unique across the corpus
	Quota int    // values of this kind in the full corpus
	Gen   valueFunc
	// Resembles is the entity type a look-alike is most easily mistaken
	// for; its false positives count against that type's precision.
	Resembles string
	// Keys are JSON keys and templates are free-text contexts ("{}" is
	// the value) suited to the kind.
	Keys      []string
	Templates []string
}

// Entity types, as the pii-mask plugin names them.
const (
	Email = "email"
	Phone = "phone"
	Card  = "card"
	IBAN  = "iban"
	SSN   = "ssn"
	IPv4  = "ipv4"
	IPv6  = "ipv6"
	None  = "none"
)

// Types lists the entity types in report order.
var Types = []string{Email, Phone, Card, IBAN, SSN, IPv4, IPv6}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

func hexs(r *rand.Rand, n int) string {
	const hx = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hx[r.IntN(16)]
	}
	return string(b)
}

func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// ---- email ----

var (
	firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter", "maria", "chen", "ali", "sofia", "liam", "noah", "emma", "olivia", "yuki", "ravi", "fatima", "lucas", "anna", "jonas", "priya", "mateo", "zoe", "omar", "lena", "kenji"}
	lastNames  = []string{"smith", "jones", "garcia", "muller", "rossi", "tanaka", "kim", "nguyen", "okafor", "silva", "novak", "larsen", "dubois", "kowalski", "haddad", "obrien", "schmidt", "patel", "ivanova", "costa"}
	domains    = []string{"example.com", "example.org", "mail.example.net", "acme-corp.io", "gmail.com", "outlook.com", "proton.me", "company.co.uk", "uni-hamburg.de", "startup.ai", "shop.example.fr", "corp.example.com.au", "yahoo.co.jp", "fastmail.fm"}
)

func emailLocal(r *rand.Rand) string {
	f, l := pick(r, firstNames), pick(r, lastNames)
	switch r.IntN(7) {
	case 0:
		return f + "." + l
	case 1:
		return f + "_" + l
	case 2:
		return f[:1] + "." + l
	case 3:
		return f + strconv.Itoa(between(r, 1, 99))
	case 4:
		return f + "-" + l + strconv.Itoa(between(r, 1970, 2005))
	case 5:
		return f + l
	default:
		return l + "." + f[:1]
	}
}

func emailPlain(r *rand.Rand) string { return emailLocal(r) + "@" + pick(r, domains) }
func emailTag(r *rand.Rand) string {
	return emailLocal(r) + "+" + pick(r, []string{"news", "billing", "test", "2024", "shop"}) + "@" + pick(r, domains)
}
func emailMixedCase(r *rand.Rand) string {
	f, l := pick(r, firstNames), pick(r, lastNames)
	d := pick(r, domains)
	return strings.ToUpper(f[:1]) + f[1:] + "." + strings.ToUpper(l[:1]) + l[1:] + "@" + strings.ToUpper(d[:1]) + d[1:]
}

// ---- phone ----

// nanp returns a plausible NANP area code, exchange and line.
func nanp(r *rand.Rand) (string, string, string) {
	n3 := func() string {
		for {
			s := strconv.Itoa(between(r, 2, 9)) + digits(r, 2)
			if s[1:] != "11" && s[1] != '9' {
				return s
			}
		}
	}
	return n3(), n3(), digits(r, 4)
}

func phoneE164US(r *rand.Rand) string { a, e, l := nanp(r); return "+1" + a + e + l }
func phoneUSParen(r *rand.Rand) string {
	a, e, l := nanp(r)
	return "(" + a + ") " + e + "-" + l
}
func phoneUSDash(r *rand.Rand) string { a, e, l := nanp(r); return a + "-" + e + "-" + l }
func phoneUSDot(r *rand.Rand) string  { a, e, l := nanp(r); return a + "." + e + "." + l }
func phoneUSIntl(r *rand.Rand) string {
	a, e, l := nanp(r)
	switch r.IntN(3) {
	case 0:
		return "+1 " + a + " " + e + " " + l
	case 1:
		return "+1 (" + a + ") " + e + "-" + l
	}
	return "+1-" + a + "-" + e + "-" + l
}

// intlPhone returns a non-US number as groups (country code first).
func intlPhone(r *rand.Rand) []string {
	switch r.IntN(6) {
	case 0: // London
		return []string{"+44", "20", "79" + digits(r, 2), digits(r, 4)}
	case 1: // UK mobile
		return []string{"+44", "7" + strconv.Itoa(between(r, 400, 999)), digits(r, 6)}
	case 2: // Berlin
		return []string{"+49", "30", digits(r, 8)}
	case 3: // German mobile
		return []string{"+49", "15" + strconv.Itoa(between(r, 1, 9)), digits(r, 8)}
	case 4: // France
		return []string{"+33", strconv.Itoa(between(r, 1, 7)), digits(r, 2), digits(r, 2), digits(r, 2), digits(r, 2)}
	default: // Spain, Netherlands, Japan, India
		return pick(r, [][]string{
			{"+34", "6" + digits(r, 2), digits(r, 3), digits(r, 3)},
			{"+31", "6", digits(r, 8)},
			{"+81", "3", digits(r, 4), digits(r, 4)},
			{"+91", "9" + digits(r, 4), digits(r, 5)},
		})
	}
}

func phoneE164Intl(r *rand.Rand) string   { return strings.Join(intlPhone(r), "") }
func phoneSpacedIntl(r *rand.Rand) string { return strings.Join(intlPhone(r), " ") }

// ---- payment cards ----

func luhnDigit(payload string) byte {
	sum := 0
	double := true // the check digit goes to the right of payload
	for i := len(payload) - 1; i >= 0; i-- {
		d := int(payload[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// LuhnValid reports whether a digit string passes the Luhn check.
func LuhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	return luhnDigit(s[:len(s)-1]) == s[len(s)-1]
}

type cardBrand struct {
	name    string
	prefix  func(r *rand.Rand) string
	lengths []int
}

var cardBrands = []cardBrand{
	{"visa", func(*rand.Rand) string { return "4" }, []int{16, 16, 16, 16, 16, 16, 13, 19}},
	{"mastercard", func(r *rand.Rand) string { return strconv.Itoa(between(r, 51, 55)) }, []int{16}},
	{"mastercard2", func(r *rand.Rand) string { return strconv.Itoa(between(r, 2221, 2720)) }, []int{16}},
	{"amex", func(r *rand.Rand) string { return pick(r, []string{"34", "37"}) }, []int{15}},
	{"discover", func(r *rand.Rand) string { return pick(r, []string{"6011", "65" + digits(r, 2), "644"}) }, []int{16, 16, 16, 19}},
}

// cardNumber returns the digits of a card number that passes Luhn, or
// fails it when valid is false.
func cardNumber(r *rand.Rand, b cardBrand, valid bool) string {
	n := pick(r, b.lengths)
	p := b.prefix(r)
	p += digits(r, n-1-len(p))
	c := luhnDigit(p)
	if !valid {
		c = byte('0' + (int(c-'0')+between(r, 1, 9))%10)
	}
	return p + string(c)
}

// groupCard groups card digits the way they are printed.
func groupCard(d, sep string) string {
	var sizes []int
	switch len(d) {
	case 15:
		sizes = []int{4, 6, 5}
	case 16:
		sizes = []int{4, 4, 4, 4}
	case 19:
		sizes = []int{4, 4, 4, 4, 3}
	default:
		return d
	}
	var parts []string
	for _, s := range sizes {
		parts = append(parts, d[:s])
		d = d[s:]
	}
	return strings.Join(parts, sep)
}

func cardGen(brand string, sep string, valid bool) valueFunc {
	return func(r *rand.Rand) string {
		var b cardBrand
		if brand == "" {
			b = pick(r, cardBrands)
		} else {
			for _, c := range cardBrands {
				if c.name == brand {
					b = c
				}
			}
		}
		d := cardNumber(r, b, valid)
		if sep == "" {
			return d
		}
		return groupCard(d, sep)
	}
}

// ---- IBAN ----

type ibanCountry struct {
	cc   string
	bban func(r *rand.Rand) string
}

var ibanCountries = []ibanCountry{
	{"DE", func(r *rand.Rand) string { return digits(r, 18) }},
	{"GB", func(r *rand.Rand) string {
		return pick(r, []string{"NWBK", "BARC", "LOYD", "HBUK", "MIDL"}) + digits(r, 14)
	}},
	{"FR", func(r *rand.Rand) string { return digits(r, 23) }},
	{"ES", func(r *rand.Rand) string { return digits(r, 20) }},
	{"NL", func(r *rand.Rand) string { return pick(r, []string{"ABNA", "INGB", "RABO", "TRIO"}) + digits(r, 10) }},
	{"IT", func(r *rand.Rand) string { return string(rune('A'+r.IntN(26))) + digits(r, 22) }},
	{"CH", func(r *rand.Rand) string { return digits(r, 17) }},
	{"BE", func(r *rand.Rand) string { return digits(r, 12) }},
	{"AT", func(r *rand.Rand) string { return digits(r, 16) }},
	{"PL", func(r *rand.Rand) string { return digits(r, 24) }},
	{"IE", func(r *rand.Rand) string { return pick(r, []string{"AIBK", "BOFI"}) + digits(r, 14) }},
	{"SE", func(r *rand.Rand) string { return digits(r, 20) }},
}

func ibanNumeric(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= 'A' && c <= 'Z' {
			b.WriteString(strconv.Itoa(int(c-'A') + 10))
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func ibanMod97(iban string) int {
	n, _ := new(big.Int).SetString(ibanNumeric(iban[4:]+iban[:4]), 10)
	return int(new(big.Int).Mod(n, big.NewInt(97)).Int64())
}

// IBANValid reports whether a compact IBAN passes the mod-97 check.
func IBANValid(s string) bool { return len(s) > 4 && ibanMod97(s) == 1 }

func ibanCompact(r *rand.Rand, valid bool) string {
	c := pick(r, ibanCountries)
	bban := c.bban(r)
	check := 98 - ibanMod97(c.cc+"00"+bban)
	if !valid {
		for good := check; check == good; {
			check = between(r, 2, 98)
		}
	}
	return fmt.Sprintf("%s%02d%s", c.cc, check, bban)
}

func group4(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

func ibanGen(grouped, valid bool) valueFunc {
	return func(r *rand.Rand) string {
		s := ibanCompact(r, valid)
		if grouped {
			return group4(s)
		}
		return s
	}
}

// ---- SSN ----

func ssnValid(r *rand.Rand) string {
	for {
		a := between(r, 1, 899)
		if a == 666 {
			continue
		}
		s := fmt.Sprintf("%03d-%02d-%04d", a, between(r, 1, 99), between(r, 1, 9999))
		switch s {
		case "078-05-1120", "219-09-9999", "123-45-6789":
			continue
		}
		return s
	}
}

func ssnInvalid(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf("000-%02d-%04d", between(r, 1, 99), between(r, 1, 9999))
	case 1:
		return fmt.Sprintf("666-%02d-%04d", between(r, 1, 99), between(r, 1, 9999))
	case 2:
		return fmt.Sprintf("%03d-%02d-%04d", between(r, 900, 999), between(r, 1, 99), between(r, 1, 9999))
	case 3:
		return fmt.Sprintf("%03d-00-%04d", between(r, 1, 665), between(r, 1, 9999))
	default:
		return fmt.Sprintf("%03d-%02d-0000", between(r, 1, 665), between(r, 1, 99))
	}
}

// ---- IP addresses ----

func ipv4(r *rand.Rand) string {
	switch r.IntN(5) {
	case 0:
		return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), between(r, 1, 254))
	case 1:
		return fmt.Sprintf("192.168.%d.%d", r.IntN(256), between(r, 1, 254))
	case 2:
		return fmt.Sprintf("172.%d.%d.%d", between(r, 16, 31), r.IntN(256), between(r, 1, 254))
	default:
		for {
			a := between(r, 1, 223)
			if a == 10 || a == 127 || a == 172 || a == 192 || a == 169 {
				continue
			}
			return fmt.Sprintf("%d.%d.%d.%d", a, r.IntN(256), r.IntN(256), between(r, 1, 254))
		}
	}
}

func ipv6Groups(r *rand.Rand) []uint16 {
	g := make([]uint16, 8)
	for i := range g {
		g[i] = uint16(r.IntN(1 << 16))
	}
	switch r.IntN(4) {
	case 0:
		g[0], g[1] = 0x2001, 0x0db8
	case 1:
		g[0], g[1], g[2], g[3] = 0xfe80, 0, 0, 0
	case 2:
		g[0] = 0xfd00 | uint16(r.IntN(256))
	default:
		g[0] = 0x2000 | uint16(r.IntN(0x1000))
	}
	return g
}

func ipv6Full(r *rand.Rand) string {
	g := ipv6Groups(r)
	var parts []string
	for _, x := range g {
		parts = append(parts, fmt.Sprintf("%04x", x))
	}
	s := strings.Join(parts, ":")
	if r.IntN(6) == 0 {
		s = strings.ToUpper(s)
	}
	return s
}

// ipv6Compressed writes the RFC 5952 form of an address with a run of
// zero groups.
func ipv6Compressed(r *rand.Rand) string {
	g := ipv6Groups(r)
	if g[0] != 0xfe80 {
		start := between(r, 2, 5)
		n := between(r, 2, 7-start)
		for i := start; i < start+n; i++ {
			g[i] = 0
		}
	}
	// the longest run of zeros (first on ties) becomes "::"
	bs, bl := -1, 1
	for i := 0; i < 8; {
		if g[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && g[j] == 0 {
			j++
		}
		if j-i > bl {
			bs, bl = i, j-i
		}
		i = j
	}
	hex := func(xs []uint16) string {
		var p []string
		for _, x := range xs {
			p = append(p, strconv.FormatUint(uint64(x), 16))
		}
		return strings.Join(p, ":")
	}
	if bs < 0 {
		return hex(g)
	}
	return hex(g[:bs]) + "::" + hex(g[bs+bl:])
}

func ipv6Mixed(r *rand.Rand) string {
	v4 := fmt.Sprintf("%d.%d.%d.%d", between(r, 1, 223), r.IntN(256), r.IntN(256), between(r, 1, 254))
	switch r.IntN(3) {
	case 0:
		return "::ffff:" + v4
	case 1:
		return "64:ff9b::" + v4
	default:
		return fmt.Sprintf("2001:db8:%x::", between(r, 1, 0xffff)) + v4
	}
}

// ---- look-alikes ----

func year(r *rand.Rand) int { return between(r, 2019, 2026) }

func orderNumber(r *rand.Rand) string {
	return fmt.Sprintf("ORD-%d-%06d", year(r), r.IntN(1000000))
}
func orderHash(r *rand.Rand) string { return "#" + strconv.Itoa(between(r, 10000, 9999999)) }
func invoice(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("INV-%06d", r.IntN(1000000))
	case 1:
		return fmt.Sprintf("INV/%d/%04d", year(r), r.IntN(10000))
	default:
		return fmt.Sprintf("INV-%d-%02d-%04d", year(r), between(r, 1, 12), r.IntN(10000))
	}
}

func date(r *rand.Rand) (int, int, int) { return year(r), between(r, 1, 12), between(r, 1, 28) }

func timestampRFC3339(r *rand.Rand) string {
	y, m, d := date(r)
	s := fmt.Sprintf("%d-%02d-%02dT%02d:%02d:%02d", y, m, d, r.IntN(24), r.IntN(60), r.IntN(60))
	switch r.IntN(4) {
	case 0:
		s += fmt.Sprintf(".%03dZ", r.IntN(1000))
	case 1:
		s += pick(r, []string{"+02:00", "-05:00", "+05:30", "+00:00"})
	default:
		s += "Z"
	}
	return s
}

func timestampLog(r *rand.Rand) string {
	y, m, d := date(r)
	s := fmt.Sprintf("%d-%02d-%02d %02d:%02d:%02d", y, m, d, r.IntN(24), r.IntN(60), r.IntN(60))
	if r.IntN(2) == 0 {
		s += fmt.Sprintf(".%03d", r.IntN(1000))
	}
	return s
}

func epoch(r *rand.Rand) string { return strconv.Itoa(between(r, 1500000000, 1799999999)) }
func epochMs(r *rand.Rand) string {
	return strconv.Itoa(between(r, 1500000000, 1799999999)) + digits(r, 3)
}

var months = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func dateStr(r *rand.Rand) string {
	y, m, d := date(r)
	switch r.IntN(4) {
	case 0:
		return fmt.Sprintf("%d-%02d-%02d", y, m, d)
	case 1:
		return fmt.Sprintf("%02d/%02d/%d", d, m, y)
	case 2:
		return fmt.Sprintf("%02d.%02d.%d", d, m, y)
	default:
		return fmt.Sprintf("%s %d, %d", months[m-1], d, y)
	}
}

func clock(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return fmt.Sprintf("%02d:%02d:%02d", r.IntN(24), r.IntN(60), r.IntN(60))
	}
	return fmt.Sprintf("%02d:%02d:%02d.%03d", r.IntN(2), r.IntN(60), r.IntN(60), r.IntN(1000))
}

func uuid(r *rand.Rand) string {
	s := hexs(r, 8) + "-" + hexs(r, 4) + "-4" + hexs(r, 3) + "-" + pick(r, []string{"8", "9", "a", "b"}) + hexs(r, 3) + "-" + hexs(r, 12)
	if r.IntN(8) == 0 {
		s = strings.ToUpper(s)
	}
	return s
}

func price(r *rand.Rand) string {
	whole := between(r, 0, 99999)
	cents := r.IntN(100)
	withSep := func(n int) string {
		s := strconv.Itoa(n)
		for i := len(s) - 3; i > 0; i -= 3 {
			s = s[:i] + "," + s[i:]
		}
		return s
	}
	switch r.IntN(6) {
	case 0:
		return fmt.Sprintf("$%s.%02d", withSep(whole), cents)
	case 1:
		return fmt.Sprintf("%d.%02d %s", whole, cents, pick(r, []string{"EUR", "USD", "GBP", "CHF"}))
	case 2:
		return fmt.Sprintf("€%d.%02d", whole, cents)
	case 3:
		return fmt.Sprintf("£%s.%02d", withSep(whole), cents)
	case 4:
		return fmt.Sprintf("USD %s.%02d", withSep(whole), cents)
	default:
		return fmt.Sprintf("%d,%02d €", whole, cents)
	}
}

func version(r *rand.Rand) string {
	a, b, c := between(r, 0, 12), between(r, 0, 30), between(r, 0, 40)
	switch r.IntN(7) {
	case 0:
		return fmt.Sprintf("v%d.%d.%d", a, b, c)
	case 1:
		return fmt.Sprintf("%d.%d.%d-%s", a, b, c, pick(r, []string{"beta", "beta.1", "rc.2", "alpha.3"}))
	case 2:
		return fmt.Sprintf("go1.%d.%d", between(r, 18, 26), between(r, 0, 12))
	case 3:
		return fmt.Sprintf("%d.%d.%d", a, b, c)
	case 4:
		return fmt.Sprintf("v%d.%d.%d+build.%d", a, b, c, between(r, 1, 999))
	case 5:
		return fmt.Sprintf("v%d.%d", a, b)
	default:
		return fmt.Sprintf("%d.%d.%d", a, b, c)
	}
}

// windowsBuild is four dotted numbers that cannot be an IPv4 address.
func windowsBuild(r *rand.Rand) string {
	return fmt.Sprintf("10.0.%d.%d", between(r, 17763, 26100), between(r, 1000, 5000))
}

func oid(r *rand.Rand) string {
	return pick(r, []string{"1.3.6.1.4.1.", "1.2.840.113549.1.", "2.5.4.", "1.3.6.1.2.1."}) + fmt.Sprintf("%d.%d", between(r, 1, 40), between(r, 1, 20))
}

func ext(r *rand.Rand) string {
	n := strconv.Itoa(between(r, 100, 9999))
	return pick(r, []string{"ext ", "ext. ", "x", "extension "}) + n
}

func gitSHA(r *rand.Rand) string {
	if r.IntN(2) == 0 {
		return hexs(r, 40)
	}
	return hexs(r, between(r, 7, 12))
}

func hexID(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return "0x" + hexs(r, 8)
	case 1:
		return pick(r, []string{"req_", "evt_", "txn_"}) + hexs(r, 16)
	default:
		return hexs(r, 16)
	}
}

func dockerDigest(r *rand.Rand) string { return "sha256:" + hexs(r, 64) }

func zip(r *rand.Rand) string {
	z := fmt.Sprintf("%05d", between(r, 1001, 99950))
	if r.IntN(3) == 0 {
		z += "-" + digits(r, 4)
	}
	return z
}

func isbn(r *rand.Rand) string {
	d := "978" + digits(r, 9)
	sum := 0
	for i, c := range d {
		w := 1
		if i%2 == 1 {
			w = 3
		}
		sum += int(c-'0') * w
	}
	d += strconv.Itoa((10 - sum%10) % 10)
	return d[:3] + "-" + d[3:4] + "-" + d[4:6] + "-" + d[6:12] + "-" + d[12:]
}

func tracking(r *rand.Rand) string { return digits(r, 4) + " " + digits(r, 4) + " " + digits(r, 4) }

func npmSpec(r *rand.Rand) string {
	v := fmt.Sprintf("%d.%d.%d", between(r, 1, 20), between(r, 0, 30), between(r, 0, 40))
	return pick(r, []string{"lodash", "react", "express", "@types/node", "@babel/core", "typescript", "@angular/core"}) + "@" + v
}

func cve(r *rand.Rand) string { return fmt.Sprintf("CVE-%d-%d", year(r), between(r, 1000, 49999)) }

func quantity(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("%d.%d %s", between(r, 1, 999), r.IntN(10), pick(r, []string{"GB", "MiB", "KB", "ms"}))
	case 1:
		return fmt.Sprintf("%d.%02d%%", between(r, 0, 99), r.IntN(100))
	default:
		return fmt.Sprintf("%d,%03d,%03d", between(r, 1, 999), r.IntN(1000), r.IntN(1000))
	}
}
