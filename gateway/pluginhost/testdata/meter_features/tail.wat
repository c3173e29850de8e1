;; tail.wat: tail calls for the loop-metering rewriter's tests
;; (meter_test.go), with names (functions, locals, labels) for the "name"
;; section's renumbering. Not built by `make fixtures` (it needs a feature
;; flag):
;;   wat2wasm --enable-tail-call --debug-names tail.wat -o tail.wasm
(module
  (type $acc (func (param i32 i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $count $count_indirect)
  ;; Sums 1..n by tail recursion: a million deep only with tail calls.
  (func $count (export "count") (type $acc)
    (if (i32.eqz (local.get 0)) (then (return (local.get 1))))
    (return_call $count (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (local.get 0))))
  (func $count_indirect (export "count_indirect") (type $acc)
    (if (i32.eqz (local.get 0)) (then (return (local.get 1))))
    (return_call_indirect (type $acc)
      (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (i32.const 2)) (i32.const 1)))
  ;; Never returns, without a loop: metered at function entry only.
  (func $forever (export "forever") (param $n i32) (result i32)
    (local $next i32)
    (local.set $next (i32.add (local.get $n) (i32.const 1)))
    (block $go (br $go))
    (return_call $forever (local.get $next))))
