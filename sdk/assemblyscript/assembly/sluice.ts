// sluice.ts: the AssemblyScript SDK for sluice policy plugins.
//
// It implements the guest side of plugin ABI v1 (abi/ABI.md): the arena, the
// call convention of the data hooks (input at arena[0:in_len], output header
// and payload at arena[out_off:]), typed views over a batch and a command,
// an edit writer, verdicts, the plan, the config for init (raw bytes and
// getters for top-level JSON keys), the sluice_v1.log import, a WASI clock,
// and replacements for AssemblyScript's env.abort, env.trace and env.seed
// imports (the host resolves only sluice_v1.log and wasi_snapshot_preview1.*;
// console.* and Date.now import env.* too: use log() and nowNanos()).
//
// A plugin's entry file re-exports the two required exports and writes one
// line per hook it implements, handing a plain function to the dispatcher:
//
//   import { Batch, Edits, Command, Verdict, handleRecords, handleCommand } from "./sluice";
//   export { sluice_abi_v1, sluice_arena } from "./sluice";
//   export function sluice_command(inLen: i32, outOff: i32): i32 { return handleCommand(inLen, outOff, decide); }
//   export function sluice_records(inLen: i32, outOff: i32): i32 { return handleRecords(inLen, outOff, edit); }
//
// and is compiled with (see asconfig.json and build.sh):
//
//   asc entry.ts --runtime minimal --exportStart _initialize \
//       --use abort=sluice_abort --use trace=sluice_trace --use seed=sluice_seed
//
// Rules:
//
// - Views alias the arena. Bytes, Field, Column, Record, Finding, Fact, the
//   Batch and the Command point into the arena, which the host rewrites on
//   every call: use them only inside the hook call; copy (toString, toArray)
//   what you keep.
// - Hooks must be repeatable: when the output does not fit the dispatcher
//   returns NO_SPACE, and the host grows the arena, writes the same input
//   again and calls again. In-place writes into the batch are therefore
//   redone on fresh input, which is what makes them safe.
// - fail(message) makes the current hook return FAILED with the message; an
//   AssemblyScript abort (a failed assert, a thrown Error, an out-of-bounds
//   array access) logs the message at level error and traps. Both are plugin
//   failures to which the host applies the plugin's fail mode.
// - Runtime: build with --runtime minimal (TLSF allocator, a collector that
//   runs only when asked): the dispatchers call __collect() after every hook,
//   when nothing of the call is live any more, so objects a hook allocates
//   (Field views, strings) are freed at the end of the call and no collection
//   ever runs inside a hook's time budget. --runtime stub works too (a bump
//   allocator that never frees) for plugins that allocate nothing per call:
//   the object views (field(), record(), column(), fact()) allocate, the
//   index accessors (fieldPtr, fieldLength, fieldIsNull, columnNameEquals,
//   factKeyEquals, has) and Edits.add do not. --runtime incremental works
//   but may collect inside a hook.

// ---------------------------------------------------------------- constants

/** The ABI version this SDK implements. */
export const ABI_VERSION: i32 = 1;

/** Hook status codes (ABI 2.4). */
export enum Status {
  OK = 0,
  /** The output did not fit; the host grows the arena and calls again. */
  NO_SPACE = 1,
  BAD_INPUT = 2,
  /** The payload holds a UTF-8 message. */
  FAILED = 3,
}

/** Command verdicts (ABI 3.2). */
export enum Decision {
  ALLOW = 0,
  BLOCK = 1,
  REQUIRE_APPROVAL = 2,
}

/** Command kinds (ABI 3.6). */
export enum CommandKind {
  SQL = 1,
  SHELL = 2,
  HTTP = 3,
}

/** Column types (ABI 4.1). */
export enum ColumnType {
  UNKNOWN = 0,
  TEXT = 1,
  INT = 2,
  FLOAT = 3,
  BOOL = 4,
  JSON = 5,
  BYTES = 6,
  TIMESTAMP = 7,
}

/** Field kinds, bits 0-7 of a field's flags (ABI 4.1). */
export enum FieldKind {
  STRING = 1,
  NUMBER = 2,
  BOOL = 3,
  NULL = 4,
  BYTES = 5,
}

/** Bit 8 of a field's flags: the field is NULL (its value is empty). */
export const FIELD_NULL: u32 = 0x100;

/** Host-native detectors, as in findings (ABI 2.1, 4.1). */
export enum Detector {
  EMAIL = 1,
  CREDIT_CARD = 2,
  IBAN = 3,
  JWT = 4,
  AWS_ACCESS_KEY = 5,
}

/** Plan actions, one per column (ABI 3.4). */
export enum Action {
  /** Send the column's fields to sluice_records (the default). */
  INSPECT = 0,
  /** Pass the column unchanged; never sent. */
  IGNORE = 1,
  /** The host replaces every value with the redaction text. */
  REDACT = 2,
}

/** Edit ops (ABI 4.3). */
export enum Op {
  IN_PLACE = 1,
  REPLACE = 2,
  REPLACE_RANGE = 3,
  NULLIFY = 4,
  DROP = 5,
}

/** Log levels of sluice_v1.log. */
export enum LogLevel {
  DEBUG = 0,
  INFO = 1,
  WARN = 2,
  ERROR = 3,
}

const BATCH_MAGIC: u32 = 0x31424c53; // "SLB1"
const COMMAND_MAGIC: u32 = 0x31434c53; // "SLC1"
const BATCH_HEADER: usize = 32;
const COMMAND_HEADER: usize = 40;
const OUT_HEADER: usize = 8;
const EDIT_ENTRY: usize = 24;
const MAX_COUNT: u32 = 1 << 26;
const MAX_ARENA: u32 = (1 << 30) - 64; // the largest block the allocator hands out

// ------------------------------------------------------------------ imports

