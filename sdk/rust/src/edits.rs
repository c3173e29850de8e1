//! The edit writer (ABI.md 4.3).

use crate::batch::{Batch, Field};
use crate::{cat, itoa, put_u32, u32_at, Error};

const OP_IN_PLACE: u32 = 1;
const OP_REPLACE: u32 = 2;
const OP_REPLACE_RANGE: u32 = 3;
const OP_NULLIFY: u32 = 4;
const OP_DROP: u32 = 5;

/// Collects the records hook's changes to a batch; the host validates and
/// applies them after the hook returns and re-frames the protocol (row
/// lengths, JSON escaping, CSV quoting); a replaced JSON number or bool
/// becomes a JSON string.
///
/// Rules (ABI.md 4.3): range edits (`in_place`, `mask`, `replace_range`)
/// are relative to the value the plugin was sent and must not overlap on
/// one field, nor be mixed with `replace` or `nullify` of the same field;
/// several `replace`/`nullify` of one field apply in order, the last wins.
///
/// A range outside the field's value is not written: the hook then fails
/// with a message naming the field (no panic). When the output region is
/// full, further edits are dropped, [`Edits::is_full`] turns true, and the
/// hook returns NO_SPACE: the host grows the arena and calls again.
pub struct Edits<'o> {
    out: &'o mut [u8],
    pos: usize,
    n: u32,
    full: bool,
    err: Option<Error>,
    n_records: usize,
    masks: bool,
}

impl<'o> Edits<'o> {
    /// An edit writer over `payload` (the output region after its 8-byte
    /// header) for a batch of `n_records` records.
    pub fn new(payload: &'o mut [u8], n_records: usize) -> Edits<'o> {
        let full = payload.len() < 8;
        Edits { out: payload, pos: 8, n: 0, full, err: None, n_records, masks: false }
    }

    fn entry(&mut self, op: u32, target: usize, off: usize, len: usize, data: &[u8]) {
        if self.full || self.err.is_some() {
            return;
        }
        let padded = (data.len() + 7) & !7;
        if self.out.len() < self.pos || self.out.len() - self.pos < 24 + padded {
            self.full = true;
            return;
        }
        let p = self.pos;
        put_u32(self.out, p, op);
        put_u32(self.out, p + 4, target as u32);
        put_u32(self.out, p + 8, off as u32);
        put_u32(self.out, p + 12, len as u32);
        put_u32(self.out, p + 16, data.len() as u32);
        put_u32(self.out, p + 20, 0);
        self.out[p + 24..p + 24 + data.len()].copy_from_slice(data);
        for b in &mut self.out[p + 24 + data.len()..p + 24 + padded] {
            *b = 0;
        }
        self.pos = p + 24 + padded;
        self.n += 1;
    }

    fn check(&mut self, op: &str, f: &Field, off: usize, len: usize) -> bool {
        if off <= f.len() && len <= f.len() - off {
            return true;
        }
        if self.err.is_none() {
            self.err = Some(Error::from(cat(&[
                op,
                ": range [",
                &itoa(off),
                ":",
                &itoa(off.saturating_add(len)),
                "] out of field ",
                &itoa(f.index),
                " value of length ",
                &itoa(f.len()),
            ])));
        }
        false
    }

    /// Records that the plugin overwrote bytes `[off, off+len)` of the
    /// field's value itself ([`Batch::value_mut`]), same length: no bytes
    /// are copied into the output.
    ///
    /// Caution: the host retries a hook that ran out of output space
    /// (NO_SPACE) on the arena as the hook left it, so a retry sees the
    /// bytes already overwritten. Prefer [`Edits::mask`] (applied only on
    /// success) or [`Edits::replace_range`]; with `value_mut`, make the
    /// rewrite detectable on a second pass or report the whole value.
    pub fn in_place(&mut self, f: &Field, off: usize, len: usize) {
        if self.check("in_place", f, off, len) && len > 0 {
            self.entry(OP_IN_PLACE, f.index, off, len, &[]);
        }
    }

    /// Masks bytes `[off, off+len)` of the field's value with `byte`, in
    /// place: an IN_PLACE edit, no bytes copied into the output. The bytes
    /// are overwritten when the hook returns OK (so [`Batch::value`] still
    /// shows the original during the hook, and a hook that runs out of
    /// output space sees the original again when the host calls it with a
    /// larger arena). The value keeps its length: with multi-byte UTF-8,
    /// mask whole characters.
    pub fn mask(&mut self, f: &Field, off: usize, len: usize, byte: u8) {
        if self.check("mask", f, off, len) && len > 0 {
            // the reserved word carries the mask byte until apply_masks
            self.entry(OP_IN_PLACE, f.index, off, len, &[]);
            if !self.full && self.err.is_none() {
                put_u32(self.out, self.pos - 4, 0x100 | byte as u32);
                self.masks = true;
            }
        }
    }

    /// Makes `data` the field's whole value (copied into the output).
    pub fn replace(&mut self, f: &Field, data: &[u8]) {
        self.entry(OP_REPLACE, f.index, 0, 0, data);
    }

    /// Replaces bytes `[off, off+len)` of the field's value with `data`;
    /// the length may change.
    pub fn replace_range(&mut self, f: &Field, off: usize, len: usize, data: &[u8]) {
        if self.check("replace_range", f, off, len) {
            self.entry(OP_REPLACE_RANGE, f.index, off, len, data);
        }
    }

    /// Makes the field NULL: JSON `null`, SQL NULL, an empty CSV field.
    pub fn nullify(&mut self, f: &Field) {
        self.entry(OP_NULLIFY, f.index, 0, 0, &[]);
    }

    /// Removes record `record` (a [`Record::index`](crate::Record) or
    /// [`Field::record`]) from the output.
    pub fn drop_record(&mut self, record: usize) {
        if record >= self.n_records {
            if self.err.is_none() {
                self.err = Some(Error::from(cat(&[
                    "drop_record: record ",
                    &itoa(record),
                    " out of range [0:",
                    &itoa(self.n_records),
                    "]",
                ])));
            }
            return;
        }
        self.entry(OP_DROP, record, 0, 0, &[]);
    }

    /// The number of edits written so far.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// Whether no edit was written.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether an edit did not fit the output region. A hook may stop
    /// early when it does: the host calls it again with more room.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Finishes the list: `Ok(payload_len)`, `Err(None)` when full (NO_SPACE),
    /// `Err(Some(error))` after an invalid edit.
    #[doc(hidden)]
    pub fn finish(mut self, batch: &mut Batch<'_>) -> Result<usize, Option<Error>> {
        if let Some(e) = self.err.take() {
            return Err(Some(e));
        }
        if self.full {
            return Err(None);
        }
        if self.masks {
            // apply the masks now that the whole list fit
            let mut p = 8;
            for _ in 0..self.n {
                let mark = u32_at(self.out, p + 20);
                if u32_at(self.out, p) == OP_IN_PLACE && mark & 0x100 != 0 {
                    let (field, off, len) = (
                        u32_at(self.out, p + 4) as usize,
                        u32_at(self.out, p + 8) as usize,
                        u32_at(self.out, p + 12) as usize,
                    );
                    let v = batch.value_mut_at(field);
                    for b in &mut v[off..off + len] {
                        *b = mark as u8;
                    }
                    put_u32(self.out, p + 20, 0);
                }
                p += 24 + ((u32_at(self.out, p + 16) as usize + 7) & !7);
            }
        }
        put_u32(self.out, 0, self.n);
        put_u32(self.out, 4, 0);
        Ok(self.pos)
    }
}
