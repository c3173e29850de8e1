package gen

// Contexts shared by the variants of an entity type.
var (
	emailKeys = []string{"email", "contact", "reply_to", "owner", "billing_email"}
	emailTpl  = []string{"Contact {} for details", "reply-to: {}", "invoice sent to {}", "<{}>", "({})", "{}", "user {} logged in", "forwarded from {} on request", "cc {}; please confirm", "Contact {}.", "mailto:{}", "'{}'", "email={},"}

	phoneKeys = []string{"phone", "mobile", "tel", "contact_phone", "callback"}
	phoneTpl  = []string{"call {} after 5pm", "mobile: {}", "tel {}", "phone {} (home)", "customer phoned from {}", "{}", "SMS sent to {}", "reach me at {} anytime", "tel:{}", "call me on {}.", "phone={};"}

	cardKeys = []string{"card", "pan", "card_number", "payment_method"}
	cardTpl  = []string{"card {} charged", "paid with {}", "pan={}", "{}", "charge to card {} failed, retrying", "Card number: {}", "card={};", "paid by card {}."}

	ibanKeys = []string{"iban", "account", "payout_account"}
	ibanTpl  = []string{"wire to {}", "IBAN {}", "refund to account {}", "{}", "SEPA transfer from {} received", "payee iban={}", "IBAN: {}.", "account {}, ref invoice"}

	ssnKeys = []string{"ssn", "tax_id", "national_id"}
	ssnTpl  = []string{"SSN {} on file", "ssn={}", "tax id {} verified", "{}", "employee SSN: {}", "SSN {}.", "ssn: '{}'"}

	ipv4Keys = []string{"ip", "client_ip", "remote_addr", "src"}
	ipv4Tpl  = []string{"connection from {}", "client_ip={}", "GET /health from {} took 3ms", "peer {}:443", "{}", "login from {} (new device)", "X-Forwarded-For: {}", "ssh admin@{}", "http://{}/api/v1/users", "host={},", "ping {}.", "inet {}/24 brd"}

	ipv6Keys = []string{"ip", "client_ip", "remote_addr", "src6"}
	ipv6Tpl  = []string{"connection from {}", "src=[{}]:443", "client {} blocked", "{}", "login from {} (new device)", "neighbor {} reachable", "http://[{}]:8080/health", "ip6={};", "from {}.", "ping6 {}%eth0"}

	generic = []string{"ref {}", "see {}", "{}", "value: {}"}
)

