package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/v2"
)

// EnvPrefix starts every environment variable sluice reads.
//
// A variable SLUICE_<PATH> overrides the config key <path>: the prefix is
// stripped, the rest lowercased, and a double underscore "__" separates
// nesting levels while a single "_" stays part of the key:
//
//	SLUICE_DATA_DIR                  -> data_dir
//	SLUICE_ADMIN__LISTEN             -> admin.listen
//	SLUICE_LOG__LEVEL                -> log.level
//	SLUICE_RUNTIME__COMPILE_CACHE    -> runtime.compile_cache
//
// Only scalar keys outside lists can be overridden (identities, plugins and
// targets cannot). A set variable overrides the file even when its value is
// empty. Overrides are applied before ${VAR} expansion, so an override may
// itself refer to other variables. A SLUICE_ variable that names no such key
// is an error naming the variable, so a typo does not silently do nothing;
// the variables in [NonConfigEnv] are exempt.
const EnvPrefix = "SLUICE_"

// Environment variables sluice reads that are not config keys.
const (
	// EnvConfig is the config file path, when no -config flag is given.
	EnvConfig = "SLUICE_CONFIG"
	// EnvAdminURL is the admin API base URL the CLI talks to.
	EnvAdminURL = "SLUICE_ADMIN_URL"
	// EnvToken is the admin token the CLI presents.
	EnvToken = "SLUICE_TOKEN"
	// EnvCacheDir is where CLI commands that run plugins (mask, plugin
	// test, plugin eval) keep compiled code; "off" disables the cache.
	EnvCacheDir = "SLUICE_CACHE_DIR"
	// EnvAdminCA is a PEM file of the CA that signed an HTTPS admin API's
	// certificate, for the CLI.
	EnvAdminCA = "SLUICE_ADMIN_CA"
)

var nonConfigEnv = []string{EnvAdminCA, EnvAdminURL, EnvConfig, EnvToken, EnvCacheDir}

// NonConfigEnv returns the SLUICE_ variables that are not config keys and
// that config loading therefore ignores, sorted. It returns a new slice on
// every call.
func NonConfigEnv() []string { return slices.Clone(nonConfigEnv) }

// settableByEnv is computed once from the schema.
var settableByEnv = envKeys()

// loadEnv merges the SLUICE_ overrides from environ into k. Variables that
// name no settable key are reported; the keys that were set are recorded in
// p.origin so messages about them name the variable.
func loadEnv(k *koanf.Koanf, environ []string, p *problems) error {
	provider := env.Provider(".", env.Opt{
		Prefix:      EnvPrefix,
		EnvironFunc: func() []string { return environ },
		TransformFunc: func(name, value string) (string, any) {
			if slices.Contains(nonConfigEnv, name) {
				return "", nil
			}
			key := envKey(name)
			if !settableByEnv[key] {
				p.addEnv(name, "%s", envKeyProblem(key))
				return "", nil
			}
			p.origin[key] = name
			return key, value
		},
	})
	return k.Load(provider, nil)
}

// envKey maps SLUICE_ADMIN__LISTEN to admin.listen.
func envKey(name string) string {
	rest := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
	return strings.ReplaceAll(rest, "__", ".")
}

// envKeyProblem says why key cannot be set from the environment.
func envKeyProblem(key string) string {
	top, _, _ := strings.Cut(key, ".")
	if t, ok := fieldByKey(schemaType)[top]; ok && t.Kind() == reflect.Slice {
		return fmt.Sprintf("%s is a list; lists cannot be set from the environment", top)
	}
	var inside []string
	for k := range settableByEnv {
		if strings.HasPrefix(k, key+".") {
			inside = append(inside, k)
		}
	}
	if len(inside) > 0 {
		example := slices.Min(inside)
		return fmt.Sprintf("%s is a section; set its keys one by one, e.g. %s%s", key, EnvPrefix, strings.ToUpper(strings.ReplaceAll(example, ".", "__")))
	}
	return fmt.Sprintf("%q is not a config key", key)
}
