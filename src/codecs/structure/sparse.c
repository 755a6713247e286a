/* sparse: stores only the non-zero elements of a tensor, with an index
 * format chosen by the bytes it takes.
 *
 * Which elements are kept:
 *  - exact (default, threshold=0 and keep=1): every element whose bytes are
 *    not all zero. For floats that drops +0.0 only; -0.0, NaN and Inf are
 *    kept with their exact bits, so exact mode is lossless for every dtype.
 *  - threshold=T (float dtypes): elements with |x| >= T (others become +0.0).
 *  - keep=F (float dtypes): the round(F * numel) elements of largest
 *    magnitude (ties: lower index first); magnitude-0 elements never.
 *
 * Payload (little-endian):
 *   u8 index format (0 COO, 1 CSR, 2 bitmap, 3 delta), u8 value dtype,
 *   u16 reserved (0), u64 nnz, u64 index_bytes, index, values.
 * COO: nnz flat indices of w bytes (w = bytes of numel-1, at least 1).
 * CSR (matrix = leading dims x last dim): rows+1 row pointers of wn bytes
 *   (bytes of nnz) then nnz column indices of wc bytes (bytes of cols-1).
 * bitmap: ceil(numel/8) bytes, bit i (LSB first) set when element i kept.
 * delta: nnz LEB128 varints: first index, then gap - 1 to the next.
 * Indices are strictly increasing in every format; values follow in that
 * order, in the tensor's dtype (values=same) or cast to f16/bf16. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "core/bytes.h"
#include "core/half.h"

enum { P_THRESHOLD, P_KEEP, P_VALUES, P_INDEX, N_PARAMS };
enum { V_SAME, V_F16, V_BF16 };
enum { IX_COO, IX_CSR, IX_BITMAP, IX_DELTA, IX_AUTO };
static const char *const value_types[] = {"same", "f16", "bf16", NULL};
static const char *const index_types[] = {"coo", "csr", "bitmap", "delta", "auto", NULL};

static const tp_param_def sparse_params[N_PARAMS] = {
    [P_THRESHOLD] = {"threshold", TP_PARAM_FLOAT, 0, 0, 3.4e38, NULL, "drop elements with |x| < threshold (0: only exact zeros)"},
    [P_KEEP] = {"keep", TP_PARAM_FLOAT, 1, 0, 1, NULL, "keep this fraction of the elements, largest magnitudes first (1: all non-zeros)"},
    [P_VALUES] = {"values", TP_PARAM_ENUM, 0, 0, 2, value_types, "value storage: the tensor's dtype, or f16/bf16 (float tensors)"},
    [P_INDEX] = {"index", TP_PARAM_ENUM, 4, 0, 4, index_types, "index format; auto picks the fewest bytes"},
};

#define HDR 20

static size_t sparse_validate(const tp_params *p)
{
    if (p->v[P_THRESHOLD] > 0 && p->v[P_KEEP] < 1) return tp_fail(TP_ERR_PARAM, "sparse: give threshold= or keep=, not both");
    return 0;
}

static unsigned width_of(uint64_t maxval)
{
    unsigned w = 1;
    while (w < 8 && (maxval >> (8 * w))) w++;
    return w;
}

static unsigned varint_len(uint64_t v)
{
    unsigned n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

static void put_w(uint8_t *p, uint64_t v, unsigned w) { for (unsigned i = 0; i < w; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint64_t get_w(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

typedef struct {
    uint64_t numel, rows, cols;
    size_t esize;
} sp_shape;

static size_t sp_shape_of(const tp_tensor *t, sp_shape *S)
{
    TP_TRY(tp_tensor_numel(t, &S->numel));
    S->esize = tp_dtype_size(t->dtype);
    S->cols = t->ndim ? t->shape[t->ndim - 1] : 1;
    S->rows = S->cols ? S->numel / S->cols : 0; /* no columns: no rows either */
    return 0;
}

static tp_dtype value_dtype(const tp_params *p, tp_dtype dt)
{
    int v = tp_param_int(p, P_VALUES);
    return v == V_F16 ? TP_F16 : v == V_BF16 ? TP_BF16 : dt;
}

static uint64_t csr_bytes(const sp_shape *S, uint64_t nnz)
{
    return (S->rows + 1) * width_of(nnz) + nnz * width_of(S->cols ? S->cols - 1 : 0);
}

