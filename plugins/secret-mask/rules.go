package main

import (
	"bytes"
	"encoding/base64"
	"math"
	"regexp"
)

// rule is one secret detector.
//
// A rule runs only when the value, lower-cased (ASCII), contains one of its
// pre literals (a cheap prefilter; the regexp does the real matching). The
// span masked is the first capturing group that took part in the match, or
// the whole match when the regexp has no group. Rules earlier in the table
// win overlaps: a span that overlaps one already found is dropped, so a
// GitHub token assigned to "token=" is reported as github_pat, not as
// secret_assignment.
type rule struct {
	name string
	pre  []string // lower-case literals, any of which must occur; none = always run
	preB [][]byte // pre as bytes, set by init
	re   *regexp.Regexp
	// edge, when set, rejects a match whose masked span is followed by a
	// byte of the class (the token continues: it is longer than the
	// pattern allows) and, with lead, one whose whole match is preceded by
	// one.
	edge *byteClass
	lead bool
	// valid, when set, must accept the masked span.
	valid func(span []byte) bool
}

type byteClass [256]bool

// class builds a byte class from ranges written "a-z" and single bytes.
func class(spec string) *byteClass {
	var c byteClass
	for i := 0; i < len(spec); i++ {
		if i+2 < len(spec) && spec[i+1] == '-' {
			for b := int(spec[i]); b <= int(spec[i+2]); b++ {
				c[b] = true
			}
			i += 2
			continue
		}
		c[spec[i]] = true
	}
	return &c
}

var (
	tokenBytes  = class("A-Za-z0-9_-")
	base64Bytes = class("A-Za-z0-9+/=")
)

// Shared regexp fragments.
const (
	// assign is the separator of a key and its value: "=", ":", ":=",
	// "=>", with an optional closing quote of the key before it and
	// blanks (not newlines) around it.
	assign = `["']?[ \t]*(?:=|:=|:|=>)[ \t]*`
	// keyPrefix lets a key carry a prefix: DB_PASSWORD, client_secret.
	keyPrefix = `[A-Za-z0-9_\-]*`
)

