/* Attention of one query position over a layer's stored tokens, tile by
 * tile: each page (or run of staged tokens) of one kv head is decoded into
 * a small buffer and folded into a running softmax (the online form of
 * Milakov and Gimelshein 2018, as in FlashAttention), for every query head
 * that reads that kv head. Rotated caches are attended in the rotated
 * space: q is rotated like the keys, and the output rotated back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "runtime/kv_internal.h"
#include "runtime/kv_kernels.h"

typedef struct {
    uint32_t dim, group; /* query heads per kv head */
    float scale;
    const float *q;      /* [group][dim], this kv head's query heads */
    float *m, *l, *acc;  /* running max, sum and weighted values per query head */
    float *scores;       /* [tile tokens] */
    const kv_kernels *kern;
} softmax_state;

static void fold_tile(softmax_state *S, const float *k, const float *v, size_t n)
{
    const uint32_t d = S->dim;
    for (uint32_t g = 0; g < S->group; g++) {
        S->kern->scores(S->q + (size_t)g * d, k, n, d, S->scale, S->scores);
        float tile_max = -INFINITY;
        for (size_t t = 0; t < n; t++) tile_max = fmaxf(tile_max, S->scores[t]);
        float m = fmaxf(S->m[g], tile_max), corr = expf(S->m[g] - m);
        float *acc = S->acc + (size_t)g * d, l = S->l[g] * corr;
        for (uint32_t i = 0; i < d; i++) acc[i] *= corr;
        for (size_t t = 0; t < n; t++) l += (S->scores[t] = expf(S->scores[t] - m));
        S->kern->accumulate(S->scores, v, n, d, acc);
        S->m[g] = m;
        S->l[g] = l;
    }
}

/* Staged tokens [first, first + n) of head h, f16, into tiles. */
static void stage_tile(const tp_kv *kv, const kv_layer *y, uint32_t h, size_t first, size_t n, float *k, float *v)
{
    const size_t row = (size_t)kv->heads * kv->dim;
    for (size_t t = 0; t < n; t++) {
        const uint16_t *sk = kv_staged_keys(kv, y, first + t) + (size_t)h * kv->dim;
        tp_half_to_float_n(k + t * kv->dim, sk, kv->dim);
        tp_half_to_float_n(v + t * kv->dim, sk + (size_t)kv->stage_cap * row, kv->dim);
    }
}

static void attend_head(const tp_kv *kv, const kv_layer *y, uint32_t h, softmax_state *S, float *k, float *v)
{
    const size_t pt = kv->L.page_tokens;
    size_t paged = kv->L.per_token ? (size_t)y->tokens : y->n_pages * pt;
    uint64_t r[2][2];
    for (size_t p = 0; p < y->n_pages; p++) {
        size_t n = paged - p * pt < pt ? paged - p * pt : pt;
        int nr = y->pages[p] ? kv_live_ranges(kv, y, p * pt, n, r) : 0;
        if (nr) kv_get_head(&kv->L, y->pages[p], h, (uint32_t)n, k, v);
        for (int i = 0; i < nr; i++) {
            size_t a = (size_t)(r[i][0] - p * pt);
            fold_tile(S, k + a * kv->dim, v + a * kv->dim, (size_t)(r[i][1] - r[i][0]));
        }
    }
    int nr = kv_live_ranges(kv, y, paged, y->staged, r);
    for (int i = 0; i < nr; i++)
        for (uint64_t s = r[i][0] - paged; s < r[i][1] - paged; s += pt) {
            size_t n = r[i][1] - paged - s < pt ? (size_t)(r[i][1] - paged - s) : pt;
            stage_tile(kv, y, h, (size_t)s, n, k, v);
            fold_tile(S, k, v, n);
        }
}

size_t tp_kv_attend(tp_kv *kv, uint32_t layer, const float *q, uint32_t n_q_heads, float *out)
{
    if (!kv || !q || !out) return tp_fail(TP_ERR_ARG, "NULL KV cache, query or output");
    if (layer >= kv->n_layers) return tp_fail(TP_ERR_ARG, "layer %u of a %u-layer KV cache", layer, kv->n_layers);
    if (!n_q_heads || n_q_heads % kv->heads)
        return tp_fail(TP_ERR_ARG, "%u query heads for %u kv heads (a multiple is needed)", n_q_heads, kv->heads);
    const kv_layer *y = &kv->layers[layer];
    if (!y->tokens) return tp_fail(TP_ERR_ARG, "attention over an empty layer %u", layer);
    double t0 = tp_now_seconds();
    const uint32_t d = kv->dim, group = n_q_heads / kv->heads;
    const kv_kernels *kern = kv_kernels_get();
    const size_t pt = kv->L.page_tokens;
    size_t floats = 2 * pt * d + (size_t)n_q_heads * d + 2u * group + pt;
    float *buf = malloc(floats * sizeof *buf);
    if (!buf) return tp_fail(TP_ERR_NOMEM, "KV attention scratch");
    float *k = buf, *v = k + pt * d, *qr = v + pt * d, *ml = qr + (size_t)n_q_heads * d, *scores = ml + 2u * group;
    memcpy(qr, q, (size_t)n_q_heads * d * sizeof *qr);
    for (uint32_t h = 0; kv->signs && h < n_q_heads; h++) kv_rotate(qr + (size_t)h * d, kv->signs, d);
    for (uint32_t h = 0; h < kv->heads; h++) {
        softmax_state S = {d, group, 1.0f / sqrtf((float)d), qr + (size_t)h * group * d, ml, ml + group,
                           out + (size_t)h * group * d, scores, kern};
        for (uint32_t g = 0; g < group; g++) { S.m[g] = -INFINITY; S.l[g] = 0; }
        memset(S.acc, 0, (size_t)group * d * sizeof *S.acc);
        attend_head(kv, y, h, &S, k, v);
        for (uint32_t g = 0; g < group; g++) {
            float *o = S.acc + (size_t)g * d, inv = 1.0f / S.l[g];
            for (uint32_t i = 0; i < d; i++) o[i] *= inv;
            if (kv->signs) kv_unrotate(o, kv->signs, d);
        }
    }
    free(buf);
    kv->attend_s += tp_now_seconds() - t0;
    return 0;
}
