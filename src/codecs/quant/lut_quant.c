#include "codecs/quant/lut_quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/quant/lut_kernels.h"
#include "core/bitpack.h"

void tp_nearest_build(tp_nearest_table *nt, const float *lut, unsigned bits)
{
    unsigned K = 1u << bits, n = 0;
    float lv[256];
    memset(nt, 0, sizeof *nt);
    nt->bits = bits;
    /* Insertion sort by value, lower code first among equals; duplicates dropped. */
    for (unsigned c = 0; c < K; c++) {
        float v = lut[c];
        unsigned i = 0;
        while (i < n && lv[i] < v) i++;
        if (i < n && lv[i] == v) continue;
        memmove(lv + i + 1, lv + i, (n - i) * sizeof *lv);
        memmove(nt->code + i + 1, nt->code + i, n - i);
        lv[i] = v;
        nt->code[i] = (uint8_t)c;
        n++;
    }
    for (unsigned i = n; i < K; i++) { lv[i] = lv[n - 1]; nt->code[i] = nt->code[n - 1]; }
    for (unsigned i = 0; i + 1 < K; i++) nt->bnd[i] = lv[i] + 0.5f * (lv[i + 1] - lv[i]);
}

size_t tp_lut_quant_payload(const tp_lut_quant *Q, const tp_grouping *G)
{
    return Q->head + (size_t)(G->n_groups * (Q->f32 ? 4 : 2) + tp_packed_bytes(G->numel, Q->bits));
}

static void quant_block(const tp_lut_quant *Q, const float *u, size_t m, uint8_t *q)
{
    if (Q->quant) Q->quant(u, m, q);
    else
        for (size_t j = 0; j < m; j++) q[j] = Q->near->code[tp_nearest_level(Q->near->bnd, Q->bits, u[j])];
}

#define SEARCH_STEPS 21
static float search_ratio(int k) { return 1.0f - 0.025f * (float)k; }

/* Squared error of x[0..n) coded with scale s. */
static double run_sse(const tp_lut_quant *Q, const float *x, uint64_t n, float s)
{
    float inv = s > 0 ? 1.0f / s : 0.0f, u[256];
    uint8_t q[256];
    double e = 0;
    for (uint64_t i = 0; i < n; i += 256) {
        size_t m = n - i < 256 ? (size_t)(n - i) : 256;
        for (size_t j = 0; j < m; j++) u[j] = x[i + j] * inv;
        quant_block(Q, u, m, q);
        for (size_t j = 0; j < m; j++) { float d = x[i + j] - Q->lut[q[j]] * s; e += (double)d * d; }
    }
    return e;
}

float *tp_lut_quant_scales(const tp_lut_quant *Q, const tp_grouping *G, const float *x)
{
    uint64_t ng = G->n_groups ? G->n_groups : 1;
    float *s = calloc(ng, sizeof *s);
    if (!s) return NULL;
    tp_run it = {0};
    while (tp_grouping_next(G, &it)) {
        float m = s[it.gid];
        for (uint64_t i = it.start; i < it.start + it.len; i++) m = fmaxf(m, fabsf(x[i]));
        s[it.gid] = m;
    }
    if (Q->search) {
        double *sse = calloc(ng * SEARCH_STEPS, sizeof *sse);
        if (!sse) { free(s); return NULL; }
        tp_run r = {0};
        while (tp_grouping_next(G, &r))
            for (int k = 0; k < SEARCH_STEPS; k++)
                sse[r.gid * SEARCH_STEPS + k] +=
                    run_sse(Q, x + r.start, r.len, tp_scale_round_up(Q->f32, s[r.gid] * search_ratio(k) / Q->qmax));
        for (uint64_t g = 0; g < G->n_groups; g++) {
            int best = 0;
            for (int k = 1; k < SEARCH_STEPS; k++)
                if (sse[g * SEARCH_STEPS + k] < sse[g * SEARCH_STEPS + best]) best = k;
            s[g] *= search_ratio(best);
        }
        free(sse);
    }
    for (uint64_t g = 0; g < G->n_groups; g++) s[g] = tp_scale_round_up(Q->f32, s[g] / Q->qmax);
    return s;
}

size_t tp_lut_quant_encode(const tp_lut_quant *Q, const tp_grouping *G, const float *x, uint8_t *dst)
{
    TP_TRY(tp_check_finite(Q->name, x, G->numel));
    float *s = tp_lut_quant_scales(Q, G, x);
    if (!s) return tp_fail(TP_ERR_NOMEM, "%s: scale table", Q->name);
    uint8_t *scales = dst + Q->head, *codes = scales + G->n_groups * (Q->f32 ? 4 : 2);
    for (uint64_t g = 0; g < G->n_groups; g++) {
        if (!isfinite(s[g])) {
            free(s);
            return tp_fail(TP_ERR_PARAM, "%s: group %llu scale overflows f16; use scale=f32", Q->name,
                           (unsigned long long)g);
        }
        tp_scale_put(Q->f32, scales, g, s[g]);
    }
    memset(codes, 0, (size_t)tp_packed_bytes(G->numel, Q->bits));
    float u[256];
    uint8_t q[256];
    tp_run it = {0};
    while (tp_grouping_next(G, &it)) {
        float inv = s[it.gid] > 0 ? 1.0f / s[it.gid] : 0.0f;
        for (uint64_t i = 0; i < it.len; i += 256) {
            size_t m = it.len - i < 256 ? (size_t)(it.len - i) : 256;
            const float *xi = x + it.start + i;
            for (size_t j = 0; j < m; j++) u[j] = xi[j] * inv;
            quant_block(Q, u, m, q);
            tp_codes_put(codes, it.start + i, q, m, Q->bits);
        }
    }
    free(s);
    return tp_lut_quant_payload(Q, G);
}

size_t tp_lut_quant_decode(const tp_lut_quant *Q, const tp_grouping *G, const uint8_t *src, size_t n, float *out)
{
    size_t want = tp_lut_quant_payload(Q, G);
    if (n != want) return tp_fail(TP_ERR_CORRUPT, "%s payload is %zu bytes, expected %zu", Q->name, n, want);
    const uint8_t *scales = src + Q->head, *codes = scales + G->n_groups * (Q->f32 ? 4 : 2);
    TP_TRY(tp_lut_decode_stored(Q->kernel ? Q->kernel : tp_lut_for(G->numel * sizeof(float)), G, codes, Q->bits,
                                Q->lut, Q->f32, scales, out));
    return (size_t)G->numel * sizeof(float);
}
