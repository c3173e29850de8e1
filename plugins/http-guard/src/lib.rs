//! http-guard: a sluice plugin (Rust, `command` and `selftest` hooks) that
//! blocks, or sends for approval, HTTP requests by method and path.
//!
//! Evaluation (README.md has the full reference):
//! 1. non-HTTP commands are allowed;
//! 2. built-in checks: path traversal (`traversal`, default block), then
//!    denied methods (`deny_methods`, default TRACE and CONNECT);
//! 3. the `rules`, in order: the first rule whose methods and path match
//!    decides (block, approve or allow);
//! 4. else `default` (allow).
//! A block ends evaluation at once; an approve from step 2 is kept and
//! turns a later allow into approve.

use sluice::json::{self, Value};
use sluice::{cat, itoa, Command, CommandKind, Error, Plugin, Verdict};

/// What a matching rule or check does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Act {
    Block,
    Approve,
    Allow,
}

fn parse_act(v: &Value, what: &str) -> Result<Act, Error> {
    match v.as_str() {
        Some("block") => Ok(Act::Block),
        Some("approve") => Ok(Act::Approve),
        Some("allow") => Ok(Act::Allow),
        Some(s) => Err(Error::from(cat(&[what, ": \"", s, "\" is not block, approve or allow"]))),
        None => Err(Error::from(cat(&[what, ": want a string (block, approve or allow), got ", v.type_name()]))),
    }
}

/// One rule of the config.
#[derive(Debug)]
struct Rule {
    /// Upper-cased methods; empty means any method.
    methods: Vec<Vec<u8>>,
    /// The path glob; `None` means any path.
    path: Option<Vec<u8>>,
    act: Act,
    reason: String,
    /// `N (METHODS PATH)`, for reasons.
    label: String,
}

/// The plugin's config, validated.
#[derive(Debug)]
pub struct Guard {
    rules: Vec<Rule>,
    default: Act,
    deny_methods: Vec<Vec<u8>>,
    traversal: Act,
    method_overrides: bool,
    query_traversal: bool,
    case_insensitive_paths: bool,
}

const KEYS: &[&str] = &[
    "rules",
    "default",
    "deny_methods",
    "traversal",
    "traversal_in_query",
    "method_overrides",
    "case_insensitive_paths",
];
const RULE_KEYS: &[&str] = &["methods", "path", "action", "reason"];

fn upper(s: &[u8]) -> Vec<u8> {
    s.to_ascii_uppercase()
}

fn method_list(v: &Value, what: &str) -> Result<Vec<Vec<u8>>, Error> {
    let list = v.as_str_list(what)?;
    let mut out = Vec::new();
    for (i, m) in list.iter().enumerate() {
        if m.is_empty() || !m.bytes().all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)) {
            return Err(Error::from(cat(&[what, "[", &itoa(i), "]: \"", m, "\" is not an HTTP method"])));
        }
        out.push(upper(m.as_bytes()));
    }
    Ok(out)
}

impl Guard {
    fn from_config(config: &[u8]) -> Result<Guard, Error> {
        let cfg = json::parse(config).map_err(|e| Error::from(cat(&["config: ", &e.message()])))?;
        let obj =
            cfg.as_object().ok_or_else(|| Error::from(cat(&["config: want a JSON object, got ", cfg.type_name()])))?;
        json::check_keys(obj, KEYS, "config")?;
        let mut g = Guard {
            rules: Vec::new(),
            default: Act::Allow,
            deny_methods: vec![b"TRACE".to_vec(), b"CONNECT".to_vec()],
            traversal: Act::Block,
            method_overrides: true,
            query_traversal: false,
            case_insensitive_paths: false,
        };
        if let Some(v) = cfg.get("default") {
            g.default = parse_act(v, "default")?;
        }
        if let Some(v) = cfg.get("traversal") {
            g.traversal = parse_act(v, "traversal")?;
        }
        if let Some(v) = cfg.get("deny_methods") {
            g.deny_methods = method_list(v, "deny_methods")?;
        }
        g.method_overrides = flag(&cfg, "method_overrides", true)?;
        g.query_traversal = flag(&cfg, "traversal_in_query", false)?;
        g.case_insensitive_paths = flag(&cfg, "case_insensitive_paths", false)?;
        if let Some(v) = cfg.get("rules") {
            let rules = v.as_array().ok_or_else(|| Error::from(cat(&["rules: want an array, got ", v.type_name()])))?;
            for (i, r) in rules.iter().enumerate() {
                let mut rule = parse_rule(i, r)?;
                if g.case_insensitive_paths {
                    if let Some(p) = &mut rule.path {
                        p.make_ascii_lowercase();
                    }
                }
                g.rules.push(rule);
            }
        }
        Ok(g)
    }
}

