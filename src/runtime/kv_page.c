#include "runtime/kv_page.h"

#include <math.h>
#include <string.h>

#include "core/bytes.h"
#include "core/half.h"

#define BLOCK 32 /* values per q8_0 / q4_0 block, as llama.cpp's */

static size_t token_bytes(kv_kind kind, uint32_t dim)
{
    switch (kind) {
    case KV_F16: return 2u * dim;
    case KV_Q8_0: return dim / BLOCK * (2 + BLOCK);
    case KV_Q4_0: return dim / BLOCK * (2 + BLOCK / 2);
    default: return 0;
    }
}

void kv_layout_init(kv_layout *L, const kv_method *m, uint32_t heads, uint32_t dim)
{
    memset(L, 0, sizeof *L);
    L->m = *m;
    L->heads = heads;
    L->dim = dim;
    L->per_token = m->kind != KV_KIVI;
    if (L->per_token) {
        L->page_tokens = BLOCK;
        L->k_bytes = L->v_bytes = BLOCK * token_bytes(m->kind, dim);
    } else {
        uint32_t g = m->group, b = m->bits;
        L->page_tokens = g;
        L->vgroup = g < dim ? g : dim;
        L->k_bytes = 4u * dim + (size_t)dim * g * b / 8;                  /* scale+min per channel */
        L->v_bytes = (size_t)g * (4u * (dim / L->vgroup) + (size_t)dim * b / 8); /* per token */
    }
    L->page_bytes = (size_t)heads * (L->k_bytes + L->v_bytes);
}

/* ---- q8_0 / q4_0: one token's dim values, blocks of 32 ----------------- */

