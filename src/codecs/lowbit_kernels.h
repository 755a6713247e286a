/* Decode kernels of the kq and ternary codecs. Each has a portable scalar
 * reference and an AVX2 version chosen at run time (honouring TP_CPU_MASK);
 * the tests compare them bit for bit. */
#ifndef TP_CODECS_LOWBIT_KERNELS_H
#define TP_CODECS_LOWBIT_KERNELS_H

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
tp_kq_dequant_fn tp_kq_dequant_best(void);

/* ternary: unpacks n bytes of 5 base-3 digits each (t0 + 3 t1 + 9 t2 + 27 t3
 * + 81 t4, digit t means the value t - 1) into 5n int8 values in -1..1.
 * dst must hold 5n + 3 bytes (the fast version writes 8 bytes per input
 * byte). Returns 0, or -1 when a byte is above 242 (not a valid packing). */
typedef int (*tp_trit_unpack_fn)(const uint8_t *src, size_t n, int8_t *dst);
int tp_trit_unpack_ref(const uint8_t *src, size_t n, int8_t *dst);
tp_trit_unpack_fn tp_trit_unpack_best(void);

/* out[i] = s * (float)q[i] for n values. */
typedef void (*tp_scale_i8_fn)(const int8_t *q, size_t n, float s, float *out);
void tp_scale_i8_ref(const int8_t *q, size_t n, float s, float *out);
tp_scale_i8_fn tp_scale_i8_best(void);

#endif