fn flag(cfg: &Value, key: &str, default: bool) -> Result<bool, Error> {
    match cfg.get(key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| Error::from(cat(&[key, ": want true or false, got ", v.type_name()]))),
    }
}

fn parse_rule(i: usize, r: &Value) -> Result<Rule, Error> {
    let at = cat(&["rules[", &itoa(i), "]"]);
    let obj = r.as_object().ok_or_else(|| Error::from(cat(&[&at, ": want an object, got ", r.type_name()])))?;
    json::check_keys(obj, RULE_KEYS, &at)?;
    let methods = match r.get("methods") {
        None => Vec::new(),
        Some(v) => {
            let m = method_list(v, &cat(&[&at, ".methods"]))?;
            if m.is_empty() {
                return Err(Error::from(cat(&[
                    &at,
                    ".methods: empty; leave it out (or use [\"*\"]) to match any method",
                ])));
            }
            if m.iter().any(|x| x == b"*") {
                Vec::new()
            } else {
                m
            }
        }
    };
    let path = match r.get("path") {
        None => None,
        Some(v) => {
            let p = v.as_str().ok_or_else(|| Error::from(cat(&[&at, ".path: want a string, got ", v.type_name()])))?;
            if !p.starts_with('/') && !p.starts_with('*') {
                return Err(Error::from(cat(&[&at, ".path: \"", p, "\" must start with / or *"])));
            }
            if p == "*" || p == "**" || p == "/**" {
                None
            } else {
                if let Some(n) = unmatchable(p.as_bytes()) {
                    return Err(Error::from(cat(&[
                        &at,
                        ".path: \"",
                        p,
                        "\" can never match: paths are matched decoded and normalized (no //, /./, /../, ;params, %XX or trailing /); write \"",
                        &show(&n),
                        "\"",
                    ])));
                }
                Some(p.as_bytes().to_vec())
            }
        }
    };
    let act = match r.get("action") {
        None => return Err(Error::from(cat(&[&at, ": action is required (block, approve or allow)"]))),
        Some(v) => parse_act(v, &cat(&[&at, ".action"]))?,
    };
    let reason = match r.get("reason") {
        None => String::new(),
        Some(v) => v
            .as_str()
            .ok_or_else(|| Error::from(cat(&[&at, ".reason: want a string, got ", v.type_name()])))?
            .to_string(),
    };
    let mut label = cat(&["rule ", &itoa(i), " ("]);
    if methods.is_empty() {
        label.push('*');
    } else {
        for (k, m) in methods.iter().enumerate() {
            if k > 0 {
                label.push(',');
            }
            label.push_str(&String::from_utf8_lossy(m));
        }
    }
    label.push(' ');
    match &path {
        Some(p) => label.push_str(&String::from_utf8_lossy(p)),
        None => label.push('*'),
    }
    label.push(')');
    Ok(Rule { methods, path, act, reason, label })
}

// ---------------------------------------------------------------- paths

