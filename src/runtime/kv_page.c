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
        for (int i = 0; i < BLOCK; i++) {
            float a = fabsf(x[b + i]);
            amax = a > amax ? a : amax;
        }
        uint16_t dh = tp_half_from_float(amax / 127.0f);
        float d = tp_half_to_float(dh), inv = d > 0 ? 1.0f / d : 0;
        tp_put_u16(q, dh);
        for (int i = 0; i < BLOCK; i++) {
            float r = x[b + i] * inv;
            r = r > 127 ? 127 : r < -127 ? -127 : r;
            q[2 + i] = (uint8_t)(int8_t)(r < 0 ? r - 0.5f : r + 0.5f); /* rounded half away from zero */
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
            float lo = x[b + i] * inv + 8, hi = x[b + i + BLOCK / 2] * inv + 8;
            lo = lo < 0 ? 0 : lo > 15 ? 15 : lo;
            hi = hi < 0 ? 0 : hi > 15 ? 15 : hi;
            unsigned a = (unsigned)(lo + 0.5f), c = (unsigned)(hi + 0.5f); /* both >= 0: half up */
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

/* Scale and minimum of n contiguous values as stored (f16-rounded) into
 * sm, and their codes into q. */
static void quantize_run(const float *x, size_t n, unsigned bits, uint8_t *sm, uint8_t *q)
{
    float mn = x[0], mx = x[0];
    for (size_t i = 1; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    const float qmax = (float)((1u << bits) - 1);
    uint16_t lh = tp_half_from_float(mn), sh = tp_half_from_float((mx - tp_half_to_float(lh)) / qmax);
    tp_put_u16(sm, sh);
    tp_put_u16(sm + 2, lh);
    const float lo = tp_half_to_float(lh), scale = tp_half_to_float(sh), inv = scale > 0 ? 1.0f / scale : 0;
    for (size_t i = 0; i < n; i++) {
        float r = (x[i] - lo) * inv; /* rounded half up below: r >= 0 once clamped */
        r = r < 0 ? 0 : r > qmax ? qmax : r;
        q[i] = (uint8_t)(r + 0.5f);
    }
}

/* n codes (n x bits a multiple of 8), little-endian within each byte. */
static void pack(const uint8_t *q, size_t n, unsigned bits, uint8_t *out)
{
    if (bits == 8) memcpy(out, q, n);
    else if (bits == 4) for (size_t i = 0; i < n / 2; i++) out[i] = (uint8_t)(q[2 * i] | q[2 * i + 1] << 4);
    else for (size_t i = 0; i < n / 4; i++)
        out[i] = (uint8_t)(q[4 * i] | q[4 * i + 1] << 2 | q[4 * i + 2] << 4 | q[4 * i + 3] << 6);
}

/* x[i * stride] = lo + scale * code i, for n codes packed at p. */
static void unpack(const uint8_t *p, size_t n, unsigned bits, const uint8_t *sm, float *x, size_t stride)
{
    const float scale = tp_half_to_float(tp_get_u16(sm)), lo = tp_half_to_float(tp_get_u16(sm + 2));
    if (bits == 8)
        for (size_t i = 0; i < n; i++) x[i * stride] = lo + scale * (float)p[i];
    else if (bits == 4)
        for (size_t i = 0; i < n; i += 2) {
            x[i * stride] = lo + scale * (float)(p[i / 2] & 15);
            x[(i + 1) * stride] = lo + scale * (float)(p[i / 2] >> 4);
        }
    else
        for (size_t i = 0; i < n; i += 4)
            for (size_t j = 0; j < 4; j++) x[(i + j) * stride] = lo + scale * (float)((p[i / 4] >> (2 * j)) & 3);
}

void kv_put_page(const kv_layout *L, uint8_t *page, const float *k, const float *v)
{
    const uint32_t g = L->page_tokens, dim = L->dim, bits = L->m.bits, vg = L->vgroup, ng = dim / vg;
    const size_t row = (size_t)L->heads * dim, vtok = 4u * ng + (size_t)dim * bits / 8;
    float col[256];
    uint8_t q[256];
    for (uint32_t h = 0; h < L->heads; h++) {
        uint8_t *kp = page + h * (L->k_bytes + L->v_bytes), *vp = kp + L->k_bytes;
        for (uint32_t c = 0; c < dim; c++) {
            for (uint32_t t = 0; t < g; t++) col[t] = k[t * row + (size_t)h * dim + c];
            quantize_run(col, g, bits, kp + 4u * c, q);
            pack(q, g, bits, kp + 4u * dim + (size_t)c * g * bits / 8);
        }
        for (uint32_t t = 0; t < g; t++) {
            const float *x = v + t * row + (size_t)h * dim;
            uint8_t *tok = vp + t * vtok;
            for (uint32_t j = 0; j < ng; j++) {
                quantize_run(x + j * vg, vg, bits, tok + 4u * j, q);
                pack(q, vg, bits, tok + 4u * ng + (size_t)j * vg * bits / 8);
            }
        }
    }
}

static void get_kivi_head(const kv_layout *L, const uint8_t *hp, uint32_t n, float *k, float *v)
{
    const uint32_t g = L->page_tokens, dim = L->dim, bits = L->m.bits, vg = L->vgroup, ng = dim / vg;
    for (uint32_t c = 0; c < dim; c++) unpack(hp + 4u * dim + (size_t)c * g * bits / 8, n, bits, hp + 4u * c, k + c, dim);
    const uint8_t *vp = hp + L->k_bytes;
    const size_t vtok = 4u * ng + (size_t)dim * bits / 8;
    for (uint32_t t = 0; t < n; t++) {
        const uint8_t *tok = vp + t * vtok;
        for (uint32_t j = 0; j < ng; j++)
            unpack(tok + 4u * ng + (size_t)j * vg * bits / 8, vg, bits, tok + 4u * j, v + (size_t)t * dim + j * vg, 1);
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
