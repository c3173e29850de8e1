package main

import (
	"errors"
	"strings"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

// selfTest runs after every (re)load, after init, before the plugin serves
// traffic. It checks the masking engine on a fixed case, then builds a
// sample batch from the configured fields (for "*.NAME", both NAME and a
// path ending in ".NAME") plus a column nobody listed, and runs it through
// the real plan and records paths (sluice.Harness): every listed field must
// be planned INSPECT and masked, NULL must stay NULL, and the unlisted
// column must be planned IGNORE and stay unchanged.
func selfTest() error {
	engine := masker{mask: []byte(defaultMask), keepLast: 4}
	if got := engine.apply("4111111111111111"); got != "****1111" {
		return errors.New("keep_last 4: got " + got + ", want ****1111")
	}
	m := current
	if m == nil {
		return errNotInitialized
	}

	const sample, unlisted = "selftest@example.com", "sluice_selftest_unlisted"
	var listed []string
	for _, f := range m.fields {
		name, wildcard := strings.CutPrefix(f, "*.")
		listed = append(listed, name)
		if wildcard {
			listed = append(listed, "selftest."+name)
		}
	}
	var bb abi.BatchBuilder
	bb.BeginRecord()
	for _, name := range listed {
		bb.AddField(bb.AddColumn([]byte(name), abi.TypeText, 0), abi.KindString, false, []byte(sample))
	}
	checkUnlisted := !m.matches([]byte(unlisted)) // a config may list anything
	if checkUnlisted {
		bb.AddField(bb.AddColumn([]byte(unlisted), abi.TypeText, 0), abi.KindString, false, []byte(sample))
	}
	bb.BeginRecord()
	for i := range listed {
		bb.AddField(i, abi.KindNull, true, nil)
	}

	h := sluice.NewHarness(sluice.Plugin{Records: records, Plan: plan})
	actions, err := h.Plan(&bb)
	if err != nil {
		return err
	}
	got, err := h.Records(&bb)
	if err != nil {
		return err
	}
	if len(got) != 2 {
		return errors.New("sample batch: records were dropped")
	}
	want := m.apply(sample)
	for i, name := range listed {
		if actions[i] != sluice.Inspect {
			return errors.New("column " + name + ": plan does not inspect it")
		}
		if v := got[0][i]; v.Null || string(v.Data) != want {
			return errors.New("column " + name + ": got " + v.String() + ", want " + want)
		}
		if v := got[1][i]; !v.Null {
			return errors.New("column " + name + ": a NULL value became " + v.String())
		}
	}
	if checkUnlisted {
		if actions[len(listed)] != sluice.Ignore {
			return errors.New("column " + unlisted + ": plan does not ignore it")
		}
		if v := got[0][len(listed)]; string(v.Data) != sample {
			return errors.New("column " + unlisted + ": changed to " + v.String())
		}
	}
	return nil
}
