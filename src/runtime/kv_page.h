/* The stored form of KV-cache tokens: pages of a fixed number of tokens,
 * one method's layout (docs/KV.md). A page holds, per kv head, the keys'
 * part then the values' part. Per-token methods (f16, q8_0, q4_0) write a
 * token at a time into a page's next slot; kivi quantizes a whole page at
 * once (keys per channel across its tokens). */
#ifndef TP_RUNTIME_KV_PAGE_H
#define TP_RUNTIME_KV_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/kv_method.h"

typedef struct {
    kv_method m;
    uint32_t heads, dim;
    uint32_t page_tokens;
    uint32_t vgroup;      /* kivi: channels per value group              */
    size_t k_bytes;       /* one head's keys in a page                   */
    size_t v_bytes;       /* one head's values in a page                 */
    size_t page_bytes;
    int per_token;
} kv_layout;

void kv_layout_init(kv_layout *L, const kv_method *m, uint32_t heads, uint32_t dim);

/* Per-token methods: token slot of page from k and v ([heads][dim] f32). */
void kv_put_token(const kv_layout *L, uint8_t *page, uint32_t slot, const float *k, const float *v);
/* kivi: a whole page from k and v ([page_tokens][heads][dim] f32). */
void kv_put_page(const kv_layout *L, uint8_t *page, const float *k, const float *v);
/* Tokens 0..n-1 of one head of a page into k and v ([n][dim] f32). */
void kv_get_head(const kv_layout *L, const uint8_t *page, uint32_t head, uint32_t n, float *k, float *v);

#endif
