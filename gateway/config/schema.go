package config

import (
	"fmt"
	"reflect"
	"sort"

	"go.yaml.in/yaml/v3"
)

// The file schema: what the YAML may contain, before defaults and
// validation. It is separate from the public snapshot types because it needs
// to know what was absent (pointers, any) and because values such as
// timeouts and sizes are parsed by this package, which gives precise errors,
// rather than by decode hooks. Field tags are the YAML keys; shapeCheck and
// envKeys derive the set of known keys from them, so a key added here is
// known everywhere.
type fileSchema struct {
	DataDir    *string          `koanf:"data_dir"`
	Admin      adminSchema      `koanf:"admin"`
	Log        logSchema        `koanf:"log"`
	Runtime    runtimeSchema    `koanf:"runtime"`
	Store      storeSchema      `koanf:"store"`
	Approvals  approvalsSchema  `koanf:"approvals"`
	OIDC       oidcSchema       `koanf:"oidc"`
	Demo       demoSchema       `koanf:"demo"`
	Identities []identitySchema `koanf:"identities"`
	Plugins    []pluginSchema   `koanf:"plugins"`
	Targets    []targetSchema   `koanf:"targets"`
}

type adminSchema struct {
	Listen *string        `koanf:"listen"`
	TLS    adminTLSSchema `koanf:"tls"`
}

type adminTLSSchema struct {
	Cert *string `koanf:"cert"`
	Key  *string `koanf:"key"`
}

type logSchema struct {
	Level  *string `koanf:"level"`
	Format *string `koanf:"format"`
}

type runtimeSchema struct {
	Engine       *string `koanf:"engine"`
	CompileCache any     `koanf:"compile_cache"`
}

type storeSchema struct {
	SessionQuota  any `koanf:"session_quota"`
	MinFree       any `koanf:"min_free"`
	RetentionDays any `koanf:"retention_days"`
	SyncReads     any `koanf:"sync_reads"`
	SyncInterval  any `koanf:"sync_interval"`
}

type approvalsSchema struct {
	Required any           `koanf:"required"`
	Expiry   any           `koanf:"expiry"`
	MaxGrant any           `koanf:"max_grant"`
	Webhook  webhookSchema `koanf:"webhook"`
}

type webhookSchema struct {
	URL     *string           `koanf:"url"`
	Headers map[string]string `koanf:"headers"`
}

type identitySchema struct {
	Name        string   `koanf:"name"`
	Kind        string   `koanf:"kind"`
	Roles       []string `koanf:"roles"`
	TokenHashes []string `koanf:"token_hashes"`
	SSHKeys     []string `koanf:"ssh_keys"`
}

type pluginSchema struct {
	Name        string         `koanf:"name"`
	Path        string         `koanf:"path"`
	Config      map[string]any `koanf:"config"`
	OnError     *string        `koanf:"on_error"`
	Timeout     any            `koanf:"timeout"`
	MemoryLimit any            `koanf:"memory_limit"`
	PoolSize    any            `koanf:"pool_size"`
	Breaker     breakerSchema  `koanf:"breaker"`
}

type breakerSchema struct {
	Failures any `koanf:"failures"`
	Cooldown any `koanf:"cooldown"`
}

type targetSchema struct {
	Name     string           `koanf:"name"`
	Protocol string           `koanf:"protocol"`
	Listen   string           `koanf:"listen"`
	Upstream upstreamSchema   `koanf:"upstream"`
	Allow    []string         `koanf:"allow"`
	Plugins  []string         `koanf:"plugins"`
	TLS      targetTLSSchema  `koanf:"tls"`
	HTTP     targetHTTPSchema `koanf:"http"`
	SSH      targetSSHSchema  `koanf:"ssh"`
	// AllowCleartext is any so a YAML string is reported, not coerced.
	AllowCleartext any     `koanf:"allow_cleartext"`
	ClientAuth     *string `koanf:"client_auth"`
}