/// For a pattern that can never match a normalized path, the pattern
/// normalized (its wildcards kept).
fn unmatchable(p: &[u8]) -> Option<Vec<u8>> {
    // wildcards as placeholder bytes the normalizer leaves alone
    let mut lit: Vec<u8> = Vec::with_capacity(p.len() + 1);
    if p.first() == Some(&b'*') {
        lit.push(b'/');
    }
    lit.extend(p.iter().map(|&c| match c {
        b'*' => 1,
        b'?' => 2,
        c => c,
    }));
    let n = normalize(&lit);
    if n.path == lit && !n.traversal {
        return None;
    }
    let mut fixed: Vec<u8> = n
        .path
        .iter()
        .map(|&c| match c {
            1 => b'*',
            2 => b'?',
            c => c,
        })
        .collect();
    if p.first() == Some(&b'*') && fixed.first() == Some(&b'/') {
        fixed.remove(0);
    }
    Some(fixed)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// One round of percent-decoding: `%XX`, and IIS's `%uXXXX` for ASCII.
fn decode_once(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if i + 2 < s.len() {
                if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
            }
            if i + 5 < s.len() && (s[i + 1] == b'u' || s[i + 1] == b'U') {
                let d: Option<Vec<u8>> = s[i + 2..i + 6].iter().map(|&c| hex(c)).collect();
                if let Some(d) = d {
                    let v = (d[0] as u32) << 12 | (d[1] as u32) << 8 | (d[2] as u32) << 4 | d[3] as u32;
                    if v < 0x80 {
                        out.push(v as u8);
                        i += 6;
                        continue;
                    }
                }
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Overlong UTF-8 encodings of `.`, `/` and `\` (old IIS and Tomcat
/// decoders accepted them) become the plain characters.
fn fold_overlong(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if i + 1 < s.len() && (s[i] == 0xc0 || s[i] == 0xc1) {
            let c = ((s[i] as u32 & 0x1f) << 6) | (s[i + 1] as u32 & 0x3f);
            if s[i + 1] & 0xc0 == 0x80 && (c == b'.' as u32 || c == b'/' as u32 || c == b'\\' as u32) {
                out.push(c as u8);
                i += 2;
                continue;
            }
        }
        if i + 2 < s.len() && s[i] == 0xe0 && s[i + 1] == 0x80 && s[i + 2] & 0xc0 == 0x80 {
            let c = s[i + 2] & 0x3f;
            if c == b'.' || c == b'/' || c == b'\\' {
                out.push(c);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// A request path, normalized for matching.
struct Normalized {
    /// `/`-joined segments: decoded, `\` as `/`, empty and `.` segments
    /// dropped, `;params` cut, `..` resolved; no trailing slash.
    path: Vec<u8>,
    /// Whether a `..` segment appeared at any decoding level.
    traversal: bool,
}

/// The path part of a request target: an absolute-form target
/// (`http://host/p`) loses its scheme and authority; query and fragment
/// are cut.
fn path_part(target: &[u8]) -> &[u8] {
    let mut p = target;
    if !p.starts_with(b"/") {
        if let Some(k) = find(p, b"://") {
            let rest = &p[k + 3..];
            p = match rest.iter().position(|&c| c == b'/') {
                Some(s) => &rest[s..],
                None => b"/",
            };
        }
    }
    let end = p.iter().position(|&c| c == b'?' || c == b'#').unwrap_or(p.len());
    &p[..end]
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| &h[i..i + n.len()] == n)
}

fn is_dotdot(seg: &[u8]) -> bool {
    // Windows trims trailing spaces from path segments: ".. " is "..".
    let mut s = seg;
    while let Some((&b' ', rest)) = s.split_last() {
        s = rest;
    }
    s == b".."
}

/// Splits `p` into segments on `/` and `\`, cutting `;params`.
fn segments(p: &[u8]) -> Vec<&[u8]> {
    p.split(|&c| c == b'/' || c == b'\\')
        .map(|s| match s.iter().position(|&c| c == b';') {
            Some(k) => &s[..k],
            None => s,
        })
        .collect()
}

/// Whether any query parameter value, decoded at any level, has a `..`
/// path segment (`?file=../../etc/passwd`, `?f=..%2f..%2f`).
fn query_has_traversal(q: &[u8]) -> bool {
    for kv in q.split(|&b| b == b'&' || b == b';') {
        let v = match kv.iter().position(|&b| b == b'=') {
            Some(e) => &kv[e + 1..],
            None => kv,
        };
        // '+' is a space in a query
        let mut cur: Vec<u8> = v.iter().map(|&c| if c == b'+' { b' ' } else { c }).collect();
        for _ in 0..4 {
            cur = fold_overlong(&cur);
            if segments(&cur).iter().any(|s| is_dotdot(s)) {
                return true;
            }
            let next = decode_once(&cur);
            if next == cur {
                break;
            }
            cur = next;
        }
    }
    false
}

fn normalize(raw: &[u8]) -> Normalized {
    let p = path_part(raw);
    let mut traversal = false;
    // Every decoding level is checked for "..": a backend or proxy may
    // decode once or twice (%252e%252e).
    let mut cur = fold_overlong(p);
    let mut levels = 0;
    loop {
        if segments(&cur).iter().any(|s| is_dotdot(s)) {
            traversal = true;
        }
        let next = fold_overlong(&decode_once(&cur));
        levels += 1;
        if next == cur || levels >= 4 {
            break;
        }
        cur = next;
    }
    // cur: fully decoded (up to 3 rounds). Resolve it.
    let mut out: Vec<&[u8]> = Vec::new();
    for s in segments(&cur) {
        if s.is_empty() || s == b"." {
            continue;
        }
        if is_dotdot(s) {
            out.pop();
            continue;
        }
        out.push(s);
    }
    let mut path = Vec::with_capacity(cur.len() + 1);
    for s in &out {
        path.push(b'/');
        path.extend_from_slice(s);
    }
    if path.is_empty() {
        path.push(b'/');
    }
    Normalized { path, traversal }
}

/// Glob match, anchored at both ends: `*` (and `**`) match any run of
/// bytes including `/`, `?` matches one byte, everything else is literal.
/// A pattern ending in `/*` or `/**` also matches the bare prefix
/// (`/admin/*` matches `/admin`).
fn glob(pat: &[u8], s: &[u8]) -> bool {
    if pat.ends_with(b"/*") || pat.ends_with(b"/**") {
        let base = &pat[..pat.iter().rposition(|&c| c == b'/').unwrap()];
        if !base.contains(&b'*') && !base.contains(&b'?') && (s == base || (base.is_empty() && s == b"/")) {
            return true;
        }
    }
    let (mut p, mut i) = (0usize, 0usize);
    let (mut star, mut mark) = (usize::MAX, 0usize);
    while i < s.len() {
        if p < pat.len() && pat[p] == b'*' {
            while p < pat.len() && pat[p] == b'*' {
                p += 1;
            }
            star = p;
            mark = i;
        } else if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if star != usize::MAX {
            mark += 1;
            i = mark;
            p = star;
        } else {
            return false;
        }
    }
    while p < pat.len() && pat[p] == b'*' {
        p += 1;
    }
    p == pat.len()
}

// ------------------------------------------------------------- requests

/// The request as the guard sees it.
struct Request<'a> {
    method: Vec<u8>,
    /// The query string (fact, else from the target), raw.
    query: Option<&'a [u8]>,
    /// The method plus method-override headers and `_method` parameters.
    methods: Vec<Vec<u8>>,
    raw_path: &'a [u8],
    norm: Normalized,
}

fn request<'a>(c: &Command<'a>, overrides: bool) -> Option<Request<'a>> {
    // Facts first; the command text ("METHOD TARGET") when they are missing.
    let text = c.text();
    let mut words = text.split(|&b| b == b' ' || b == b'\t').filter(|w| !w.is_empty());
    let (t_method, t_target) = (words.next(), words.next());
    let method = c.lookup(None, "method").or(t_method)?;
    let raw_path = c.lookup(None, "path").or(t_target)?;
    if method.is_empty() {
        return None;
    }
    let method = upper(method);
    let mut methods = vec![method.clone()];
    // the query: the fact, else what follows '?' in the target
    let query = c.lookup(None, "query").or_else(|| {
        let t = t_target.unwrap_or(b"");
        t.iter().position(|&b| b == b'?').map(|k| &t[k + 1..])
    });
    if overrides {
        for f in c.facts() {
            if f.key.len() > 7 && f.key.starts_with(b"header.") {
                let name = &f.key[7..];
                if name.eq_ignore_ascii_case(b"x-http-method-override")
                    || name.eq_ignore_ascii_case(b"x-http-method")
                    || name.eq_ignore_ascii_case(b"x-method-override")
                {
                    for v in f.value.split(|&b| b == b',') {
                        let v = v.trim_ascii_compat();
                        if !v.is_empty() {
                            methods.push(upper(v));
                        }
                    }
                }
            }
        }
        if let Some(q) = query {
            for kv in q.split(|&b| b == b'&' || b == b';') {
                let (k, v) = match kv.iter().position(|&b| b == b'=') {
                    Some(e) => (&kv[..e], &kv[e + 1..]),
                    None => continue,
                };
                if decode_once(k).eq_ignore_ascii_case(b"_method") {
                    let v = decode_once(v);
                    if !v.is_empty() {
                        methods.push(upper(&v));
                    }
                }
            }
        }
    }
    let norm = normalize(raw_path);
    Some(Request { method, query, methods, raw_path, norm })
}

