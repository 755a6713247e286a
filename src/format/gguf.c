/* GGUF reader (see gguf.h). Layout, little-endian:
 *   magic "GGUF", u32 version (2 or 3), u64 tensor_count, u64 kv_count,
 *   kv_count x { string key, u32 type, value },
 *   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset },
 *   padding to general.alignment (default 32), tensor data.
 * string = u64 length + bytes; array = u32 element type + u64 count + values. */
#include "format/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/error.h"
#include "core/half.h"
#include "format/mapped_file.h"

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

struct tp_gguf {
    const uint8_t *buf;
    size_t size;
    tp_mapped_file file;  /* held when tp_gguf_open made g; zeroed after tp_gguf_parse */
    uint32_t version, alignment;
    size_t n_kv, n_tensors;
    tp_gguf_kv *kv;
    uint64_t **str_offsets; /* per kv: offsets of a string array's elements */
    tp_gguf_tensor *tensors;
    char *names;        /* all keys and tensor names, NUL-terminated */
};

/* ------------------------------------------------------------------ */
/* Type traits. */

typedef struct {
    const char *name;
    uint32_t block, size;
    void (*to_f32)(const uint8_t *src, float *dst, size_t nblocks);
} ggml_traits;

static float h2f(const uint8_t *p) { return tp_half_to_float(tp_get_u16(p)); }

static void deq_f32(const uint8_t *s, float *d, size_t n) { memcpy(d, s, n * 4); }
static void deq_f16(const uint8_t *s, float *d, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = h2f(s + 2 * i);
}
static void deq_bf16(const uint8_t *s, float *d, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = tp_bf16_to_float(tp_get_u16(s + 2 * i));
}

/* Q4_0: f16 d, 16 bytes of nibbles; low nibbles are values 0..15, high 16..31. */
static void deq_q4_0(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 18, y += 32) {
        float d = h2f(s);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((s[2 + j] & 15) - 8) * d;
            y[j + 16] = (float)((s[2 + j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1: f16 d, f16 m, nibbles; x = q d + m. */
static void deq_q4_1(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 20, y += 32) {
        float d = h2f(s), m = h2f(s + 2);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(s[4 + j] & 15) * d + m;
            y[j + 16] = (float)(s[4 + j] >> 4) * d + m;
        }
    }
}

/* Q5_0 / Q5_1: the fifth bit of value j is bit j of the u32 qh. */
static void deq_q5_0(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 22, y += 32) {
        float d = h2f(s);
        uint32_t qh = tp_get_u32(s + 2);
        for (int j = 0; j < 16; j++) {
            int lo = (s[6 + j] & 15) | (int)((qh >> j) & 1) << 4;
            int hi = (s[6 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(lo - 16) * d;
            y[j + 16] = (float)(hi - 16) * d;
        }
    }
}

static void deq_q5_1(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 24, y += 32) {
        float d = h2f(s), m = h2f(s + 2);
        uint32_t qh = tp_get_u32(s + 4);
        for (int j = 0; j < 16; j++) {
            int lo = (s[8 + j] & 15) | (int)((qh >> j) & 1) << 4;
            int hi = (s[8 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)lo * d + m;
            y[j + 16] = (float)hi * d + m;
        }
    }
}

static void deq_q8_0(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 34, y += 32) {
        float d = h2f(s);
        for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)s[2 + j] * d;
    }
}

/* K-quants: super-blocks of 256. Q4_K/Q5_K pack 8 six-bit scales and 8
 * six-bit mins into 12 bytes. */
static void scale_min_k4(int j, const uint8_t *q, int *sc, int *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* Q4_K: f16 d, f16 dmin, scales[12], qs[128]. */
static void deq_q4_k(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 144) {
        float d = h2f(s), dmin = h2f(s + 2);
        const uint8_t *sc = s + 4, *q = s + 16;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int s1, m1, s2, m2;
            scale_min_k4(j, sc, &s1, &m1);
            scale_min_k4(j + 1, sc, &s2, &m2);
            for (int l = 0; l < 32; l++) *y++ = d * (float)s1 * (float)(q[l] & 15) - dmin * (float)m1;
            for (int l = 0; l < 32; l++) *y++ = d * (float)s2 * (float)(q[l] >> 4) - dmin * (float)m2;
        }
    }
}

