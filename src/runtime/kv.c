/* tp_kv: the KV cache's memory, appends and reads (docs/KV.md). Every
 * byte held goes through the cache's allocator and is counted, so the
 * statistics are the allocation, not an estimate. Attention over the
 * stored form is in kv_attend.c. */
#include "runtime/kv_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"

#define MAX_HEADS 65536
#define MAX_HEAD_DIM 4096

static void *std_alloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void std_release(void *ctx, void *p, size_t n) { (void)ctx; (void)n; free(p); }
static const tp_kv_allocator std_allocator = {std_alloc, std_release, NULL};

void *kv_alloc(tp_kv *kv, size_t n)
{
    void *p = kv->a.alloc(kv->a.ctx, n ? n : 1);
    if (p) kv->bytes += n ? n : 1;
    return p;
}

void kv_release(tp_kv *kv, void *p, size_t n)
{
    if (!p) return;
    kv->a.release(kv->a.ctx, p, n ? n : 1);
    kv->bytes -= n ? n : 1;
}

static size_t check_config(const tp_kv_config *c)
{
    if (!c->n_layers || !c->n_kv_heads || !c->head_dim) return tp_fail(TP_ERR_ARG, "KV cache with zero layers, heads or head_dim");
    if (c->n_kv_heads > MAX_HEADS || c->head_dim > MAX_HEAD_DIM)
        return tp_fail(TP_ERR_ARG, "KV cache of %u heads of %u values (at most %d heads of %d)", c->n_kv_heads, c->head_dim,
                       MAX_HEADS, MAX_HEAD_DIM);
    if (c->dtype != TP_F32 && c->dtype != TP_F16 && c->dtype != TP_BF16)
        return tp_fail(TP_ERR_DTYPE, "KV cache input must be f32, f16 or bf16, not %s", tp_dtype_name(c->dtype));
    if (c->allocator && (!c->allocator->alloc || !c->allocator->release))
        return tp_fail(TP_ERR_ARG, "KV allocator without alloc or release");
    return 0;
}

size_t tp_kv_create(const tp_kv_config *c, tp_kv **out)
{
    if (!c || !out) return tp_fail(TP_ERR_ARG, "NULL config or output");
    *out = NULL;
    TP_TRY(check_config(c));
    kv_method m;
    TP_TRY(tp_kv_method_parse(c->method, c->head_dim, &m));
    const tp_kv_allocator *a = c->allocator ? c->allocator : &std_allocator;
    tp_kv *kv = a->alloc(a->ctx, sizeof *kv);
    if (!kv) return tp_fail(TP_ERR_NOMEM, "KV cache");
    memset(kv, 0, sizeof *kv);
    kv->a = *a;
    kv->bytes = sizeof *kv;
    kv->n_layers = c->n_layers;
    kv->heads = c->n_kv_heads;
    kv->dim = c->head_dim;
    kv->dtype = c->dtype;
    kv->budget = c->budget_bytes;
    kv_layout_init(&kv->L, &m, kv->heads, kv->dim);
    kv->stage_cap = m.kind == KV_KIVI ? m.residual + m.group : 0;
    kv->layers = kv_alloc(kv, c->n_layers * sizeof *kv->layers);
    kv->signs = m.rotate ? kv_alloc(kv, kv->dim * sizeof *kv->signs) : NULL;
    if (!kv->layers || (m.rotate && !kv->signs)) {
        tp_kv_free(kv);
        return tp_fail(TP_ERR_NOMEM, "KV cache tables");
    }
    memset(kv->layers, 0, c->n_layers * sizeof *kv->layers);
    if (m.rotate) kv_rotation_signs(kv->signs, kv->dim, m.seed);
    if (kv->budget && kv->bytes > kv->budget) {
        uint64_t held = kv->bytes;
        tp_kv_free(kv);
        return tp_fail(TP_ERR_NOMEM, "KV budget of %llu bytes is below the %llu bytes of an empty cache",
                       (unsigned long long)c->budget_bytes, (unsigned long long)held);
    }
    *out = kv;
    return 0;
}

void tp_kv_free(tp_kv *kv)
{
    if (!kv) return;
    for (uint32_t l = 0; kv->layers && l < kv->n_layers; l++) {
        kv_layer *y = &kv->layers[l];
        for (size_t p = 0; p < y->n_pages; p++)
            if (y->pages[p]) kv_release(kv, y->pages[p], kv->L.page_bytes);
        kv_release(kv, y->pages, y->cap_pages * sizeof *y->pages);
        kv_release(kv, y->stage, kv_stage_bytes(kv));
    }
    kv_release(kv, kv->layers, kv->n_layers * sizeof *kv->layers);
    kv_release(kv, kv->signs, kv->dim * sizeof *kv->signs);
    tp_kv_allocator a = kv->a;
    a.release(a.ctx, kv, sizeof *kv);
}

