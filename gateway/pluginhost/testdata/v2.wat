;; v2.wat: a plugin built for a future ABI; the host must refuse it by name.
(module
  (memory (export "memory") 1)
  (func (export "sluice_abi_v2"))
  (func (export "sluice_arena") (param i32) (result i32) (i32.const 1024)))
