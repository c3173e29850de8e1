;; meter_env.wat: the "env" module meter.wat imports (meter_test.go).
(module
  (global (export "g") i32 (i32.const 41))
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
