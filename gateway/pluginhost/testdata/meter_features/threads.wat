;; threads.wat: atomics on a shared memory for the loop-metering
;; rewriter's tests (meter_test.go). Not built by `make fixtures`:
;;   wat2wasm --enable-threads threads.wat -o threads.wasm
(module
  (memory (export "memory") 1 1 shared)
  (func (export "f") (param $n i32) (result i32)
    (loop $l
      (drop (i32.atomic.rmw.add offset=16 (i32.const 0) (local.get $n)))
      (i64.atomic.store (i32.const 8) (i64.extend_i32_u (i32.atomic.load offset=16 (i32.const 0))))
      (atomic.fence)
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (i32.add (i32.atomic.load (i32.const 16))
      (i32.wrap_i64 (i64.atomic.rmw.cmpxchg (i32.const 8) (i64.const 0) (i64.const 1))))))