size_t kv_stage_bytes(const tp_kv *kv) { return (size_t)kv->stage_cap * kv->heads * kv->dim * 2 * sizeof(uint16_t); }

size_t tp_kv_tokens(const tp_kv *kv, uint32_t layer)
{
    if (!kv || layer >= kv->n_layers) return 0;
    return (size_t)kv_live_count(kv, &kv->layers[layer]);
}

/* evict: frees the pages whose every token has left the kept ranges; the
 * first such page is the first after the sink tokens. */
static void free_dead_pages(tp_kv *kv, kv_layer *y)
{
    if (!kv->L.m.evict || y->tokens <= (uint64_t)kv->L.m.sink + kv->L.m.window) return;
    const uint64_t pt = kv->L.page_tokens, recent = y->tokens - kv->L.m.window;
    size_t first = (size_t)((kv->L.m.sink + pt - 1) / pt);
    if (y->dead_end < first) y->dead_end = first;
    while (y->dead_end < y->n_pages && (y->dead_end + 1) * pt <= recent) {
        kv_release(kv, y->pages[y->dead_end], kv->L.page_bytes);
        y->pages[y->dead_end++] = NULL;
    }
}

/* Pages layer will hold after n more tokens. */
static size_t pages_after(const tp_kv *kv, const kv_layer *y, size_t n)
{
    const uint64_t pt = kv->L.page_tokens;
    if (kv->L.per_token) return (size_t)((y->tokens + n + pt - 1) / pt);
    uint64_t s = y->staged + n, r = kv->L.m.residual;
    return y->n_pages + (size_t)(s > r ? (s - r) / pt : 0);
}

/* The memory an append of n tokens needs, taken before anything changes:
 * new pages, a larger page table, the stage. All or nothing. */
typedef struct {
    uint8_t **pages;  /* the new pages, in order */
    size_t n_new;
    uint8_t **table;  /* a new page table, or NULL to keep the old one */
    size_t table_cap;
    uint16_t *stage;  /* a new stage, or NULL */
} reservation;

static void unreserve(tp_kv *kv, reservation *r)
{
    for (size_t i = 0; r->pages && i < r->n_new; i++) kv_release(kv, r->pages[i], kv->L.page_bytes);
    free(r->pages);
    kv_release(kv, r->table, r->table_cap * sizeof *r->table);
    kv_release(kv, r->stage, kv_stage_bytes(kv));
    memset(r, 0, sizeof *r);
}

static size_t reserve(tp_kv *kv, const kv_layer *y, size_t n, reservation *r)
{
    memset(r, 0, sizeof *r);
    size_t need = pages_after(kv, y, n);
    r->n_new = need - y->n_pages;
    size_t cap = y->cap_pages;
    if (need > cap) {
        cap = cap ? cap * 2 : 8;
        if (cap < need) cap = need;
    }
    uint64_t extra = (uint64_t)r->n_new * kv->L.page_bytes + (cap - y->cap_pages) * sizeof *y->pages +
                     (kv->stage_cap && !y->stage ? kv_stage_bytes(kv) : 0);
    if (kv->budget && kv->bytes + extra > kv->budget)
        return tp_fail(TP_ERR_NOMEM, "KV budget of %llu bytes: %llu held, this append needs %llu more",
                       (unsigned long long)kv->budget, (unsigned long long)kv->bytes, (unsigned long long)extra);
    r->pages = r->n_new ? calloc(r->n_new, sizeof *r->pages) : NULL;
    int ok = !r->n_new || r->pages;
    for (size_t i = 0; ok && i < r->n_new; i++) ok = (r->pages[i] = kv_alloc(kv, kv->L.page_bytes)) != NULL;
    if (ok && cap > y->cap_pages) {
        r->table_cap = cap;
        ok = (r->table = kv_alloc(kv, cap * sizeof *r->table)) != NULL;
    }
    if (ok && kv->stage_cap && !y->stage) ok = (r->stage = kv_alloc(kv, kv_stage_bytes(kv))) != NULL;
    if (!ok) {
        unreserve(kv, r);
        return tp_fail(TP_ERR_NOMEM, "KV append of %zu tokens", n);
    }
    return 0;
}

/* Installs a reservation's table and stage into the layer. */
static void take_tables(tp_kv *kv, kv_layer *y, reservation *r)
{
    if (r->table) {
        if (y->n_pages) memcpy(r->table, y->pages, y->n_pages * sizeof *y->pages);
        kv_release(kv, y->pages, y->cap_pages * sizeof *y->pages);
        y->pages = r->table;
        y->cap_pages = r->table_cap;
        r->table = NULL;
    }
    if (r->stage) {
        y->stage = r->stage;
        r->stage = NULL;
    }
}

