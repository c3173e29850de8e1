package jsonconfig

import (
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	type cfg struct {
		Fields []string `json:"fields"`
	}
	for in, want := range map[string]string{
		`{"fields": ["a"]}`:        "",
		`{}`:                       "",
		``:                         "config: empty, want a JSON object",
		`{"fields": ["a"]} {}`:     "config: unexpected data after the JSON object",
		`{"fields": "a"}`:          "config: json: cannot unmarshal",
		`{"fields": ["a"], "x":1}`: `config: json: unknown field "x"`,
	} {
		var c cfg
		err := Decode([]byte(in), &c)
		if (err == nil) != (want == "") || (err != nil && !strings.HasPrefix(err.Error(), want)) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}
