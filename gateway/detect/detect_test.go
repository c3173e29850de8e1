package detect

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/abi"
)

func findAll(d abi.Detector, s string) []string {
	var out []string
	Find(d, []byte(s), func(off, n int) { out = append(out, s[off:off+n]) })
	return out
}

func TestDetectors(t *testing.T) {
	cases := []struct {
		d    abi.Detector
		in   string
		want []string
	}{
		// true positives
		{abi.DetectEmail, "contact ann.lee+ci@mail.example.com, or bob@ex.org.", []string{"ann.lee+ci@mail.example.com", "bob@ex.org"}},
		{abi.DetectCreditCard, "card 4111 1111 1111 1111 exp", []string{"4111 1111 1111 1111"}},
		{abi.DetectCreditCard, "4111-1111-1111-1111", []string{"4111-1111-1111-1111"}},
		{abi.DetectCreditCard, "n=5500000000000004;", []string{"5500000000000004"}},
		{abi.DetectIBAN, "pay to DE89 3704 0044 0532 0130 00 now", []string{"DE89 3704 0044 0532 0130 00"}},
		{abi.DetectIBAN, "GB82WEST12345698765432", []string{"GB82WEST12345698765432"}},
		{abi.DetectJWT, "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc_DEF-123", []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc_DEF-123"}},
		{abi.DetectAWSKey, "key=AKIAIOSFODNN7EXAMPLE end", []string{"AKIAIOSFODNN7EXAMPLE"}},
		// false positives that must not match
		{abi.DetectEmail, "user@localhost and @handle and a@b.c1", nil},
		{abi.DetectCreditCard, "order 4111111111111112 (bad luhn), id 123456789012", nil},
		{abi.DetectCreditCard, "4111111111111111111111 too long", nil},
		{abi.DetectIBAN, "DE89 3704 0044 0532 0130 01", nil},
		{abi.DetectJWT, "eyJ alone, or eyJa.b", nil},
		{abi.DetectAWSKey, "XAKIAIOSFODNN7EXAMPLE, AKIAIOSFODNN7EXAMPL", nil},
		// multi-byte UTF-8 around a match
		{abi.DetectEmail, "żółw: zolw@example.pl ✓", []string{"zolw@example.pl"}},
	}
	for _, c := range cases {
		got := findAll(c.d, c.in)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%v in %q: got %q, want %q", c.d, c.in, got, c.want)
		}
	}
}

func TestFindAllocs(t *testing.T) {
	v := []byte("ann@example.com 4111 1111 1111 1111 DE89370400440532013000 AKIAIOSFODNN7EXAMPLE")
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		for d := abi.DetectEmail; d <= abi.DetectAWSKey; d++ {
			Find(d, v, func(off, l int) { n++ })
		}
	})
	if allocs != 0 {
		t.Fatalf("allocs = %v", allocs)
	}
}

func FuzzFind(f *testing.F) {
	f.Add([]byte("a@b.co 4111111111111111 GB82WEST12345698765432 eyJa.eyJb.cc AKIAIOSFODNN7EXAMPLE"))
	f.Fuzz(func(t *testing.T, v []byte) {
		for d := abi.DetectEmail; d <= abi.DetectAWSKey; d++ {
			last := 0
			Find(d, v, func(off, n int) {
				if off < last || n <= 0 || off+n > len(v) {
					t.Fatalf("%v: bad span %d+%d (last %d, len %d)", d, off, n, last, len(v))
				}
				last = off + n
			})
		}
	})
}
