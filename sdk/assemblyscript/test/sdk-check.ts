// sdk-check: a plugin that exercises every part of the SDK, for the SDK's
// own tests (npm test). Not an example of a sensible policy.
//
// init:     keeps the config; a config containing "bad" is refused.
// plan:     column "secret" REDACT, "skip" IGNORE, the rest INSPECT.
// records:  by column name: "drop" = yes drops the record; "null" nullifies;
//           "replace" becomes <value>; "double" becomes value+value; "range" has its first 2 bytes
//           replaced by "##"; "mask" is masked but its first byte;
//           "email" has every host finding masked; "config" becomes the
//           config; "pair" becomes the record's "other" field; a value
//           "fail" fails the call, a value "trap" traps.
// command:  blocks where=false, blocks identity root, asks approval for a
//           shell rm (or rmdir first), allows the rest with a reason naming
//           the kind, the target, the number of facts and the first
//           statement's tag (and blocks with it when the text starts "why").

import {
  Action, Batch, Bytes, Command, Config, CommandKind, Edits, Plan, Verdict, Detector,
  fail, nowNanos, handleCommand, handleInit, handlePlan, handleRecords, handleSelftest, logDebug,
} from "../assembly/sluice";

export { sluice_abi_v1, sluice_arena } from "../assembly/sluice";

export function sluice_init(inLen: i32, outOff: i32): i32 { return handleInit(inLen, outOff, configure); }
export function sluice_command(inLen: i32, outOff: i32): i32 { return handleCommand(inLen, outOff, decide); }
export function sluice_records(inLen: i32, outOff: i32): i32 { return handleRecords(inLen, outOff, edit); }
export function sluice_plan(inLen: i32, outOff: i32): i32 { return handlePlan(inLen, outOff, plan); }
export function sluice_selftest(): i32 { return handleSelftest(selftest); }

let config = "";
let mode = "";
let limit: f64 = 0;
let strict = false;
let names: string[] = [];

function configure(c: Config): void {
  if (c.raw.indexOf("bad") >= 0) {
    fail("bad config: " + c.raw.toString());
    return;
  }
  config = c.raw.toString(); // a copy: the view dies with the call
  const m = c.getString("mode");
  mode = m !== null ? m : "(none)";
  limit = c.getNumber("limit", -1);
  strict = c.getBool("strict", false);
  const ns = c.getStrings("names");
  names = ns !== null ? ns : [];
}

function plan(schema: Batch, p: Plan): void {
  for (let i = 0; i < schema.numColumns; i++) {
    const name = schema.column(i).name;
    if (name.equals("secret")) p.set(i, Action.REDACT);
    else if (name.equals("skip")) p.set(i, Action.IGNORE);
  }
}

function edit(b: Batch, e: Edits): void {
  const email = b.columnIndex("email");
  for (let r = 0; r < b.numRecords; r++) {
    const rec = b.record(r);
    for (let j = 0; j < rec.numFields; j++) {
      const f = rec.field(j);
      if (f.value.equals("fail")) { fail("asked to fail in record " + r.toString()); return; }
      if (f.value.equals("trap")) assert(false, "asked to trap");
      if (f.isNull) continue;
      const col = b.column(f.column).name;
      if (col.equals("drop")) {
        if (f.value.equals("yes")) e.drop(rec.index);
      } else if (col.equals("null")) {
        e.nullify(f);
      } else if (col.equals("replace")) {
        e.replaceString(f, "<" + f.toString() + ">");
      } else if (col.equals("range")) {
        e.replaceRangeString(f, 0, min(2, f.length), "##");
      } else if (col.equals("mask")) {
        if (f.length > 1) e.mask(f, 1);
      } else if (col.equals("double")) {
        const a = new Uint8Array(2 * f.length);
        memory.copy(a.dataStart, f.value.ptr, <usize>f.length);
        memory.copy(a.dataStart + <usize>f.length, f.value.ptr, <usize>f.length);
        e.replace(f, a);
      } else if (col.equals("config")) {
        e.replaceString(f, config);
      } else if (col.equals("settings")) {
        e.replaceString(f, "mode=" + mode + " limit=" + limit.toString() + " strict=" + (strict ? "yes" : "no") +
          " names=" + names.join("|") + " has=" + (names.length > 0 ? "y" : "n"));
      } else if (col.equals("pair")) {
        const other = rec.fieldByName("other");
        if (other === null) e.replaceString(f, "(no other)");
        else if (other.isNull) e.nullify(f);
        else e.replaceBytes(f, other.value);
      }
    }
  }
  if (email >= 0) {
    // findings are sorted by field; mask every hit of the email detector
    for (let k = 0; k < b.numFindings; k++) {
      const h = b.finding(k);
      if (h.detector == Detector.EMAIL && b.fieldColumn(h.field) == email) {
        e.mask(b.field(h.field), h.off, h.length, 0x23); // '#'
      }
    }
  }
}

function decide(c: Command): Verdict {
  if (c.has("where", "false")) return Verdict.block("DELETE or UPDATE without WHERE");
  if (c.identity.equals("root")) return Verdict.block("root may not: " + c.text.toString());
  const first = c.lookup(-1, "argv0"); // the first of any statement
  if (c.kind == CommandKind.SHELL && (c.has("argv0", "rm") || (first !== null && first.equals("rmdir")))) {
    return Verdict.approve("rm needs approval: " + c.text.toString());
  }
  if (c.text.equals("trace")) trace("sdk-check trace", 2, 1.5, 2.5);
  if (c.text.equals("random") && !(Math.random() < 1.0)) return Verdict.block("random out of range");
  if (c.text.equals("clock")) {
    const t0 = nowNanos(), t1 = nowNanos();
    return Verdict.block(t0 > 0 && t1 > t0 ? "clock advances" : "clock broken");
  }
  if (c.text.equals("bad verdict")) return new Verdict(7, "");
  let reason = "kind " + (<i32>c.kind).toString() + " target " + c.target.toString() +
    " facts " + c.numFacts.toString();
  const tag = c.lookup(0, "tag");
  if (tag !== null) reason += " tag " + tag.toString();
  // the conformance runner checks reasons of block and approve only
  if (c.text.startsWith("why")) return Verdict.block(reason);
  return Verdict.allow(reason);
}

function selftest(): bool {
  const a = Uint8Array.wrap(String.UTF8.encode("Zoë 山 🙂"));
  const v = Bytes.wrap(a);
  if (!v.equals("Zoë 山 🙂") || v.equals("Zoë 山") || !v.startsWith("Zoë 山") || v.startsWith("Zoe")) return false;
  if (v.indexOf("山") != 5 || v.indexOfByte(0x20) != 4 || v.toString() != "Zoë 山 🙂") return false;
  logDebug("sdk-check: selftest ok");
  return true;
}
