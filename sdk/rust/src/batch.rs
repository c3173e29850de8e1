//! Typed views over a batch of records (ABI.md 4.1).

use crate::u32_at;

const BATCH_MAGIC: u32 = 0x3142_4c53; // "SLB1"
const HEADER: usize = 32;
const MAX_COUNT: u32 = 1 << 26;
const FLAG_NULL: u32 = 1 << 8;

/// A field value's kind (field flags bits 0-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string (JSON strings arrive unescaped).
    String,
    /// A number, as its literal text.
    Number,
    /// A boolean, as `true` or `false`.
    Bool,
    /// A null.
    Null,
    /// Raw bytes.
    Bytes,
    /// A kind this crate does not know (the set may grow).
    Other(u8),
}

impl Kind {
    fn from_flags(flags: u32) -> Kind {
        match (flags & 0xff) as u8 {
            1 => Kind::String,
            2 => Kind::Number,
            3 => Kind::Bool,
            4 => Kind::Null,
            5 => Kind::Bytes,
            k => Kind::Other(k),
        }
    }
}

/// A column's type (ABI.md 4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// 0: unknown.
    Unknown,
    /// 1: text.
    Text,
    /// 2: integer.
    Int,
    /// 3: floating point.
    Float,
    /// 4: boolean.
    Bool,
    /// 5: JSON.
    Json,
    /// 6: bytes.
    Bytes,
    /// 7: timestamp.
    Timestamp,
    /// A type this crate does not know.
    Other(u32),
}

impl ColumnType {
    fn from_u32(t: u32) -> ColumnType {
        match t {
            0 => ColumnType::Unknown,
            1 => ColumnType::Text,
            2 => ColumnType::Int,
            3 => ColumnType::Float,
            4 => ColumnType::Bool,
            5 => ColumnType::Json,
            6 => ColumnType::Bytes,
            7 => ColumnType::Timestamp,
            t => ColumnType::Other(t),
        }
    }
}

/// One column of a batch's schema. JSON columns are paths
/// (`customer.email`, `items[].email`, `[].name`), CSV columns header
/// names, SQL columns result column names; text has one column, `line`.
#[derive(Clone, Copy, Debug)]
pub struct Column<'b> {
    /// Its position in the schema.
    pub index: usize,
    /// Its name; borrows the arena.
    pub name: &'b [u8],
    /// Its type.
    pub ty: ColumnType,
    /// The protocol's own type (a PostgreSQL type OID), 0 when none.
    pub source_type: u32,
}

impl<'b> Column<'b> {
    /// The name as UTF-8, or `None` when it is not valid UTF-8.
    pub fn name_str(&self) -> Option<&'b str> {
        core::str::from_utf8(self.name).ok()
    }
}

/// One field of a record. It is a small copyable handle: read its value
/// with [`Batch::value`], change it with [`Edits`](crate::Edits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Its position in the batch's field table (the edit target).
    pub index: usize,
    /// The index of the record it belongs to.
    pub record: usize,
    /// The index of its column.
    pub column: usize,
    /// Its kind.
    pub kind: Kind,
    /// Whether it is NULL (its value is then empty).
    pub null: bool,
    off: usize,
    len: usize,
}

impl Field {
    /// The length of its value in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether its value is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A host detector's match: bytes `[off, off+len)` of a field's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The field's index in the batch's field table.
    pub field: usize,
    /// Start of the match in the value.
    pub off: usize,
    /// Length of the match.
    pub len: usize,
    /// The detector: see the `DETECT_*` constants of [`Finding`].
    pub detector: u32,
}

impl Finding {
    /// Detector `email`.
    pub const DETECT_EMAIL: u32 = 1;
    /// Detector `credit_card` (13-19 digits passing Luhn).
    pub const DETECT_CREDIT_CARD: u32 = 2;
    /// Detector `iban` (valid mod-97 checksum).
    pub const DETECT_IBAN: u32 = 3;
    /// Detector `jwt`.
    pub const DETECT_JWT: u32 = 4;
    /// Detector `aws_access_key` (AKIA/ASIA key ids).
    pub const DETECT_AWS_KEY: u32 = 5;

