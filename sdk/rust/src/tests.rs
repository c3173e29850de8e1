//! Native unit tests: `rustc --edition 2021 --test src/lib.rs -o /tmp/t && /tmp/t`
//! (or `cargo test`).

use crate::json::{self, Value};
use crate::*;

/// Encodes a batch (ABI.md 4.1): columns, records of (value or None).
fn batch(columns: &[&str], records: &[&[Option<&str>]]) -> Vec<u8> {
    let nc = columns.len();
    let nr = records.len();
    let nf: usize = records.iter().map(|r| r.len()).sum();
    let tables = 32 + nc * 16 + nr * 8 + nf * 16;
    let data_off = (tables + 7) & !7;
    let mut data = Vec::new();
    let mut out = vec![0u8; data_off];
    let put = |b: &mut Vec<u8>, o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_le_bytes());
    put(&mut out, 0, 0x3142_4c53);
    put(&mut out, 4, nc as u32);
    put(&mut out, 8, nr as u32);
    put(&mut out, 12, nf as u32);
    put(&mut out, 20, data_off as u32);
    for (i, c) in columns.iter().enumerate() {
        let o = 32 + i * 16;
        put(&mut out, o, data.len() as u32);
        put(&mut out, o + 4, c.len() as u32);
        put(&mut out, o + 8, 1);
        data.extend_from_slice(c.as_bytes());
    }
    let mut fi = 0;
    for (r, rec) in records.iter().enumerate() {
        let o = 32 + nc * 16 + r * 8;
        put(&mut out, o, fi as u32);
        put(&mut out, o + 4, rec.len() as u32);
        for (j, v) in rec.iter().enumerate() {
            let o = 32 + nc * 16 + nr * 8 + fi * 16;
            put(&mut out, o, j as u32);
            put(&mut out, o + 4, data.len() as u32);
            let s = v.unwrap_or("");
            put(&mut out, o + 8, s.len() as u32);
            put(&mut out, o + 12, if v.is_some() { 1 } else { 4 | 256 });
            data.extend_from_slice(s.as_bytes());
            fi += 1;
        }
    }
    put(&mut out, 24, data.len() as u32);
    out.extend_from_slice(&data);
    out
}

#[test]
fn batch_views() {
    let mut buf = batch(&["a", "b"], &[&[Some("x1"), None], &[Some("y"), Some("zz")]]);
    let b = Batch::parse(&mut buf).unwrap();
    assert_eq!(b.num_columns(), 2);
    assert_eq!(b.column(1).name, b"b");
    assert_eq!(b.column_index(b"b"), Some(1));
    assert_eq!(b.num_records(), 2);
    let fs: Vec<Field> = b.fields().collect();
    assert_eq!(fs.len(), 4);
    assert!(fs[1].null);
    assert_eq!(fs[1].kind, Kind::Null);
    assert_eq!(fs[2].record, 1);
    assert_eq!(b.value(&fs[3]), b"zz");
    assert_eq!(b.field(3), fs[3]);
    let r = b.record(1);
    assert_eq!(b.field_by_name(&r, b"b"), Some(fs[3]));
    assert_eq!(r.fields().count(), 2);
}

#[test]
fn batch_rejects_bad_input() {
    let mut buf = batch(&["a"], &[&[Some("x")]]);
    buf[0] = 0;
    assert!(Batch::parse(&mut buf).is_err());
    let mut buf = batch(&["a"], &[&[Some("x")]]);
    let n = buf.len();
    assert!(Batch::parse(&mut buf[..n - 1]).is_err());
}

fn edit_list(out: &[u8]) -> Vec<[u32; 6]> {
    let n = u32_at(out, 0) as usize;
    let mut p = 8;
    let mut v = Vec::new();
    for _ in 0..n {
        let e = [
            u32_at(out, p),
            u32_at(out, p + 4),
            u32_at(out, p + 8),
            u32_at(out, p + 12),
            u32_at(out, p + 16),
            u32_at(out, p + 20),
        ];
        p += 24 + ((e[4] as usize + 7) & !7);
        v.push(e);
    }
    v
}

#[test]
fn edits_and_masks() {
    let mut buf = batch(&["a"], &[&[Some("CUST-12")], &[Some("b")]]);
    let mut out = vec![0u8; 256];
    let mut b = Batch::parse(&mut buf).unwrap();
    let f0 = b.field(0);
    let f1 = b.field(1);
    let mut e = Edits::new(&mut out, 2);
    e.mask(&f0, 5, 2, b'*');
    assert_eq!(b.value(&f0), b"CUST-12", "masks apply at finish");
    e.replace(&f1, b"new");
    e.nullify(&f1);
    e.drop_record(1);
    let n = e.finish(&mut b).unwrap();
    assert_eq!(b.value(&f0), b"CUST-**");
    let l = edit_list(&out[..n]);
    assert_eq!(l, vec![[1, 0, 5, 2, 0, 0], [2, 1, 0, 0, 3, 0], [4, 1, 0, 0, 0, 0], [5, 1, 0, 0, 0, 0]]);
    assert_eq!(&out[8 + 24 + 24..8 + 24 + 24 + 3], b"new");
}

