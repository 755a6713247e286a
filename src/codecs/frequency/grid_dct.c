/* Shape-adaptive grid DCT (grid_dct.h). */
#include "codecs/frequency/grid_dct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

size_t tp_grid_dct_init(tp_grid_dct *g, uint64_t H, uint64_t W, uint64_t C)
{
    memset(g, 0, sizeof *g);
    g->H = H, g->W = W, g->C = C;
    uint64_t n = H > W ? H : W;
    g->r = malloc((size_t)H * sizeof *g->r + 1);
    g->c = malloc((size_t)W * sizeof *g->c + 1);
    g->cosv = malloc((size_t)(4 * n) * sizeof *g->cosv + 1);
    g->in = malloc((size_t)n * sizeof *g->in + 1);
    g->out = malloc((size_t)n * sizeof *g->out + 1);
    g->tmp = malloc((size_t)(H * W * C) * sizeof *g->tmp + 1);
    if (!g->r || !g->c || !g->cosv || !g->in || !g->out || !g->tmp) {
        tp_grid_dct_free(g);
        return tp_fail(TP_ERR_NOMEM, "grid DCT work buffers");
    }
    return 0;
}

void tp_grid_dct_free(tp_grid_dct *g)
{
    free(g->r); free(g->c); free(g->cosv); free(g->in); free(g->out); free(g->tmp);
    memset(g, 0, sizeof *g);
}

void tp_grid_dct_shape(tp_grid_dct *g, const uint8_t *keep)
{
    memset(g->c, 0, (size_t)g->W * sizeof *g->c);
    g->maxr = 0;
    for (uint64_t h = 0; h < g->H; h++) {
        uint32_t n = 0;
        for (uint64_t w = 0; w < g->W; w++) n += keep[h * g->W + w] != 0;
        g->r[h] = n;
        for (uint32_t v = 0; v < n; v++) g->c[v]++;
        if (n > g->maxr) g->maxr = n;
    }
}

/* A table of 4n cosines gives every basis value of length n, so the
 * memory stays linear in the grid side. */
static void set_length(tp_grid_dct *g, uint64_t n)
{
    if (g->cos_n == n) return;
    for (uint64_t j = 0; j < 4 * n; j++) g->cosv[j] = cos(M_PI * (double)j / (2.0 * (double)n));
    g->cos_n = n;
    g->amp0 = sqrt(1.0 / (double)n);
    g->amp1 = sqrt(2.0 / (double)n);
}

/* Basis function v of length n at sample j. */
static float basis(const tp_grid_dct *g, uint64_t n, uint64_t v, uint64_t j)
{
    return (float)((v ? g->amp1 : g->amp0) * g->cosv[(2 * j + 1) * v % (4 * n)]);
}

/* out[a] = sum_b M(a, b) in[b] over vectors of C floats, M the length-n
 * DCT matrix (forward) or its transpose (inverse). */
static void dct1(tp_grid_dct *g, uint64_t n, int inverse)
{
    if (!n) return;
    set_length(g, n);
    uint64_t C = g->C;
    for (uint64_t a = 0; a < n; a++) {
        float *o = g->out[a];
        memset(o, 0, (size_t)C * sizeof(float));
        for (uint64_t b = 0; b < n; b++) {
            float m = inverse ? basis(g, n, b, a) : basis(g, n, a, b);
            const float *in = g->in[b];
            for (uint64_t ch = 0; ch < C; ch++) o[ch] += m * in[ch];
        }
    }
}

void tp_grid_dct_fwd(tp_grid_dct *g, const uint8_t *keep, const float *x, float *y)
{
    uint64_t W = g->W, C = g->C;
    for (uint64_t h = 0; h < g->H; h++) {
        uint64_t n = 0;
        for (uint64_t w = 0; w < W; w++)
            if (keep[h * W + w]) {
                g->in[n] = x + (h * W + w) * C;
                g->out[n] = g->tmp + (h * W + n) * C;
                n++;
            }
        dct1(g, n, 0);
    }
    for (uint64_t v = 0; v < g->maxr; v++) {
        uint64_t n = 0;
        for (uint64_t h = 0; h < g->H; h++)
            if (g->r[h] > v) {
                g->in[n] = g->tmp + (h * W + v) * C;
                g->out[n] = y + (n * W + v) * C;
                n++;
            }
        dct1(g, n, 0);
    }
}

void tp_grid_dct_inv(tp_grid_dct *g, const uint8_t *keep, const float *y, float *x)
{
    uint64_t W = g->W, C = g->C;
    for (uint64_t v = 0; v < g->maxr; v++) {
        uint64_t n = 0;
        for (uint64_t h = 0; h < g->H; h++)
            if (g->r[h] > v) {
                g->in[n] = y + (n * W + v) * C;
                g->out[n] = g->tmp + (h * W + v) * C;
                n++;
            }
        dct1(g, n, 1);
    }
    for (uint64_t h = 0; h < g->H; h++) {
        uint64_t n = 0;
        for (uint64_t w = 0; w < W; w++)
            if (keep[h * W + w]) {
                g->in[n] = g->tmp + (h * W + n) * C;
                g->out[n] = x + (h * W + w) * C;
                n++;
            }
        dct1(g, n, 1);
    }
}
