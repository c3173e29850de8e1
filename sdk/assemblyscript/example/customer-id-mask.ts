// customer-id-mask: masks customer IDs of the form "CUST-" followed by
// digits anywhere inside any value, in place ("order for CUST-004211"
// becomes "order for CUST-******"), and allows every command. The same
// plugin as sdk/wat/customer-id-mask.wat, written with the AssemblyScript
// SDK; it passes the same conformance vectors and a few more.
//
// Build: npm run build (in sdk/assemblyscript). Test:
//   sluice plugin test example/customer-id-mask.wasm --vectors example/vectors

import {
  Batch, Bytes, Command, Edits, Verdict,
  handleCommand, handleRecords, handleSelftest, logInfo,
} from "../assembly/sluice";

// The two exports every plugin has, straight from the SDK.
export { sluice_abi_v1, sluice_arena } from "../assembly/sluice";

// One export per hook in manifest.json, each handing a function to the SDK.
export function sluice_command(inLen: i32, outOff: i32): i32 { return handleCommand(inLen, outOff, decide); }
export function sluice_records(inLen: i32, outOff: i32): i32 { return handleRecords(inLen, outOff, mask); }
export function sluice_selftest(): i32 { return handleSelftest(selftest); }

// decide allows every command: this plugin only masks data.
function decide(c: Command): Verdict {
  return Verdict.allow();
}

// mask masks every non-NULL field and reports each changed field as one
// IN_PLACE edit over its whole value: no replacement bytes are copied.
function mask(b: Batch, e: Edits): void {
  for (let r = 0; r < b.numRecords; r++) {
    const rec = b.record(r);
    for (let j = 0; j < rec.numFields; j++) {
      const f = rec.field(j);
      if (f.isNull) continue;
      if (maskIDs(f.value) > 0) e.inPlace(f);
      if (e.full) return; // the host grows the arena and calls again
    }
  }
}

// maskIDs overwrites the digits of every "CUST-<digits>" in v with '*' and
// returns how many bytes it changed.
function maskIDs(v: Bytes): i32 {
  const n = v.length;
  let changed = 0;
  let i = 0;
  while (i + 5 <= n) {
    if (v.at(i) == 0x43 && v.at(i + 1) == 0x55 && v.at(i + 2) == 0x53 && v.at(i + 3) == 0x54 && v.at(i + 4) == 0x2d) { // "CUST-"
      let j = i + 5;
      while (j < n && isDigit(v.at(j))) {
        v.set(j, 0x2a); // '*'
        changed++;
        j++;
      }
      i = j;
    } else {
      i++;
    }
  }
  return changed;
}

function isDigit(c: u8): bool {
  return <u32>(c - 0x30) < 10;
}

// selftest runs once after every (re)load, before the plugin serves
// traffic: the masking function on a value of its own.
function selftest(): bool {
  const buf = Uint8Array.wrap(String.UTF8.encode("ids CUST-0042 and CUST-"));
  const v = Bytes.wrap(buf);
  if (maskIDs(v) != 4 || !v.equals("ids CUST-**** and CUST-")) return false;
  logInfo("customer-id-mask: selftest ok");
  return true;
}
