package main

import (
	"errors"
	"strings"

	"github.com/sluicegw/sluice/abi"
	"github.com/sluicegw/sluice/sdk/go/sluice"
)

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// fill returns n bytes cycling through chars: fake token bodies for the
// samples, built at run time so no token-shaped literal sits in the source.
func fill(chars string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[i%len(chars)]
	}
	return string(b)
}

// sample is a true positive of a rule: in, with secret masked.
type sample struct{ in, secret string }

// samples has one true positive per rule (rules_test.go checks that every
// rule has one and that it is found by that rule).
func samples() map[string]sample {
	hex := "0123456789abcdef"
	pk := `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n`
	block := "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + fill(alnum, 40) + "\n-----END RSA PRIVATE KEY-----"
	s := func(prefix, secret, suffix string) sample { return sample{prefix + secret + suffix, secret} }
	return map[string]sample{
		"gcp_service_account":        s(`{"type":"service_account","private_key":"`, pk, `","client_email":"x@y.iam.gserviceaccount.com"}`),
		"private_key_block":          s("key:\n", block, "\n"),
		"aws_access_key_id":          s("aws_access_key_id=", "AKIAIOSFODNN7EXAMPLE", ""),
		"gcp_api_key":                s("maps key ", "AIza"+fill(alnum, 35), " used"),
		"github_pat":                 s("GH=", "ghp_"+fill(alnum, 36), ""),
		"github_oauth":               s("oauth ", "gho_"+fill(alnum, 36), ""),
		"github_app_token":           s("installation ", "ghs_"+fill(alnum, 36), ""),
		"gitlab_pat":                 s("PRIVATE-TOKEN: ", "glpat-"+fill(alnum, 20), ""),
		"slack_webhook":              s("POST ", "https://hooks.slack.com/services/T00000000/B00000000/"+fill(alnum, 24), ""),
		"slack_token":                s("bot ", "xoxb-123456789012-1234567890123-"+fill(alnum, 24), ""),
		"stripe_key":                 s("stripe ", "sk_live_"+fill(alnum, 24), ""),
		"sendgrid_api_key":           s("sg ", "SG."+fill(alnum, 22)+"."+fill(alnum, 43), ""),
		"npm_token":                  s("//registry.npmjs.org/:_authToken=", "npm_"+fill(alnum, 36), ""),
		"pypi_token":                 s("twine -p ", "pypi-AgEIcHlwaS5vcmc"+fill(alnum, 60), ""),
		"digitalocean_token":         s("do ", "dop_v1_"+fill(hex, 64), ""),
		"anthropic_api_key":          s("key ", "sk-ant-api03-"+fill(alnum, 40), ""),
		"openai_api_key":             s("key ", "sk-proj-"+fill(alnum, 48), ""),
		"shopify_token":              s("shop ", "shpat_"+fill(hex, 32), ""),
		"mailgun_api_key":            s("mg ", "key-"+fill(hex, 32), ""),
		"twilio_api_key":             s("twilio ", "SK"+fill(hex, 32), ""),
		"jwt":                        s("t=", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", ""),
		"aws_secret_access_key":      s("aws_secret_access_key = ", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),
		"azure_storage_key":          s("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=", fill(alnum, 86)+"==", ";EndpointSuffix=core.windows.net"),
		"heroku_api_key":             s("HEROKU_API_KEY=", "01234567-89ab-cdef-0123-456789abcdef", ""),
		"datadog_api_key":            s("DD_API_KEY=", fill(hex, 32), ""),
		"docker_config_auth":         s(`{"auths":{"ghcr.io":{"auth":"`, "dXNlcjpwYXNzd29yZA==", `"}}}`),
		"basic_auth_header":          s("Authorization: Basic ", "dXNlcjpwYXNzd29yZA==", ""),
		"connection_string_password": s("DATABASE_URL=postgres://app:", "s3cr3tPass", "@db.internal:5432/app"),
		"basic_auth_url":             s("GET https://deploy:", "hunter22", "@ci.example.com/api"),
		"bearer_token":               s("Authorization: Bearer ", fill(alnum, 32), ""),
		"password_assignment":        s(`{"user":"ann","password":"`, "correct horse", `"}`),
		"secret_assignment":          s("client_secret=", "Zx81kQm2Pw9vLr4T", ""),
	}
}

// selfTest runs after every (re)load, after Init, before the plugin serves
// traffic: every enabled rule's sample must be masked exactly, a benign
// line must stay unchanged, and a sample batch through the real records
// path (sluice.Harness) must mask a string, keep NULL NULL and leave a
// number alone.
func selfTest() error {
	m := current
	if m == nil {
		return errNotInitialized
	}
	all := samples()
	for ri, r := range m.rules {
		sm, ok := all[r.name]
		if !ok {
			return errors.New("selftest: rule " + r.name + " has no sample")
		}
		want := strings.Replace(sm.in, sm.secret, string(m.repl[ri]), 1)
		if got := m.apply(sm.in); got != want {
			return errors.New("selftest: rule " + r.name + ": got " + got + ", want " + want)
		}
	}
	const benign = "order 7f9c2e1a-5b3d-4e8f-9a0b-1c2d3e4f5a6b shipped, commit 3f786850e387550fdab836ed7e6dc881de23001b"
	if got := m.apply(benign); got != benign {
		return errors.New("selftest: benign line changed to " + got)
	}
	if len(m.rules) == 0 {
		return nil
	}
	sm := all[m.rules[0].name]
	var bb abi.BatchBuilder
	text := bb.AddColumn([]byte("note"), abi.TypeText, 0)
	num := bb.AddColumn([]byte("n"), abi.TypeInt, 0)
	bb.BeginRecord()
	bb.AddField(text, abi.KindString, false, []byte(sm.in))
	bb.AddField(num, abi.KindNumber, false, []byte("42"))
	bb.BeginRecord()
	bb.AddField(text, abi.KindNull, true, nil)
	bb.AddField(num, abi.KindNull, true, nil)
	got, err := sluice.NewHarness(sluice.Plugin{Records: records}).Records(&bb)
	if err != nil {
		return err
	}
	if len(got) != 2 {
		return errors.New("selftest: sample batch: records were dropped")
	}
	if want := m.apply(sm.in); string(got[0][0].Data) != want {
		return errors.New("selftest: sample batch: got " + got[0][0].String() + ", want " + want)
	}
	if string(got[0][1].Data) != "42" || !got[1][0].Null || !got[1][1].Null {
		return errors.New("selftest: sample batch: a number or NULL changed")
	}
	return nil
}