// @ts-ignore: decorator
@external("sluice_v1", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function wasiRandomGet(buf: usize, len: usize): u16;

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
declare function wasiClockTimeGet(id: u32, precision: u64, out: usize): u16;

// -------------------------------------------------------------------- clock

/**
 * The realtime clock in nanoseconds since 1970 (WASI clock_time_get), or -1
 * if it fails. Unless the manifest grants `clock`, the host returns a fixed
 * instant that advances by 1 ns per read. (AssemblyScript's Date.now imports
 * env.Date.now, which the host does not provide: use this.)
 */
export function nowNanos(): i64 {
  const p = memory.data(8, 8);
  if (wasiClockTimeGet(0, 1, p) != 0) return -1;
  return load<i64>(p);
}

// ---------------------------------------------------------------------- log

/**
 * Writes one log line through sluice_v1.log. The host rate-limits lines and
 * counts the ones it drops.
 */
export function log(level: LogLevel, message: string): void {
  const buf = String.UTF8.encode(message);
  hostLog(<i32>level, changetype<usize>(buf), <usize>buf.byteLength);
}

/** log(LogLevel.DEBUG, message) */
export function logDebug(message: string): void { log(LogLevel.DEBUG, message); }
/** log(LogLevel.INFO, message) */
export function logInfo(message: string): void { log(LogLevel.INFO, message); }
/** log(LogLevel.WARN, message) */
export function logWarn(message: string): void { log(LogLevel.WARN, message); }
/** log(LogLevel.ERROR, message) */
export function logError(message: string): void { log(LogLevel.ERROR, message); }

// ------------------------------------------- runtime import replacements

/**
 * Replaces AssemblyScript's env.abort (--use abort=sluice_abort): logs
 * "abort: MESSAGE at FILE:LINE:COLUMN" at level error and traps. The host
 * treats the trap as a plugin failure and applies the fail mode.
 */
// @ts-ignore: decorator
@global
export function sluice_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  let s = "abort: " + (message !== null ? message : "");
  if (fileName !== null) s += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(LogLevel.ERROR, s);
  unreachable();
}

/**
 * Replaces AssemblyScript's env.trace (--use trace=sluice_trace): logs the
 * message and its numbers at level debug.
 */
// @ts-ignore: decorator
@global
export function sluice_trace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let s = "trace: " + message;
  if (n > 0) s += " " + a0.toString();
  if (n > 1) s += " " + a1.toString();
  if (n > 2) s += " " + a2.toString();
  if (n > 3) s += " " + a3.toString();
  if (n > 4) s += " " + a4.toString();
  log(LogLevel.DEBUG, s);
}

/**
 * Replaces AssemblyScript's env.seed (--use seed=sluice_seed), which seeds
 * Math.random: 8 bytes from WASI random_get. Unless the manifest grants
 * `random`, the host's stream is deterministic per instance.
 */
// @ts-ignore: decorator
@global
export function sluice_seed(): f64 {
  const p = memory.data(8, 8);
  if (wasiRandomGet(p, 8) != 0) return 1.0;
  return <f64>(load<u64>(p) >>> 11) + 1.0;
}

// -------------------------------------------------------------------- arena

let arenaBlock: usize = 0; // what heap.alloc returned, 0 if none
let arenaBlockSize: usize = 0; // usable bytes from arenaPtr on
let arenaPtr: usize = 0; // 8-byte aligned start of the arena
let arenaSize: usize = 0; // the size the host asked for: it reads only within it

/** Marker export: this module speaks ABI v1. Never called. */
export function sluice_abi_v1(): void {}

/**
 * Required export: the host asks for a region of at least `size` bytes
 * (64 KiB or more) once after instantiation, and again only for a larger one.
 * Returns its address, 8-byte aligned, or 0 if it cannot be allocated. The
 * region lives as long as the instance; a larger request may move it.
 */
export function sluice_arena(size: i32): usize {
  const want = <usize><u32>size;
  if (<u32>size > MAX_ARENA) return 0;
  if (arenaBlock != 0 && want <= arenaBlockSize) {
    arenaSize = want;
    return arenaPtr;
  }
  if (arenaBlock != 0) {
    heap.free(arenaBlock);
    arenaBlock = 0;
    arenaPtr = 0;
    arenaBlockSize = 0;
    arenaSize = 0;
  }
  const block = heap.alloc(want + 8);
  if (block == 0) return 0;
  arenaBlock = block;
  arenaPtr = (block + 7) & ~(<usize>7);
  arenaBlockSize = want + 8 - (arenaPtr - block);
  arenaSize = want;
  return arenaPtr;
}

/** The arena's address (0 before the host asked for one). */
export function arenaAddress(): usize { return arenaPtr; }

/** The arena size the host asked for last. */
export function arenaLength(): usize { return arenaSize; }

// ------------------------------------------------------------------ failure

let failure: string | null = null;

/**
 * Makes the running hook fail: the dispatcher returns FAILED with `message`
 * as its payload (truncated to the output region), and the host applies the
 * plugin's fail mode (for init: the plugin does not load). Return from the
 * hook after calling it; the first message wins, and edits and verdicts of
 * a failed call are discarded.
 */
export function fail(message: string): void {
  if (failure === null) failure = message;
}

/** Whether fail has been called during the running hook. */
export function failed(): bool { return failure !== null; }

// -------------------------------------------------------------------- bytes

/**
 * A read-write view of `length` bytes at address `ptr`: a field's value, a
 * column's name, a fact's key or value, the command text, the config. Views
 * of the input alias the arena and are valid only during the hook call.
 * Bounds are checked: an index out of range aborts.
 */
export class Bytes {
  constructor(public readonly ptr: usize, public readonly length: i32) {}

  /** A view over a Uint8Array's bytes (for tests and selftests). */
  static wrap(a: Uint8Array): Bytes {
    return new Bytes(a.dataStart, a.length);
  }

  /** The byte at i. */
  at(i: i32): u8 {
    if (<u32>i >= <u32>this.length) throw new RangeError("Bytes.at: index out of range");
    return load<u8>(this.ptr + <usize>i);
  }

  /** Overwrites the byte at i (in the arena: report it with Edits.inPlace). */
  set(i: i32, v: u8): void {
    if (<u32>i >= <u32>this.length) throw new RangeError("Bytes.set: index out of range");
    store<u8>(this.ptr + <usize>i, v);
  }

  /** Overwrites bytes [off, off+n) with v. */
  fill(v: u8, off: i32, n: i32): void {
    checkRange("Bytes.fill", off, n, this.length);
    memory.fill(this.ptr + <usize>off, v, <usize>n);
  }

