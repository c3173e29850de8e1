// Package config is the room where sluice's one YAML file becomes an
// immutable, validated snapshot, and where a running gateway learns that the
// file changed.
//
// # Entry points
//
//   - [Load] reads a file with the process environment; [Parse] does the
//     same from bytes and an explicit environment, for tests and tools.
//   - [Default] is the embedded default.yaml, used when no file is given.
//   - [Watch] follows a file and hands each valid new snapshot to an
//     [ApplyFunc]; [Config.Diff] tells the caller what changed.
//
// # Pipeline
//
// Every load runs the same steps, and reports every problem it finds, not
// just the first, each as an [*Error] "file: key.path: message" in file
// order:
//
//  1. parse the YAML (koanf with its yaml parser);
//  2. merge SLUICE_ environment overrides (see [EnvPrefix]);
//  3. reject unknown keys and values of the wrong type, at their key path;
//  4. expand ${VAR} in every string value (rules at [Parse]; an unset
//     variable is an error, an expanded value is never printed);
//  5. decode (mapstructure), apply defaults, parse durations and sizes,
//     resolve relative paths against the file's directory;
//  6. validate: enums, host:port, name rules and uniqueness, token hash
//     format, references from targets to identities and plugins.
//
// REFERENCE.md in this directory lists every key with its type, default
// and meaning; the field comments of the exported types say the same and
// are the source of truth.
//
// # Immutability and concurrency
//
// A *Config never changes after it is built, and its methods return copies,
// so one snapshot may be read from any number of goroutines and a reload
// swaps whole snapshots. [Watcher] methods are safe for concurrent use;
// ApplyFunc calls are serialized.
//
// Why a separate file schema (unexported) and snapshot types (exported)?
// The schema must see what was absent to apply defaults and must keep raw
// text to give precise errors; the snapshot must expose only settled values
// and nothing a caller could mutate.
package config
