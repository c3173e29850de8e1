// Command report scores a masking plugin on the labelled PII corpus with
// `sluice mask` and prints the tables as Markdown (for the README), then
// the misses. Run it from the module:
//
//	go run ./conformance/corpus/cmd/report                       # plugins/pii-mask/pii-mask.wasm
//	go run ./conformance/corpus/cmd/report -plugin X.wasm -misses 0
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicegw/sluice/conformance/corpus"
	"github.com/sluicegw/sluice/conformance/corpus/gen"
)

func main() {
	plugin := flag.String("plugin", "", "plugin to score (default: plugins/pii-mask/pii-mask.wasm of the module)")
	sluice := flag.String("sluice", "", "sluice binary (default: build ./gateway/cmd/sluice into a temp dir)")
	seed := flag.Uint64("seed", gen.Seed, "corpus seed")
	misses := flag.Int("misses", 50, "misses to list (0: all, -1: none)")
	kinds := flag.Bool("kinds", true, "also print the per-kind table")
	flag.Parse()
	if err := run(*plugin, *sluice, *seed, *misses, *kinds); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(plugin, bin string, seed uint64, misses int, kinds bool) error {
	ctx := context.Background()
	root, err := corpus.ModuleRoot()
	if err != nil {
		return err
	}
	if plugin == "" {
		plugin = filepath.Join(root, "plugins", "pii-mask", "pii-mask.wasm")
	}
	if _, err := os.Stat(plugin); err != nil {
		return fmt.Errorf("%w (run `make plugins`)", err)
	}
	tmp, err := os.MkdirTemp("", "sluice-corpus-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		if bin, err = corpus.BuildCLI(ctx, root, tmp); err != nil {
			return err
		}
	}
	c := gen.Generate(seed)
	res, err := corpus.Evaluate(ctx, c, corpus.CLI(bin, plugin, ""))
	if err != nil {
		return err
	}
	fmt.Printf("%d PII values and %d look-alikes (seed %#x); %d fields with altered text around the values.\n\n", res.PII, res.LookAlikes, seed, res.TextAltered)
	res.Markdown(os.Stdout)
	if kinds {
		fmt.Println()
		res.KindsMarkdown(os.Stdout)
	}
	if misses >= 0 {
		fmt.Printf("\n%d misses\n", len(res.Misses))
		for i, m := range res.Misses {
			if misses > 0 && i == misses {
				fmt.Printf("... and %d more (-misses 0 lists all)\n", len(res.Misses)-misses)
				break
			}
			fmt.Println(m)
		}
	}
	if f := res.Check(); len(f) > 0 {
		fmt.Println()
		for _, x := range f {
			fmt.Println("below target:", x)
		}
	}
	return nil
}