trait TrimAscii {
    fn trim_ascii_compat(&self) -> &[u8];
}

impl TrimAscii for [u8] {
    fn trim_ascii_compat(&self) -> &[u8] {
        let mut s = self;
        while let Some((&c, rest)) = s.split_first() {
            if c.is_ascii_whitespace() {
                s = rest;
            } else {
                break;
            }
        }
        while let Some((&c, rest)) = s.split_last() {
            if c.is_ascii_whitespace() {
                s = rest;
            } else {
                break;
            }
        }
        s
    }
}

/// At most 160 bytes of `b`, as text, for a reason.
fn show(b: &[u8]) -> String {
    let cut = &b[..b.len().min(160)];
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if b.len() > 160 {
        s.push_str("...");
    }
    s
}

fn verdict(act: Act, reason: String) -> Verdict {
    match act {
        Act::Block => Verdict::block(reason),
        Act::Approve => Verdict::approve(reason),
        Act::Allow => Verdict::allow(),
    }
}

impl Guard {
    fn judge(&self, c: &Command<'_>) -> Verdict {
        if c.kind() != CommandKind::Http {
            return Verdict::allow();
        }
        let r = match request(c, self.method_overrides) {
            Some(r) => r,
            None => return Verdict::block("http-guard: cannot tell the request's method and path"),
        };
        // Built-in checks: a block ends it; an approve is kept.
        let mut pending: Option<String> = None;
        if r.norm.traversal && self.traversal != Act::Allow {
            let why = cat(&["http-guard: path traversal: a \"..\" segment in ", &show(r.raw_path)]);
            if self.traversal == Act::Block {
                return Verdict::block(why);
            }
            pending = Some(why);
        }
        if self.query_traversal && self.traversal != Act::Allow && pending.is_none() {
            if let Some(q) = r.query {
                if query_has_traversal(q) {
                    let why = cat(&["http-guard: path traversal in the query: ", &show(q)]);
                    if self.traversal == Act::Block {
                        return Verdict::block(why);
                    }
                    pending = Some(why);
                }
            }
        }
        if let Some(m) = r.methods.iter().find(|m| self.deny_methods.iter().any(|d| d == *m)) {
            let how = if *m == r.method { "" } else { " (by a method override)" };
            return Verdict::block(cat(&["http-guard: method ", &show(m), " is denied", how]));
        }
        // Rules: the first match decides.
        let mut decided = (self.default, cat(&["http-guard: no rule matched (default ", act_name(self.default), ")"]));
        for rule in &self.rules {
            let method_ok = rule.methods.is_empty() || r.methods.iter().any(|m| rule.methods.iter().any(|x| x == m));
            let path_ok = rule.path.as_ref().map_or(true, |p| {
                if self.case_insensitive_paths {
                    glob(p, &r.norm.path.to_ascii_lowercase())
                } else {
                    glob(p, &r.norm.path)
                }
            });
            if method_ok && path_ok {
                let mut why = cat(&["http-guard: ", &rule.label, ": ", &show(&r.method), " ", &show(&r.norm.path)]);
                if !rule.reason.is_empty() {
                    why.push_str(": ");
                    why.push_str(&rule.reason);
                }
                decided = (rule.act, why);
                break;
            }
        }
        match (decided.0, pending) {
            (Act::Block, _) => Verdict::block(decided.1),
            (_, Some(why)) => Verdict::approve(why),
            (act, None) => verdict(act, decided.1),
        }
    }
}