static size_t sparse_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    sp_shape S;
    TP_TRY(sp_shape_of(in, &S));
    tp_dtype vdt = value_dtype(p, in->dtype);
    if (vdt != in->dtype && !tp_dtype_is_float(in->dtype))
        return tp_fail(TP_ERR_DTYPE, "sparse: values=%s needs a float tensor", tp_dtype_name(vdt));
    if ((p->v[P_THRESHOLD] > 0 || p->v[P_KEEP] < 1) && !tp_dtype_is_float(in->dtype))
        return tp_fail(TP_ERR_DTYPE, "sparse: threshold=/keep= need a float tensor, got %s", tp_dtype_name(in->dtype));
    uint64_t ix;
    switch (tp_param_int(p, P_INDEX)) {
    case IX_COO: ix = S.numel * width_of(S.numel ? S.numel - 1 : 0); break;
    case IX_CSR: ix = csr_bytes(&S, S.numel); break;
    case IX_DELTA: ix = S.numel * varint_len(S.numel); break;
    default: ix = (S.numel + 7) / 8; break;
    }
    uint64_t b = HDR + ix + S.numel * tp_dtype_size(vdt);
    tp_desc_bytes(out, (size_t)b);
    return (size_t)b;
}

static double magnitude(tp_dtype dt, const uint8_t *p)
{
    switch (dt) {
    case TP_F32: { float f; memcpy(&f, p, 4); return fabs((double)f); }
    case TP_F64: { double d; memcpy(&d, p, 8); return fabs(d); }
    case TP_F16: { uint16_t h; memcpy(&h, p, 2); return fabs((double)tp_half_to_float(h)); }
    case TP_BF16: { uint16_t h; memcpy(&h, p, 2); return fabs((double)tp_bf16_to_float(h)); }
    default: return 0;
    }
}

static float to_f32(tp_dtype dt, const uint8_t *p)
{
    switch (dt) {
    case TP_F32: { float f; memcpy(&f, p, 4); return f; }
    case TP_F64: { double d; memcpy(&d, p, 8); return (float)d; }
    case TP_F16: { uint16_t h; memcpy(&h, p, 2); return tp_half_to_float(h); }
    case TP_BF16: { uint16_t h; memcpy(&h, p, 2); return tp_bf16_to_float(h); }
    default: return 0;
    }
}

