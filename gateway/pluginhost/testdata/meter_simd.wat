;; meter_simd.wat: SIMD for the loop-metering rewriter's tests
;; (meter_test.go): loads and stores with memory arguments, lane loads and
;; stores, v128.const, i8x16.shuffle, lane extraction and replacement,
;; splats, in a loop; the export returns an i64 digest.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?")
  (func (export "simd") (param $n i32) (result i64)
    (local $i i32) (local $v v128) (local $w v128)
    (local.set $v (v128.const i32x4 1 2 3 4))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $w (v128.load offset=16 align=4 (i32.and (local.get $i) (i32.const 31))))
        (local.set $v (i32x4.add (local.get $v) (local.get $w)))
        (local.set $v (i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 (local.get $v) (local.get $w)))
        (local.set $v (i32x4.replace_lane 2 (local.get $v)
          (i32.add (i32x4.extract_lane 1 (local.get $v)) (local.get $i))))
        (local.set $v (v128.xor (local.get $v) (v128.load8_splat (local.get $i))))
        (local.set $v (v128.load8_lane offset=0 3 (i32.const 5) (local.get $v)))
        (local.set $v (i16x8.add_sat_u (local.get $v) (v128.load32_zero (i32.const 8))))
        (local.set $v (f32x4.abs (local.get $v)))
        (v128.store32_lane offset=128 1 (i32.const 0) (local.get $v))
        (v128.store offset=256 (i32.const 0) (local.get $v))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i64.add
      (i64x2.extract_lane 0 (local.get $v))
      (i64.add (i64x2.extract_lane 1 (local.get $v))
        (i64.extend_i32_u (i8x16.extract_lane_u 7 (local.get $v)))))))
