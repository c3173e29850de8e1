;; wasi.wat: a probe of the WASI sandbox of ABI.md 2.3, for sandbox_test.go.
;; The same binary runs on every engine; the test reads what it wrote from
;; linear memory.
;;
;; sluice_command(op, b) runs one operation and returns its errno (0 on
;; success; -1 for an unknown op):
;;
;;    0  clock_time_get realtime to 100, monotonic to 108, then to 116.
;;    1  random_get 16 bytes to 200, then 16 more to 216.
;;    2  fd_write to fd b the iovecs "hello", " world" and "" (at 300),
;;       nwritten to 330.
;;    3  fd_prestat_get(fd b) to 340: is there a preopened directory?
;;    4  poll_oneoff one relative monotonic clock of b ms (userdata 7), then
;;       clock_time_get monotonic to 116.
;;    5  proc_exit(b).
;;    6  an out-of-bounds pointer (EFAULT expected), chosen by b:
;;       0 clock_time_get result, 1 random_get buffer, 2 fd_write iovecs,
;;       3 fd_write buffer, 4 fd_write nwritten, 5 poll_oneoff
;;       subscriptions, 6 poll_oneoff events, 7 poll_oneoff nevents.
;;    7  loops forever.
;;    8  poll_oneoff a relative monotonic clock of 1000 s (userdata 1) and
;;       a descriptor subscription (userdata 2) of type b>>8 (1 fd_read,
;;       2 fd_write) on fd b&255.
;;    9  loads out of bounds (trap).
;;   10  recurses forever (stack overflow trap).
;;   11  divides 1 by b (trap when b is 0).
;;   12  clock_time_get realtime to 100, poll_oneoff an absolute realtime
;;       clock at that instant + b ms (userdata 9), realtime to 108.
;;   13  path_open "etc/passwd" for reading relative to fd b (fd to 340).
;;   14  sock_accept on fd b (fd to 340).
;;
;; poll_oneoff writes its events from 600 (32 bytes each: userdata u64,
;; errno u16 at +8, type u8 at +10, fd_readwrite flags u16 at +24) and
;; their count to 700. Subscriptions are built at 512 and 560.
;;
;; Rebuild testdata/wasi.wasm with `make fixtures` (wat2wasm).
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "sluice_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 400) "hello world")
  (data (i32.const 420) "etc/passwd")
  (func (export "sluice_abi_v1"))
  (func (export "sluice_arena") (param i32) (result i32) (i32.const 1024))

  ;; $sub writes a poll_oneoff subscription at $at: for a clock $arg is its
  ;; id, for a descriptor its fd; $flags 1 makes a clock absolute.
  (func $sub (param $at i32) (param $userdata i64) (param $tag i32) (param $arg i32)
      (param $timeout i64) (param $flags i32)
    (memory.fill (local.get $at) (i32.const 0) (i32.const 48))
    (i64.store (local.get $at) (local.get $userdata))
    (i32.store8 offset=8 (local.get $at) (local.get $tag))
    (i32.store offset=16 (local.get $at) (local.get $arg))
    (i64.store offset=24 (local.get $at) (local.get $timeout))
    (i32.store16 offset=40 (local.get $at) (local.get $flags)))

  ;; $iovs writes the iovecs of op 2 at 300.
  (func $iovs
    (i32.store (i32.const 300) (i32.const 400))
    (i32.store (i32.const 304) (i32.const 5))
    (i32.store (i32.const 308) (i32.const 405))
    (i32.store (i32.const 312) (i32.const 6))
    (i32.store (i32.const 316) (i32.const 411))
    (i32.store (i32.const 320) (i32.const 0)))

  (func $efault (param $b i32) (result i32)
    (if (i32.eq (local.get $b) (i32.const 0)) (then
      (return (call $clock (i32.const 0) (i64.const 0) (i32.const 65535)))))
    (if (i32.eq (local.get $b) (i32.const 1)) (then
      (return (call $random (i32.const 65530) (i32.const 16)))))
    (if (i32.eq (local.get $b) (i32.const 2)) (then
      (return (call $write (i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 330)))))
    (if (i32.eq (local.get $b) (i32.const 3)) (then
      (i32.store (i32.const 300) (i32.const 65530))
      (i32.store (i32.const 304) (i32.const 16))
      (return (call $write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 330)))))
    (if (i32.eq (local.get $b) (i32.const 4)) (then
      (call $iovs)
      (return (call $write (i32.const 1) (i32.const 300) (i32.const 2) (i32.const 65534)))))
    (call $sub (i32.const 512) (i64.const 1) (i32.const 0) (i32.const 1) (i64.const 0) (i32.const 0))
    (if (i32.eq (local.get $b) (i32.const 5)) (then
      (return (call $poll (i32.const 65500) (i32.const 600) (i32.const 1) (i32.const 700)))))
    (if (i32.eq (local.get $b) (i32.const 6)) (then
      (return (call $poll (i32.const 512) (i32.const 65520) (i32.const 1) (i32.const 700)))))
    (if (i32.eq (local.get $b) (i32.const 7)) (then
      (return (call $poll (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 65534)))))
    (i32.const -1))

  (func (export "sluice_command") (param $op i32) (param $b i32) (result i32)
    (if (i32.eq (local.get $op) (i32.const 0)) (then
      (return (i32.or (i32.or
        (call $clock (i32.const 0) (i64.const 0) (i32.const 100))
        (call $clock (i32.const 1) (i64.const 0) (i32.const 108)))
        (call $clock (i32.const 1) (i64.const 0) (i32.const 116))))))
    (if (i32.eq (local.get $op) (i32.const 1)) (then
      (return (i32.or
        (call $random (i32.const 200) (i32.const 16))
        (call $random (i32.const 216) (i32.const 16))))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then
      (call $iovs)
      (return (call $write (local.get $b) (i32.const 300) (i32.const 3) (i32.const 330)))))
    (if (i32.eq (local.get $op) (i32.const 3)) (then
      (return (call $prestat (local.get $b) (i32.const 340)))))
    (if (i32.eq (local.get $op) (i32.const 4)) (then
      (call $sub (i32.const 512) (i64.const 7) (i32.const 0) (i32.const 1)
        (i64.mul (i64.extend_i32_u (local.get $b)) (i64.const 1000000)) (i32.const 0))
      (return (i32.or
        (call $poll (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 700))
        (call $clock (i32.const 1) (i64.const 0) (i32.const 116))))))
    (if (i32.eq (local.get $op) (i32.const 5)) (then (call $exit (local.get $b))))
    (if (i32.eq (local.get $op) (i32.const 6)) (then
      (return (call $efault (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 7)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $op) (i32.const 8)) (then
      (call $sub (i32.const 512) (i64.const 1) (i32.const 0) (i32.const 1) (i64.const 1000000000000) (i32.const 0))
      (call $sub (i32.const 560) (i64.const 2) (i32.shr_u (local.get $b) (i32.const 8))
        (i32.and (local.get $b) (i32.const 255)) (i64.const 0) (i32.const 0))
      (return (call $poll (i32.const 512) (i32.const 600) (i32.const 2) (i32.const 700)))))
    (if (i32.eq (local.get $op) (i32.const 9)) (then
      (return (i32.load (i32.const -16)))))
    (if (i32.eq (local.get $op) (i32.const 10)) (then
      (return (call $recurse (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 11)) (then
      (return (i32.div_u (i32.const 1) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 12)) (then
      (drop (call $clock (i32.const 0) (i64.const 0) (i32.const 100)))
      (call $sub (i32.const 512) (i64.const 9) (i32.const 0) (i32.const 0)
        (i64.add (i64.load (i32.const 100))
          (i64.mul (i64.extend_i32_u (local.get $b)) (i64.const 1000000))) (i32.const 1))
      (return (i32.or
        (call $poll (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 700))
        (call $clock (i32.const 0) (i64.const 0) (i32.const 108))))))
    (if (i32.eq (local.get $op) (i32.const 13)) (then
      (return (call $open (local.get $b) (i32.const 0) (i32.const 420) (i32.const 10)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 340)))))
    (if (i32.eq (local.get $op) (i32.const 14)) (then
      (return (call $accept (local.get $b) (i32.const 0) (i32.const 340)))))
    (i32.const -1))

  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
)
