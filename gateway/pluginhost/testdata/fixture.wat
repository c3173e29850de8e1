;; fixture.wat: a hand-written ABI v1 plugin for the host's tests.
;;
;; Its behaviour is chosen by the 10th byte of its config, so that one
;; binary covers the faults: {"mode":"n"} normal (the default),
;; {"mode":"l"} records loops forever, {"mode":"t"} records traps,
;; {"mode":"m"} records grows memory until the limit, then traps,
;; {"mode":"f"} records returns FAILED, {"mode":"s"} selftest fails,
;; {"mode":"i"} init fails, {"mode":"x"} records writes an invalid edit,
;; {"mode":"d"} records drops every record.
;;
;; Normal records: overwrites every non-NULL value with '*' in place and
;; reports an IN_PLACE edit for each. Command: BLOCK when the text starts
;; with 'D', REQUIRE_APPROVAL when it starts with 'A', else ALLOW.
(module
  (import "sluice_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "blocked by fixture")
  (data (i32.const 32) "needs approval")
  (data (i32.const 64) "init failed on purpose")
  (global $arena i32 (i32.const 65536))
  (global $mode (mut i32) (i32.const 110))

  (func (export "sluice_abi_v1"))

  (func (export "sluice_arena") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 131072))
      (then (global.get $arena)) (else (i32.const 0))))

  (func (export "sluice_init") (param $in i32) (param $out i32) (result i32)
    (local $o i32)
    (if (i32.gt_u (local.get $in) (i32.const 9))
      (then (global.set $mode (i32.load8_u offset=9 (global.get $arena)))))
    (call $log (i32.const 1) (i32.const 0) (i32.const 7))
    (if (i32.eq (global.get $mode) (i32.const 105))
      (then
        (local.set $o (i32.add (global.get $arena) (local.get $out)))
        (i32.store (local.get $o) (i32.const 22))
        (memory.copy (i32.add (local.get $o) (i32.const 8)) (i32.const 64) (i32.const 22))
        (return (i32.const 3))))
    (i32.store (i32.add (global.get $arena) (local.get $out)) (i32.const 0))
    (i32.const 0))

  (func (export "sluice_selftest") (result i32)
    (if (result i32) (i32.eq (global.get $mode) (i32.const 115))
      (then (i32.const 3)) (else (i32.const 0))))

  (func $verdict (param $o i32) (param $v i32) (param $msg i32) (param $len i32)
    (i32.store (local.get $o) (i32.add (i32.const 8) (local.get $len)))
    (i32.store offset=8 (local.get $o) (local.get $v))
    (i32.store offset=12 (local.get $o) (local.get $len))
    (memory.copy (i32.add (local.get $o) (i32.const 16)) (local.get $msg) (local.get $len)))

  (func (export "sluice_command") (param $in i32) (param $out i32) (result i32)
    (local $o i32) (local $first i32)
    (local.set $o (i32.add (global.get $arena) (local.get $out)))
    (local.set $first (i32.const 0))
    (if (i32.gt_u (i32.load offset=12 (global.get $arena)) (i32.const 0))
      (then (local.set $first (i32.load8_u
        (i32.add (global.get $arena) (i32.load offset=8 (global.get $arena)))))))
    (if (i32.eq (local.get $first) (i32.const 68))
      (then (call $verdict (local.get $o) (i32.const 1) (i32.const 0) (i32.const 18)) (return (i32.const 0))))
    (if (i32.eq (local.get $first) (i32.const 65))
      (then (call $verdict (local.get $o) (i32.const 2) (i32.const 32) (i32.const 14)) (return (i32.const 0))))
    (call $verdict (local.get $o) (i32.const 0) (i32.const 0) (i32.const 0))
    (i32.const 0))

  (func (export "sluice_records") (param $in i32) (param $out i32) (result i32)
    (local $a i32) (local $o i32) (local $n i32) (local $i i32) (local $e i32)
    (local $ftab i32) (local $data i32) (local $voff i32) (local $vlen i32) (local $p i32)
    (local.set $a (global.get $arena))
    (if (i32.eq (global.get $mode) (i32.const 108)) (then (loop $forever (br $forever))))
    (if (i32.eq (global.get $mode) (i32.const 116)) (then unreachable))
    (if (i32.eq (global.get $mode) (i32.const 102)) (then
      (i32.store (i32.add (local.get $a) (local.get $out)) (i32.const 0))
      (return (i32.const 3))))
    (if (i32.eq (global.get $mode) (i32.const 109)) (then
      (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
      unreachable))
    (local.set $o (i32.add (local.get $a) (local.get $out)))
    (if (i32.eq (global.get $mode) (i32.const 100)) (then
      (local.set $n (i32.load offset=8 (local.get $a)))
      (local.set $p (i32.add (local.get $o) (i32.const 16)))
      (block $dd (loop $drop
        (br_if $dd (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store (local.get $p) (i32.const 5))
        (i32.store offset=4 (local.get $p) (local.get $i))
        (i64.store offset=8 (local.get $p) (i64.const 0))
        (i64.store offset=16 (local.get $p) (i64.const 0))
        (local.set $p (i32.add (local.get $p) (i32.const 24)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $drop)))
      (i32.store offset=8 (local.get $o) (local.get $n))
      (i32.store offset=12 (local.get $o) (i32.const 0))
      (i32.store (local.get $o) (i32.sub (local.get $p) (i32.add (local.get $o) (i32.const 8))))
      (return (i32.const 0))))
    (local.set $n (i32.load offset=12 (local.get $a)))
    (local.set $data (i32.add (local.get $a) (i32.load offset=20 (local.get $a))))
    ;; fields table: 32 + n_columns*16 + n_records*8
    (local.set $ftab (i32.add (local.get $a) (i32.add (i32.const 32)
      (i32.add (i32.mul (i32.load offset=4 (local.get $a)) (i32.const 16))
               (i32.mul (i32.load offset=8 (local.get $a)) (i32.const 8))))))
    (local.set $p (i32.add (local.get $o) (i32.const 16)))
    (local.set $e (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eqz (i32.and (i32.load offset=12 (i32.add (local.get $ftab) (i32.mul (local.get $i) (i32.const 16)))) (i32.const 256)))
          (then
            (local.set $voff (i32.load offset=4 (i32.add (local.get $ftab) (i32.mul (local.get $i) (i32.const 16)))))
            (local.set $vlen (i32.load offset=8 (i32.add (local.get $ftab) (i32.mul (local.get $i) (i32.const 16)))))
            (memory.fill (i32.add (local.get $data) (local.get $voff)) (i32.const 42) (local.get $vlen))
            (i32.store (local.get $p) (i32.const 1))
            (i32.store offset=4 (local.get $p) (local.get $i))
            (i32.store offset=8 (local.get $p) (i32.const 0))
            (i32.store offset=12 (local.get $p) (local.get $vlen))
            (if (i32.eq (global.get $mode) (i32.const 120))
              (then (i32.store offset=12 (local.get $p) (i32.add (local.get $vlen) (i32.const 1)))))
            (i32.store offset=16 (local.get $p) (i32.const 0))
            (i32.store offset=20 (local.get $p) (i32.const 0))
            (local.set $p (i32.add (local.get $p) (i32.const 24)))
            (local.set $e (i32.add (local.get $e) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store offset=8 (local.get $o) (local.get $e))
    (i32.store offset=12 (local.get $o) (i32.const 0))
    (i32.store (local.get $o) (i32.sub (local.get $p) (i32.add (local.get $o) (i32.const 8))))
    (i32.const 0))
)
