/* The KV cache's state, shared by kv.c (memory, append, read) and
 * kv_attend.c (attention from the stored form). */
#ifndef TP_RUNTIME_KV_INTERNAL_H
#define TP_RUNTIME_KV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/half.h"
#include "runtime/kv_page.h"
#include "runtime/kv_rotate.h"
#include "tpress.h"

/* One layer: pages in token order, then (kivi) the staged tokens in f16,
 * a ring of stage_cap slots of [heads][dim], keys followed by values; the
 * oldest staged token is in slot stage_head. A per-token method's last
 * page may be partly filled. */
typedef struct {
    uint8_t **pages;        /* NULL where eviction freed the page        */
    size_t n_pages, cap_pages;
    size_t dead_end;        /* evict: pages before it and from the first
                               wholly evictable one on are freed          */
    uint16_t *stage;
    uint32_t staged, stage_head;
    uint64_t tokens;        /* appended, evicted ones included           */
} kv_layer;

struct tp_kv {
    tp_kv_allocator a;
    uint64_t bytes, budget;
    uint32_t n_layers, heads, dim;
    tp_dtype dtype;
    kv_layout L;
    uint32_t stage_cap;   /* kivi: residual + group tokens; else 0       */
    float *signs;         /* rotate: the rotation's signs; else NULL     */
    kv_layer *layers;
    uint64_t appended;
    double append_s, read_s, attend_s;
};

void *kv_alloc(tp_kv *kv, size_t n);
void kv_release(tp_kv *kv, void *p, size_t n);
size_t kv_stage_bytes(const tp_kv *kv);

/* Tokens [start, start + n) of a layer that are held, as at most two
 * ranges r[i][0] <= index < r[i][1] (absolute token indices): all of them
 * without eviction, else those before sink or in the last window. */
static inline int kv_live_ranges(const tp_kv *kv, const kv_layer *y, uint64_t start, uint64_t n, uint64_t r[2][2])
{
    uint64_t end = start + n;
    if (!kv->L.m.evict || y->tokens <= (uint64_t)kv->L.m.sink + kv->L.m.window) {
        r[0][0] = start, r[0][1] = end;
        return n > 0;
    }
    uint64_t recent = y->tokens - kv->L.m.window, sink = kv->L.m.sink;
    int k = 0;
    if (start < sink) r[k][0] = start, r[k][1] = end < sink ? end : sink, k++;
    uint64_t a = start > recent ? start : recent;
    if (a < end) r[k][0] = a, r[k][1] = end, k++;
    return k;
}

/* Tokens a layer holds. */
static inline uint64_t kv_live_count(const tp_kv *kv, const kv_layer *y)
{
    uint64_t keep = (uint64_t)kv->L.m.sink + kv->L.m.window;
    return kv->L.m.evict && y->tokens > keep ? keep : y->tokens;
}

/* Keys of the s-th oldest staged token of a layer; its values are
 * stage_cap x heads x dim values further. */
static inline uint16_t *kv_staged_keys(const tp_kv *kv, const kv_layer *y, size_t s)
{
    return y->stage + (size_t)((y->stage_head + s) % kv->stage_cap) * kv->heads * kv->dim;
}

#endif