static void from_f32(tp_dtype dt, uint8_t *p, float f)
{
    switch (dt) {
    case TP_F32: memcpy(p, &f, 4); break;
    case TP_F64: { double d = f; memcpy(p, &d, 8); break; }
    case TP_F16: { uint16_t h = tp_half_from_float(f); memcpy(p, &h, 2); break; }
    case TP_BF16: { uint16_t h = tp_bf16_from_float(f); memcpy(p, &h, 2); break; }
    default: break;
    }
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static int desc_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

static size_t sparse_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    size_t bound = sparse_bound(p, in, out);
    if (tp_is_error(bound)) return bound;
    sp_shape S;
    TP_TRY(sp_shape_of(in, &S));
    const uint8_t *x = in->data;
    double thr = p->v[P_THRESHOLD];
    int lossy = thr > 0 || p->v[P_KEEP] < 1;
    tp_dtype dt = in->dtype, vdt = value_dtype(p, dt);
    size_t es = S.esize, ves = tp_dtype_size(vdt);
    if (lossy)
        for (uint64_t i = 0; i < S.numel; i++) {
            float f = to_f32(dt, x + i * es);
            if (!isfinite(f))
                return tp_fail(TP_ERR_NONFINITE, "sparse: value %llu is %s; lossy sparse modes need finite values",
                               (unsigned long long)i, isnan(f) ? "NaN" : "Inf");
        }
    /* keep[] marks the stored elements. */
    uint8_t *keep = malloc(S.numel ? S.numel : 1);
    if (!keep) return tp_fail(TP_ERR_NOMEM, "sparse: mask of %llu", (unsigned long long)S.numel);
    uint64_t nnz = 0;
    if (p->v[P_KEEP] < 1) {
        uint64_t k = (uint64_t)floor(p->v[P_KEEP] * (double)S.numel + 0.5);
        float cut = INFINITY;
        if (k > 0) {
            float *mag = malloc(S.numel * sizeof *mag);
            if (!mag) { free(keep); return tp_fail(TP_ERR_NOMEM, "sparse: magnitudes"); }
            for (uint64_t i = 0; i < S.numel; i++) mag[i] = (float)magnitude(dt, x + i * es);
            qsort(mag, (size_t)S.numel, sizeof *mag, desc_float);
            cut = mag[k - 1];
            free(mag);
        }
        uint64_t above = 0;
        for (uint64_t i = 0; i < S.numel; i++) above += (float)magnitude(dt, x + i * es) > cut;
        uint64_t ties = k > above ? k - above : 0;
        for (uint64_t i = 0; i < S.numel; i++) {
            float m = (float)magnitude(dt, x + i * es);
            int kp = m > cut || (m == cut && ties && m > 0 && (ties--, 1));
            keep[i] = (uint8_t)(kp && m > 0);
            nnz += keep[i];
        }
    } else {
        for (uint64_t i = 0; i < S.numel; i++) {
            keep[i] = thr > 0 ? magnitude(dt, x + i * es) >= thr : !all_zero(x + i * es, es);
            nnz += keep[i];
        }
    }
    /* Index sizes. */
    uint64_t wcoo = width_of(S.numel ? S.numel - 1 : 0);
    uint64_t sz[4] = {nnz * wcoo, csr_bytes(&S, nnz), (S.numel + 7) / 8, 0};
    uint64_t prev = 0;
    int first = 1;
    for (uint64_t i = 0; i < S.numel; i++)
        if (keep[i]) { sz[IX_DELTA] += varint_len(first ? i : i - prev - 1); prev = i; first = 0; }
    int fmt = tp_param_int(p, P_INDEX);
    if (fmt == IX_AUTO) {
        fmt = 0;
        for (int f = 1; f < 4; f++)
            if (sz[f] < sz[fmt]) fmt = f;
    }
    size_t total = (size_t)(HDR + sz[fmt] + nnz * ves);
    if (cap < total) { free(keep); return tp_fail(TP_ERR_DST_TOO_SMALL, "sparse needs %zu bytes", total); }
    uint8_t *d = dst;
    d[0] = (uint8_t)fmt;
    d[1] = (uint8_t)vdt;
    tp_put_u16(d + 2, 0);
    tp_put_u64(d + 4, nnz);
    tp_put_u64(d + 12, sz[fmt]);
    uint8_t *ix = d + HDR, *val = ix + sz[fmt];
    if (fmt == IX_BITMAP) memset(ix, 0, (size_t)sz[fmt]);
    unsigned wn = width_of(nnz), wc = width_of(S.cols ? S.cols - 1 : 0);
    uint64_t j = 0, row = 0;
    first = 1;
    if (fmt == IX_CSR) put_w(ix, 0, wn);
    uint8_t *q = fmt == IX_CSR ? ix + (S.rows + 1) * wn : ix;
    for (uint64_t i = 0; i < S.numel; i++) {
        if (fmt == IX_CSR && S.cols)
            while (row < i / S.cols) put_w(ix + (++row) * wn, j, wn);
        if (!keep[i]) continue;
        switch (fmt) {
        case IX_COO: put_w(q, i, (unsigned)wcoo); q += wcoo; break;
        case IX_CSR: put_w(q, i % S.cols, wc); q += wc; break;
        case IX_BITMAP: ix[i / 8] |= (uint8_t)(1u << (i % 8)); break;
        default: {
            uint64_t v = first ? i : i - prev - 1;
            while (v >= 0x80) { *q++ = (uint8_t)(v | 0x80); v >>= 7; }
            *q++ = (uint8_t)v;
            prev = i;
            first = 0;
        }
        }
        if (vdt == dt) memcpy(val + j * ves, x + i * es, es);
        else from_f32(vdt, val + j * ves, to_f32(dt, x + i * es));
        j++;
    }
    if (fmt == IX_CSR)
        while (row < S.rows) put_w(ix + (++row) * wn, j, wn);
    free(keep);
    tp_desc_bytes(out, total);
    return total;
}