// rules is the rule table, in priority order. Every rule has true- and
// false-positive cases in vectors/rules.json and rules_test.go.
var rules = []*rule{
	{
		name: "gcp_service_account",
		pre:  []string{`"private_key"`},
		re:   regexp.MustCompile(`"private_key"\s*:\s*"(-----BEGIN[A-Z ]*PRIVATE KEY-----[^"]*)"`),
	},
	{
		name: "private_key_block",
		pre:  []string{"private key-----", "private key block-----"},
		re:   regexp.MustCompile(`-----BEGIN[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----`),
	},
	{
		name: "aws_access_key_id",
		pre:  []string{"akia", "asia", "abia", "acca", "a3t"},
		re:   regexp.MustCompile(`\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "gcp_api_key",
		pre:  []string{"aiza"},
		re:   regexp.MustCompile(`\bAIza[0-9A-Za-z_\-]{35}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "github_pat",
		pre:  []string{"ghp_", "github_pat_"},
		re:   regexp.MustCompile(`\b(?:ghp_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "github_oauth",
		pre:  []string{"gho_"},
		re:   regexp.MustCompile(`\bgho_[A-Za-z0-9]{36}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "github_app_token",
		pre:  []string{"ghu_", "ghs_", "ghr_"},
		re:   regexp.MustCompile(`\bgh[usr]_[A-Za-z0-9]{36}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "gitlab_pat",
		pre:  []string{"glpat-"},
		re:   regexp.MustCompile(`\bglpat-[A-Za-z0-9_\-]{20,}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "slack_webhook",
		pre:  []string{"hooks.slack.com/"},
		re:   regexp.MustCompile(`https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,}/[A-Z0-9]{6,}/[A-Za-z0-9]{20,}`),
		edge: tokenBytes,
	},
	{
		name: "slack_token",
		pre:  []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-"},
		re:   regexp.MustCompile(`\bxox[bpar]-[0-9]{8,}-[0-9A-Za-z\-]{8,}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "stripe_key",
		pre:  []string{"sk_live_", "rk_live_"},
		re:   regexp.MustCompile(`\b[sr]k_live_[0-9A-Za-z]{24,}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "sendgrid_api_key",
		pre:  []string{"sg."},
		re:   regexp.MustCompile(`\bSG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "npm_token",
		pre:  []string{"npm_"},
		re:   regexp.MustCompile(`\bnpm_[0-9A-Za-z]{36}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "pypi_token",
		pre:  []string{"pypi-ageichlwas5vcmc"},
		re:   regexp.MustCompile(`\bpypi-AgEIcHlwaS5vcmc[0-9A-Za-z_\-]{50,}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "digitalocean_token",
		pre:  []string{"_v1_"},
		re:   regexp.MustCompile(`\bdo[opr]_v1_[a-f0-9]{64}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "anthropic_api_key",
		pre:  []string{"sk-ant-"},
		re:   regexp.MustCompile(`\bsk-ant-(?:api|admin|oat|sid)[0-9]{2}-[A-Za-z0-9_\-]{32,}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "openai_api_key",
		pre:  []string{"sk-"},
		re:   regexp.MustCompile(`\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "shopify_token",
		pre:  []string{"shpat_", "shpca_", "shppa_", "shpss_"},
		re:   regexp.MustCompile(`\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "mailgun_api_key",
		pre:  []string{"key-"},
		re:   regexp.MustCompile(`\bkey-[0-9a-f]{32}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "twilio_api_key",
		pre:  []string{"sk"},
		re:   regexp.MustCompile(`\bSK[0-9a-f]{32}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "jwt",
		pre:  []string{"eyj"},
		re:   regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{8,}\.ey[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}`),
		edge: tokenBytes, lead: true,
	},
	{
		name: "aws_secret_access_key",
		pre:  []string{"secret_access_key", "secretaccesskey", "aws_secret_key", "awssecretkey"},
		re:   regexp.MustCompile(`(?i)(?:aws_?secret_?access_?key|aws_?secret_?key|secret_?access_?key)` + assign + `["']?([A-Za-z0-9/+]{40})`),
		edge: base64Bytes,
	},
	{
		name: "azure_storage_key",
		pre:  []string{"accountkey="},
		re:   regexp.MustCompile(`(?i)AccountKey=([A-Za-z0-9+/]{86}==)`),
		edge: base64Bytes,
	},
	{
		name: "heroku_api_key",
		pre:  []string{"heroku", "hrku-"},
		re: regexp.MustCompile(`(?i)heroku` + keyPrefix + assign + `["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})` +
			`|\b(HRKU-[A-Za-z0-9_\-]{30,})`),
		edge: tokenBytes,
	},
	{
		name: "datadog_api_key",
		pre:  []string{"datadog", "dd_", "dd-"},
		re:   regexp.MustCompile(`(?i)(?:datadog|dd)[_\-]?(?:api|app|application)[_\-]?key` + assign + `["']?([a-f0-9]{40}|[a-f0-9]{32})`),
		edge: tokenBytes,
	},
	{
		name:  "docker_config_auth",
		pre:   []string{`"auth"`},
		re:    regexp.MustCompile(`"auth"\s*:\s*"([A-Za-z0-9+/]{4,}={0,2})"`),
		valid: base64UserPass,
	},
	{
		name:  "basic_auth_header",
		pre:   []string{"basic"},
		re:    regexp.MustCompile(`(?i)\bauthorization` + assign + `["']?basic[ \t]+([A-Za-z0-9+/]{4,}={0,2})`),
		edge:  base64Bytes,
		valid: base64UserPass,
	},
	{
		name:  "connection_string_password",
		pre:   []string{"://"},
		re:    regexp.MustCompile(`(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle|clickhouse|cockroachdb|snowflake|ldaps?|s?ftp|smtps?|nats|kafka)://[^\s:/@]*:([^\s/@]+)@[^\s/@]`),
		valid: notPlaceholder,
	},
	{
		name:  "basic_auth_url",
		pre:   []string{"://"},
		re:    regexp.MustCompile(`(?i)\bhttps?://[^\s:/@]+:([^\s/@]+)@[^\s/@]`),
		valid: notPlaceholder,
	},
	{
		name:  "bearer_token",
		pre:   []string{"bearer"},
		re:    regexp.MustCompile(`(?i)\bbearer[ \t]+([A-Za-z0-9\-._~+/]{16,}=*)`),
		edge:  tokenBytes,
		valid: highEntropy,
	},
	{
		name:  "password_assignment",
		pre:   []string{"password", "passwd", "passphrase"},
		re:    regexp.MustCompile(`(?i)` + keyPrefix + `(?:password|passwd|passphrase)` + assign + `(?:"([^"\r\n]+)"|'([^'\r\n]+)'|([^\s"',;&}\]]+))`),
		valid: notPlaceholder,
	},
	{
		name:  "secret_assignment",
		pre:   []string{"secret", "token", "api_key", "api-key", "apikey", "access_key", "access-key", "accesskey"},
		re:    regexp.MustCompile(`(?i)` + keyPrefix + `(?:secret|token|api[_\-]?key|access[_\-]?key)` + assign + `["']?([A-Za-z0-9_\-+/=.~]{8,})`),
		valid: highEntropy,
	},
}

func init() {
	for _, r := range rules {
		for _, p := range r.pre {
			r.preB = append(r.preB, []byte(p))
		}
	}
}

// placeholders are values of an assignment that are not secrets.
var placeholders = []string{"null", "none", "nil", "undefined", "true", "false", "redacted", "required", "optional", "string", "example"}

// notPlaceholder rejects values that stand for a secret rather than being
// one: variable references ($X, ${X}, %(x)s, {{x}}), <angle brackets>,
// all-asterisk or all-x masks, already redacted values and a few words.
func notPlaceholder(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case '$', '<', '%', '{', '[', '|', '>':
		return false
	}
	masked := true
	for _, c := range v {
		if c != '*' && c != 'x' && c != 'X' && c != '.' {
			masked = false
			break
		}
	}
	if masked {
		return false
	}
	for _, p := range placeholders {
		if bytes.EqualFold(v, []byte(p)) {
			return false
		}
	}
	return true
}

// Thresholds of highEntropy: a generic "token=" or "Bearer" value must be
// at least minSecretLen bytes with at least minEntropy bits of Shannon
// entropy per byte, so that "token=abcabcab" or "secret: changeme" (2.75
// bits) pass and a random 8+ character string (3 bits need 8 distinct
// bytes out of 8) is masked.
const (
	minSecretLen = 8
	minEntropy   = 3.0
)

func highEntropy(v []byte) bool {
	return len(v) >= minSecretLen && notPlaceholder(v) && entropy(v) >= minEntropy
}

// entropy is the Shannon entropy of v in bits per byte.
func entropy(v []byte) float64 {
	var counts [256]int
	for _, c := range v {
		counts[c]++
	}
	n := float64(len(v))
	h := 0.0
	for _, k := range counts {
		if k > 0 {
			p := float64(k) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// base64UserPass accepts standard base64 that decodes to "user:password"
// with both parts non-empty, as a docker config "auth" and an HTTP Basic
// credential are.
func base64UserPass(v []byte) bool {
	var buf [512]byte
	if base64.StdEncoding.DecodedLen(len(v)) > len(buf) {
		return false
	}
	n, err := base64.StdEncoding.Decode(buf[:], v)
	if err != nil {
		return false
	}
	i := bytes.IndexByte(buf[:n], ':')
	return i > 0 && i < n-1
}