// kinds is the corpus: every kind with its quota. PII quotas add up to
// 5,900, look-alike quotas to 3,060; the timestamps that open records and
// log lines come on top.
var kinds = []kindSpec{
	// email: 900
	{Type: Email, Kind: "email", Quota: 600, Gen: emailPlain, Keys: emailKeys, Templates: emailTpl},
	{Type: Email, Kind: "email-plus-tag", Quota: 150, Gen: emailTag, Keys: emailKeys, Templates: emailTpl},
	{Type: Email, Kind: "email-mixed-case", Quota: 150, Gen: emailMixedCase, Keys: emailKeys, Templates: emailTpl},

	// phone: 900
	{Type: Phone, Kind: "phone-e164-us", Quota: 150, Gen: phoneE164US, Keys: phoneKeys, Templates: phoneTpl},
	{Type: Phone, Kind: "phone-e164-intl", Quota: 150, Gen: phoneE164Intl, Keys: phoneKeys, Templates: phoneTpl},
	{Type: Phone, Kind: "phone-intl-spaced", Quota: 150, Gen: phoneSpacedIntl, Keys: phoneKeys, Templates: phoneTpl},
	{Type: Phone, Kind: "phone-us-intl-sep", Quota: 90, Gen: phoneUSIntl, Keys: phoneKeys, Templates: phoneTpl},
	{Type: Phone, Kind: "phone-us-paren", Quota: 120, Gen: phoneUSParen, Keys: phoneKeys, Templates: phoneTpl},
	{Type: Phone, Kind: "phone-us-dash", Quota: 120, Gen: phoneUSDash, Keys: phoneKeys, Templates: phoneTpl},
	{Type: Phone, Kind: "phone-us-dot", Quota: 120, Gen: phoneUSDot, Keys: phoneKeys, Templates: phoneTpl},

	// card: 900
	{Type: Card, Kind: "card-plain", Quota: 300, Gen: cardGen("", "", true), Keys: cardKeys, Templates: cardTpl},
	{Type: Card, Kind: "card-spaced", Quota: 250, Gen: cardGen("", " ", true), Keys: cardKeys, Templates: cardTpl},
	{Type: Card, Kind: "card-dashed", Quota: 150, Gen: cardGen("", "-", true), Keys: cardKeys, Templates: cardTpl},
	{Type: Card, Kind: "card-amex", Quota: 100, Gen: func(r *Rand) string {
		return pick(r, []valueFunc{cardGen("amex", "", true), cardGen("amex", " ", true)})(r)
	}, Keys: cardKeys, Templates: cardTpl},
	{Type: Card, Kind: "card-mastercard-2series", Quota: 100, Gen: func(r *Rand) string {
		return pick(r, []valueFunc{cardGen("mastercard2", "", true), cardGen("mastercard2", " ", true)})(r)
	}, Keys: cardKeys, Templates: cardTpl},

	// iban: 800
	{Type: IBAN, Kind: "iban-compact", Quota: 400, Gen: ibanGen(false, true), Keys: ibanKeys, Templates: ibanTpl},
	{Type: IBAN, Kind: "iban-grouped", Quota: 400, Gen: ibanGen(true, true), Keys: ibanKeys, Templates: ibanTpl},

	// ssn: 800
	{Type: SSN, Kind: "ssn", Quota: 800, Gen: ssnValid, Keys: ssnKeys, Templates: ssnTpl},

	// ipv4: 800
	{Type: IPv4, Kind: "ipv4", Quota: 800, Gen: ipv4, Keys: ipv4Keys, Templates: ipv4Tpl},

	// ipv6: 800
	{Type: IPv6, Kind: "ipv6-full", Quota: 250, Gen: ipv6Full, Keys: ipv6Keys, Templates: ipv6Tpl},
	{Type: IPv6, Kind: "ipv6-compressed", Quota: 400, Gen: ipv6Compressed, Keys: ipv6Keys, Templates: ipv6Tpl},
	{Type: IPv6, Kind: "ipv6-mixed", Quota: 150, Gen: ipv6Mixed, Keys: ipv6Keys, Templates: ipv6Tpl},

	// look-alikes: 3,090
	{Type: None, Kind: "order-number", Quota: 150, Gen: orderNumber, Keys: []string{"order_id", "order"}, Templates: []string{"order {} shipped", "refund for {} approved", "{}"}},
	{Type: None, Kind: "order-hash", Quota: 100, Gen: orderHash, Keys: []string{"order"}, Templates: []string{"order {} shipped", "see ticket {}", "re: {}"}},
	{Type: None, Kind: "invoice", Quota: 120, Gen: invoice, Keys: []string{"invoice", "invoice_no"}, Templates: []string{"invoice {} is overdue", "paid {}", "{}"}},
	{Type: None, Kind: "timestamp", Quota: 200, Resembles: IPv6, Gen: timestampRFC3339, Keys: []string{"created_at", "updated_at", "expires_at"}, Templates: []string{"at {}", "retry scheduled for {}", "{}"}},
	{Type: None, Kind: "timestamp-log", Quota: 80, Resembles: IPv6, Gen: timestampLog, Keys: []string{"logged_at"}, Templates: []string{"at {}", "since {}"}},
	{Type: None, Kind: "epoch", Quota: 150, Resembles: Phone, Gen: epoch, Keys: []string{"ts", "exp", "iat"}, Templates: []string{"expires {}", "ts={}", "created {}"}},
	{Type: None, Kind: "epoch-ms", Quota: 100, Resembles: Card, Gen: epochMs, Keys: []string{"ts_ms", "received_ms"}, Templates: []string{"ts_ms={}", "received at {}", "{}"}},
	{Type: None, Kind: "date", Quota: 120, Gen: dateStr, Keys: []string{"date", "due", "release_date"}, Templates: []string{"due {}", "released on {}", "{}"}},
	{Type: None, Kind: "clock", Quota: 60, Resembles: IPv6, Gen: clock, Keys: []string{"duration", "elapsed"}, Templates: []string{"took {}", "uptime {}", "{}"}},
	{Type: None, Kind: "uuid", Quota: 200, Gen: uuid, Keys: []string{"request_id", "trace_id", "id"}, Templates: []string{"request {} done", "trace={}", "{}"}},
	{Type: None, Kind: "price", Quota: 180, Gen: price, Keys: []string{"amount", "total", "price"}, Templates: []string{"total {}", "charged {} incl. VAT", "{}", "refund of {} issued"}},
	{Type: None, Kind: "version", Quota: 200, Resembles: IPv4, Gen: version, Keys: []string{"version", "app_version", "runtime"}, Templates: []string{"upgraded to {}", "running {}", "{}", "built with {}"}},
	{Type: None, Kind: "windows-build", Quota: 60, Resembles: IPv4, Gen: windowsBuild, Keys: []string{"os_build"}, Templates: []string{"os build {}", "Windows {}"}},
	{Type: None, Kind: "oid", Quota: 40, Resembles: IPv4, Gen: oid, Keys: []string{"oid"}, Templates: []string{"OID {}", "policy oid={}"}},
	{Type: None, Kind: "card-invalid-luhn", Quota: 250, Resembles: Card, Gen: func(r *Rand) string {
		return pick(r, []valueFunc{cardGen("", "", false), cardGen("", " ", false), cardGen("", "-", false)})(r)
	}, Keys: []string{"ref", "number"}, Templates: generic},
	{Type: None, Kind: "ssn-invalid", Quota: 200, Resembles: SSN, Gen: ssnInvalid, Keys: []string{"ref", "code"}, Templates: generic},
	{Type: None, Kind: "iban-invalid-check", Quota: 100, Resembles: IBAN, Gen: func(r *Rand) string {
		return pick(r, []valueFunc{ibanGen(false, false), ibanGen(true, false)})(r)
	}, Keys: []string{"ref", "code"}, Templates: generic},
	{Type: None, Kind: "phone-extension", Quota: 80, Resembles: Phone, Gen: ext, Keys: []string{"extension", "desk"}, Templates: []string{"ask for {}", "front desk, {}", "{}"}},
	{Type: None, Kind: "git-sha", Quota: 120, Gen: gitSHA, Keys: []string{"commit", "sha"}, Templates: []string{"commit {}", "deployed {}", "{}"}},
	{Type: None, Kind: "hex-id", Quota: 100, Gen: hexID, Keys: []string{"span_id", "event"}, Templates: []string{"span {}", "event {} queued", "{}"}},
	{Type: None, Kind: "docker-digest", Quota: 50, Resembles: IPv6, Gen: dockerDigest, Keys: []string{"image_digest"}, Templates: []string{"pulled nginx@{}", "digest {}"}},
	{Type: None, Kind: "zip", Quota: 100, Resembles: SSN, Gen: zip, Keys: []string{"zip", "postal_code"}, Templates: []string{"zip {}", "ships from {}", "{}"}},
	{Type: None, Kind: "isbn", Quota: 50, Resembles: Card, Gen: isbn, Keys: []string{"isbn"}, Templates: []string{"ISBN {}", "book {}"}},
	{Type: None, Kind: "tracking", Quota: 50, Resembles: Card, Gen: tracking, Keys: []string{"tracking"}, Templates: []string{"tracking {}", "FedEx {}"}},
	{Type: None, Kind: "npm-spec", Quota: 80, Resembles: Email, Gen: npmSpec, Keys: []string{"dependency", "package"}, Templates: []string{"installed {}", "npm i {}", "{}"}},
	{Type: None, Kind: "cve", Quota: 40, Gen: cve, Keys: []string{"cve"}, Templates: []string{"patched {}", "fixes {}"}},
	{Type: None, Kind: "quantity", Quota: 80, Gen: quantity, Keys: []string{"size", "ratio", "count"}, Templates: []string{"used {}", "{} of quota", "{}"}},
}
