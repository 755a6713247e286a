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
    uint8_t **pages;
    size_t n_pages, cap_pages;
    uint16_t *stage;
    uint32_t staged, stage_head;
    uint64_t tokens;
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

/* Keys of the s-th oldest staged token of a layer; its values are
 * stage_cap x heads x dim values further. */
static inline uint16_t *kv_staged_keys(const tp_kv *kv, const kv_layer *y, size_t s)
{
    return y->stage + (size_t)((y->stage_head + s) % kv->stage_cap) * kv->heads * kv->dim;
}

#endif
