;; meter_min.wat: a module without a () -> () type, imports or globals, for
;; the loop-metering rewriter's tests (meter_test.go): meterModule adds the
;; three sections.
(module
  (func (export "count") (param $n i32) (result i32)
    (loop $l
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (i32.gt_s (local.get $n) (i32.const 0))))
    (local.get $n)))