type targetHTTPSchema struct {
	UnknownContentType *string `koanf:"unknown_content_type"`
	MaskRequestBody    any     `koanf:"mask_request_body"`
	ApprovalWait       any     `koanf:"approval_wait"`
	MaxRequestBody     any     `koanf:"max_request_body"`
}

type targetSSHSchema struct {
	UserCA            []string         `koanf:"user_ca"`
	IdleTimeout       any              `koanf:"idle_timeout"`
	SessionTimeout    any              `koanf:"session_timeout"`
	MaxChannels       any              `koanf:"max_channels"`
	KeepaliveInterval any              `koanf:"keepalive_interval"`
	KeepaliveCountMax any              `koanf:"keepalive_count_max"`
	BinaryOutput      *string          `koanf:"binary_output"`
	Ciphers           []string         `koanf:"ciphers"`
	SFTP              targetSFTPSchema `koanf:"sftp"`
}

type targetSFTPSchema struct {
	Enabled   any              `koanf:"enabled"`
	MaskReads any              `koanf:"mask_reads"`
	Rules     []sftpRuleSchema `koanf:"rules"`
}

type sftpRuleSchema struct {
	Path   string   `koanf:"path"`
	Ops    []string `koanf:"ops"`
	Action string   `koanf:"action"`
}

type demoSchema struct {
	Enabled any     `koanf:"enabled"`
	Listen  *string `koanf:"listen"`
}

type oidcSchema struct {
	Issuers []oidcIssuerSchema `koanf:"issuers"`
}

type oidcIssuerSchema struct {
	Issuer     string           `koanf:"issuer"`
	Audience   string           `koanf:"audience"`
	JWKSFile   string           `koanf:"jwks_file"`
	JWKSURL    string           `koanf:"jwks_url"`
	Algorithms []string         `koanf:"algorithms"`
	Leeway     any              `koanf:"leeway"`
	Rules      []oidcRuleSchema `koanf:"rules"`
}

type oidcRuleSchema struct {
	Claims   map[string]string `koanf:"claims"`
	Identity string            `koanf:"identity"`
}

type targetTLSSchema struct {
	Cert string `koanf:"cert"`
	Key  string `koanf:"key"`
}

type upstreamSchema struct {
	Address  string `koanf:"address"`
	Database string `koanf:"database"`
	User     string `koanf:"user"`
	Password string `koanf:"password"`
	SSLMode  string `koanf:"sslmode"`
	RootCert string `koanf:"root_cert"`
	// http targets
	CA         string           `koanf:"ca"`
	ServerName string           `koanf:"server_name"`
	Credential credentialSchema `koanf:"credential"`
	// ssh targets
	KeyFile            string `koanf:"key_file"`
	KeyEnv             string `koanf:"key_env"`
	KnownHosts         string `koanf:"known_hosts"`
	HostKeyFingerprint string `koanf:"host_key_fingerprint"`
}

type credentialSchema struct {
	Kind   string `koanf:"kind"`
	Header string `koanf:"header"`
	Env    string `koanf:"env"`
	File   string `koanf:"file"`
}

var (
	schemaType   = reflect.TypeFor[fileSchema]()
	anyType      = reflect.TypeFor[any]()
	freeformType = reflect.TypeFor[map[string]any]()
)

// fieldByKey maps a struct's koanf tags to its field types.
func fieldByKey(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		m[f.Tag.Get("koanf")] = f.Type
	}
	return m
}