  /** A sub-view of bytes [off, off+n). */
  slice(off: i32, n: i32): Bytes {
    checkRange("Bytes.slice", off, n, this.length);
    return new Bytes(this.ptr + <usize>off, n);
  }

  /** Whether the bytes equal the UTF-8 encoding of s. Allocates nothing. */
  equals(s: string): bool {
    return utf8Compare(this.ptr, this.length, s, false);
  }

  /** Whether the bytes start with the UTF-8 encoding of s. Allocates nothing. */
  startsWith(s: string): bool {
    return utf8Compare(this.ptr, this.length, s, true);
  }

  /** Whether both views hold the same bytes. */
  equalsBytes(o: Bytes): bool {
    return this.length == o.length && memory.compare(this.ptr, o.ptr, <usize>this.length) == 0;
  }

  /** The index of the first byte b at or after from, or -1. */
  indexOfByte(b: u8, from: i32 = 0): i32 {
    for (let i = max(from, 0); i < this.length; i++) {
      if (load<u8>(this.ptr + <usize>i) == b) return i;
    }
    return -1;
  }

  /** The byte index of the first UTF-8 encoded s at or after from, or -1. */
  indexOf(s: string, from: i32 = 0): i32 {
    const needle = String.UTF8.encode(s);
    const n = needle.byteLength;
    const p = changetype<usize>(needle);
    for (let i = max(from, 0); i + n <= this.length; i++) {
      if (memory.compare(this.ptr + <usize>i, p, <usize>n) == 0) return i;
    }
    return -1;
  }

  /** The bytes decoded as UTF-8 (a copy; invalid sequences become U+FFFD). */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, <usize>this.length);
  }

  /** A copy of the bytes. */
  toArray(): Uint8Array {
    const a = new Uint8Array(this.length);
    memory.copy(a.dataStart, this.ptr, <usize>this.length);
    return a;
  }
}

function checkRange(what: string, off: i32, n: i32, length: i32): void {
  if (off < 0 || n < 0 || <i64>off + <i64>n > <i64>length) {
    throw new RangeError(what + ": range [" + off.toString() + ", +" + n.toString() +
      ") outside a value of " + length.toString() + " bytes");
  }
}

// utf8Compare reports whether the n bytes at p equal the UTF-8 encoding of
// s (WTF-8 for lone surrogates, as String.UTF8.encode does) or, with prefix,
// whether they start with it. It allocates nothing.
function utf8Compare(p: usize, n: i32, s: string, prefix: bool): bool {
  let j = 0; // byte index into p
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = <u32>s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < len) {
      const d = <u32>s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    let need = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (j + need > n) return false;
    const q = p + <usize>j;
    if (need == 1) {
      if (load<u8>(q) != <u8>c) return false;
    } else if (need == 2) {
      if (load<u8>(q) != <u8>(0xc0 | (c >> 6)) || load<u8>(q, 1) != <u8>(0x80 | (c & 0x3f))) return false;
    } else if (need == 3) {
      if (load<u8>(q) != <u8>(0xe0 | (c >> 12)) || load<u8>(q, 1) != <u8>(0x80 | ((c >> 6) & 0x3f)) ||
          load<u8>(q, 2) != <u8>(0x80 | (c & 0x3f))) return false;
    } else {
      if (load<u8>(q) != <u8>(0xf0 | (c >> 18)) || load<u8>(q, 1) != <u8>(0x80 | ((c >> 12) & 0x3f)) ||
          load<u8>(q, 2) != <u8>(0x80 | ((c >> 6) & 0x3f)) || load<u8>(q, 3) != <u8>(0x80 | (c & 0x3f))) return false;
    }
    j += need;
  }
  return prefix || j == n;
}

// -------------------------------------------------------------------- batch

/** A column of the batch (ABI 4.1). */
export class Column {
  constructor(
    /** The column's index in the batch. */
    public readonly index: i32,
    /** Its name: a JSON path (`customer.email`, `items[].email`), a CSV header, or `line`. */
    public readonly name: Bytes,
    public readonly type: ColumnType,
    /** The protocol's own type (a PostgreSQL type OID), 0 if none. */
    public readonly sourceType: u32,
  ) {}
}

/**
 * A field: one value of one record (ABI 4.1). A Field is a Bytes view of
 * its decoded value (empty when NULL) in the arena's input, so f.equals(),
 * f.at(), f.toString() and the rest work on it directly; `value` returns
 * the same view.
 */
export class Field extends Bytes {
  constructor(
    ptr: usize,
    length: i32,
    /** The field's index in the batch's field table: the target of its edits. */
    public readonly index: i32,
    /** The index of the record it belongs to. */
    public readonly record: i32,
    /** The index of its column. */
    public readonly column: i32,
    /** Its flags: kind in bits 0-7, FIELD_NULL. */
    public readonly flags: u32,
  ) {
    super(ptr, length);
  }

  /** Its decoded value: the field itself, as Bytes. */
  get value(): Bytes { return this; }

  /** Whether the field is NULL. */
  get isNull(): bool { return (this.flags & FIELD_NULL) != 0; }

  /** The value's kind (FieldKind). */
  get kind(): FieldKind { return <FieldKind>(this.flags & 0xff); }
}

/** A record: a run of consecutive fields of the field table. */
export class Record {
  constructor(
    private readonly batch: Batch,
    /** The record's index in the batch: the target of Edits.drop. */
    public readonly index: i32,
    /** The index of its first field in the field table. */
    public readonly firstField: i32,
    /** How many fields it has. */
    public readonly numFields: i32,
  ) {}

  /** Its j-th field. */
  field(j: i32): Field {
    if (<u32>j >= <u32>this.numFields) throw new RangeError("Record.field: index out of range");
    return this.batch.fieldOf(this.firstField + j, this.index);
  }

  /**
   * Its field of the column named `name`, or null (fields of IGNORE and
   * REDACT columns are not in the batch).
   */
  fieldByName(name: string): Field | null {
    for (let j = 0; j < this.numFields; j++) {
      const fi = this.firstField + j;
      if (this.batch.columnNameEquals(this.batch.fieldColumn(fi), name)) return this.batch.fieldOf(fi, this.index);
    }
    return null;
  }
}