/* Q5_K: f16 d, f16 dmin, scales[12], qh[32], qs[128]. */
static void deq_q5_k(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 176) {
        float d = h2f(s), dmin = h2f(s + 2);
        const uint8_t *sc = s + 4, *qh = s + 16, *q = s + 48;
        for (int j = 0; j < 8; j += 2, q += 32) {
            int s1, m1, s2, m2;
            scale_min_k4(j, sc, &s1, &m1);
            scale_min_k4(j + 1, sc, &s2, &m2);
            for (int l = 0; l < 32; l++)
                *y++ = d * (float)s1 * (float)((q[l] & 15) + ((qh[l] >> j) & 1) * 16) - dmin * (float)m1;
            for (int l = 0; l < 32; l++)
                *y++ = d * (float)s2 * (float)((q[l] >> 4) + ((qh[l] >> (j + 1)) & 1) * 16) - dmin * (float)m2;
        }
    }
}

/* Q6_K: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], f16 d. */
static void deq_q6_k(const uint8_t *s, float *y, size_t nb)
{
    for (size_t b = 0; b < nb; b++, s += 210) {
        const uint8_t *ql = s, *qh = s + 128;
        const int8_t *sc = (const int8_t *)(s + 192);
        float d = h2f(s + 208);
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

static const ggml_traits traits[] = {
    [TP_GGML_F32] = {"F32", 1, 4, deq_f32},
    [TP_GGML_F16] = {"F16", 1, 2, deq_f16},
    [TP_GGML_Q4_0] = {"Q4_0", 32, 18, deq_q4_0},
    [TP_GGML_Q4_1] = {"Q4_1", 32, 20, deq_q4_1},
    [TP_GGML_Q5_0] = {"Q5_0", 32, 22, deq_q5_0},
    [TP_GGML_Q5_1] = {"Q5_1", 32, 24, deq_q5_1},
    [TP_GGML_Q8_0] = {"Q8_0", 32, 34, deq_q8_0},
    [TP_GGML_Q8_1] = {"Q8_1", 32, 36, NULL},
    [TP_GGML_Q2_K] = {"Q2_K", 256, 84, NULL},
    [TP_GGML_Q3_K] = {"Q3_K", 256, 110, NULL},
    [TP_GGML_Q4_K] = {"Q4_K", 256, 144, deq_q4_k},
    [TP_GGML_Q5_K] = {"Q5_K", 256, 176, deq_q5_k},
    [TP_GGML_Q6_K] = {"Q6_K", 256, 210, deq_q6_k},
    [TP_GGML_Q8_K] = {"Q8_K", 256, 292, NULL},
    [TP_GGML_I8] = {"I8", 1, 1, NULL},
    [TP_GGML_I16] = {"I16", 1, 2, NULL},
    [TP_GGML_I32] = {"I32", 1, 4, NULL},
    [TP_GGML_I64] = {"I64", 1, 8, NULL},
    [TP_GGML_F64] = {"F64", 1, 8, NULL},
    [TP_GGML_BF16] = {"BF16", 1, 2, deq_bf16},
};
#define N_TRAITS (sizeof traits / sizeof *traits)

static const ggml_traits *trait(uint32_t t) { return t < N_TRAITS && traits[t].name ? &traits[t] : NULL; }
const char *tp_ggml_type_name(uint32_t t) { return trait(t) ? trait(t)->name : NULL; }
size_t tp_ggml_block_size(uint32_t t) { return trait(t) ? trait(t)->block : 0; }
size_t tp_ggml_type_size(uint32_t t) { return trait(t) ? trait(t)->size : 0; }
int tp_ggml_can_dequant(uint32_t t) { return trait(t) && trait(t)->to_f32; }

size_t tp_ggml_dequant(uint32_t type, const void *src, float *dst, size_t n)
{
    const ggml_traits *tr = trait(type);
    if (!tr || !tr->to_f32) return tp_fail(TP_ERR_UNSUPPORTED, "no dequantizer for ggml type %u (%s)", type, tr ? tr->name : "unknown");
    if (n % tr->block) return tp_fail(TP_ERR_SHAPE, "%zu values are not whole %s blocks", n, tr->name);
    if (n && (!src || !dst)) return tp_fail(TP_ERR_ARG, "NULL buffer");
    tr->to_f32(src, dst, n / tr->block);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Parsing. */

typedef struct {
    const uint8_t *p;
    size_t pos, size;
} cursor;

static size_t need(cursor *c, uint64_t n, const char *what)
{
    if (n > c->size - c->pos) return tp_fail(TP_ERR_TRUNCATED, "GGUF ends inside %s (at byte %zu)", what, c->pos);
    return 0;
}

static size_t rd_u32(cursor *c, uint32_t *v, const char *what)
{
    TP_TRY(need(c, 4, what));
    *v = tp_get_u32(c->p + c->pos);
    c->pos += 4;
    return 0;
}

static size_t rd_u64(cursor *c, uint64_t *v, const char *what)
{
    TP_TRY(need(c, 8, what));
    *v = tp_get_u64(c->p + c->pos);
    c->pos += 8;
    return 0;
}

/* A string: returns its bytes' position and length. */
static size_t rd_str(cursor *c, size_t *at, uint64_t *len, const char *what)
{
    TP_TRY(rd_u64(c, len, what));
    TP_TRY(need(c, *len, what));
    *at = c->pos;
    c->pos += (size_t)*len;
    return 0;
}

static size_t scalar_size(uint32_t t)
{
    static const uint8_t sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof sz ? sz[t] : 0;
}

static void gguf_free(tp_gguf *g)
{
    if (!g) return;
    if (g->str_offsets)
        for (size_t i = 0; i < g->n_kv; i++) free(g->str_offsets[i]);
    free(g->str_offsets);
    free(g->kv);
    free(g->tensors);
    free(g->names);
    if (g->file.bytes) tp_mapped_close(&g->file);
    free(g);
}

void tp_gguf_close(tp_gguf *g) { gguf_free(g); }

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* 1 if two of the n strings are equal. */
static int has_duplicate(const char **s, size_t n)
{
    qsort(s, n, sizeof *s, cmp_str);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(s[i - 1], s[i])) return 1;
    return 0;
}

static int cmp_range(const void *a, const void *b)
{
    const tp_gguf_tensor *x = *(const tp_gguf_tensor *const *)a, *y = *(const tp_gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Bytes of all strings that name keys and tensors (for one allocation),
 * counted in a first pass that also validates the structure. */
static size_t parse(tp_gguf *g)
{
    cursor c = {g->buf, 0, g->size};
    uint32_t magic;
    TP_TRY(rd_u32(&c, &magic, "the magic"));
    if (memcmp(g->buf, "GGUF", 4)) return tp_fail(TP_ERR_CORRUPT, "not a GGUF file (bad magic)");
    TP_TRY(rd_u32(&c, &g->version, "the version"));
    if (g->version != 2 && g->version != 3)
        return tp_fail(TP_ERR_VERSION, "GGUF version %u is not supported (2 and 3 are)", g->version);
    uint64_t nt, nkv;
    TP_TRY(rd_u64(&c, &nt, "the tensor count"));
    TP_TRY(rd_u64(&c, &nkv, "the key/value count"));
    /* Smallest encodings: a kv is 8 (key length) + 4 (type) + 1 (u8) bytes,
     * a tensor info 8 + 4 + 8 + 4 + 8. Larger counts cannot fit. */
    size_t rest = c.size - c.pos;
    if (nkv > rest / 13) return tp_fail(TP_ERR_CORRUPT, "GGUF key/value count %llu does not fit the file", (unsigned long long)nkv);
    if (nt > rest / 32) return tp_fail(TP_ERR_CORRUPT, "GGUF tensor count %llu does not fit the file", (unsigned long long)nt);
    g->n_kv = (size_t)nkv;
    g->n_tensors = (size_t)nt;
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->str_offsets = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->str_offsets);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    if (!g->kv || !g->str_offsets || !g->tensors) return tp_fail(TP_ERR_NOMEM, "GGUF tables");

    /* Names are copied with a NUL; their total is bounded by the file size. */
    size_t name_cap = g->n_kv + g->n_tensors + 1, name_len = 0;
    size_t *name_at = malloc((g->n_kv + g->n_tensors + 1) * sizeof *name_at);
    uint64_t *name_n = malloc((g->n_kv + g->n_tensors + 1) * sizeof *name_n);
    if (!name_at || !name_n) { free(name_at); free(name_n); return tp_fail(TP_ERR_NOMEM, "GGUF names"); }
    size_t r = 0;
    g->alignment = GGUF_DEFAULT_ALIGNMENT;

    for (size_t i = 0; i < g->n_kv && !tp_is_error(r); i++) {
        tp_gguf_kv *kv = &g->kv[i];
        uint64_t klen;
        if (tp_is_error(r = rd_str(&c, &name_at[i], &klen, "a key"))) break;
        if (klen == 0 || memchr(g->buf + name_at[i], 0, (size_t)klen)) { r = tp_fail(TP_ERR_CORRUPT, "GGUF key %zu is empty or holds a NUL", i); break; }
        name_n[i] = klen;
        name_cap += (size_t)klen;
        if (tp_is_error(r = rd_u32(&c, &kv->type, "a value type"))) break;
        kv->elem_type = kv->type;
        kv->n = 1;
        if (kv->type == TP_GGUF_ARRAY) {
            if (tp_is_error(r = rd_u32(&c, &kv->elem_type, "an array type"))) break;
            if (tp_is_error(r = rd_u64(&c, &kv->n, "an array length"))) break;
            if (kv->elem_type == TP_GGUF_ARRAY) { r = tp_fail(TP_ERR_UNSUPPORTED, "GGUF key %zu: arrays of arrays", i); break; }
        }
        kv->data = g->buf + c.pos;
        if (kv->elem_type == TP_GGUF_STRING) {
            /* Each string is at least its 8-byte length. */
            if (kv->n > (c.size - c.pos) / 8) { r = tp_fail(TP_ERR_TRUNCATED, "GGUF key %zu: string array longer than the file", i); break; }
            if (kv->type == TP_GGUF_ARRAY) {
                g->str_offsets[i] = malloc((kv->n ? kv->n : 1) * sizeof **g->str_offsets);
                if (!g->str_offsets[i]) { r = tp_fail(TP_ERR_NOMEM, "GGUF string array"); break; }
            }
            for (uint64_t k = 0; k < kv->n && !tp_is_error(r); k++) {
                size_t at;
                uint64_t len;
                if (g->str_offsets[i]) g->str_offsets[i][k] = c.pos;
                r = rd_str(&c, &at, &len, "a string value");
            }
        } else {
            size_t es = scalar_size(kv->elem_type);
            if (!es) { r = tp_fail(TP_ERR_CORRUPT, "GGUF key %zu: value type %u is unknown", i, kv->elem_type); break; }
            if (kv->n > (c.size - c.pos) / es) { r = tp_fail(TP_ERR_TRUNCATED, "GGUF key %zu: value longer than the file", i); break; }
            c.pos += (size_t)(kv->n * es);
            if (kv->type == TP_GGUF_BOOL && kv->data[0] > 1) { r = tp_fail(TP_ERR_CORRUPT, "GGUF key %zu: bool is neither 0 nor 1", i); break; }
        }
    }
    for (size_t i = 0; i < g->n_tensors && !tp_is_error(r); i++) {
        tp_gguf_tensor *t = &g->tensors[i];
        size_t j = g->n_kv + i;
        uint64_t nlen;
        if (tp_is_error(r = rd_str(&c, &name_at[j], &nlen, "a tensor name"))) break;
        if (memchr(g->buf + name_at[j], 0, (size_t)nlen)) { r = tp_fail(TP_ERR_CORRUPT, "GGUF tensor %zu: name holds a NUL", i); break; }
        name_n[j] = nlen;
        name_cap += (size_t)nlen;
        if (tp_is_error(r = rd_u32(&c, &t->ndim, "a tensor rank"))) break;
        if (t->ndim < 1 || t->ndim > GGUF_MAX_DIMS) { r = tp_fail(TP_ERR_SHAPE, "GGUF tensor %zu: rank %u (1..4)", i, t->ndim); break; }
        uint64_t numel = 1;
        for (uint32_t d = 0; d < 4; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->ndim && !tp_is_error(r); d++) {
            if (tp_is_error(r = rd_u64(&c, &t->ne[d], "a tensor dimension"))) break;
            if (t->ne[d] > (uint64_t)INT64_MAX || (t->ne[d] && numel > (uint64_t)INT64_MAX / t->ne[d]))
                r = tp_fail(TP_ERR_SHAPE, "GGUF tensor %zu: element count overflows", i);
            else numel *= t->ne[d];
        }
        if (tp_is_error(r)) break;
        t->numel = numel;
        if (tp_is_error(r = rd_u32(&c, &t->type, "a tensor type"))) break;
        if (tp_is_error(r = rd_u64(&c, &t->offset, "a tensor offset"))) break;
        const ggml_traits *tr = trait(t->type);
        if (!tr) { r = tp_fail(TP_ERR_UNSUPPORTED, "GGUF tensor %zu: ggml type %u is unknown", i, t->type); break; }
        if (t->ne[0] % tr->block) { r = tp_fail(TP_ERR_SHAPE, "GGUF tensor %zu: %llu values per row are not whole %s blocks", i, (unsigned long long)t->ne[0], tr->name); break; }
        uint64_t blocks = numel / tr->block;
        if (blocks > (uint64_t)INT64_MAX / tr->size) { r = tp_fail(TP_ERR_SHAPE, "GGUF tensor %zu: byte size overflows", i); break; }
        t->nbytes = blocks * tr->size;
    }
    if (tp_is_error(r)) { free(name_at); free(name_n); return r; }

    g->names = malloc(name_cap);
    if (!g->names) { free(name_at); free(name_n); return tp_fail(TP_ERR_NOMEM, "GGUF names"); }
    for (size_t j = 0; j < g->n_kv + g->n_tensors; j++) {
        char *dst = g->names + name_len;
        memcpy(dst, g->buf + name_at[j], (size_t)name_n[j]);
        dst[name_n[j]] = 0;
        name_len += (size_t)name_n[j] + 1;
        if (j < g->n_kv) g->kv[j].key = dst;
        else g->tensors[j - g->n_kv].name = dst;
    }
    free(name_at);
    free(name_n);

    const tp_gguf_kv *al = tp_gguf_find_kv(g, "general.alignment");
    if (al) {
        if (al->type != TP_GGUF_U32) return tp_fail(TP_ERR_CORRUPT, "general.alignment is not a u32");
        g->alignment = tp_get_u32(al->data);
        if (!g->alignment || (g->alignment & (g->alignment - 1)))
            return tp_fail(TP_ERR_CORRUPT, "general.alignment %u is not a power of two", g->alignment);
    }
    /* Tensor data starts at the next multiple of the alignment. */
    uint64_t data_start = ((uint64_t)c.pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors && data_start > c.size) return tp_fail(TP_ERR_TRUNCATED, "GGUF ends before its tensor data");
    for (size_t i = 0; i < g->n_tensors; i++) {
        tp_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment) return tp_fail(TP_ERR_CORRUPT, "GGUF tensor '%s': offset not aligned to %u", t->name, g->alignment);
        if (t->offset > c.size - data_start || t->nbytes > c.size - data_start - t->offset)
            return tp_fail(TP_ERR_TRUNCATED, "GGUF tensor '%s': data past the end of the file", t->name);
        t->offset += data_start;
    }

    /* Names unique; tensor ranges disjoint. */
    size_t nmax = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
    const void **tmp = malloc((nmax ? nmax : 1) * sizeof *tmp);
    if (!tmp) return tp_fail(TP_ERR_NOMEM, "GGUF check");
    for (size_t i = 0; i < g->n_kv; i++) tmp[i] = g->kv[i].key;
    if (has_duplicate((const char **)tmp, g->n_kv)) { free(tmp); return tp_fail(TP_ERR_CORRUPT, "GGUF has a duplicate key"); }
    for (size_t i = 0; i < g->n_tensors; i++) tmp[i] = g->tensors[i].name;
    if (has_duplicate((const char **)tmp, g->n_tensors)) { free(tmp); return tp_fail(TP_ERR_CORRUPT, "GGUF has a duplicate tensor name"); }
    for (size_t i = 0; i < g->n_tensors; i++) tmp[i] = &g->tensors[i];
    qsort(tmp, g->n_tensors, sizeof *tmp, cmp_range);
    for (size_t i = 1; i < g->n_tensors; i++) {
        const tp_gguf_tensor *a = tmp[i - 1], *b = tmp[i];
        if (a->offset + a->nbytes > b->offset) {
            free(tmp);
            return tp_fail(TP_ERR_CORRUPT, "GGUF tensors '%s' and '%s' overlap", a->name, b->name);
        }
    }
    free(tmp);
    return 0;
}

size_t tp_gguf_parse(const void *buf, size_t size, tp_gguf **out)
{
    if (!out || (!buf && size)) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    tp_gguf *g = calloc(1, sizeof *g);
    if (!g) return tp_fail(TP_ERR_NOMEM, "GGUF");
    g->buf = buf;
    g->size = size;
    size_t r = parse(g);
    if (tp_is_error(r)) { gguf_free(g); return r; }
    *out = g;
    return 0;
}

size_t tp_gguf_open(const char *path, tp_gguf **out)
{
    if (!path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    tp_mapped_file m;
    TP_TRY(tp_mapped_open(&m, path));
    tp_gguf *g;
    size_t r = tp_gguf_parse(m.bytes, m.size, &g);
    if (tp_is_error(r)) { tp_mapped_close(&m); return r; }
    g->file = m;
    *out = g;
    return 0;
}

uint32_t tp_gguf_version(const tp_gguf *g) { return g->version; }
uint32_t tp_gguf_alignment(const tp_gguf *g) { return g->alignment; }
size_t tp_gguf_kv_count(const tp_gguf *g) { return g->n_kv; }
const tp_gguf_kv *tp_gguf_kv_at(const tp_gguf *g, size_t i) { return i < g->n_kv ? &g->kv[i] : NULL; }

const tp_gguf_kv *tp_gguf_find_kv(const tp_gguf *g, const char *key)
{
    for (size_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && !strcmp(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

static size_t num_at(uint32_t t, const uint8_t *p, double *v)
{
    uint64_t u;
    switch (t) {
    case TP_GGUF_U8: case TP_GGUF_BOOL: *v = p[0]; return 0;
    case TP_GGUF_I8: *v = (int8_t)p[0]; return 0;
    case TP_GGUF_U16: *v = tp_get_u16(p); return 0;
    case TP_GGUF_I16: *v = (int16_t)tp_get_u16(p); return 0;
    case TP_GGUF_U32: *v = tp_get_u32(p); return 0;
    case TP_GGUF_I32: *v = (int32_t)tp_get_u32(p); return 0;
    case TP_GGUF_F32: { uint32_t b = tp_get_u32(p); float f; memcpy(&f, &b, 4); *v = f; return 0; }
    case TP_GGUF_U64: case TP_GGUF_I64: case TP_GGUF_F64:
        u = tp_get_u64(p);
        if (t == TP_GGUF_U64) *v = (double)u;
        else if (t == TP_GGUF_I64) *v = (double)(int64_t)u;
        else memcpy(v, &u, 8);
        return 0;
    default: return tp_fail(TP_ERR_DTYPE, "GGUF value type %u is not a number", t);
    }
}

static size_t scalar(const tp_gguf *g, const char *key, double *v)
{
    const tp_gguf_kv *kv = tp_gguf_find_kv(g, key);
    if (!kv) return tp_fail(TP_ERR_NOT_FOUND, "GGUF has no key '%s'", key);
    if (kv->type == TP_GGUF_ARRAY) return tp_fail(TP_ERR_DTYPE, "GGUF key '%s' is an array", key);
    return num_at(kv->type, kv->data, v);
}

size_t tp_gguf_get_u32(const tp_gguf *g, const char *key, uint32_t *v)
{
    double d;
    TP_TRY(scalar(g, key, &d));
    const tp_gguf_kv *kv = tp_gguf_find_kv(g, key);
    if (kv->type == TP_GGUF_F32 || kv->type == TP_GGUF_F64 || d < 0 || d > 4294967295.0 || d != (double)(uint32_t)d)
        return tp_fail(TP_ERR_DTYPE, "GGUF key '%s' is not a u32", key);
    *v = (uint32_t)d;
    return 0;
}

size_t tp_gguf_get_f32(const tp_gguf *g, const char *key, float *v)
{
    double d;
    TP_TRY(scalar(g, key, &d));
    *v = (float)d;
    return 0;
}

size_t tp_gguf_get_bool(const tp_gguf *g, const char *key, int *v)
{
    const tp_gguf_kv *kv = tp_gguf_find_kv(g, key);
    if (!kv) return tp_fail(TP_ERR_NOT_FOUND, "GGUF has no key '%s'", key);
    if (kv->type != TP_GGUF_BOOL) return tp_fail(TP_ERR_DTYPE, "GGUF key '%s' is not a bool", key);
    *v = kv->data[0];
    return 0;
}

static void str_at(const uint8_t *p, const char **s, size_t *len)
{
    *len = (size_t)tp_get_u64(p);
    *s = (const char *)p + 8;
}

size_t tp_gguf_get_str(const tp_gguf *g, const char *key, const char **s, size_t *len)
{
    const tp_gguf_kv *kv = tp_gguf_find_kv(g, key);
    if (!kv) return tp_fail(TP_ERR_NOT_FOUND, "GGUF has no key '%s'", key);
    if (kv->type != TP_GGUF_STRING) return tp_fail(TP_ERR_DTYPE, "GGUF key '%s' is not a string", key);
    str_at(kv->data, s, len);
    return 0;
}

size_t tp_gguf_arr_str(const tp_gguf *g, const tp_gguf_kv *kv, uint64_t i, const char **s, size_t *len)
{
    size_t k = (size_t)(kv - g->kv);
    if (kv < g->kv || k >= g->n_kv || kv->type != TP_GGUF_ARRAY || kv->elem_type != TP_GGUF_STRING)
        return tp_fail(TP_ERR_DTYPE, "not a GGUF string array");
    if (i >= kv->n) return tp_fail(TP_ERR_NOT_FOUND, "index %llu past the array", (unsigned long long)i);
    str_at(g->buf + g->str_offsets[k][i], s, len);
    return 0;
}

size_t tp_gguf_arr_num(const tp_gguf_kv *kv, uint64_t i, double *v)
{
    if (kv->type != TP_GGUF_ARRAY || kv->elem_type == TP_GGUF_STRING) return tp_fail(TP_ERR_DTYPE, "not a GGUF numeric array");
    if (i >= kv->n) return tp_fail(TP_ERR_NOT_FOUND, "index %llu past the array", (unsigned long long)i);
    return num_at(kv->elem_type, kv->data + i * scalar_size(kv->elem_type), v);
}

size_t tp_gguf_tensor_count(const tp_gguf *g) { return g->n_tensors; }
const tp_gguf_tensor *tp_gguf_tensor_at(const tp_gguf *g, size_t i) { return i < g->n_tensors ? &g->tensors[i] : NULL; }
const uint8_t *tp_gguf_tensor_data(const tp_gguf *g, size_t i) { return i < g->n_tensors ? g->buf + g->tensors[i].offset : NULL; }

size_t tp_gguf_find_tensor(const tp_gguf *g, const char *name)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return i;
    return tp_fail(TP_ERR_NOT_FOUND, "GGUF has no tensor '%s'", name);
}

size_t tp_gguf_tensor_f32(const tp_gguf *g, size_t i, float **out)
{
    *out = NULL;
    if (i >= g->n_tensors) return tp_fail(TP_ERR_NOT_FOUND, "GGUF tensor %zu", i);
    const tp_gguf_tensor *t = &g->tensors[i];
    if (t->numel > SIZE_MAX / sizeof(float)) return tp_fail(TP_ERR_SHAPE, "tensor '%s' too large", t->name);
    float *dst = malloc(t->numel ? (size_t)t->numel * sizeof *dst : 1);
    if (!dst) return tp_fail(TP_ERR_NOMEM, "tensor '%s'", t->name);
    size_t r = tp_ggml_dequant(t->type, g->buf + t->offset, dst, (size_t)t->numel);
    if (tp_is_error(r)) { free(dst); return r; }
    *out = dst;
    return 0;
}
