/* Decode kernels of the kq and ternary codecs. Each has a portable scalar
 * reference and an AVX2 version chosen at run time (honouring TP_CPU_MASK);
 * the tests compare them bit for bit. */
#ifndef TP_CODECS_KQ_TERNARY_KERNELS_H
#define TP_CODECS_KQ_TERNARY_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* kq: n_sub sub-blocks of `sub` values (a multiple of 8), whose `bits`-bit
 * codes (2..8, LSB-first stream, core/bitpack.h) follow one another from a
 * byte-aligned start. out[i] = (float)code * s[j] + off[j], computed as a
 * product then a sum (no fused multiply-add, so both versions agree).
 * avail (>= n_sub * sub * bits / 8) is how many bytes from codes may be
 * read: the fast version loads 16 bytes at a time where they fit. */
typedef void (*tp_kq_dequant_fn)(const uint8_t *codes, size_t n_sub, size_t sub, unsigned bits, const float *s,
                                 const float *off, float *out, size_t avail);
void tp_kq_dequant_ref(const uint8_t *codes, size_t n_sub, size_t sub, unsigned bits, const float *s,
                       const float *off, float *out, size_t avail);
/* Variant 0 is the reference, 1 AVX2, 2 AVX-512BW, 3 AVX-512BW with
 * streaming stores (plain ones where out is not 64-byte aligned); NULL when
 * this CPU (or TP_CPU_MASK) lacks it. tp_kq_dequant_for: the fastest for
 * an output of out_bytes (streaming from tp_cpu_stream_bytes() on). */
tp_kq_dequant_fn tp_kq_dequant_variant(int i);
tp_kq_dequant_fn tp_kq_dequant_for(uint64_t out_bytes);

/* ternary: unpacks n bytes of 5 base-3 digits each (t0 + 3 t1 + 9 t2 + 27 t3
 * + 81 t4, digit t means the value t - 1) into 5n int8 values in -1..1.
 * dst must hold 5n + 3 bytes (the fast version writes 8 bytes per input
 * byte). Returns 0, or -1 when a byte is above 242 (not a valid packing). */
typedef int (*tp_trit_unpack_fn)(const uint8_t *src, size_t n, int8_t *dst);
int tp_trit_unpack_ref(const uint8_t *src, size_t n, int8_t *dst);
tp_trit_unpack_fn tp_trit_unpack_best(void);

/* ternary, fused: decodes n_super superblocks of 32 bytes (160 values)
 * straight to floats, value j scaled by s[j / 32] (5 scales per superblock):
 * out[j] = (float)(t_j - 1) * s[j / 32], the product the two-pass path
 * (unpack, then scale) computes. Returns 0, or -1 when a byte is above 242
 * (out is then partly written). Variant 0 is the scalar reference, 1 AVX2,
 * 2 AVX2 with streaming stores, 3 AVX-512 VBMI, 4 VBMI with streaming
 * stores (those use plain stores when out is not 64-byte aligned); NULL
 * when this CPU (or TP_CPU_MASK) lacks it. */
typedef int (*tp_trit_decode_fn)(const uint8_t *src, size_t n_super, const float *s, float *out);
int tp_trit_decode_ref(const uint8_t *src, size_t n_super, const float *s, float *out);
tp_trit_decode_fn tp_trit_decode_variant(int i);
/* The fastest variant for an output of out_bytes (streaming stores from
 * tp_cpu_stream_bytes() on, as tp_lut_for). */
tp_trit_decode_fn tp_trit_decode_for(uint64_t out_bytes);

/* The streaming variants above leave their stores unordered (a fence per
 * call costs much at kq's 1 KiB calls): call this once after the last call
 * of a decode, before the output is handed on. */
void tp_lowbit_fence(void);

/* out[i] = s * (float)q[i] for n values. */
typedef void (*tp_scale_i8_fn)(const int8_t *q, size_t n, float s, float *out);
void tp_scale_i8_ref(const int8_t *q, size_t n, float s, float *out);
tp_scale_i8_fn tp_scale_i8_best(void);

#endif
