;; eh.wat: legacy exception handling (try/catch), which meterModule
;; refuses (meter_test.go). Not built by `make fixtures`:
;;   wat2wasm --enable-exceptions eh.wat -o eh.wasm
(module
  (tag $e (param i32))
  (func (export "f") (param i32) (result i32)
    (try (result i32)
      (do (throw $e (local.get 0)))
      (catch $e))))
