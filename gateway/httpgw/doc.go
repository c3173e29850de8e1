// Package httpgw is sluice's HTTP engine: a reverse proxy on fasthttp that
// puts identity, policy, credential injection, response masking, approvals
// and recording between non-human clients (CI jobs, bots) and an HTTP API.
//
// # Entry points
//
// New(Options) returns an *Engine for one target of protocol http;
// Serve(ln) accepts clients on a listener (one per target; it may be
// called for several); Close stops it. An Engine is safe for concurrent
// use; every request runs on its connection's goroutine, and a masked
// response body on one goroutine of its own.
//
// # The path of one request
//
//	client                         sluice                                upstream
//	  |  GET /v1/customers            |                                       |
//	  |  Authorization: Bearer slc_…  |                                       |
//	  |------------------------------>| 1. sluice token or OIDC ID token       |
//	  |                               |    -> identity                         |
//	  |                               |    none/bad: 401 + WWW-Authenticate    |
//	  |                               |    not in target.allow: 403            |
//	  |                               | 2. limits known from the headers (413) |
//	  |                               | 3. policy.Chain.Evaluate(http command: |
//	  |                               |    method, path, query, header.NAME,   |
//	  |                               |    body.NAME of a JSON body)           |
//	  |                               |    block: 403 {error,reason,request_id}|
//	  |                               | 4. command event (store): synced first;|
//	  |                               |    GET/HEAD/OPTIONS group-synced       |
//	  |                               | 5. approve: held up to ApprovalWait,   |
//	  |                               |    then 202 {approval_id} Retry-After  |
//	  |                               | 6. forward: client Authorization and   |
//	  |                               |    hop-by-hop headers dropped,         |
//	  |                               |    X-Forwarded-*, sluice's credential  |
//	  |                               |-------------------------------------->|
//	  |                               |<--------------------------------------|
//	  |                               | 7. body by content type through        |
//	  |                               |    policy.MaskStream (chunked), or     |
//	  |                               |    passed through with its length      |
//	  |<------------------------------| 8. output event: status, masked body   |
//	  |  200, masked records          |    (capped)                            |
//
// Every response sluice writes itself is JSON: {"error", "reason",
// "request_id"} (plus "approval_id" and "state" for approvals), with the
// request ID also in the Sluice-Request-Id header of every response and of
// the forwarded request, so client, gateway and upstream logs join up.
//
// # Identity
//
// "Authorization: Bearer <token>" with a sluice token (config hashes or
// issued tokens, through auth.Authenticator), or, with Options.OIDC, an
// OIDC ID token of a trusted issuer (a GitHub Actions token, a Kubernetes
// service account token): signature checked with the issuer's JWKS (a
// file, or a URL fetched when a token names an unknown key ID, at most
// every 30s), algorithms from an allowlist of the RS, ES and PS families
// (never "none", never HMAC), iss exact, the configured audience among
// aud, exp required, exp/nbf/iat with a leeway (60s), then claim rules
// (first match; "*" globs) name a config identity. The client's
// Authorization header is consumed by sluice and never forwarded. A
// refusal tells the client only "authentication failed" (no oracle); the
// reason goes to the log and the recording.
//
// # Upstream credential
//
// Options.Credential: a bearer token, basic auth, or a named header, with
// the secret from an environment variable, a file or upstream.password. It
// is set after the client's headers are copied, so a client cannot
// override it, and it never appears in a log line, a recorded event or a
// response sluice writes. sluice does not scrub an upstream that echoes the
// credential back in its own response body.
//
// # Policy
//
// The request is an abi.CommandHTTP command whose text is "METHOD target":
// the request target as the client sent it (an absolute-form target reduced
// to its path and query, a fragment cut), which is also exactly what is
// forwarded: fasthttp's path normalization is off on both sides, so the
// plugin judges the bytes the upstream will see. Facts, ABI.md §3.6, on
// statement 0: method, path, query (without "?"), and header.NAME (NAME in
// lower case) for every request header except Authorization,
// Proxy-Authorization and Cookie, at most 64 (Options.FactHeaders narrows
// them). A JSON or NDJSON body of up to 64 KiB (the part sluice reads
// with the headers) becomes body.NAME facts, one statement per record, at
// most 1024; a larger, chunked or encoded body, or more fields, gives
// body_truncated=true instead, so a guard that depends on the body can
// refuse what it did not see. Approval grants cover method and target,
// not the body.
//
// # Response masking
//
// When the chain has masking plugins, bodies of these media types go
// through policy.MaskStream (ETag dropped: the masked body is another
// representation). Bodies of unknown length, encoded ones and those over
// 64 KiB are streamed in constant memory and sent chunked; smaller ones of
// known length are masked whole and sent with their new Content-Length.
//
//	application/json, text/json, application/*+json   records.FormatJSON
//	application/x-ndjson, application/ndjson,
//	application/jsonl, application/x-jsonlines, ...     records.FormatNDJSON
//	text/csv, application/csv                          records.FormatCSV
//	text/plain                                         records.FormatText
//
// sluice asks the upstream for "Accept-Encoding: identity" when it masks; a
// gzip or deflate body sent anyway is decoded and sent unencoded; any other
// encoding of a maskable type is refused with 502 rather than passed
// unmasked. Other media types pass through unchanged with their length
// (Options.UnknownContentType "pass", the default; recorded without their
// body) or are refused with 502 ("block"). A masking failure mid-stream
// (malformed JSON, a record over the tokenizer's size limit) cuts the
// response: the chunked body ends without its last chunk, so the client
// sees an incomplete body, never unmasked bytes (for a small body, a
// clean 502). A fail-closed plugin failure redacts the batch and the stream
// goes on.
//
// Without masking plugins every body is passed through with its length.
//
// With Options.MaskRequestBody, request bodies of the same media types are
// masked on their way to the upstream (chunked) and recorded masked as a
// "request_body" event; an encoded one is refused with 415.
//
// # Sessions
//
// A session is one client connection and one identity: it opens (with its
// auth event) at the first authenticated request of that identity on the
// connection and ends when the connection closes. Requests that fail
// authentication or the allow list are recorded as auth events with result
// "denied" in the connection's session of identity "-". Each request is a
// command event (text with the target masked by the chain's maskers
// through policy.MaskText, verdict, reason, plugin, fingerprint, request
// ID), synced before the request is forwarded; each response an output
// event (status, content type, whether masked, bytes, the masked body up
// to Options.MaxRecordedBody). The store's session quota caps a session.
//
// # Approvals
//
// A REQUIRE_APPROVAL verdict: a window grant for the identity, target and
// request fingerprint (a hash of method and target) lets it through at
// once; otherwise an approval request is opened and the request held up to
// Options.ApprovalWait (30s). Past it the client gets 202 with the
// approval ID and Retry-After. A retry of the same request by the same
// identity waits on the same approval request (it is not opened twice) and
// passes when it was approved, even once, while the client was away;
// denied or expired gives 403. Which request a retry belongs to is kept in
// memory: after a restart a retry opens a new request.
//
// # Limits
//
// Headers larger than MaxHeaderBytes get 431; a client slower than
// HeaderTimeout with its headers 408; a body over MaxRequestBody 413 (at
// once for a declared length, and before the body is sent when the client
// expects 100-continue; where it crosses the cap for a chunked body); a
// body that stalls for BodyIdleTimeout 408; an upstream silent for
// UpstreamTimeout 504, unreachable 502. Writes to a client that stopped
// reading time out after WriteIdleTimeout. Request and response bodies are
// streamed, never held whole (a JSON document being masked is held up to
// records.DefaultMaxRecordSize).
//
// # WebSocket
//
// A GET with "Upgrade: websocket" is judged and recorded like any request;
// sluice then makes the upgrade request to the upstream itself (with its
// credential, on a connection of its own) and, on 101, joins the two
// connections. Frames are recorded as opaque: direction, opcode and
// length, never the payload (the first 1000, then a summary at the end).
// There is no idle timeout on a joined WebSocket; writes still time out.
// An upstream that answers otherwise than 101 gives 502.
//
// # Not yet
//
// Masking or judging WebSocket messages; body facts for request bodies
// over 64 KiB (plugins see body_truncated=true); routing several targets on one listener by host or
// path prefix; re-encoding masked bodies with the client's
// Accept-Encoding; HTTP/2; re-reading a credential file when it changes
// (it is read at New); following an upstream address changed by a reload
// (the allow list and the chain follow at once).
package httpgw