/* One token's keys or values ([heads][dim] in the input dtype) as f32,
 * rotated when the method rotates. */
static void load_row(const tp_kv *kv, const void *src, size_t token, float *dst)
{
    size_t row = (size_t)kv->heads * kv->dim;
    size_t es = tp_dtype_size(kv->dtype);
    tp_convert(dst, TP_F32, (const uint8_t *)src + token * row * es, kv->dtype, row);
    if (kv->signs)
        for (uint32_t h = 0; h < kv->heads; h++) kv_rotate(dst + (size_t)h * kv->dim, kv->signs, kv->dim);
}

/* kivi: the oldest page_tokens staged tokens become a page. */
static void flush_stage(tp_kv *kv, kv_layer *y, uint8_t *page, float *tile)
{
    const size_t row = (size_t)kv->heads * kv->dim, g = kv->L.page_tokens, vstep = (size_t)kv->stage_cap * row;
    float *tk = tile, *tv = tile + g * row;
    for (size_t t = 0; t < g; t++) {
        const uint16_t *sk = kv_staged_keys(kv, y, t);
        tp_half_to_float_n(tk + t * row, sk, row);
        tp_half_to_float_n(tv + t * row, sk + vstep, row);
    }
    kv_put_page(&kv->L, page, tk, tv);
    y->pages[y->n_pages++] = page;
    y->staged -= (uint32_t)g;
    y->stage_head = (uint32_t)((y->stage_head + g) % kv->stage_cap);
}

/* Whether all n values (in dtype) are finite: NaN and Inf have no code in
 * a quantized page, and an append either stores every token or none. */
static int all_finite(const void *x, tp_dtype dt, size_t n)
{
    if (dt == TP_F32) {
        const float *f = x;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(f[i])) return 0;
        return 1;
    }
    const uint16_t *h = x, exp = dt == TP_F16 ? 0x7C00 : 0x7F80;
    for (size_t i = 0; i < n; i++)
        if ((h[i] & exp) == exp) return 0;
    return 1;
}

size_t tp_kv_append(tp_kv *kv, uint32_t layer, const void *k, const void *v, size_t n_tokens, const float *importance)
{
    (void)importance;
    if (!kv) return tp_fail(TP_ERR_ARG, "NULL KV cache");
    if (layer >= kv->n_layers) return tp_fail(TP_ERR_ARG, "layer %u of a %u-layer KV cache", layer, kv->n_layers);
    if (!n_tokens) return 0;
    if (!k || !v) return tp_fail(TP_ERR_ARG, "NULL keys or values");
    if (n_tokens > ((size_t)1 << 32)) return tp_fail(TP_ERR_ARG, "append of %zu tokens at once", n_tokens);
    double t0 = tp_now_seconds();
    kv_layer *y = &kv->layers[layer];
    const size_t row = (size_t)kv->heads * kv->dim;
    if (!all_finite(k, kv->dtype, n_tokens * row) || !all_finite(v, kv->dtype, n_tokens * row))
        return tp_fail(TP_ERR_NONFINITE, "KV append to layer %u: NaN or Inf among the keys or values", layer);
    size_t tile_floats = kv->L.per_token ? 2 * row : 2 * row * (kv->L.page_tokens + 1);
    float *tile = malloc(tile_floats * sizeof *tile);
    if (!tile) return tp_fail(TP_ERR_NOMEM, "KV append scratch");
    reservation r;
    size_t res = reserve(kv, y, n_tokens, &r);
    if (tp_is_error(res)) { free(tile); return res; }
    take_tables(kv, y, &r);
    size_t next = 0;
    float *kr = tile, *vr = tile + row;
    if (!kv->L.per_token) { kr = tile + 2 * row * kv->L.page_tokens; vr = kr + row; }
    for (size_t t = 0; t < n_tokens; t++) {
        load_row(kv, k, t, kr);
        load_row(kv, v, t, vr);
        if (kv->L.per_token) {
            uint32_t slot = (uint32_t)(y->tokens % kv->L.page_tokens);
            if (!slot) y->pages[y->n_pages++] = r.pages[next++];
            kv_put_token(&kv->L, y->pages[y->n_pages - 1], slot, kr, vr);
        } else {
            uint16_t *sk = kv_staged_keys(kv, y, y->staged), *sv = sk + (size_t)kv->stage_cap * row;
            tp_half_from_float_n(sk, kr, row);
            tp_half_from_float_n(sv, vr, row);
            if (++y->staged == kv->stage_cap) flush_stage(kv, y, r.pages[next++], tile);
        }
        y->tokens++;
    }
    free_dead_pages(kv, y);
    free(r.pages);
    free(tile);
    kv->appended += n_tokens;
    kv->append_s += tp_now_seconds() - t0;
    return 0;
}

