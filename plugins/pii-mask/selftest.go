package main

import (
	"errors"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

// sample is a true positive of a built-in entity: in, with pii masked.
type sample struct{ in, pii string }

// samples has one true positive per built-in entity (rules_test.go checks
// that every entity has one and that the detector finds exactly pii).
var samples = [numBuiltin]sample{
	entEmail: {"contact ann.smith+news@example.co.uk today", "ann.smith+news@example.co.uk"},
	entPhone: {"call (415) 555-2671 or later", "(415) 555-2671"},
	entCard:  {"card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"},
	entIBAN:  {"pay to GB82 WEST 1234 5698 7654 32 now", "GB82 WEST 1234 5698 7654 32"},
	entSSN:   {"ssn: 123-45-6789.", "123-45-6789"},
	entIPv4:  {"from 192.168.10.23:5432", "192.168.10.23"},
	entIPv6:  {"peer [2001:db8:85a3::8a2e:370:7334]:443", "2001:db8:85a3::8a2e:370:7334"},
}

// benign has look-alikes of every entity; no detector may match it.
const benign = "order ORD-2024-000123 at 2024-01-15T10:30:00Z, id 550e8400-e29b-41d4-a716-446655440000, " +
	"total $1,234.56, v1.2.3.4 and version 10.0.19041.1, card 4111 1111 1111 1112, ssn 666-12-3456, 12:30:45"

// selfTest runs after every (re)load, after Init, before the plugin serves
// traffic: every enabled entity's sample must be found exactly, the benign
// line must have no match, and a sample batch through the real records
// path (sluice.Harness) must mask a string, keep NULL NULL and keep an
// integer column an integer or NULL.
func selfTest() error {
	m := current
	if m == nil {
		return errNotInitialized
	}
	for ent := entity(0); ent < numBuiltin; ent++ {
		if m.en&(1<<ent) == 0 {
			continue
		}
		s := samples[ent]
		var spans []span
		spans = scan([]byte(s.in), 1<<ent, &m.builtin, spans)
		if len(spans) != 1 || s.in[spans[0].s:spans[0].e] != s.pii {
			return errors.New("selftest: " + entityNames[ent] + ": sample not found: " + s.in)
		}
	}
	if spans := scan([]byte(benign), m.en, &m.builtin, nil); len(spans) != 0 {
		return errors.New("selftest: the benign line has a match at " + benign[spans[0].s:spans[0].e])
	}
	var bb abi.BatchBuilder
	text := bb.AddColumn([]byte("note"), abi.TypeText, 0)
	num := bb.AddColumn([]byte("n"), abi.TypeInt, 20)
	bb.BeginRecord()
	bb.AddField(text, abi.KindString, false, []byte(samples[entCard].in))
	bb.AddField(num, abi.KindNumber, false, []byte("4111111111111111"))
	bb.BeginRecord()
	bb.AddField(text, abi.KindNull, true, nil)
	bb.AddField(num, abi.KindNumber, false, []byte("42"))
	got, err := sluice.NewHarness(sluice.Plugin{Records: records}).Records(&bb)
	if err != nil {
		return err
	}
	if len(got) != 2 {
		return errors.New("selftest: sample batch: records were dropped")
	}
	// Field rules may name the sample columns: then only the type rules
	// are checked for them.
	noteRule, nRule := m.fieldRule([]byte("note")) >= 0, m.fieldRule([]byte("n")) >= 0
	if m.en&(1<<entCard) != 0 && !noteRule {
		if want := m.apply(samples[entCard].in); string(got[0][0].Data) != want && !(want == "NULL" && got[0][0].Null) {
			return errors.New("selftest: sample batch: got " + got[0][0].String() + ", want " + want)
		}
	}
	for _, v := range []sluice.Value{got[0][1], got[1][1]} {
		if !v.Null && !isInteger(v.Data) {
			return errors.New("selftest: sample batch: an int column became " + v.String())
		}
	}
	if !got[1][0].Null || (!nRule && string(got[1][1].Data) != "42") {
		return errors.New("selftest: sample batch: a number or NULL changed")
	}
	return nil
}

func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}
