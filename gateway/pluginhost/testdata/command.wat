;; command.wat: a WASI command (exports _start), not a reactor.
(module
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "sluice_abi_v1"))
  (func (export "sluice_arena") (param i32) (result i32) (i32.const 1024)))