fn act_name(a: Act) -> &'static str {
    match a {
        Act::Block => "block",
        Act::Approve => "approve",
        Act::Allow => "allow",
    }
}

impl Plugin for Guard {
    fn init(config: &[u8]) -> Result<Self, Error> {
        Guard::from_config(config)
    }

    fn command(&mut self, c: &Command<'_>) -> Verdict {
        self.judge(c)
    }

    fn selftest(&mut self) -> Result<(), Error> {
        // The normalizer and matcher on known inputs, whatever the config.
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"/a/../b", b"/b", true),
            (b"/a/%2e%2e/b", b"/b", true),
            (b"/a/%252e%252e/b", b"/b", true),
            (b"/a/..%5cb", b"/b", true),
            (b"/a/%c0%ae%c0%ae/b", b"/b", true),
            (b"//x/./y/?q=1", b"/x/y", false),
            (b"/admin;x=1/users", b"/admin/users", false),
            (b"http://h:80/p?x", b"/p", false),
            (b"/a..b/c", b"/a..b/c", false),
        ];
        for &(raw, want, trav) in cases {
            let n = normalize(raw);
            if n.path != want || n.traversal != trav {
                return Err(Error::from(cat(&[
                    "normalize(",
                    &show(raw),
                    ") = ",
                    &show(&n.path),
                    ", want ",
                    &show(want),
                ])));
            }
        }
        let globs: &[(&[u8], &[u8], bool)] = &[
            (b"/admin/*", b"/admin/users/1", true),
            (b"/admin/*", b"/admin", true),
            (b"/admin/*", b"/administrator", false),
            (b"/v?/x", b"/v1/x", true),
            (b"/a/*/c", b"/a/b/c", true),
            (b"/a/*/c", b"/a/b/d", false),
        ];
        for &(p, s, want) in globs {
            if glob(p, s) != want {
                return Err(Error::from(cat(&["glob(", &show(p), ", ", &show(s), ") is wrong"])));
            }
        }
        // Every rule's pattern matches a path of its own shape (init refuses
        // patterns that cannot; this checks the matcher agrees).
        for rule in &self.rules {
            if let Some(p) = &rule.path {
                let mut lit: Vec<u8> = if p.first() == Some(&b'*') { b"/".to_vec() } else { Vec::new() };
                lit.extend(p.iter().map(|&c| if c == b'*' || c == b'?' { b'x' } else { c }));
                if !glob(p, &normalize(&lit).path) {
                    return Err(Error::from(cat(&[&rule.label, ": the pattern does not match ", &show(&lit)])));
                }
            }
        }
        Ok(())
    }
}

sluice::plugin!(Guard: command, selftest);
