;; badimport.wat: imports a function the host does not provide.
(module
  (import "sluice_v1" "clock" (func (result i64)))
  (memory (export "memory") 1)
  (func (export "sluice_abi_v1"))
  (func (export "sluice_arena") (param i32) (result i32) (i32.const 1024))
  (func (export "sluice_records") (param i32 i32) (result i32) (i32.const 0)))
