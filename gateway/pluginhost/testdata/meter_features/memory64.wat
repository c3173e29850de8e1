;; memory64.wat: a 64-bit memory (i64 addresses), which meterModule rewrites although
;; wazero does not run them (meter_test.go). Not built by `make fixtures`:
;;   wat2wasm --enable-memory64 memory64.wat -o memory64.wasm
(module
  (memory i64 1)
  (func (export "f") (param $p i64) (result i64)
    (loop $l
      (i64.store offset=0xfffffff0 (local.get $p) (local.get $p))
      (local.set $p (i64.sub (local.get $p) (i64.const 1)))
      (br_if $l (i64.ne (local.get $p) (i64.const 0))))
    (i64.load offset=0xffffff00 (i64.const 0))))