// shapeCheck walks a raw config value against the schema type t, reports
// unknown keys and values of the wrong YAML type at their key path, and
// deletes them, so the strict decode that follows sees only what it can hold
// and validation does not report them a second time. It also turns every
// mapping into map[string]any, which YAML leaves as map[any]any when a key is
// not a string. A nil value (an absent key, or YAML null) is always fine: it
// means "use the default".
func shapeCheck(p *problems, key string, v any, t reflect.Type) any {
	if v == nil {
		return nil
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == anyType:
		return normalize(v)
	case t == freeformType:
		m, ok := asMap(v)
		if !ok {
			p.addShape(key, "expected a mapping, got %s", yamlType(v))
			return nil
		}
		return normalize(m)
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := asMap(v)
		if !ok {
			p.addShape(key, "expected a mapping, got %s", yamlType(v))
			return nil
		}
		fields := fieldByKey(t)
		// Sorted so that problems on one line (a flow mapping) come out in
		// a stable order.
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			ft, ok := fields[k]
			if !ok {
				p.add(joinKey(key, k), "unknown key")
				delete(m, k)
				continue
			}
			if nv := shapeCheck(p, joinKey(key, k), m[k], ft); nv != nil {
				m[k] = nv
			} else {
				delete(m, k)
			}
		}
		return m
	case reflect.Map:
		// A mapping of free keys to values of one type (headers).
		m, ok := asMap(v)
		if !ok {
			p.addShape(key, "expected a mapping, got %s", yamlType(v))
			return nil
		}
		for k, e := range m {
			if nv := shapeCheck(p, joinKey(key, k), e, t.Elem()); nv != nil {
				m[k] = nv
			} else {
				delete(m, k)
			}
		}
		return m
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			p.addShape(key, "expected a list, got %s", yamlType(v))
			return nil
		}
		for i, e := range l {
			ek := indexKey(key, i)
			if e == nil {
				// An empty list item ("- " alone) is never meant.
				p.addShape(ek, "expected %s, got null", kindName(t.Elem()))
				continue
			}
			l[i] = shapeCheck(p, ek, e, t.Elem())
		}
		return l
	case reflect.String:
		switch v.(type) {
		case string:
		case bool, int, int64, uint64, float64:
			// YAML reads 12345, true and 1e3 as numbers and booleans; a
			// silent conversion could change a password or a name.
			p.addShape(key, "expected a string, got %s (quote it in YAML)", yamlType(v))
			return nil
		default:
			p.addShape(key, "expected a string, got %s", yamlType(v))
			return nil
		}
		return v
	}
	panic(fmt.Sprintf("config: schema type %v has no shape check", t))
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct:
		return "a mapping"
	case reflect.String:
		return "a string"
	}
	return "a value"
}

// asMap accepts the mapping forms YAML and koanf produce.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[fmt.Sprint(k)] = e
		}
		return out, true
	}
	return nil, false
}

// normalize turns every nested map[any]any in a free-form value into
// map[string]any, so it encodes as JSON.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m, _ := asMap(x)
		return normalize(m)
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	}
	return v
}

// yamlType names a decoded value's type in YAML's words, for messages that
// must not show the value itself (it may be a secret).
func yamlType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "an integer"
	case float32, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

// envKeys lists the keys an environment variable may set: every scalar
// reachable from the top without passing through a list. Lists (identities,
// plugins, targets) are not addressable by index from the environment
// because their order is the file's business.
func envKeys() map[string]bool {
	keys := map[string]bool{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for k, ft := range fieldByKey(t) {
			key := joinKey(prefix, k)
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch {
			case ft == anyType || ft.Kind() == reflect.String:
				keys[key] = true
			case ft.Kind() == reflect.Struct:
				walk(key, ft)
			}
		}
	}
	walk("", schemaType)
	return keys
}

// lineIndex maps every key path in a YAML document to the line it is on,
// so problems can be reported in file order.
func lineIndex(doc *yaml.Node) map[string]int {
	lines := map[string]int{}
	var walk func(n *yaml.Node, key string, depth int)
	walk = func(n *yaml.Node, key string, depth int) {
		// Aliases can nest; a config file this deep is not a config file.
		if n == nil || depth > 64 {
			return
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, key, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := joinKey(key, n.Content[i].Value)
				lines[k] = n.Content[i].Line
				walk(n.Content[i+1], k, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				k := indexKey(key, i)
				lines[k] = c.Line
				walk(c, k, depth+1)
			}
		case yaml.AliasNode:
			walk(n.Alias, key, depth+1)
		}
	}
	walk(doc, "", 0)
	return lines
}