    /// The detector's manifest name, or `""` when unknown.
    pub fn detector_name(&self) -> &'static str {
        match self.detector {
            1 => "email",
            2 => "credit_card",
            3 => "iban",
            4 => "jwt",
            5 => "aws_access_key",
            _ => "",
        }
    }
}

#[derive(Clone, Copy)]
struct Layout {
    n_columns: usize,
    n_records: usize,
    n_fields: usize,
    n_findings: usize,
    columns: usize,
    records: usize,
    fields: usize,
    findings: usize,
}

/// The records hook's view of one batch (ABI.md 4.1). The tables are
/// read-only; the data section (values) may be overwritten in place with
/// [`Batch::value_mut`]. Everything borrows the arena: valid only during
/// the hook call.
pub struct Batch<'a> {
    tab: &'a [u8],
    data: &'a mut [u8],
    l: Layout,
}

impl<'a> Batch<'a> {
    /// Parses and validates a batch (every offset, length and count), so
    /// no accessor can panic later.
    pub fn parse(input: &'a mut [u8]) -> Result<Batch<'a>, &'static str> {
        if input.len() < HEADER {
            return Err("batch shorter than its header");
        }
        if u32_at(input, 0) != BATCH_MAGIC {
            return Err("bad batch magic");
        }
        let counts = [u32_at(input, 4), u32_at(input, 8), u32_at(input, 12), u32_at(input, 16)];
        if counts.iter().any(|&c| c > MAX_COUNT) {
            return Err("batch count above 2^26");
        }
        let (nc, nr, nf, nx) = (counts[0] as usize, counts[1] as usize, counts[2] as usize, counts[3] as usize);
        let data_off = u32_at(input, 20) as usize;
        let data_len = u32_at(input, 24) as usize;
        let columns = HEADER;
        let records = columns + nc * 16;
        let fields = records + nr * 8;
        let findings = fields + nf * 16;
        let end = findings + nx * 16;
        if end > data_off || data_off % 8 != 0 || data_off > input.len() || data_len > input.len() - data_off {
            return Err("batch tables or data out of bounds");
        }
        let l =
            Layout { n_columns: nc, n_records: nr, n_fields: nf, n_findings: nx, columns, records, fields, findings };
        let (tab, rest) = input.split_at_mut(data_off);
        let tab: &'a [u8] = tab;
        let data = &mut rest[..data_len];
        let dl = data.len() as u64;
        for i in 0..nc {
            let o = columns + i * 16;
            if u32_at(tab, o) as u64 + u32_at(tab, o + 4) as u64 > dl {
                return Err("column name out of bounds");
            }
        }
        let mut next = 0u64;
        for i in 0..nr {
            let o = records + i * 8;
            if u32_at(tab, o) as u64 != next {
                return Err("records do not own consecutive runs of fields");
            }
            next += u32_at(tab, o + 4) as u64;
        }
        if next != nf as u64 {
            return Err("records do not cover the field table");
        }
        for i in 0..nf {
            let o = fields + i * 16;
            if u32_at(tab, o) as usize >= nc {
                return Err("field column out of range");
            }
            if u32_at(tab, o + 4) as u64 + u32_at(tab, o + 8) as u64 > dl {
                return Err("field value out of bounds");
            }
        }
        for i in 0..nx {
            let o = findings + i * 16;
            let f = u32_at(tab, o) as usize;
            if f >= nf {
                return Err("finding field out of range");
            }
            let vlen = u32_at(tab, fields + f * 16 + 8) as u64;
            if u32_at(tab, o + 4) as u64 + u32_at(tab, o + 8) as u64 > vlen {
                return Err("finding out of its field's value");
            }
        }
        Ok(Batch { tab, data, l })
    }

    /// The number of columns.
    pub fn num_columns(&self) -> usize {
        self.l.n_columns
    }