/** A host-native detector hit: bytes [off, off+length) of a field's value. */
export class Finding {
  constructor(
    /** The field's index in the field table. */
    public readonly field: i32,
    public readonly off: i32,
    public readonly length: i32,
    public readonly detector: Detector,
  ) {}
}

/**
 * The batch of a records or plan call (ABI 4.1): typed views over the arena.
 * There is one Batch; the dispatcher points it at each call's input.
 * Accessors named field*, column* with an index allocate nothing.
 */
export class Batch {
  /** The arena address of the batch header. */
  base: usize = 0;
  numColumns: i32 = 0;
  numRecords: i32 = 0;
  numFields: i32 = 0;
  numFindings: i32 = 0;
  private columns: usize = 0;
  private records: usize = 0;
  private fields: usize = 0;
  private findings: usize = 0;
  /** The address of the data section. */
  data: usize = 0;
  dataLen: u32 = 0;

  // parse points the views at a batch of inLen bytes at p; false if it is
  // not one.
  parse(p: usize, inLen: u32): bool {
    if (inLen < <u32>BATCH_HEADER || load<u32>(p) != BATCH_MAGIC) return false;
    const nc = load<u32>(p, 4), nr = load<u32>(p, 8), nf = load<u32>(p, 12), nk = load<u32>(p, 16);
    const dataOff = load<u32>(p, 20), dataLen = load<u32>(p, 24);
    if (nc > MAX_COUNT || nr > MAX_COUNT || nf > MAX_COUNT || nk > MAX_COUNT) return false;
    const tables = <u64>BATCH_HEADER + <u64>nc * 16 + <u64>nr * 8 + <u64>nf * 16 + <u64>nk * 16;
    if (tables > <u64>dataOff || <u64>dataOff + <u64>dataLen > <u64>inLen) return false;
    this.base = p;
    this.numColumns = <i32>nc;
    this.numRecords = <i32>nr;
    this.numFields = <i32>nf;
    this.numFindings = <i32>nk;
    this.columns = p + BATCH_HEADER;
    this.records = this.columns + <usize>nc * 16;
    this.fields = this.records + <usize>nr * 8;
    this.findings = this.fields + <usize>nf * 16;
    this.data = p + <usize>dataOff;
    this.dataLen = dataLen;
    return true;
  }

  // ---- columns

  /** Column i. */
  column(i: i32): Column {
    checkIndex("Batch.column", i, this.numColumns);
    const e = this.columns + <usize>i * 16;
    return new Column(i, new Bytes(this.data + <usize>load<u32>(e), <i32>load<u32>(e, 4)),
      <ColumnType>load<u32>(e, 8), load<u32>(e, 12));
  }

  /** Whether column i is named `name`. Allocates nothing. */
  columnNameEquals(i: i32, name: string): bool {
    checkIndex("Batch.columnNameEquals", i, this.numColumns);
    const e = this.columns + <usize>i * 16;
    return utf8Compare(this.data + <usize>load<u32>(e), <i32>load<u32>(e, 4), name, false);
  }

  /** The index of the column named `name`, or -1. Allocates nothing. */
  columnIndex(name: string): i32 {
    for (let i = 0; i < this.numColumns; i++) {
      if (this.columnNameEquals(i, name)) return i;
    }
    return -1;
  }

  // ---- records

  /** Record i. */
  record(i: i32): Record {
    checkIndex("Batch.record", i, this.numRecords);
    const e = this.records + <usize>i * 8;
    return new Record(this, i, <i32>load<u32>(e), <i32>load<u32>(e, 4));
  }

