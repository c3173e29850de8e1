// Command gen writes the labelled PII corpus (corpus.ndjson, corpus.csv,
// corpus.txt and labels.ndjson) into a directory.
//
//	go run ./conformance/corpus/cmd/gen -o /tmp/corpus          # the full corpus
//	go run ./conformance/corpus/cmd/gen -o conformance/corpus/sample -head 20
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sluicegw/sluice/conformance/corpus/gen"
)

func main() {
	out := flag.String("o", "", "output directory (required)")
	seed := flag.Uint64("seed", gen.Seed, "generator seed")
	head := flag.Int("head", 0, "keep only the first N records of each file (0: all)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	c := gen.Generate(*seed)
	if *head > 0 {
		c = c.Head(*head)
	}
	if err := c.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%d labelled values (%d PII, %d look-alikes) in %s\n", len(c.Labels), len(c.Labels)-c.Count(gen.None), c.Count(gen.None), *out)
}
