#include "codecs/quant/groups.h"

#include <math.h>
#include <string.h>

#include "core/bitpack.h"
#include "core/half.h"

size_t tp_grouping_validate(const char *codec, int group, int axis)
{
    if (group > 0 && axis >= 0)
        return tp_fail(TP_ERR_PARAM, "%s: give group= or axis=, not both", codec);
    return 0;
}

size_t tp_grouping_init(tp_grouping *G, const char *codec, const tp_tensor *t, uint64_t group, int axis)
{
    memset(G, 0, sizeof *G);
    TP_TRY(tp_tensor_numel(t, &G->numel));
    if (group > 0) {
        G->mode = TP_GROUPING_GROUP;
        G->row_len = t->ndim ? t->shape[t->ndim - 1] : 1;
        G->group = group;
        G->groups_per_row = (G->row_len + group - 1) / group;
        G->n_groups = G->row_len ? G->numel / G->row_len * G->groups_per_row : 0;
    } else if (axis >= 0) {
        if ((uint32_t)axis >= t->ndim)
            return tp_fail(TP_ERR_PARAM, "%s: axis=%d but the tensor has %u dimensions", codec, axis, t->ndim);
        G->mode = TP_GROUPING_CHANNEL;
        G->channels = t->shape[axis];
        G->inner = 1;
        for (uint32_t i = (uint32_t)axis + 1; i < t->ndim; i++) G->inner *= t->shape[i];
        G->n_groups = G->channels;
    } else {
        G->mode = TP_GROUPING_TENSOR;
        G->n_groups = 1;
    }
    return 0;
}

int tp_grouping_next(const tp_grouping *G, tp_run *it)
{
    uint64_t k = it->k++;
    if (G->mode == TP_GROUPING_TENSOR) {
        it->start = 0; it->len = G->numel; it->gid = 0;
        return k == 0 && G->numel > 0;
    }
    if (G->mode == TP_GROUPING_GROUP) {
        if (k >= G->n_groups) return 0;
        uint64_t col = (k % G->groups_per_row) * G->group;
        it->start = k / G->groups_per_row * G->row_len + col;
        it->len = G->row_len - col < G->group ? G->row_len - col : G->group;
        it->gid = k;
        return 1;
    }
    if (!G->inner || k >= G->numel / G->inner) return 0;
    it->start = k * G->inner; it->len = G->inner; it->gid = k % G->channels;
    return 1;
}

uint64_t tp_grouping_count(const tp_grouping *G, uint64_t gid)
{
    if (G->mode == TP_GROUPING_TENSOR) return G->numel;
    if (G->mode == TP_GROUPING_GROUP) {
        uint64_t col = (gid % G->groups_per_row) * G->group;
        return G->row_len - col < G->group ? G->row_len - col : G->group;
    }
    return G->channels ? G->numel / G->channels : 0;
}

uint64_t tp_grouping_gid(const tp_grouping *G, uint64_t i)
{
    if (G->mode == TP_GROUPING_TENSOR) return 0;
    if (G->mode == TP_GROUPING_GROUP) return i / G->row_len * G->groups_per_row + i % G->row_len / G->group;
    return i / G->inner % G->channels;
}

uint64_t tp_grouping_gather(const tp_grouping *G, const float *x, uint64_t gid, float *buf)
{
    if (G->mode != TP_GROUPING_CHANNEL) {
        tp_run it = {0, 0, 0, gid};
        if (!tp_grouping_next(G, &it)) return 0;
        memcpy(buf, x + it.start, it.len * sizeof *x);
        return it.len;
    }
    uint64_t n = 0, outer = G->inner ? G->numel / G->inner / G->channels : 0;
    for (uint64_t o = 0; o < outer; o++, n += G->inner)
        memcpy(buf + n, x + (o * G->channels + gid) * G->inner, G->inner * sizeof *x);
    return n;
}

uint64_t tp_grouping_gather_cols(const tp_grouping *G, const float *col_weight, uint64_t cols, uint64_t gid,
                                 float *buf)
{
    uint64_t n = 0;
    if (G->mode != TP_GROUPING_CHANNEL) {
        tp_run it = {0, 0, 0, gid};
        if (!tp_grouping_next(G, &it)) return 0;
        for (uint64_t i = it.start; i < it.start + it.len; i++) buf[n++] = col_weight[i % cols];
        return n;
    }
    uint64_t outer = G->inner ? G->numel / G->inner / G->channels : 0;
    for (uint64_t o = 0; o < outer; o++)
        for (uint64_t i = (o * G->channels + gid) * G->inner, e = i + G->inner; i < e; i++)
            buf[n++] = col_weight[i % cols];
    return n;
}

float tp_scale_round(int f32, float v) { return f32 ? v : tp_half_to_float(tp_half_from_float(v)); }

float tp_scale_round_up(int f32, float v)
{
    if (f32) return v;
    uint16_t h = tp_half_from_float(v);
    if (tp_half_to_float(h) < v) h++; /* v >= 0: the next code is the next larger value */
    return tp_half_to_float(h);
}

void tp_scale_put(int f32, uint8_t *base, uint64_t i, float v)
{
    if (f32) memcpy(base + 4 * i, &v, 4);
    else { uint16_t h = tp_half_from_float(v); memcpy(base + 2 * i, &h, 2); }
}

float tp_scale_get(int f32, const uint8_t *base, uint64_t i)
{
    if (f32) { float v; memcpy(&v, base + 4 * i, 4); return v; }
    uint16_t h;
    memcpy(&h, base + 2 * i, 2);
    return tp_half_to_float(h);
}

void tp_scales_get_n(int f32, const uint8_t *base, uint64_t n, float *out)
{
    if (f32) { memcpy(out, base, (size_t)n * 4); return; }
    uint16_t h[1024];
    for (uint64_t i = 0; i < n; i += 1024) {
        size_t m = n - i < 1024 ? (size_t)(n - i) : 1024;
        memcpy(h, base + 2 * i, m * 2);
        tp_half_to_float_n(out + i, h, m);
    }
}

size_t tp_check_finite(const char *codec, const float *x, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "%s: value %llu is %s; use a lossless codec for such tensors", codec,
                           (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    return 0;
}

void tp_codes_put(uint8_t *stream, uint64_t k0, const uint8_t *q, size_t m, unsigned bits)
{
    size_t j = 0;
    if (k0 % 8 == 0) {
        size_t m8 = m & ~(size_t)7;
        tp_pack8(stream + k0 / 8 * bits, q, m8, bits);
        j = m8;
    }
    for (; j < m; j++) tp_bits_or(stream, k0 + j, bits, q[j]);
}