  /** The index of the record that owns field i (a binary search). */
  recordOf(i: i32): i32 {
    checkIndex("Batch.recordOf", i, this.numFields);
    let lo = 0, hi = this.numRecords - 1;
    while (lo < hi) { // the last record whose first field is <= i
      const mid = (lo + hi + 1) >>> 1;
      if (<i32>load<u32>(this.records + <usize>mid * 8) <= i) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  // ---- fields

  /** Field i of the field table (its record found by binary search). */
  field(i: i32): Field {
    return this.fieldOf(i, this.recordOf(i));
  }

  /** @hidden field i, whose record the caller knows. */
  fieldOf(i: i32, record: i32): Field {
    checkIndex("Batch.field", i, this.numFields);
    const e = this.fields + <usize>i * 16;
    return new Field(this.data + <usize>load<u32>(e, 4), <i32>load<u32>(e, 8), i, record,
      <i32>load<u32>(e), load<u32>(e, 12));
  }

  /** Field i's column index. Allocates nothing. */
  fieldColumn(i: i32): i32 {
    checkIndex("Batch.fieldColumn", i, this.numFields);
    return <i32>load<u32>(this.fields + <usize>i * 16);
  }

  /** Field i's flags. Allocates nothing. */
  fieldFlags(i: i32): u32 {
    checkIndex("Batch.fieldFlags", i, this.numFields);
    return load<u32>(this.fields + <usize>i * 16, 12);
  }

  /** Whether field i is NULL. Allocates nothing. */
  fieldIsNull(i: i32): bool { return (this.fieldFlags(i) & FIELD_NULL) != 0; }

  /** The address of field i's value in the arena. Allocates nothing. */
  fieldPtr(i: i32): usize {
    checkIndex("Batch.fieldPtr", i, this.numFields);
    return this.data + <usize>load<u32>(this.fields + <usize>i * 16, 4);
  }

  /** The length of field i's value. Allocates nothing. */
  fieldLength(i: i32): i32 {
    checkIndex("Batch.fieldLength", i, this.numFields);
    return <i32>load<u32>(this.fields + <usize>i * 16, 8);
  }

  // ---- findings

  /** Finding i (fields with host detector hits; see the manifest's detectors). */
  finding(i: i32): Finding {
    checkIndex("Batch.finding", i, this.numFindings);
    const e = this.findings + <usize>i * 16;
    return new Finding(<i32>load<u32>(e), <i32>load<u32>(e, 4), <i32>load<u32>(e, 8), <Detector>load<u32>(e, 12));
  }
}

function checkIndex(what: string, i: i32, n: i32): void {
  if (<u32>i >= <u32>n) {
    throw new RangeError(what + ": index " + i.toString() + " out of range [0, " + n.toString() + ")");
  }
}

// -------------------------------------------------------------------- edits

/**
 * The edit list of a records call (ABI 4.3), written straight into the
 * output region. Ranges are relative to the value the plugin was sent and
 * are checked; an invalid edit makes the hook fail (fail()) rather than
 * produce an edit list the host would reject. Range edits (inPlace, mask,
 * replaceRange) of one field must not overlap and must not be mixed with
 * replace or nullify of that field. When the output region is full the
 * writer stops, and the dispatcher returns NO_SPACE so that the host grows
 * the arena and calls again.
 */
export class Edits {
  private start: usize = 0; // payload start: n_edits, reserved, entries
  private pos: usize = 0; // next entry
  private end: usize = 0; // end of the output region
  private n: i32 = 0;
  private overflow: bool = false;

  reset(payload: usize, end: usize): void {
    this.start = payload;
    this.pos = payload + 8;
    this.end = end;
    this.n = 0;
    this.overflow = this.pos > end;
  }

  /** How many edits have been written. */
  get length(): i32 { return this.n; }

  /** Whether an edit did not fit (the call will return NO_SPACE). */
  get full(): bool { return this.overflow; }

  /** The payload length written so far (8 + entries). */
  payloadLength(): usize { return this.pos - this.start; }

  // finish writes the payload's count; it returns the payload length.
  finish(): usize {
    store<u32>(this.start, <u32>this.n);
    store<u32>(this.start, 0, 4);
    return this.pos - this.start;
  }

  /**
   * Appends one raw edit entry (ABI 4.3) with data_len bytes from data.
   * The typed methods below check their arguments and call it.
   */
  add(op: Op, target: i32, off: i32, len: i32, data: usize, dataLen: i32): void {
    if (this.overflow || failure !== null) return;
    const padded = (<usize>dataLen + 7) & ~(<usize>7);
    const next = this.pos + EDIT_ENTRY + padded;
    if (next > this.end || next < this.pos) {
      this.overflow = true;
      return;
    }
    const p = this.pos;
    store<u32>(p, <u32>op);
    store<u32>(p, <u32>target, 4);
    store<u32>(p, <u32>off, 8);
    store<u32>(p, <u32>len, 12);
    store<u32>(p, <u32>dataLen, 16);
    store<u32>(p, 0, 20);
    if (dataLen > 0) memory.copy(p + EDIT_ENTRY, data, <usize>dataLen);
    if (padded > <usize>dataLen) memory.fill(p + EDIT_ENTRY + <usize>dataLen, 0, padded - <usize>dataLen);
    this.pos = next;
    this.n++;
  }

  /**
   * Reports that the plugin overwrote bytes [off, off+len) of f's value in
   * the arena (len -1: to the end). The length stays the same; the host
   * copies the bytes back. No bytes are copied into the output.
   */
  inPlace(f: Field, off: i32 = 0, len: i32 = -1): void {
    if (len < 0) len = f.value.length - off;
    if (!this.checkField("inPlace", f, off, len)) return;
    this.add(Op.IN_PLACE, f.index, off, len, 0, 0);
  }

  /** Overwrites bytes [off, off+len) of f's value with `byte` and reports it in place. */
  mask(f: Field, off: i32 = 0, len: i32 = -1, byte: u8 = 0x2a): void {
    if (len < 0) len = f.value.length - off;
    if (!this.checkField("mask", f, off, len)) return;
    if (this.overflow || failure !== null) return;
    memory.fill(f.value.ptr + <usize>off, byte, <usize>len);
    this.add(Op.IN_PLACE, f.index, off, len, 0, 0);
  }

  /** f's whole value becomes data. */
  replace(f: Field, data: Uint8Array): void {
    this.add(Op.REPLACE, f.index, 0, 0, data.dataStart, data.length);
  }

  /** f's whole value becomes the UTF-8 encoding of s. */
  replaceString(f: Field, s: string): void {
    const b = String.UTF8.encode(s);
    this.add(Op.REPLACE, f.index, 0, 0, changetype<usize>(b), b.byteLength);
  }

  /** f's whole value becomes the bytes of a view. */
  replaceBytes(f: Field, b: Bytes): void {
    this.add(Op.REPLACE, f.index, 0, 0, b.ptr, b.length);
  }

  /** Bytes [off, off+len) of f's value become data (the length may change). */
  replaceRange(f: Field, off: i32, len: i32, data: Uint8Array): void {
    if (!this.checkField("replaceRange", f, off, len)) return;
    this.add(Op.REPLACE_RANGE, f.index, off, len, data.dataStart, data.length);
  }

  /** Bytes [off, off+len) of f's value become the UTF-8 encoding of s. */
  replaceRangeString(f: Field, off: i32, len: i32, s: string): void {
    if (!this.checkField("replaceRangeString", f, off, len)) return;
    const b = String.UTF8.encode(s);
    this.add(Op.REPLACE_RANGE, f.index, off, len, changetype<usize>(b), b.byteLength);
  }

  /** f becomes NULL (JSON null, SQL NULL, an empty CSV field). */
  nullify(f: Field): void {
    this.add(Op.NULLIFY, f.index, 0, 0, 0, 0);
  }

  /** Record `record` (an index, Record.index) is removed from the output. */
  drop(record: i32): void {
    if (<u32>record >= <u32>theBatch.numRecords) {
      fail("Edits.drop: record " + record.toString() + " out of range [0, " + theBatch.numRecords.toString() + ")");
      return;
    }
    this.add(Op.DROP, record, 0, 0, 0, 0);
  }

  private checkField(what: string, f: Field, off: i32, len: i32): bool {
    if (off < 0 || len < 0 || <i64>off + <i64>len > <i64>f.value.length) {
      fail("Edits." + what + ": range [" + off.toString() + ", +" + len.toString() + ") outside field " +
        f.index.toString() + " of " + f.value.length.toString() + " bytes");
      return false;
    }
    return true;
  }
}

// ------------------------------------------------------------------- config

/**
 * The plugin's config in init: a JSON object (`{}` when the operator gave
 * none). `raw` is a view of the arena, valid during init only; the getters
 * read top-level keys and return copies, so keep what they return. They
 * return the default when the key is missing or has another JSON type;
 * nested objects are skipped, not read (use `raw` for those).
 */
export class Config {
  constructor(public readonly raw: Bytes) {}

  /** Whether the top-level object has `key`. */
  has(key: string): bool { return this.find(key) >= 0; }

  /** The string value of `key`, unescaped, or def. */
  getString(key: string, def: string | null = null): string | null {
    const i = this.find(key);
    if (i < 0 || this.byte(i) != 0x22) return def;
    const s = this.parseString(i);
    return s !== null ? s : def;
  }

  /** The array of strings of `key` (other elements are skipped), or null. */
  getStrings(key: string): string[] | null {
    let i = this.find(key);
    if (i < 0 || this.byte(i) != 0x5b) return null;
    const out = new Array<string>();
    i = this.ws(i + 1);
    if (this.byte(i) == 0x5d) return out;
    while (i < this.raw.length) {
      if (this.byte(i) == 0x22) {
        const s = this.parseString(i);
        if (s !== null) out.push(s);
      }
      i = this.ws(this.skip(i));
      if (this.byte(i) != 0x2c) break;
      i = this.ws(i + 1);
    }
    return out;
  }

  /** The number value of `key`, or def. */
  getNumber(key: string, def: f64 = 0): f64 {
    const i = this.find(key);
    if (i < 0) return def;
    const c = this.byte(i);
    if (c != 0x2d && (c < 0x30 || c > 0x39)) return def;
    const j = this.skip(i);
    return F64.parseFloat(this.raw.slice(i, j - i).toString());
  }

  /** The boolean value of `key`, or def. */
  getBool(key: string, def: bool = false): bool {
    const i = this.find(key);
    if (i < 0) return def;
    if (this.raw.slice(i, this.raw.length - i).startsWith("true")) return true;
    if (this.raw.slice(i, this.raw.length - i).startsWith("false")) return false;
    return def;
  }

  // byte returns the byte at i, 0 past the end.
  private byte(i: i32): u8 { return i < this.raw.length ? load<u8>(this.raw.ptr + <usize>i) : 0; }

  // ws skips JSON whitespace.
  private ws(i: i32): i32 {
    while (i < this.raw.length) {
      const c = this.byte(i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      i++;
    }
    return i;
  }

  // find returns the index of the value of the top-level key, or -1.
  private find(key: string): i32 {
    let i = this.ws(0);
    if (this.byte(i) != 0x7b) return -1;
    i = this.ws(i + 1);
    while (i < this.raw.length && this.byte(i) == 0x22) {
      const k = this.parseString(i);
      i = this.ws(this.skip(i));
      if (this.byte(i) != 0x3a) return -1;
      i = this.ws(i + 1);
      if (k !== null && k == key) return i;
      i = this.ws(this.skip(i));
      if (this.byte(i) != 0x2c) return -1;
      i = this.ws(i + 1);
    }
    return -1;
  }

  // skip returns the index just past the value at i.
  private skip(i: i32): i32 {
    const n = this.raw.length;
    const c = this.byte(i);
    if (c == 0x22) {
      i++;
      while (i < n) {
        const d = this.byte(i);
        if (d == 0x5c) i += 2;
        else if (d == 0x22) return i + 1;
        else i++;
      }
      return n;
    }
    if (c == 0x7b || c == 0x5b) {
      let depth = 0;
      while (i < n) {
        const d = this.byte(i);
        if (d == 0x22) { i = this.skip(i); continue; }
        if (d == 0x7b || d == 0x5b) depth++;
        else if (d == 0x7d || d == 0x5d) { depth--; if (depth == 0) return i + 1; }
        i++;
      }
      return n;
    }
    while (i < n) {
      const d = this.byte(i);
      if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x09 || d == 0x0a || d == 0x0d) break;
      i++;
    }
    return i;
  }

  // parseString decodes the JSON string at i, or returns null if it is
  // malformed.
  private parseString(i: i32): string | null {
    const n = this.raw.length;
    let s = "";
    let start = ++i;
    while (i < n) {
      const c = this.byte(i);
      if (c == 0x22) return s + this.raw.slice(start, i - start).toString();
      if (c != 0x5c) { i++; continue; }
      s += this.raw.slice(start, i - start).toString();
      if (i + 1 >= n) return null;
      const e = this.byte(i + 1);
      i += 2;
      if (e == 0x22) s += "\"";
      else if (e == 0x5c) s += "\\";
      else if (e == 0x2f) s += "/";
      else if (e == 0x62) s += "\b";
      else if (e == 0x66) s += "\f";
      else if (e == 0x6e) s += "\n";
      else if (e == 0x72) s += "\r";
      else if (e == 0x74) s += "\t";
      else if (e == 0x75) {
        if (i + 4 > n) return null;
        let u = 0;
        for (let k = 0; k < 4; k++) {
          const h = <i32>this.byte(i + k);
          const v = h >= 0x30 && h <= 0x39 ? h - 0x30 : h >= 0x61 && h <= 0x66 ? h - 0x57 : h >= 0x41 && h <= 0x46 ? h - 0x37 : -1;
          if (v < 0) return null;
          u = (u << 4) | v;
        }
        s += String.fromCharCode(u); // UTF-16: surrogate halves join into one pair
        i += 4;
      } else return null;
      start = i;
    }
    return null;
  }
}

// ----------------------------------------------------------------- commands

/** A fact: the host's analysis of a command, as (statement, key, value). */
export class Fact {
  constructor(
    /** The statement index (0 for the whole command where a key is per command). */
    public readonly stmt: i32,
    public readonly key: Bytes,
    public readonly value: Bytes,
  ) {}
}

/**
 * The command of a command call (ABI 3.6): its kind, verbatim text, the
 * identity and target names, and the facts. There is one Command; the
 * dispatcher points it at each call's input. Keys the plugin does not know
 * must be ignored: the set grows within v1.
 */
export class Command {
  base: usize = 0;
  kind: CommandKind = CommandKind.SQL;
  /** The command text, verbatim. */
  text: Bytes = new Bytes(0, 0);
  /** The identity (user) name. */
  identity: Bytes = new Bytes(0, 0);
  /** The target (database, host) name. */
  target: Bytes = new Bytes(0, 0);
  numFacts: i32 = 0;
  private facts: usize = 0;

  parse(p: usize, inLen: u32): bool {
    if (inLen < <u32>COMMAND_HEADER || load<u32>(p) != COMMAND_MAGIC) return false;
    const nf = load<u32>(p, 32), factsOff = load<u32>(p, 36);
    if (nf > MAX_COUNT || <u64>factsOff + <u64>nf * 20 > <u64>inLen) return false;
    for (let k: usize = 8; k < 32; k += 8) {
      if (<u64>load<u32>(p + k) + <u64>load<u32>(p + k, 4) > <u64>inLen) return false;
    }
    for (let i: u32 = 0; i < nf; i++) {
      const e = p + <usize>factsOff + <usize>i * 20;
      if (<u64>load<u32>(e, 4) + <u64>load<u32>(e, 8) > <u64>inLen ||
          <u64>load<u32>(e, 12) + <u64>load<u32>(e, 16) > <u64>inLen) return false;
    }
    this.base = p;
    this.kind = <CommandKind>load<u32>(p, 4);
    this.text = new Bytes(p + <usize>load<u32>(p, 8), <i32>load<u32>(p, 12));
    this.identity = new Bytes(p + <usize>load<u32>(p, 16), <i32>load<u32>(p, 20));
    this.target = new Bytes(p + <usize>load<u32>(p, 24), <i32>load<u32>(p, 28));
    this.numFacts = <i32>nf;
    this.facts = p + <usize>factsOff;
    return true;
  }

  /** Fact i. */
  fact(i: i32): Fact {
    checkIndex("Command.fact", i, this.numFacts);
    const e = this.facts + <usize>i * 20;
    return new Fact(<i32>load<u32>(e), new Bytes(this.base + <usize>load<u32>(e, 4), <i32>load<u32>(e, 8)),
      new Bytes(this.base + <usize>load<u32>(e, 12), <i32>load<u32>(e, 16)));
  }

  /** Fact i's statement index. Allocates nothing. */
  factStmt(i: i32): i32 {
    checkIndex("Command.factStmt", i, this.numFacts);
    return <i32>load<u32>(this.facts + <usize>i * 20);
  }

  /** Whether fact i's key is `key`. Allocates nothing. */
  factKeyEquals(i: i32, key: string): bool {
    checkIndex("Command.factKeyEquals", i, this.numFacts);
    const e = this.facts + <usize>i * 20;
    return utf8Compare(this.base + <usize>load<u32>(e, 4), <i32>load<u32>(e, 8), key, false);
  }

  /** Whether fact i's value is `value`. Allocates nothing. */
  factValueEquals(i: i32, value: string): bool {
    checkIndex("Command.factValueEquals", i, this.numFacts);
    const e = this.facts + <usize>i * 20;
    return utf8Compare(this.base + <usize>load<u32>(e, 12), <i32>load<u32>(e, 16), value, false);
  }

  /**
   * The value of the first fact of statement `stmt` (-1: any statement)
   * with key `key`, or null.
   */
  lookup(stmt: i32, key: string): Bytes | null {
    for (let i = 0; i < this.numFacts; i++) {
      if ((stmt < 0 || this.factStmt(i) == stmt) && this.factKeyEquals(i, key)) return this.fact(i).value;
    }
    return null;
  }

  /** Whether any statement has the fact (key, value). Allocates nothing. */
  has(key: string, value: string): bool {
    for (let i = 0; i < this.numFacts; i++) {
      if (this.factKeyEquals(i, key) && this.factValueEquals(i, value)) return true;
    }
    return false;
  }

  /** Whether any statement has a fact with key `key`. Allocates nothing. */
  hasKey(key: string): bool {
    for (let i = 0; i < this.numFacts; i++) {
      if (this.factKeyEquals(i, key)) return true;
    }
    return false;
  }
}

/** A command hook's answer: a decision and a reason for humans and logs. */
export class Verdict {
  constructor(public readonly decision: Decision, public readonly reason: string = "") {}

  /** Lets the command through. */
  static allow(reason: string = ""): Verdict { return new Verdict(Decision.ALLOW, reason); }
  /** Refuses the command; in a chain the first BLOCK wins. */
  static block(reason: string): Verdict { return new Verdict(Decision.BLOCK, reason); }
  /** Sends the command to a human for approval. */
  static approve(reason: string): Verdict { return new Verdict(Decision.REQUIRE_APPROVAL, reason); }
  /** Same as approve. */
  static requireApproval(reason: string): Verdict { return new Verdict(Decision.REQUIRE_APPROVAL, reason); }
}

// --------------------------------------------------------------------- plan

/**
 * The plan of a plan call (ABI 3.4): one action per column of the schema,
 * INSPECT unless set. Written straight into the output region.
 */
export class Plan {
  private p: usize = 0;
  numColumns: i32 = 0;

  reset(p: usize, n: i32): void {
    this.p = p;
    this.numColumns = n;
    memory.fill(p, <u8>Action.INSPECT, <usize>n);
  }

  /** Sets column i's action. */
  set(i: i32, a: Action): void {
    checkIndex("Plan.set", i, this.numColumns);
    store<u8>(this.p + <usize>i, <u8>a);
  }

  /** Column i's action. */
  get(i: i32): Action {
    checkIndex("Plan.get", i, this.numColumns);
    return <Action>load<u8>(this.p + <usize>i);
  }
}

// ------------------------------------------------------------- dispatchers

const theBatch = new Batch();
const theEdits = new Edits();
const theCommand = new Command();
const thePlan = new Plan();

// @ts-ignore: decorator
@inline
function collect(): void {
  // The minimal runtime's collector runs only when asked: here, at the end
  // of an exported call, where no object of the call is live.
  if (ASC_RUNTIME == 1) __collect();
}

// begin checks the call convention and returns the output address, or 0
// with the status in beginStatus: BAD_INPUT for an out_off the ABI does not
// allow, NO_SPACE when not even the output header fits.
let beginStatus: i32 = Status.OK;

function begin(inLen: i32, outOff: i32): usize {
  failure = null;
  const o = <u32>outOff;
  if (arenaPtr == 0 || <u32>inLen > o || (o & 7) != 0) {
    beginStatus = Status.BAD_INPUT;
    return 0;
  }
  if (<u64>o + <u64>OUT_HEADER > <u64>arenaSize) {
    beginStatus = Status.NO_SPACE;
    return 0;
  }
  return arenaPtr + <usize>o;
}

// finishFailed writes the failure message as the payload, cut to the
// output region at a UTF-8 character boundary.
function finishFailed(out: usize): i32 {
  const msg = String.UTF8.encode(failure!);
  const room = arenaPtr + arenaSize - (out + OUT_HEADER);
  let n = <usize>msg.byteLength;
  if (n > room) {
    n = room;
    while (n > 0 && (load<u8>(changetype<usize>(msg) + n) & 0xc0) == 0x80) n--;
  }
  memory.copy(out + OUT_HEADER, changetype<usize>(msg), n);
  store<u32>(out, <u32>n);
  store<u32>(out, 0, 4);
  return Status.FAILED;
}

/**
 * The body of an exported sluice_init: calls fn with the config (the
 * plugin's JSON object, `{}` when none; its raw bytes are a view of the
 * arena: copy what you keep). Call fail(message) to refuse the config: the
 * plugin does not load.
 *
 *   export function sluice_init(inLen: i32, outOff: i32): i32 { return handleInit(inLen, outOff, configure); }
 */
export function handleInit(inLen: i32, outOff: i32, fn: (config: Config) => void): i32 {
  const st = runInit(inLen, outOff, fn);
  collect();
  return st;
}

function runInit(inLen: i32, outOff: i32, fn: (config: Config) => void): i32 {
  const out = begin(inLen, outOff);
  if (out == 0) return beginStatus;
  fn(new Config(new Bytes(arenaPtr, inLen)));
  if (failure !== null) return finishFailed(out);
  store<u64>(out, 0);
  return Status.OK;
}

/**
 * The body of an exported sluice_command: calls fn with the command and
 * writes its verdict (ABI 3.2).
 *
 *   export function sluice_command(inLen: i32, outOff: i32): i32 { return handleCommand(inLen, outOff, decide); }
 */
export function handleCommand(inLen: i32, outOff: i32, fn: (c: Command) => Verdict): i32 {
  const st = runCommand(inLen, outOff, fn);
  collect();
  return st;
}

function runCommand(inLen: i32, outOff: i32, fn: (c: Command) => Verdict): i32 {
  const out = begin(inLen, outOff);
  if (out == 0) return beginStatus;
  if (!theCommand.parse(arenaPtr, <u32>inLen)) return Status.BAD_INPUT;
  const v = fn(theCommand);
  if (failure !== null) return finishFailed(out);
  if (<u32>v.decision > <u32>Decision.REQUIRE_APPROVAL) {
    failure = "unknown verdict " + (<u32>v.decision).toString();
    return finishFailed(out);
  }
  const n = <usize>String.UTF8.byteLength(v.reason);
  if (out + OUT_HEADER + 8 + n > arenaPtr + arenaSize) return Status.NO_SPACE;
  store<u32>(out, 8 + <u32>n);
  store<u32>(out, 0, 4);
  store<u32>(out, <u32>v.decision, 8);
  store<u32>(out, <u32>n, 12);
  String.UTF8.encodeUnsafe(changetype<usize>(v.reason), v.reason.length, out + OUT_HEADER + 8);
  return Status.OK;
}

/**
 * The body of an exported sluice_records: calls fn with the batch and an
 * empty edit list, then returns OK, NO_SPACE (the edits did not fit) or
 * FAILED (fail() was called).
 *
 *   export function sluice_records(inLen: i32, outOff: i32): i32 { return handleRecords(inLen, outOff, edit); }
 */
export function handleRecords(inLen: i32, outOff: i32, fn: (b: Batch, e: Edits) => void): i32 {
  const st = runRecords(inLen, outOff, fn);
  collect();
  return st;
}

function runRecords(inLen: i32, outOff: i32, fn: (b: Batch, e: Edits) => void): i32 {
  const out = begin(inLen, outOff);
  if (out == 0) return beginStatus;
  if (!theBatch.parse(arenaPtr, <u32>inLen)) return Status.BAD_INPUT;
  theEdits.reset(out + OUT_HEADER, arenaPtr + arenaSize);
  fn(theBatch, theEdits);
  if (failure !== null) return finishFailed(out);
  if (theEdits.full) return Status.NO_SPACE;
  const n = theEdits.finish();
  store<u32>(out, <u32>n);
  store<u32>(out, 0, 4);
  return Status.OK;
}

/**
 * The body of an exported sluice_plan: calls fn with the schema (a batch
 * with columns and no records) and a plan of INSPECT for every column.
 *
 *   export function sluice_plan(inLen: i32, outOff: i32): i32 { return handlePlan(inLen, outOff, plan); }
 */
export function handlePlan(inLen: i32, outOff: i32, fn: (schema: Batch, p: Plan) => void): i32 {
  const st = runPlan(inLen, outOff, fn);
  collect();
  return st;
}

function runPlan(inLen: i32, outOff: i32, fn: (schema: Batch, p: Plan) => void): i32 {
  const out = begin(inLen, outOff);
  if (out == 0) return beginStatus;
  if (!theBatch.parse(arenaPtr, <u32>inLen)) return Status.BAD_INPUT;
  const n = <usize>theBatch.numColumns;
  if (out + OUT_HEADER + n > arenaPtr + arenaSize) return Status.NO_SPACE;
  thePlan.reset(out + OUT_HEADER, <i32>n);
  fn(theBatch, thePlan);
  if (failure !== null) return finishFailed(out);
  store<u32>(out, <u32>n);
  store<u32>(out, 0, 4);
  return Status.OK;
}

/**
 * The body of an exported sluice_selftest: OK if fn returns true and did
 * not call fail(), FAILED otherwise (the host keeps the old version).
 *
 *   export function sluice_selftest(): i32 { return handleSelftest(selftest); }
 */
export function handleSelftest(fn: () => bool): i32 {
  failure = null;
  const ok = fn() && failure === null;
  failure = null;
  collect();
  return ok ? Status.OK : Status.FAILED;
}
