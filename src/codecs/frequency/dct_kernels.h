/* Orthonormal DCT-II kernels on B x B blocks (2 <= B <= TP_DCT_MAX_B),
 * separable, with precomputed cosines. A scalar reference and an AVX2+FMA
 * version (eight blocks at a time, one block per vector lane) chosen at run
 * time through tp_cpu_features(); tests compare them.
 *
 * A strip is B rows of a plane (row stride `stride` floats) holding
 * nblocks blocks side by side. Coefficients of block k are stored at
 * coef[k*B*B + u*B + v], u the vertical and v the horizontal frequency:
 *   X[u][v] = a(u) a(v) sum_ij x[i][j] cos(pi(2i+1)u/2B) cos(pi(2j+1)v/2B),
 *   a(0) = sqrt(1/B), a(k>0) = sqrt(2/B). */
#ifndef TP_CODECS_DCT_KERNELS_H
#define TP_CODECS_DCT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define TP_DCT_MAX_B 32

/* Cosine matrix C[u*B + i] for size B (cached, thread-safe after first
 * use of each size; B must be in 2..TP_DCT_MAX_B). */
const float *tp_dct_matrix(int B);

typedef void (*tp_dct_strip_fn)(const float *strip, size_t stride, float *coef, int B, size_t nblocks);

/* Forward: strip -> coef. Inverse: coef -> strip. */
void tp_dct_fwd_scalar(const float *strip, size_t stride, float *coef, int B, size_t nblocks);
void tp_dct_inv_scalar(float *strip, size_t stride, const float *coef, int B, size_t nblocks);
/* Best available versions for this CPU. */
void tp_dct_fwd(const float *strip, size_t stride, float *coef, int B, size_t nblocks);
void tp_dct_inv(float *strip, size_t stride, const float *coef, int B, size_t nblocks);

/* Quantization of one block of n = B*B coefficients y (natural order) into
 * levels in scan order: lq[i] = sign(c) * (int)min(|c| * inv[i] + r, 32767)
 * with c = y[scan[i]], r = round_dc for i = 0 and round_ac otherwise; inv
 * is given in scan order. Bit i of mask (64-bit words, ceil(n/64) of them)
 * is set when i >= 1 and lq[i] != 0. Scalar reference and AVX2 version
 * (gathers eight coefficients at a time), same results. */
void tp_dct_quant_scan_scalar(const float *y, const int32_t *scan, const float *inv, float round_dc, float round_ac,
                              int n, int32_t *lq, uint64_t *mask);
void tp_dct_quant_scan(const float *y, const int32_t *scan, const float *inv, float round_dc, float round_ac, int n,
                       int32_t *lq, uint64_t *mask);

/* Forward DCT and quantization fused: for block k of the strip, levels in
 * scan order at lq + k*B*B and its non-zero mask at mask + k*W, W =
 * TP_DCT_MASK_WORDS(B), exactly as tp_dct_fwd followed by
 * tp_dct_quant_scan on each block (the AVX2 version quantizes the eight
 * blocks' coefficients while they are in registers, then transposes the
 * levels into per-block scan order: no gathers, no coefficient stores). */
#define TP_DCT_MASK_WORDS(B) (((B) * (B) + 63) / 64)
void tp_dct_fwd_quant_scalar(const float *strip, size_t stride, int B, size_t nblocks, const int32_t *scan, const float *inv,
                             float round_dc, float round_ac, int32_t *lq, uint64_t *mask);
void tp_dct_fwd_quant(const float *strip, size_t stride, int B, size_t nblocks, const int32_t *scan, const float *inv,
                      float round_dc, float round_ac, int32_t *lq, uint64_t *mask);

/* o[i] = x[i] * scale + mid rounded half up and clamped to 0..255 (as
 * (int)clamp(x * scale + mid + 0.5, 0, 255)); scalar reference and AVX2
 * (32 values per step), same results. */
void tp_dct_store_u8_scalar(const float *x, size_t n, float scale, float mid, uint8_t *o);
void tp_dct_store_u8(const float *x, size_t n, float scale, float mid, uint8_t *o);

#endif
