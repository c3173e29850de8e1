package records_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sluicegw/sluice/gateway/records"
)

// The loop `sluice mask` runs: read records, decide edits (here a fixed
// rule standing in for the plugins), write them back re-framed.
func Example() {
	in := `{"id":1,"customer":{"email":"ana@example.com"},"card":4111111111111111}
{"id":2,"customer":{"email":"bo@example.com"},"card":5500000000000004}
`
	rd := records.NewReader(strings.NewReader(in), records.FormatNDJSON, records.Options{})
	wr := records.NewWriter(os.Stdout, records.FormatNDJSON, records.Options{})
	var edits []records.Edit
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err) // fail closed
			return
		}
		edits = edits[:0]
		for i, f := range rec.Fields {
			switch rd.Schema().Column(f.Column) {
			case "customer.email":
				at := strings.IndexByte(string(f.Value), '@')
				edits = append(edits, records.Edit{Op: records.EditReplaceRange, Field: i, Off: 0, Len: at, Data: []byte("***")})
			case "card":
				edits = append(edits, records.Edit{Op: records.EditReplace, Field: i, Data: []byte("****")})
			}
		}
		if err := wr.Write(rec, edits); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := wr.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"id":1,"customer":{"email":"***@example.com"},"card":"****"}
	// {"id":2,"customer":{"email":"***@example.com"},"card":"****"}
}

// Each element of a top-level JSON array is a record; dropping one keeps
// the array well-formed.
func ExampleWriter_drop() {
	in := "[\n  {\"user\": \"ana\", \"role\": \"admin\"},\n  {\"user\": \"bo\", \"role\": \"guest\"}\n]\n"
	rd := records.NewReader(strings.NewReader(in), records.FormatJSON, records.Options{})
	wr := records.NewWriter(os.Stdout, records.FormatJSON, records.Options{})
	for {
		rec, err := rd.Next()
		if err != nil {
			break
		}
		var edits []records.Edit
		if len(rec.Fields) > 1 && string(rec.Fields[1].Value) == "admin" {
			edits = append(edits, records.Edit{Op: records.EditDrop})
		}
		wr.Write(rec, edits)
	}
	wr.Flush()
	// Output:
	// [
	//   {"user": "bo", "role": "guest"}
	// ]
}

func ExampleSniff() {
	for _, s := range []string{
		`{"a":1}`,
		"{\"a\":1}\n{\"a\":2}\n",
		"id,email\n1,ana@example.com\n",
		"[INFO] started\n",
	} {
		fmt.Println(records.Sniff([]byte(s)))
	}
	// Output:
	// json
	// ndjson
	// csv
	// text
}
