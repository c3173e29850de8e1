;; extconst.wat: extended constant expressions for the loop-metering
;; rewriter's tests (meter_test.go). Not built by `make fixtures`:
;;   wat2wasm --enable-extended-const extconst.wat -o extconst.wasm
(module
  (import "env" "g" (global $g i32))
  (global $h i32 (i32.add (global.get $g) (i32.mul (i32.const 2) (i32.const 3))))
  (memory 1)
  (data (i32.add (global.get $g) (i32.const 1)) "x")
  (func (export "f") (result i32)
    (i32.add (global.get $h) (i32.load8_u (i32.const 42)))))
