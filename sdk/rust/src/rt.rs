//! The runtime behind [`plugin!`](crate::plugin): the arena and the hook
//! call convention (ABI.md 2.4). Not for direct use.

use crate::batch::Batch;
use crate::command::Command;
use crate::edits::Edits;
use crate::{put_u32, Plugin};

/// Status OK.
pub const OK: u32 = 0;
/// Status NO_SPACE: the host grows the arena and calls again.
pub const NO_SPACE: u32 = 1;
/// Status BAD_INPUT.
pub const BAD_INPUT: u32 = 2;
/// Status FAILED (the payload may hold a message).
pub const FAILED: u32 = 3;

struct Arena {
    buf: Vec<u64>,
    size: usize,
}

static mut ARENA: Arena = Arena { buf: Vec::new(), size: 0 };

/// `sluice_arena(size)`: one 8-byte aligned region, kept for the life of
/// the instance; a larger request allocates a new one (the old is freed).
/// Returns 0 when the memory cannot be had.
pub fn arena(size: u32) -> u32 {
    let size = size as usize;
    let words = (size + 7) / 8;
    unsafe {
        let a = &mut *core::ptr::addr_of_mut!(ARENA);
        if words > a.buf.len() {
            let mut v: Vec<u64> = Vec::new();
            if v.try_reserve_exact(words).is_err() {
                return 0;
            }
            v.resize(words, 0);
            a.buf = v;
        }
        a.size = size;
        a.buf.as_mut_ptr() as usize as u32
    }
}

/// The arena as bytes, split into the input `[0, in_len)` and the output
/// region `[out_off, size)`, or `None` when the offsets are invalid.
pub fn regions(in_len: u32, out_off: u32) -> Option<(&'static mut [u8], &'static mut [u8])> {
    let (in_len, out_off) = (in_len as usize, out_off as usize);
    unsafe {
        let a = &mut *core::ptr::addr_of_mut!(ARENA);
        if a.size == 0 || out_off % 8 != 0 || out_off < in_len || out_off + 8 > a.size {
            return None;
        }
        let all = core::slice::from_raw_parts_mut(a.buf.as_mut_ptr() as *mut u8, a.size);
        let (input, out) = all.split_at_mut(out_off);
        Some((&mut input[..in_len], out))
    }
}

/// Writes the output header for a payload of `n` bytes.
pub fn finish(out: &mut [u8], n: usize) {
    put_u32(out, 0, n as u32);
    put_u32(out, 4, 0);
}

/// Leaves `msg`, truncated to fit (at a character boundary), as the
/// payload and returns `status`.
pub fn fail(out: &mut [u8], status: u32, msg: &str) -> u32 {
    let room = out.len() - 8;
    let mut n = msg.len().min(room);
    while n > 0 && !msg.is_char_boundary(n) {
        n -= 1;
    }
    out[8..8 + n].copy_from_slice(&msg.as_bytes()[..n]);
    finish(out, n);
    status
}

fn state<'s, P: Plugin>(st: &'s mut Option<P>, out: &mut [u8]) -> Result<&'s mut P, u32> {
    if st.is_none() {
        // The host always calls init first; be safe if it did not.
        match P::init(b"{}") {
            Ok(p) => *st = Some(p),
            Err(e) => return Err(fail(out, FAILED, &crate::cat(&["init: ", e.message()]))),
        }
    }
    Ok(st.as_mut().unwrap())
}

/// `sluice_init`.
pub fn init<P: Plugin>(st: &mut Option<P>, in_len: u32, out_off: u32) -> u32 {
    let (input, out) = match regions(in_len, out_off) {
        Some(r) => r,
        None => return BAD_INPUT,
    };
    match P::init(input) {
        Ok(p) => {
            *st = Some(p);
            finish(out, 0);
            OK
        }
        Err(e) => fail(out, FAILED, e.message()),
    }
}

/// `sluice_command`.
pub fn command<P: Plugin>(st: &mut Option<P>, in_len: u32, out_off: u32) -> u32 {
    let (input, out) = match regions(in_len, out_off) {
        Some(r) => r,
        None => return BAD_INPUT,
    };
    let cmd = match Command::parse(input) {
        Ok(c) => c,
        Err(e) => return fail(out, BAD_INPUT, e),
    };
    let p = match state(st, out) {
        Ok(p) => p,
        Err(s) => return s,
    };
    let v = p.command(&cmd);
    let reason = v.reason.as_bytes();
    if out.len() - 16 < reason.len() {
        return NO_SPACE;
    }
    put_u32(out, 8, v.decision as u32);
    put_u32(out, 12, reason.len() as u32);
    out[16..16 + reason.len()].copy_from_slice(reason);
    finish(out, 8 + reason.len());
    OK
}

/// `sluice_records`.
pub fn records<P: Plugin>(st: &mut Option<P>, in_len: u32, out_off: u32) -> u32 {
    let (input, out) = match regions(in_len, out_off) {
        Some(r) => r,
        None => return BAD_INPUT,
    };
    let mut batch = match Batch::parse(input) {
        Ok(b) => b,
        Err(e) => return fail(out, BAD_INPUT, e),
    };
    let p = match state(st, out) {
        Ok(p) => p,
        Err(s) => return s,
    };
    let mut edits = Edits::new(&mut out[8..], batch.num_records());
    let res = p.records(&mut batch, &mut edits);
    let done = edits.finish(&mut batch);
    match (res, done) {
        (Err(e), _) => fail(out, FAILED, &crate::cat(&["records: ", e.message()])),
        (Ok(()), Err(Some(e))) => fail(out, FAILED, &crate::cat(&["records: ", e.message()])),
        (Ok(()), Err(None)) => NO_SPACE,
        (Ok(()), Ok(n)) => {
            finish(out, n);
            OK
        }
    }
}

/// `sluice_plan`.
pub fn plan<P: Plugin>(st: &mut Option<P>, in_len: u32, out_off: u32) -> u32 {
    let (input, out) = match regions(in_len, out_off) {
        Some(r) => r,
        None => return BAD_INPUT,
    };
    let batch = match Batch::parse(input) {
        Ok(b) => b,
        Err(e) => return fail(out, BAD_INPUT, e),
    };
    let p = match state(st, out) {
        Ok(p) => p,
        Err(s) => return s,
    };
    let n = batch.num_columns();
    if out.len() - 8 < n {
        return NO_SPACE;
    }
    for i in 0..n {
        out[8 + i] = p.plan(&batch.column(i)) as u8;
    }
    finish(out, n);
    OK
}

/// `sluice_selftest`: a failure is logged at level error.
pub fn selftest<P: Plugin>(st: &mut Option<P>) -> u32 {
    if st.is_none() {
        match P::init(b"{}") {
            Ok(p) => *st = Some(p),
            Err(e) => {
                crate::log::error(&crate::cat(&["selftest: init: ", e.message()]));
                return FAILED;
            }
        }
    }
    match st.as_mut().unwrap().selftest() {
        Ok(()) => OK,
        Err(e) => {
            crate::log::error(&crate::cat(&["selftest: ", e.message()]));
            FAILED
        }
    }
}
