;; meter.wat: a module for the loop-metering rewriter's tests (meter_test.go).
;;
;; Every export computes something deterministic; the tests call them on the
;; module as is and after meterModule and compare. It covers loops, nested
;; loops, a br_table state machine (the shape of Go's code), direct and
;; indirect calls, an imported function and global (module "env", see
;; meter_env.wat), element segments of every kind (active and passive,
;; function indices and expressions, an explicit table, declarative), ref.func
;; in code and in a global, a start function, a function exported twice,
;; multi-value blocks and loops with parameters, bulk memory, sign extension,
;; saturating conversions, typed select, constants, and code that never
;; returns: loops (one as the first instruction) and recursion without loops.
(module
  (type $bin (func (param i32 i32) (result i32)))
  (type $un (func (param i32) (result i32)))
  (type $pair (func (param i32) (result i32 i32)))
  (type $acc (func (param i32 i32) (result i32)))
  (import "env" "add" (func $env_add (param i32 i32) (result i32)))
  (import "env" "g" (global $g i32))
  (memory (export "memory") 1)
  (table $t (export "table") 8 funcref)
  (global $started (mut i32) (i32.const 0))
  (global $fref funcref (ref.func $mul))
  (global $k i32 (global.get $g))
  (global $wide (mut i64) (i64.const -9223372036854775808))

  (elem (i32.const 0) $add $sub)
  (elem $p func $mul $add)
  (elem $pe funcref (ref.func $sub) (ref.null func))
  (elem (table $t) (i32.const 4) func $add)
  (elem (table $t) (i32.const 5) funcref (ref.func $mul))
  (elem declare func $fib)
  (data $d "hello, metering")
  (data (i32.const 100) "abc")

  (start $start)
  (func $start (global.set $started (i32.add (global.get $g) (i32.const 1))))

  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
  (func $mul (type $bin) (i32.mul (local.get 0) (local.get 1)))

  (func (export "started") (result i32) (global.get $started))
  (func (export "k") (result i32) (global.get $k))
  (func (export "imported") (param i32 i32) (result i32)
    (call $env_add (local.get 0) (local.get 1)))

  (func $sum (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $s))
  (export "sum_again" (func $sum))

  (func (export "nested") (param $n i32) (param $m i32) (result i32)
    (local $i i32) (local $j i32) (local $s i32)
    (block $outer_done
      (loop $outer
        (br_if $outer_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (block $inner_done
          (loop $inner
            (br_if $inner_done (i32.ge_u (local.get $j) (local.get $m)))
            (local.set $s (i32.add (local.get $s)
              (i32.xor (i32.mul (local.get $i) (i32.const 31)) (local.get $j))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $inner)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $s))

  ;; A state machine: states 0, 1, 2 dispatched by br_table inside a loop,
  ;; as Go compiles its functions; state 3 ends.
  (func (export "machine") (param $n i32) (result i32)
    (local $state i32) (local $x i32)
    (loop $dispatch
      (block $s3
        (block $s2
          (block $s1
            (block $s0
              (br_table $s0 $s1 $s2 $s3 (local.get $state)))
            ;; state 0
            (local.set $x (i32.add (local.get $x) (i32.const 3)))
            (local.set $state (i32.const 1))
            (br $dispatch))
          ;; state 1
          (local.set $x (i32.mul (local.get $x) (i32.const 5)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1)))
          (local.set $state (select (i32.const 2) (i32.const 3) (local.get $n)))
          (br $dispatch))
        ;; state 2
        (local.set $x (i32.rem_u (local.get $x) (i32.const 1000003)))
        (local.set $state (i32.const 0))
        (br $dispatch)))
    (local.get $x))

  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add
        (call $fib (i32.sub (local.get $n) (i32.const 1)))
        (call $fib (i32.sub (local.get $n) (i32.const 2)))))))

  (func (export "indirect") (param $i i32) (param $a i32) (param $b i32) (result i32)
    (call_indirect $t (type $bin) (local.get $a) (local.get $b) (local.get $i)))

  (func (export "passive") (result i32)
    (table.init $t $p (i32.const 2) (i32.const 0) (i32.const 2))
    (table.init $t $pe (i32.const 6) (i32.const 0) (i32.const 1))
    (elem.drop $p)
    (i32.add
      (i32.add
        (call_indirect $t (type $bin) (i32.const 6) (i32.const 7) (i32.const 2))
        (call_indirect $t (type $bin) (i32.const 10) (i32.const 3) (i32.const 6)))
      (i32.add
        (call_indirect $t (type $bin) (i32.const 1) (i32.const 2) (i32.const 4))
        (call_indirect $t (type $bin) (i32.const 4) (i32.const 5) (i32.const 5)))))

  (func (export "reffunc") (param $n i32) (result i32)
    (table.set $t (i32.const 7) (ref.func $fib))
    (table.set $t (i32.const 1) (global.get $fref))
    (i32.add
      (call_indirect $t (type $un) (local.get $n) (i32.const 7))
      (call_indirect $t (type $bin) (local.get $n) (i32.const 3) (i32.const 1))))

  ;; Multi-value: a loop with parameters and results, a block of type $pair.
  (func (export "multi") (param $n i32) (result i32)
    (local $a i32) (local $b i32)
    (i32.const 0) (local.get $n)
    (loop $l (type $acc) (param i32 i32) (result i32)
      (local.set $b) (local.set $a)
      (if (result i32) (i32.eqz (local.get $b))
        (then (local.get $a))
        (else
          (i32.add (local.get $a) (local.get $b))
          (i32.sub (local.get $b) (i32.const 1))
          (br $l))))
    (block (type $pair) (param i32) (result i32 i32)
      (local.set $a) (local.get $a) (i32.const 7))
    (i32.add)
    (i32.add (local.get $a)))

  (func (export "bulk") (result i32)
    (local $i i32) (local $s i32)
    (memory.init $d (i32.const 200) (i32.const 0) (i32.const 15))
    (data.drop $d)
    (memory.copy (i32.const 300) (i32.const 200) (i32.const 15))
    (memory.fill (i32.const 315) (i32.const 7) (i32.const 10))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (i32.const 28)))
        (local.set $s (i32.add (i32.mul (local.get $s) (i32.const 3))
          (i32.load8_u offset=300 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.add (local.get $s) (i32.load8_u (i32.const 101))))

  (func (export "conv") (param $x f32) (result i32)
    (i32.add
      (i32.trunc_sat_f32_s (local.get $x))
      (i32.add
        (i32.extend8_s (i32.const 0xff))
        (i32.wrap_i64 (i64.extend32_s (i64.const 0x80000000))))))

  (func (export "sel") (param $c i32) (result i64)
    (global.set $wide (i64.add (global.get $wide) (i64.const 1)))
    (select (result i64) (global.get $wide) (i64.const 0x123456789abcdef) (local.get $c)))

  (func (export "consts") (result f64)
    (f64.add (f64.const -0x1.8p-1) (f64.promote_f32 (f32.const 3.25))))

  ;; Code that never returns, for the timeout tests.
  (func (export "spin") (param $n i32) (result i32)
    (loop $l (local.set $n (i32.add (local.get $n) (i32.const 1))) (br $l))
    (local.get $n))
  (func (export "spin_first") (result i32)
    (loop $l (br $l))
    (i32.const 0))
  ;; 2^n calls, no loop: metered at function entry only.
  (func $tree (export "tree") (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.add
        (call $tree (i32.sub (local.get $n) (i32.const 1)))
        (call $tree (i32.sub (local.get $n) (i32.const 1)))))))
)