#[test]
fn edits_full_and_errors() {
    let mut buf = batch(&["a"], &[&[Some("CUST-12")]]);
    let mut b = Batch::parse(&mut buf).unwrap();
    let f = b.field(0);
    let mut out = vec![0u8; 40];
    let mut e = Edits::new(&mut out, 1);
    e.mask(&f, 5, 2, b'*');
    e.mask(&f, 0, 1, b'*');
    assert!(e.is_full());
    assert_eq!(e.finish(&mut b), Err(None));
    assert_eq!(b.value(&f), b"CUST-12", "no mask applied when the list did not fit");
    let mut out = vec![0u8; 400];
    let mut e = Edits::new(&mut out, 1);
    e.replace_range(&f, 5, 9, b"x");
    let err = e.finish(&mut b).unwrap_err().unwrap();
    assert_eq!(err.message(), "replace_range: range [5:14] out of field 0 value of length 7");
    let mut e = Edits::new(&mut out, 1);
    e.drop_record(1);
    assert!(e.finish(&mut b).is_err());
}

#[test]
fn json_values() {
    let v = json::parse(br#" {"a": [1, -2.5e3, "x\u00e9\ud83d\ude00\n"], "b": {"c": true, "d": null}} "#).unwrap();
    let a = v.get("a").unwrap().as_array().unwrap();
    assert_eq!(a[0].as_i64(), Some(1));
    assert_eq!(a[1].as_f64(), Some(-2500.0));
    assert_eq!(a[2].as_str(), Some("xé😀\n"));
    assert_eq!(v.get("b").unwrap().get("c").unwrap().as_bool(), Some(true));
    assert!(v.get("b").unwrap().get("d").unwrap().is_null());
    assert_eq!(json::parse(b"[]").unwrap(), Value::Array(vec![]));
    for bad in [
        &b""[..],
        b"{",
        b"{\"a\":1,}",
        b"[1,]",
        b"01",
        b"\"\\x\"",
        b"{\"a\":1}x",
        b"{\"a\":1,\"a\":2}",
        b"\"\x01\"",
        b"tru",
        b"\"\\ud800\"",
    ] {
        assert!(json::parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let deep = "[".repeat(100);
    assert!(json::parse(deep.as_bytes()).is_err());
    let obj = json::parse(br#"{"x": 1}"#).unwrap();
    let e = json::check_keys(obj.as_object().unwrap(), &["y"], "config").unwrap_err();
    assert_eq!(e.message(), "config: unknown key \"x\" (known: y)");
    assert_eq!(json::parse(b"{").unwrap_err().message(), "want a string key in object at byte 1");
    let l = json::parse(br#"["a", 1]"#).unwrap();
    assert_eq!(l.as_str_list("m").unwrap_err().message(), "m[1]: want a string, got number");
}

/// Encodes a command (ABI.md 3.6).
fn command(kind: u32, text: &str, facts: &[(u32, &str, &str)]) -> Vec<u8> {
    let mut strings: Vec<u8> = Vec::new();
    let base = 40 + facts.len() * 20;
    let mut add = |s: &str| {
        let o = base + strings.len();
        strings.extend_from_slice(s.as_bytes());
        (o as u32, s.len() as u32)
    };
    let t = add(text);
    let id = add("ann");
    let tg = add("db");
    let fs: Vec<(u32, (u32, u32), (u32, u32))> = facts.iter().map(|&(s, k, v)| (s, add(k), add(v))).collect();
    let mut out = Vec::new();
    for w in [0x3143_4c53, kind, t.0, t.1, id.0, id.1, tg.0, tg.1, facts.len() as u32, 40] {
        out.extend_from_slice(&u32::to_le_bytes(w));
    }
    for (s, k, v) in fs {
        for w in [s, k.0, k.1, v.0, v.1] {
            out.extend_from_slice(&u32::to_le_bytes(w));
        }
    }
    out.extend_from_slice(&strings);
    out
}

#[test]
fn command_views() {
    let buf =
        command(3, "GET /x", &[(0, "method", "GET"), (0, "header.X-Api-Key", "k"), (1, "arg", "a"), (1, "arg", "b")]);
    let c = Command::parse(&buf).unwrap();
    assert_eq!(c.kind(), CommandKind::Http);
    assert_eq!(c.text(), b"GET /x");
    assert_eq!(c.identity(), b"ann");
    assert_eq!(c.target(), b"db");
    assert_eq!(c.lookup(None, "method"), Some(&b"GET"[..]));
    assert_eq!(c.lookup(Some(1), "method"), None);
    assert_eq!(c.header("x-api-key"), Some(&b"k"[..]));
    assert_eq!(c.values("arg").collect::<Vec<_>>(), vec![&b"a"[..], &b"b"[..]]);
    assert!(c.has("arg", "b"));
    assert!(Command::parse(&buf[..30]).is_err());
}

#[test]
fn small_helpers() {
    assert_eq!(itoa(0), "0");
    assert_eq!(itoa(1234567890), "1234567890");
    assert_eq!(cat(&["a", "", "bc"]), "abc");
    assert_eq!(Verdict::block("x").decision, Decision::Block);
}
