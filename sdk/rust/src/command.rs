//! The command reader (ABI.md 3.6).

use crate::u32_at;

const COMMAND_MAGIC: u32 = 0x3143_4c53; // "SLC1"
const HEADER: usize = 40;

/// The protocol of a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandKind {
    /// 1: a SQL command (facts from gateway/sqlscan).
    Sql,
    /// 2: a shell command line (facts from gateway/shellscan).
    Shell,
    /// 3: an HTTP request (facts `method`, `path`, `query`, `header.NAME`).
    Http,
    /// A kind this crate does not know.
    Other(u32),
}

/// One analysis fact: (statement index, key, value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fact<'a> {
    /// The statement (SQL), command (shell) index; 0 for HTTP.
    pub stmt: u32,
    /// The key, e.g. `tag`, `argv0`, `method`.
    pub key: &'a [u8],
    /// The value.
    pub value: &'a [u8],
}

impl<'a> Fact<'a> {
    /// The key as UTF-8 (empty when invalid).
    pub fn key_str(&self) -> &'a str {
        core::str::from_utf8(self.key).unwrap_or("")
    }
    /// The value as UTF-8, or `None` when invalid.
    pub fn value_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.value).ok()
    }
}

/// The command hook's view of one command and the host's analysis of it.
/// Everything borrows the arena: valid only during the hook call.
#[derive(Clone, Copy)]
pub struct Command<'a> {
    buf: &'a [u8],
    kind: u32,
    n_facts: usize,
    facts_off: usize,
}

fn range(buf: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    buf.get(off..off.checked_add(len)?)
}

impl<'a> Command<'a> {
    /// Parses and validates a command (every string in bounds).
    pub fn parse(buf: &'a [u8]) -> Result<Command<'a>, &'static str> {
        if buf.len() < HEADER {
            return Err("command shorter than its header");
        }
        if u32_at(buf, 0) != COMMAND_MAGIC {
            return Err("bad command magic");
        }
        for o in [8usize, 16, 24] {
            if range(buf, u32_at(buf, o) as usize, u32_at(buf, o + 4) as usize).is_none() {
                return Err("command string out of bounds");
            }
        }
        let n = u32_at(buf, 32) as usize;
        let facts_off = u32_at(buf, 36) as usize;
        match n.checked_mul(20).and_then(|s| s.checked_add(facts_off)) {
            Some(end) if end <= buf.len() => {}
            _ => return Err("command facts out of bounds"),
        }
        for i in 0..n {
            let o = facts_off + i * 20;
            if range(buf, u32_at(buf, o + 4) as usize, u32_at(buf, o + 8) as usize).is_none()
                || range(buf, u32_at(buf, o + 12) as usize, u32_at(buf, o + 16) as usize).is_none()
            {
                return Err("command fact out of bounds");
            }
        }
        Ok(Command { buf, kind: u32_at(buf, 4), n_facts: n, facts_off })
    }

    fn str_at(&self, o: usize) -> &'a [u8] {
        range(self.buf, u32_at(self.buf, o) as usize, u32_at(self.buf, o + 4) as usize).unwrap_or(&[])
    }

    /// The protocol.
    pub fn kind(&self) -> CommandKind {
        match self.kind {
            1 => CommandKind::Sql,
            2 => CommandKind::Shell,
            3 => CommandKind::Http,
            k => CommandKind::Other(k),
        }
    }

    /// The command verbatim: SQL, a shell line, or `METHOD PATH` for HTTP.
    pub fn text(&self) -> &'a [u8] {
        self.str_at(8)
    }

    /// The name of the identity that sent the command.
    pub fn identity(&self) -> &'a [u8] {
        self.str_at(16)
    }

    /// The name of the target the command is for.
    pub fn target(&self) -> &'a [u8] {
        self.str_at(24)
    }

    /// The number of facts.
    pub fn num_facts(&self) -> usize {
        self.n_facts
    }

    /// Fact `i`, or `None` when out of range.
    pub fn fact(&self, i: usize) -> Option<Fact<'a>> {
        if i >= self.n_facts {
            return None;
        }
        let o = self.facts_off + i * 20;
        let b = self.buf;
        Some(Fact {
            stmt: u32_at(b, o),
            key: range(b, u32_at(b, o + 4) as usize, u32_at(b, o + 8) as usize).unwrap_or(&[]),
            value: range(b, u32_at(b, o + 12) as usize, u32_at(b, o + 16) as usize).unwrap_or(&[]),
        })
    }

    /// The facts in order. Keys per kind are listed in ABI.md 3.6; ignore
    /// keys you do not know, the set grows within v1.
    pub fn facts(&self) -> Facts<'a> {
        Facts { cmd: *self, i: 0 }
    }

    /// The value of the first fact with `key` (of statement `stmt`, or of
    /// any statement when `stmt` is `None`).
    pub fn lookup(&self, stmt: Option<u32>, key: &str) -> Option<&'a [u8]> {
        self.facts().find(|f| f.key == key.as_bytes() && stmt.map_or(true, |s| s == f.stmt)).map(|f| f.value)
    }

    /// The values of every fact with `key`, in order (keys may repeat for
    /// lists, e.g. shell `arg`).
    pub fn values(&self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.facts().filter(move |f| f.key == key.as_bytes()).map(|f| f.value)
    }

    /// Whether any statement has the fact `key=value`, e.g.
    /// `has("where", "false")`.
    pub fn has(&self, key: &str, value: &str) -> bool {
        self.facts().any(|f| f.key == key.as_bytes() && f.value == value.as_bytes())
    }

    /// HTTP: the value of header `name`, matched case-insensitively
    /// against the `header.NAME` facts.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.facts()
            .find(|f| {
                f.key.len() == 7 + name.len()
                    && f.key.starts_with(b"header.")
                    && f.key[7..].eq_ignore_ascii_case(name.as_bytes())
            })
            .map(|f| f.value)
    }
}

/// Iterator over a command's facts.
pub struct Facts<'a> {
    cmd: Command<'a>,
    i: usize,
}

impl<'a> Iterator for Facts<'a> {
    type Item = Fact<'a>;
    fn next(&mut self) -> Option<Fact<'a>> {
        let f = self.cmd.fact(self.i)?;
        self.i += 1;
        Some(f)
    }
}