/* Rows of one head from a tile, scattered into [tokens][heads][dim] from
 * output row t0 on. */
static void scatter(const tp_kv *kv, uint32_t h, size_t t0, size_t n, const float *k, const float *v, float *k_out,
                    float *v_out)
{
    const size_t row = (size_t)kv->heads * kv->dim;
    for (size_t t = 0; t < n; t++) {
        float *ko = k_out + (t0 + t) * row + (size_t)h * kv->dim, *vo = v_out + (t0 + t) * row + (size_t)h * kv->dim;
        memcpy(ko, k + t * kv->dim, kv->dim * sizeof *ko);
        memcpy(vo, v + t * kv->dim, kv->dim * sizeof *vo);
        if (kv->signs) {
            kv_unrotate(ko, kv->signs, kv->dim);
            kv_unrotate(vo, kv->signs, kv->dim);
        }
    }
}

size_t tp_kv_read(tp_kv *kv, uint32_t layer, float *k_out, float *v_out)
{
    if (!kv) return tp_fail(TP_ERR_ARG, "NULL KV cache");
    if (layer >= kv->n_layers) return tp_fail(TP_ERR_ARG, "layer %u of a %u-layer KV cache", layer, kv->n_layers);
    const kv_layer *y = &kv->layers[layer];
    if (y->tokens && (!k_out || !v_out)) return tp_fail(TP_ERR_ARG, "NULL output");
    double t0 = tp_now_seconds();
    const size_t pt = kv->L.page_tokens, dim = kv->dim, row = (size_t)kv->heads * dim;
    float *tile = malloc(2 * pt * dim * sizeof *tile);
    if (!tile) return tp_fail(TP_ERR_NOMEM, "KV read scratch");
    size_t paged = kv->L.per_token ? (size_t)y->tokens : y->n_pages * pt, out = 0;
    uint64_t r[2][2];
    for (size_t p = 0; p < y->n_pages; p++) {
        size_t n = paged - p * pt < pt ? paged - p * pt : pt;
        int nr = y->pages[p] ? kv_live_ranges(kv, y, p * pt, n, r) : 0;
        for (uint32_t h = 0; nr && h < kv->heads; h++) {
            kv_get_head(&kv->L, y->pages[p], h, (uint32_t)n, tile, tile + pt * dim);
            for (int i = 0, o = 0; i < nr; o += (int)(r[i][1] - r[i][0]), i++) {
                size_t a = (size_t)(r[i][0] - p * pt), len = (size_t)(r[i][1] - r[i][0]);
                scatter(kv, h, out + (size_t)o, len, tile + a * dim, tile + pt * dim + a * dim, k_out, v_out);
            }
        }
        for (int i = 0; i < nr; i++) out += (size_t)(r[i][1] - r[i][0]);
    }
    int nr = kv_live_ranges(kv, y, paged, y->staged, r);
    for (int i = 0; i < nr; i++)
        for (uint64_t s = r[i][0] - paged; s < r[i][1] - paged; s++, out++) {
            const uint16_t *sk = kv_staged_keys(kv, y, (size_t)s), *sv = sk + (size_t)kv->stage_cap * row;
            float *ko = k_out + out * row, *vo = v_out + out * row;
            tp_half_to_float_n(ko, sk, row);
            tp_half_to_float_n(vo, sv, row);
            for (uint32_t h = 0; kv->signs && h < kv->heads; h++) {
                kv_unrotate(ko + (size_t)h * dim, kv->signs, kv->dim);
                kv_unrotate(vo + (size_t)h * dim, kv->signs, kv->dim);
            }
        }
    free(tile);
    kv->read_s += tp_now_seconds() - t0;
    return out;
}

void tp_kv_stats_get(const tp_kv *kv, tp_kv_stats *s)
{
    if (!s) return;
    memset(s, 0, sizeof *s);
    if (!kv) return;
    uint64_t held = 0;
    for (uint32_t l = 0; l < kv->n_layers; l++) held += kv_live_count(kv, &kv->layers[l]);
    s->bytes = kv->bytes;
    s->f16_bytes = held * kv->heads * kv->dim * 2 * 2;
    s->ratio = s->bytes ? (double)s->f16_bytes / (double)s->bytes : 0;
    double elements = 2.0 * (double)held * kv->heads * kv->dim;
    s->bits_per_element = elements > 0 ? 8.0 * (double)s->bytes / elements : 0;
    s->tokens_appended = kv->appended;
    s->tokens_held = held;
    s->tokens_evicted = kv->appended - held;
    s->append_seconds = kv->append_s;
    s->read_seconds = kv->read_s;
    s->attend_seconds = kv->attend_s;
}
