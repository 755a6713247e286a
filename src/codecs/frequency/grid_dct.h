/* Shape-adaptive orthonormal DCT-II on an H x W grid of cells, each cell a
 * vector of C floats (cell t = h*W + w at offset t*C), for tokdct.
 *
 * Only the kept cells take part. Row h's kept cells (ascending w), r_h of
 * them, get a 1-D DCT of length r_h, coefficient v going to column v; then
 * column v, the rows with r_h > v (ascending h), c_v of them, gets a 1-D
 * DCT of length c_v, coefficient u going to cell u*W + v. So the k kept
 * cells give exactly k coefficients, in the cells (u, v) with u < c_v, and
 * with every cell kept this is the plain separable 2-D DCT. */
#ifndef TP_CODECS_GRID_DCT_H
#define TP_CODECS_GRID_DCT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t H, W, C;
    uint32_t *r;     /* r_h: kept cells of row h (after tp_grid_dct_shape) */
    uint32_t *c;     /* c_v: rows holding a coefficient v                 */
    uint64_t maxr;   /* largest r_h: the columns that hold coefficients   */
    /* scratch */
    double *cosv;    /* cos(pi j / 2n), j < 4n, for the length n cached  */
    uint64_t cos_n;
    double amp0, amp1; /* sqrt(1/n), sqrt(2/n)                           */
    const float **in;
    float **out;
    float *tmp;      /* H*W*C */
} tp_grid_dct;

/* Allocates the work buffers; 0 or TP_ERR_NOMEM. */
size_t tp_grid_dct_init(tp_grid_dct *g, uint64_t H, uint64_t W, uint64_t C);
void tp_grid_dct_free(tp_grid_dct *g);
/* Sets r, c and maxr from keep[H*W] (non-zero = kept). */
void tp_grid_dct_shape(tp_grid_dct *g, const uint8_t *keep);
/* Forward: x (H*W*C) -> y (H*W*C); writes only the coefficient cells.
 * Inverse: y -> x; writes only the kept cells. Both use the shape set by
 * the last tp_grid_dct_shape. */
void tp_grid_dct_fwd(tp_grid_dct *g, const uint8_t *keep, const float *x, float *y);
void tp_grid_dct_inv(tp_grid_dct *g, const uint8_t *keep, const float *y, float *x);

#endif