    /// Column `i`. Panics when `i >= num_columns()`.
    pub fn column(&self, i: usize) -> Column<'_> {
        assert!(i < self.l.n_columns, "sluice: column index out of range");
        let o = self.l.columns + i * 16;
        let (off, len) = (u32_at(self.tab, o) as usize, u32_at(self.tab, o + 4) as usize);
        Column {
            index: i,
            name: &self.data[off..off + len],
            ty: ColumnType::from_u32(u32_at(self.tab, o + 8)),
            source_type: u32_at(self.tab, o + 12),
        }
    }

    /// The name of column `i` (empty when out of range).
    pub fn column_name(&self, i: usize) -> &[u8] {
        if i >= self.l.n_columns {
            return &[];
        }
        self.column(i).name
    }

    /// The index of the first column named `name`.
    pub fn column_index(&self, name: &[u8]) -> Option<usize> {
        (0..self.l.n_columns).find(|&i| self.column(i).name == name)
    }

    /// The number of records.
    pub fn num_records(&self) -> usize {
        self.l.n_records
    }

    /// Record `i`. Panics when `i >= num_records()`.
    pub fn record(&self, i: usize) -> Record<'a> {
        assert!(i < self.l.n_records, "sluice: record index out of range");
        let o = self.l.records + i * 8;
        Record {
            index: i,
            first: u32_at(self.tab, o) as usize,
            n: u32_at(self.tab, o + 4) as usize,
            tab: self.tab,
            fields: self.l.fields,
        }
    }

    /// The records in order. The iterator does not borrow the batch, so
    /// values may be changed inside the loop.
    pub fn records(&self) -> impl Iterator<Item = Record<'a>> {
        let (tab, records, fields) = (self.tab, self.l.records, self.l.fields);
        (0..self.l.n_records).map(move |i| {
            let o = records + i * 8;
            Record { index: i, first: u32_at(tab, o) as usize, n: u32_at(tab, o + 4) as usize, tab, fields }
        })
    }

    /// The number of fields of all records.
    pub fn num_fields(&self) -> usize {
        self.l.n_fields
    }

    /// Field `i` of the field table (its record is found by binary
    /// search; iterate with [`Batch::fields`] to get it for free). Panics
    /// when `i >= num_fields()`.
    pub fn field(&self, i: usize) -> Field {
        assert!(i < self.l.n_fields, "sluice: field index out of range");
        let (mut lo, mut hi) = (0usize, self.l.n_records);
        while lo < hi {
            let m = (lo + hi) / 2;
            if u32_at(self.tab, self.l.records + m * 8) as usize <= i {
                lo = m + 1;
            } else {
                hi = m;
            }
        }
        read_field(self.tab, self.l.fields, i, lo - 1)
    }

    /// Every field of every record, record by record. The iterator does
    /// not borrow the batch, so values may be changed inside the loop.
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            tab: self.tab,
            fields: self.l.fields,
            records: self.l.records,
            n_records: self.l.n_records,
            record: 0,
            i: 0,
            end: 0,
            started: false,
        }
    }

    /// A field's value: decoded (JSON strings unescaped, CSV unquoted,
    /// numbers as literal text), empty when NULL.
    pub fn value(&self, f: &Field) -> &[u8] {
        self.data.get(f.off..f.off + f.len).unwrap_or(&[])
    }

    /// A field's value as UTF-8, or `None` when it is not valid UTF-8.
    pub fn value_str(&self, f: &Field) -> Option<&str> {
        core::str::from_utf8(self.value(f)).ok()
    }

    /// A field's value for overwriting in place (same length). Report what
    /// you changed with [`Edits::in_place`](crate::Edits::in_place), or use
    /// [`Edits::mask`](crate::Edits::mask) which does both.
    pub fn value_mut(&mut self, f: &Field) -> &mut [u8] {
        let r = f.off..f.off + f.len;
        match self.data.get_mut(r) {
            Some(v) => v,
            None => &mut [],
        }
    }

    /// The value of field table entry `i`, for the edit writer.
    pub(crate) fn value_mut_at(&mut self, i: usize) -> &mut [u8] {
        if i >= self.l.n_fields {
            return &mut [];
        }
        let o = self.l.fields + i * 16;
        let (off, len) = (u32_at(self.tab, o + 4) as usize, u32_at(self.tab, o + 8) as usize);
        &mut self.data[off..off + len]
    }

    /// The first field of `record` whose column is named `name`.
    pub fn field_by_name(&self, record: &Record<'_>, name: &[u8]) -> Option<Field> {
        record.fields().find(|f| self.column_name(f.column) == name)
    }

    /// The number of host detector findings.
    pub fn num_findings(&self) -> usize {
        self.l.n_findings
    }

    /// Finding `i`. Panics when `i >= num_findings()`.
    pub fn finding(&self, i: usize) -> Finding {
        assert!(i < self.l.n_findings, "sluice: finding index out of range");
        read_finding(self.tab, self.l.findings, i)
    }

    /// The host detector findings (present only when the manifest
    /// declares `detectors`). The iterator does not borrow the batch.
    pub fn findings(&self) -> Findings<'a> {
        Findings { tab: self.tab, findings: self.l.findings, i: 0, n: self.l.n_findings }
    }
}

