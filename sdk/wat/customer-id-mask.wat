;; customer-id-mask.wat: the smallest complete sluice plugin, by hand in
;; WebAssembly text. It masks customer IDs of the form "CUST-" followed by
;; digits anywhere inside a value, in place: "order for CUST-004211" becomes
;; "order for CUST-******". Every value of every column is inspected (no
;; plan hook), and every command is allowed.
;;
;; Build: wat2wasm customer-id-mask.wat -o customer-id-mask.wasm
;;        sluice plugin manifest set customer-id-mask.wasm manifest.json
;; (make plugins does both). ABI: abi/ABI.md; layouts it reads:
;;   batch header  +4 n_columns, +8 n_records, +12 n_fields, +20 data_off
;;   field entry   16 bytes after 32 + 16*n_columns + 8*n_records:
;;                 +4 value_off (from data_off), +8 value_len, +12 flags
;;   output        at arena+out_off: u32 payload_len, u32 0, payload
;;   edits payload u32 n_edits, u32 0, then 24-byte entries
;;                 (op, target, off, len, data_len, 0); op 1 = IN_PLACE.
(module
  (memory (export "memory") 33)
  ;; The arena: the host asks for 64 KiB or more; this module serves up to
  ;; 2 MiB from 64 KiB on (pages 1 to 32), and answers 0 beyond.
  (global $arena i32 (i32.const 65536))
  ;; the size the host asked for: the host reads output only within it
  (global $size (mut i32) (i32.const 0))

  (func (export "sluice_abi_v1"))

  (func (export "sluice_arena") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 2097152))
      (then (global.set $size (local.get $size)) (global.get $arena))
      (else (i32.const 0))))

  ;; command: always ALLOW (payload: verdict 0, reason length 0).
  (func (export "sluice_command") (param $in i32) (param $out i32) (result i32)
    (local $o i32)
    (local.set $o (i32.add (global.get $arena) (local.get $out)))
    (i32.store (local.get $o) (i32.const 8))
    (i64.store offset=8 (local.get $o) (i64.const 0))
    (i32.const 0))

  ;; isDigit(c)
  (func $digit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))

  ;; mask scans [p, p+n) for "CUST-" + digits, overwrites the digits with
  ;; '*', and returns how many bytes it changed.
  (func $mask (param $p i32) (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $changed i32)
    (block $done
      (loop $scan
        (br_if $done (i32.gt_u (i32.add (local.get $i) (i32.const 5)) (local.get $n)))
        (if (i32.and
              (i32.eq (i32.load (i32.add (local.get $p) (local.get $i))) (i32.const 0x54535543)) ;; "CUST"
              (i32.eq (i32.load8_u offset=4 (i32.add (local.get $p) (local.get $i))) (i32.const 45))) ;; '-'
          (then
            (local.set $j (i32.add (local.get $i) (i32.const 5)))
            (block $end
              (loop $digits
                (br_if $end (i32.ge_u (local.get $j) (local.get $n)))
                (br_if $end (i32.eqz (call $digit (i32.load8_u (i32.add (local.get $p) (local.get $j))))))
                (i32.store8 (i32.add (local.get $p) (local.get $j)) (i32.const 42))
                (local.set $changed (i32.add (local.get $changed) (i32.const 1)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $digits)))
            (local.set $i (local.get $j)))
          (else (local.set $i (i32.add (local.get $i) (i32.const 1)))))
        (br $scan)))
    (local.get $changed))

  ;; records: mask every non-NULL field; report each changed field as one
  ;; IN_PLACE edit over its whole value (the host copies the bytes back).
  (func (export "sluice_records") (param $in i32) (param $out i32) (result i32)
    (local $a i32) (local $o i32) (local $n i32) (local $i i32) (local $e i32)
    (local $f i32) (local $data i32) (local $len i32) (local $p i32) (local $end i32)
    (local.set $a (global.get $arena))
    (local.set $o (i32.add (local.get $a) (local.get $out)))
    (local.set $end (i32.add (local.get $a) (global.get $size)))
    (local.set $n (i32.load offset=12 (local.get $a)))
    (local.set $data (i32.add (local.get $a) (i32.load offset=20 (local.get $a))))
    (local.set $f (i32.add (local.get $a) (i32.add (i32.const 32)
      (i32.add (i32.mul (i32.load offset=4 (local.get $a)) (i32.const 16))
               (i32.mul (i32.load offset=8 (local.get $a)) (i32.const 8))))))
    (local.set $p (i32.add (local.get $o) (i32.const 16)))
    (block $done
      (loop $fields
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eqz (i32.and (i32.load offset=12 (local.get $f)) (i32.const 256)))
          (then
            (local.set $len (i32.load offset=8 (local.get $f)))
            (if (call $mask (i32.add (local.get $data) (i32.load offset=4 (local.get $f))) (local.get $len))
              (then
                ;; no room for one more entry: ask for a larger arena
                (if (i32.gt_u (i32.add (local.get $p) (i32.const 24)) (local.get $end))
                  (then (return (i32.const 1))))
                (i32.store (local.get $p) (i32.const 1))
                (i32.store offset=4 (local.get $p) (local.get $i))
                (i32.store offset=8 (local.get $p) (i32.const 0))
                (i32.store offset=12 (local.get $p) (local.get $len))
                (i64.store offset=16 (local.get $p) (i64.const 0))
                (local.set $p (i32.add (local.get $p) (i32.const 24)))
                (local.set $e (i32.add (local.get $e) (i32.const 1)))))))
        (local.set $f (i32.add (local.get $f) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $fields)))
    (i32.store offset=8 (local.get $o) (local.get $e))
    (i32.store offset=12 (local.get $o) (i32.const 0))
    (i32.store (local.get $o) (i32.sub (local.get $p) (i32.add (local.get $o) (i32.const 8))))
    (i32.const 0))
)