static size_t sparse_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                            const tp_tensor *dst_desc, void *dst)
{
    sp_shape S;
    if (tp_is_error(sp_shape_of(dst_desc, &S)) || !S.esize) return tp_fail(TP_ERR_CORRUPT, "sparse: bad target tensor");
    const uint8_t *s = src;
    if (src_desc->dtype != TP_U8 || n < HDR) return tp_fail(TP_ERR_CORRUPT, "sparse: payload of %zu bytes", n);
    tp_dtype dt = dst_desc->dtype, vdt = value_dtype(p, dt);
    if ((vdt != dt && !tp_dtype_is_float(dt)) || s[1] != (uint8_t)vdt || tp_get_u16(s + 2))
        return tp_fail(TP_ERR_CORRUPT, "sparse: header does not match the stage");
    int fmt = s[0];
    uint64_t nnz = tp_get_u64(s + 4), ixb = tp_get_u64(s + 12);
    size_t ves = tp_dtype_size(vdt), es = S.esize;
    if (fmt > IX_DELTA || nnz > S.numel || ixb > n - HDR || (n - HDR - ixb) / ves != nnz || (n - HDR - ixb) % ves)
        return tp_fail(TP_ERR_CORRUPT, "sparse: sizes do not add up");
    const uint8_t *ix = s + HDR, *val = ix + ixb, *end = ix + ixb;
    uint8_t *out = dst;
    memset(out, 0, (size_t)(S.numel * es));
    unsigned wcoo = width_of(S.numel ? S.numel - 1 : 0), wn = width_of(nnz), wc = width_of(S.cols ? S.cols - 1 : 0);
    uint64_t j = 0, prev = 0;
#define PUT(pos)                                                                                   \
    do {                                                                                           \
        uint64_t pos_ = (pos);                                                                     \
        if (pos_ >= S.numel || (j && pos_ <= prev)) return tp_fail(TP_ERR_CORRUPT, "sparse: index out of order"); \
        if (vdt == dt) memcpy(out + pos_ * es, val + j * ves, es);                                 \
        else from_f32(dt, out + pos_ * es, to_f32(vdt, val + j * ves));                            \
        prev = pos_;                                                                               \
        j++;                                                                                       \
    } while (0)
    switch (fmt) {
    case IX_COO:
        if (ixb != nnz * wcoo) return tp_fail(TP_ERR_CORRUPT, "sparse: COO index size");
        for (uint64_t k = 0; k < nnz; k++) PUT(get_w(ix + k * wcoo, wcoo));
        break;
    case IX_CSR: {
        if (!S.cols && nnz) return tp_fail(TP_ERR_CORRUPT, "sparse: CSR of an empty row");
        if (ixb != csr_bytes(&S, nnz)) return tp_fail(TP_ERR_CORRUPT, "sparse: CSR index size");
        const uint8_t *cols = ix + (S.rows + 1) * wn;
        if (get_w(ix, wn) != 0 || get_w(ix + S.rows * wn, wn) != nnz) return tp_fail(TP_ERR_CORRUPT, "sparse: CSR row pointers");
        for (uint64_t r = 0; r < S.rows; r++) {
            uint64_t a = get_w(ix + r * wn, wn), b = get_w(ix + (r + 1) * wn, wn);
            if (b < a || b > nnz || a != j) return tp_fail(TP_ERR_CORRUPT, "sparse: CSR row pointers");
            for (uint64_t k = a; k < b; k++) {
                uint64_t c = get_w(cols + k * wc, wc);
                if (c >= S.cols) return tp_fail(TP_ERR_CORRUPT, "sparse: CSR column out of range");
                PUT(r * S.cols + c);
            }
        }
        break;
    }
    case IX_BITMAP:
        if (ixb != (S.numel + 7) / 8) return tp_fail(TP_ERR_CORRUPT, "sparse: bitmap size");
        for (uint64_t i = 0; i < ixb * 8; i++)
            if (ix[i / 8] >> (i % 8) & 1) {
                if (j >= nnz || i >= S.numel) return tp_fail(TP_ERR_CORRUPT, "sparse: bitmap has extra bits");
                PUT(i);
            }
        break;
    default: {
        const uint8_t *q = ix;
        for (uint64_t k = 0; k < nnz; k++) {
            uint64_t v = 0;
            unsigned sh = 0;
            for (;;) {
                if (q >= end || sh > 63) return tp_fail(TP_ERR_CORRUPT, "sparse: bad varint");
                uint8_t b = *q++;
                v |= (uint64_t)(b & 0x7f) << sh;
                sh += 7;
                if (!(b & 0x80)) break;
            }
            uint64_t pos = k ? prev + 1 + v : v;
            if (k && pos <= prev) return tp_fail(TP_ERR_CORRUPT, "sparse: delta overflows");
            PUT(pos);
        }
        if (q != end) return tp_fail(TP_ERR_CORRUPT, "sparse: bytes after the delta index");
    }
    }
#undef PUT
    if (j != nnz) return tp_fail(TP_ERR_CORRUPT, "sparse: index holds %llu entries, header says %llu", (unsigned long long)j,
                                 (unsigned long long)nnz);
    return (size_t)(S.numel * es);
}

const tp_codec tp_codec_sparse = {
    .info = {.id = TP_CODEC_ID_sparse, .name = "sparse", .flags = TP_CODEC_LOSSY,
             .summary = "non-zeros only (exact by default, or threshold/top-k); COO, CSR, bitmap or delta index by size",
             .n_params = N_PARAMS, .params = sparse_params},
    .validate = sparse_validate, .bound = sparse_bound, .encode = sparse_encode, .decode = sparse_decode,
};
