package config

import (
	"crypto/sha256"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-viper/mapstructure/v2"
	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// Load reads the config file at path and applies the SLUICE_ environment
// overrides and ${VAR} expansion from the process environment. Relative
// paths in the file are resolved against the file's directory, made
// absolute, so the snapshot does not depend on the working directory.
func Load(path string) (*Config, error) {
	return loadFile(path, os.Environ())
}

func loadFile(path string, environ []string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return parse(abs, src, environ, false)
}

// Parse is Load without the filesystem and the process environment: name is
// the file's path (its base name prefixes every error and its directory
// anchors relative paths; it is not read), and env is in os.Environ form,
// "KEY=value", later entries winning. Parse is pure, for tests and tools.
//
// The pipeline, in order: parse the YAML; merge the SLUICE_ overrides from
// env (see [EnvPrefix]); reject unknown keys and values of the wrong type;
// expand ${VAR} in every string value from env; apply defaults; validate.
// Every problem is reported, not just the first: the error joins one
// [*Error] per problem, in file order.
//
// ${VAR} expansion applies to every string value, plugin config included
// (not to mapping keys), after the environment overrides:
//
//   - ${NAME} is replaced by the variable's value; NAME is a letter or _
//     followed by letters, digits and _. An unset variable is an error at
//     that key ("targets[0].upstream.password: ${ORDERS_PG_PASSWORD} is
//     not set"); a variable set to "" expands to "".
//   - $$ is a literal $.
//   - any other $ is itself: $NAME is not expanded, so "pa$word" needs no
//     escaping.
//   - ${ without its } or with an invalid name is an error.
//   - expansion is one pass: a value containing ${...} is not expanded again.
//
// Messages about a key whose value came from expansion show the template,
// never the value, which may be a secret.
func Parse(name string, yamlBytes []byte, env []string) (*Config, error) {
	return parse(name, yamlBytes, env, false)
}

//go:embed default.yaml
var defaultYAML []byte

var defaultConfig = sync.OnceValue(func() *Config {
	c, err := parse("default.yaml", defaultYAML, nil, true)
	if err != nil {
		panic("config: embedded default.yaml is invalid: " + err.Error())
	}
	return c
})

// Default returns the embedded default configuration (default.yaml in this
// package): data_dir ./sluice-data, the admin API on 127.0.0.1:9090, info
// text logs, wazero, and the SDK's json-field-mask example plugin; no
// identities and no targets. Relative paths in it stay relative, that is, to
// the working directory. No environment is applied. The snapshot is shared:
// every call returns the same immutable *Config.
func Default() *Config { return defaultConfig() }

// DefaultYAML returns a copy of the embedded default configuration file, a
// starting point for a new sluice.yaml.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

func parse(path string, src []byte, environ []string, embedded bool) (*Config, error) {
	file := filepath.Base(path)

	// The YAML is parsed twice: once to a node tree, which knows the line of
	// every key so problems come out in file order, and once by koanf to the
	// plain map the pipeline works on. Config files are small.
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if len(doc.Content) > 0 && doc.Content[0].Kind != yaml.MappingNode && doc.Content[0].Tag != "!!null" {
		return nil, &Error{File: file, Line: doc.Content[0].Line, Msg: "the top level must be a mapping of keys (data_dir:, plugins:, ...)"}
	}
	p := newProblems(file, lineIndex(&doc))

	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(src), kyaml.Parser()); err != nil {
		return nil, yamlError(file, err)
	}
	if err := loadEnv(k, environ, p); err != nil {
		return nil, fmt.Errorf("load environment overrides: %w", err)
	}

	tree, _ := shapeCheck(p, "", k.Raw(), schemaType).(map[string]any)
	templates := map[string]string{}
	expandTree(p, "", tree, envLookup(environ), templates)

	var s fileSchema
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName: "koanf",
		Result:  &s,
		// shapeCheck already removed unknown keys and ill-typed values;
		// these make any disagreement between the two loud.
		ErrorUnused: true,
		ZeroFields:  true,
	})
	if err != nil {
		return nil, err
	}
	if err := dec.Decode(tree); err != nil {
		return nil, &Error{File: file, Msg: "internal error decoding the checked tree: " + err.Error()}
	}

	b := &builder{p: p, templates: templates, baseDir: filepath.Dir(path)}
	c := b.build(&s)
	if err := p.err(); err != nil {
		return nil, err
	}
	c.path = path
	c.file = file
	c.embedded = embedded
	c.digest = sha256.Sum256(src)
	return c, nil
}

// yamlError turns a YAML library error into one *Error per problem, with
// the line when the library gives one ("line 3: mapping key "level" already
// defined at line 2").
func yamlError(file string, err error) error {
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		e := &Error{File: file, Msg: strings.TrimSpace(m)}
		fmt.Sscanf(e.Msg, "line %d:", &e.Line)
		errs[i] = e
	}
	return errors.Join(errs...)
}

// envLookup indexes an os.Environ-style list; later entries win, as in
// os/exec.
func envLookup(environ []string) func(string) (string, bool) {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
