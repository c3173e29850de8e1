package shellscan

import (
	"testing"

	"github.com/sluicegw/sluice/abi"
)

// benchLine is a typical ~80-character interactive line.
const benchLine = `cd /var/log && sudo tail -n 200 syslog | grep -i "error" > /tmp/errors.txt 2>&1`

func BenchmarkAnalyze(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		Analyze(benchLine)
	}
}

func BenchmarkAnalyzeAddFacts(b *testing.B) {
	var cb abi.CommandBuilder
	b.ReportAllocs()
	for b.Loop() {
		cb.Reset()
		Analyze(benchLine).AddFacts(&cb)
	}
}