static void put_q8(const float *x, uint32_t dim, uint8_t *q)
{
    for (uint32_t b = 0; b < dim; b += BLOCK, q += 2 + BLOCK) {
        float amax = 0;
        for (int i = 0; i < BLOCK; i++) amax = fmaxf(amax, fabsf(x[b + i]));
        uint16_t dh = tp_half_from_float(amax / 127.0f);
        float d = tp_half_to_float(dh), inv = d > 0 ? 1.0f / d : 0;
        tp_put_u16(q, dh);
        for (int i = 0; i < BLOCK; i++) {
            float r = roundf(x[b + i] * inv);
            q[2 + i] = (uint8_t)(int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
        }
    }
}

static void get_q8(const uint8_t *q, uint32_t dim, float *x)
{
    for (uint32_t b = 0; b < dim; b += BLOCK, q += 2 + BLOCK) {
        float d = tp_half_to_float(tp_get_u16(q));
        for (int i = 0; i < BLOCK; i++) x[b + i] = d * (float)(int8_t)q[2 + i];
    }
}

/* The signed value of largest magnitude sets d = max / -8, so it maps to
 * code 0 exactly and the other side gets codes up to 15 (llama.cpp's q4_0
 * layout: element i in the low nibble of byte i, element i+16 high). */
static void put_q4(const float *x, uint32_t dim, uint8_t *q)
{
    for (uint32_t b = 0; b < dim; b += BLOCK, q += 2 + BLOCK / 2) {
        float amax = 0, max = 0;
        for (int i = 0; i < BLOCK; i++)
            if (fabsf(x[b + i]) > amax) { amax = fabsf(x[b + i]); max = x[b + i]; }
        uint16_t dh = tp_half_from_float(max / -8.0f);
        float d = tp_half_to_float(dh), inv = d != 0 ? 1.0f / d : 0;
        tp_put_u16(q, dh);
        for (int i = 0; i < BLOCK / 2; i++) {
            float lo = roundf(x[b + i] * inv + 8), hi = roundf(x[b + i + BLOCK / 2] * inv + 8);
            unsigned a = lo < 0 ? 0 : lo > 15 ? 15 : (unsigned)lo, c = hi < 0 ? 0 : hi > 15 ? 15 : (unsigned)hi;
            q[2 + i] = (uint8_t)(a | c << 4);
        }
    }
}

static void get_q4(const uint8_t *q, uint32_t dim, float *x)
{
    for (uint32_t b = 0; b < dim; b += BLOCK, q += 2 + BLOCK / 2) {
        float d = tp_half_to_float(tp_get_u16(q));
        for (int i = 0; i < BLOCK / 2; i++) {
            x[b + i] = d * (float)((q[2 + i] & 15) - 8);
            x[b + i + BLOCK / 2] = d * (float)((q[2 + i] >> 4) - 8);
        }
    }
}

static void put_row(kv_kind kind, const float *x, uint32_t dim, uint8_t *q)
{
    if (kind == KV_F16) for (uint32_t i = 0; i < dim; i++) tp_put_u16(q + 2 * i, tp_half_from_float(x[i]));
    else if (kind == KV_Q8_0) put_q8(x, dim, q);
    else put_q4(x, dim, q);
}

static void get_row(kv_kind kind, const uint8_t *q, uint32_t dim, float *x)
{
    if (kind == KV_F16) for (uint32_t i = 0; i < dim; i++) x[i] = tp_half_to_float(tp_get_u16(q + 2 * i));
    else if (kind == KV_Q8_0) get_q8(q, dim, x);
    else get_q4(q, dim, x);
}

void kv_put_token(const kv_layout *L, uint8_t *page, uint32_t slot, const float *k, const float *v)
{
    size_t tb = token_bytes(L->m.kind, L->dim);
    for (uint32_t h = 0; h < L->heads; h++) {
        uint8_t *base = page + h * (L->k_bytes + L->v_bytes);
        put_row(L->m.kind, k + (size_t)h * L->dim, L->dim, base + slot * tb);
        put_row(L->m.kind, v + (size_t)h * L->dim, L->dim, base + L->k_bytes + slot * tb);
    }
}

/* ---- kivi: asymmetric codes with f16 scale and minimum ----------------- */

/* Scale and minimum of n values (stride apart) as stored, f16-rounded. */
static void minmax_params(const float *x, size_t n, size_t stride, unsigned bits, uint8_t *sm, float *scale, float *lo)
{
    float mn = x[0], mx = x[0];
    for (size_t i = 1; i < n; i++) {
        float v = x[i * stride];
        mn = fminf(mn, v);
        mx = fmaxf(mx, v);
    }
    uint16_t lh = tp_half_from_float(mn);
    *lo = tp_half_to_float(lh);
    uint16_t sh = tp_half_from_float((mx - *lo) / (float)((1u << bits) - 1));
    *scale = tp_half_to_float(sh);
    tp_put_u16(sm, sh);
    tp_put_u16(sm + 2, lh);
}

static void put_code(uint8_t *codes, size_t i, unsigned bits, unsigned c)
{
    size_t bit = i * bits;
    codes[bit / 8] |= (uint8_t)(c << (bit % 8));
}

static unsigned get_code(const uint8_t *codes, size_t i, unsigned bits)
{
    size_t bit = i * bits;
    return (codes[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
}

static unsigned quantize(float x, float scale, float lo, unsigned qmax)
{
    float r = scale > 0 ? roundf((x - lo) / scale) : 0;
    return r < 0 ? 0 : r > (float)qmax ? qmax : (unsigned)r;
}

void kv_put_page(const kv_layout *L, uint8_t *page, const float *k, const float *v)
{
    const uint32_t g = L->page_tokens, dim = L->dim, bits = L->m.bits, qmax = (1u << bits) - 1;
    const size_t row = (size_t)L->heads * dim; /* stride between tokens */
    memset(page, 0, L->page_bytes);
    for (uint32_t h = 0; h < L->heads; h++) {
        uint8_t *kp = page + h * (L->k_bytes + L->v_bytes), *vp = kp + L->k_bytes;
        uint8_t *kcodes = kp + 4u * dim;
        for (uint32_t c = 0; c < dim; c++) {
            const float *x = k + (size_t)h * dim + c;
            float s, lo;
            minmax_params(x, g, row, bits, kp + 4u * c, &s, &lo);
            for (uint32_t t = 0; t < g; t++) put_code(kcodes, (size_t)c * g + t, bits, quantize(x[t * row], s, lo, qmax));
        }
        const uint32_t ng = dim / L->vgroup;
        const size_t vtok = 4u * ng + (size_t)dim * bits / 8;
        for (uint32_t t = 0; t < g; t++) {
            const float *x = v + t * row + (size_t)h * dim;
            uint8_t *tok = vp + t * vtok, *codes = tok + 4u * ng;
            for (uint32_t j = 0; j < ng; j++) {
                float s, lo;
                const float *xg = x + j * L->vgroup;
                minmax_params(xg, L->vgroup, 1, bits, tok + 4u * j, &s, &lo);
                for (uint32_t i = 0; i < L->vgroup; i++)
                    put_code(codes, j * L->vgroup + i, bits, quantize(xg[i], s, lo, qmax));
            }
        }
    }
}

static void get_kivi_head(const kv_layout *L, const uint8_t *hp, uint32_t n, float *k, float *v)
{
    const uint32_t g = L->page_tokens, dim = L->dim, bits = L->m.bits;
    const uint8_t *kcodes = hp + 4u * dim;
    for (uint32_t c = 0; c < dim; c++) {
        float s = tp_half_to_float(tp_get_u16(hp + 4u * c)), lo = tp_half_to_float(tp_get_u16(hp + 4u * c + 2));
        for (uint32_t t = 0; t < n; t++) k[(size_t)t * dim + c] = lo + s * (float)get_code(kcodes, (size_t)c * g + t, bits);
    }
    const uint8_t *vp = hp + L->k_bytes;
    const uint32_t ng = dim / L->vgroup;
    const size_t vtok = 4u * ng + (size_t)dim * bits / 8;
    for (uint32_t t = 0; t < n; t++) {
        const uint8_t *tok = vp + t * vtok, *codes = tok + 4u * ng;
        for (uint32_t j = 0; j < ng; j++) {
            float s = tp_half_to_float(tp_get_u16(tok + 4u * j)), lo = tp_half_to_float(tp_get_u16(tok + 4u * j + 2));
            for (uint32_t i = 0; i < L->vgroup; i++)
                v[(size_t)t * dim + j * L->vgroup + i] = lo + s * (float)get_code(codes, j * L->vgroup + i, bits);
        }
    }
}

void kv_get_head(const kv_layout *L, const uint8_t *page, uint32_t head, uint32_t n, float *k, float *v)
{
    const uint8_t *hp = page + head * (L->k_bytes + L->v_bytes);
    if (!L->per_token) {
        get_kivi_head(L, hp, n, k, v);
        return;
    }
    size_t tb = token_bytes(L->m.kind, L->dim);
    for (uint32_t t = 0; t < n; t++) {
        get_row(L->m.kind, hp + t * tb, L->dim, k + (size_t)t * L->dim);
        get_row(L->m.kind, hp + L->k_bytes + t * tb, L->dim, v + (size_t)t * L->dim);
    }
}
