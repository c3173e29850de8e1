;; multimem.wat: memory arguments with a memory index (multiple memories),
;; which meterModule rewrites although wazero does not run them
;; (meter_test.go). Not built by `make fixtures`:
;;   wat2wasm --enable-multi-memory multimem.wat -o multimem.wasm
(module
  (memory $a 1)
  (memory $b 1)
  (func (export "f") (param $n i32) (result i32)
    (loop $l
      (i32.store $b offset=8 (local.get $n) (i32.load $a offset=4 (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (i32.add (memory.size $b) (i32.load $b (i32.const 0)))))