fn read_field(tab: &[u8], fields: usize, i: usize, record: usize) -> Field {
    let o = fields + i * 16;
    let flags = u32_at(tab, o + 12);
    Field {
        index: i,
        record,
        column: u32_at(tab, o) as usize,
        kind: Kind::from_flags(flags),
        null: flags & FLAG_NULL != 0,
        off: u32_at(tab, o + 4) as usize,
        len: u32_at(tab, o + 8) as usize,
    }
}

fn read_finding(tab: &[u8], findings: usize, i: usize) -> Finding {
    let o = findings + i * 16;
    Finding {
        field: u32_at(tab, o) as usize,
        off: u32_at(tab, o + 4) as usize,
        len: u32_at(tab, o + 8) as usize,
        detector: u32_at(tab, o + 12),
    }
}

/// One record: a contiguous run of the batch's fields.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    /// Its position in the batch (the target of [`Edits::drop_record`](crate::Edits::drop_record)).
    pub index: usize,
    first: usize,
    n: usize,
    tab: &'a [u8],
    fields: usize,
}

impl<'a> Record<'a> {
    /// The number of its fields.
    pub fn num_fields(&self) -> usize {
        self.n
    }
    /// Its `j`-th field.
    pub fn field(&self, j: usize) -> Option<Field> {
        if j < self.n {
            Some(read_field(self.tab, self.fields, self.first + j, self.index))
        } else {
            None
        }
    }
    /// Its fields in order.
    pub fn fields(&self) -> impl Iterator<Item = Field> + 'a {
        let (tab, fields, index) = (self.tab, self.fields, self.index);
        (self.first..self.first + self.n).map(move |i| read_field(tab, fields, i, index))
    }
}

/// Iterator over every field of a batch, record by record.
pub struct Fields<'a> {
    tab: &'a [u8],
    fields: usize,
    records: usize,
    n_records: usize,
    record: usize,
    i: usize,
    end: usize,
    started: bool,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field;
    fn next(&mut self) -> Option<Field> {
        loop {
            if self.started && self.i < self.end {
                let f = read_field(self.tab, self.fields, self.i, self.record);
                self.i += 1;
                return Some(f);
            }
            if self.started {
                self.record += 1;
            }
            if self.record >= self.n_records {
                return None;
            }
            self.started = true;
            let o = self.records + self.record * 8;
            self.i = u32_at(self.tab, o) as usize;
            self.end = self.i + u32_at(self.tab, o + 4) as usize;
        }
    }
}

/// Iterator over a batch's findings.
pub struct Findings<'a> {
    tab: &'a [u8],
    findings: usize,
    i: usize,
    n: usize,
}

impl<'a> Iterator for Findings<'a> {
    type Item = Finding;
    fn next(&mut self) -> Option<Finding> {
        if self.i >= self.n {
            return None;
        }
        let f = read_finding(self.tab, self.findings, self.i);
        self.i += 1;
        Some(f)
    }
}
