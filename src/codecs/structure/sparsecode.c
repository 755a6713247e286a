/* sparsecode: a learned dictionary and k-sparse codes of every signal.
 *
 * Signals: the matrix view (rows = leading dims, cols = last dim) gives
 * one signal per row (patch=0), or, with patch=p (p divides cols), one per
 * run of p consecutive values along the last axis: n = numel / d signals
 * of d = p or cols values. K = min(atoms, n) atoms (more atoms than
 * signals buys nothing: the signals themselves are a dictionary), k =
 * min(k, K, d) non-zeros per signal (OMP cannot use more than d
 * independent atoms). All three follow from the parameters and the
 * tensor shape, so the payload has no header.
 *
 * Encode: K-SVD dictionary (dictlearn.c), rounded to its stored precision,
 * then a final OMP pass in that rounded dictionary, so the codes
 * compensate for the dictionary's rounding.
 *
 * codes=packed (u8 output): D (K x d, dict=f16|f32), then n*k coefficients
 * (f16), then n*k atom indices of b = ceil(log2 K) bits each (0 when K = 1),
 * LSB-first bit stream; unused slots hold index 0 and coefficient 0.
 * codes=pass: f32 tensor [K*d + n*K]: D, then the dense n x K code matrix
 * (k non-zeros per row). Its zeros carry the indices, so the next stage
 * must keep zeros exact (int's default sym=1 does) and a lossless stage
 * packs them: sparsecode:codes=pass | int:bits=8 | zstd. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/structure/dictlearn.h"
#include "codecs/structure/lowrank.h"
#include "codecs/structure/train_report.h"
#include "core/clock.h"
#include "core/half.h"

enum { P_ATOMS, P_K, P_PATCH, P_ITER, P_SEED, P_DICT, P_CODES, P_MAXSEC, N_PARAMS };
enum { DICT_F16, DICT_F32 };
enum { CODES_PACKED, CODES_PASS };
static const char *const dict_types[] = {"f16", "f32", NULL};
static const char *const code_types[] = {"packed", "pass", NULL};

static const tp_param_def sc_params[N_PARAMS] = {
    [P_ATOMS] = {"atoms", TP_PARAM_INT, 256, 1, 65536, NULL, "dictionary size K (capped at the number of signals)"},
    [P_K] = {"k", TP_PARAM_INT, 4, 1, 256, NULL, "non-zeros per signal (capped at K and at the signal length)"},
    [P_PATCH] = {"patch", TP_PARAM_INT, 0, 0, 1 << 30, NULL, "signal length along the last axis (must divide it; 0: whole rows)"},
    [P_ITER] = {"iterations", TP_PARAM_INT, 10, 0, 10000, NULL, "K-SVD iterations (0: atoms are sampled signals)"},
    [P_SEED] = {"seed", TP_PARAM_INT, 1, 0, 2147483647, NULL, "seed of the initial atoms"},
    [P_DICT] = {"dict", TP_PARAM_ENUM, 0, 0, 1, dict_types, "dictionary storage (codes=packed)"},
    [P_CODES] = {"codes", TP_PARAM_ENUM, 0, 0, 1, code_types, "packed: f16 coefficients + bit-packed indices; pass: f32 [D | dense codes] to the next stage"},
    [P_MAXSEC] = {"max_seconds", TP_PARAM_FLOAT, 60, 0, 86400, NULL, "stop K-SVD after this many seconds (0: no bound)"},
};

typedef struct {
    uint64_t numel, n, K, k;
    int d;
    unsigned b;
} sc_shape;

static size_t sc_shape_of(const tp_params *p, const tp_tensor *t, sc_shape *S)
{
    memset(S, 0, sizeof *S);
    uint64_t rows, cols;
    TP_TRY(tp_tensor_numel(t, &S->numel));
    tp_lowrank_dims(t, &rows, &cols);
    uint64_t patch = (uint64_t)tp_param_int(p, P_PATCH), d = patch ? patch : cols;
    if (patch && cols % patch)
        return tp_fail(TP_ERR_SHAPE, "sparsecode: patch=%llu does not divide the last dimension %llu", (unsigned long long)patch,
                       (unsigned long long)cols);
    if (S->numel == 0) return 0;
    S->n = S->numel / d;
    if (d > 0x7fffffff || S->n > 0x7fffffff) return tp_fail(TP_ERR_SHAPE, "sparsecode: %llu signals of %llu values too large",
                                                           (unsigned long long)S->n, (unsigned long long)d);
    S->d = (int)d;
    S->K = (uint64_t)tp_param_int(p, P_ATOMS);
    if (S->K > S->n) S->K = S->n;
    S->k = (uint64_t)tp_param_int(p, P_K);
    if (S->k > S->K) S->k = S->K;
    if (S->k > d) S->k = d;
    while ((1ull << S->b) < S->K) S->b++;
    return 0;
}

static int sc_pass(const tp_params *p) { return tp_param_int(p, P_CODES) == CODES_PASS; }
static size_t sc_dict_es(const tp_params *p) { return tp_param_int(p, P_DICT) == DICT_F16 ? 2 : 4; }

/* Output size: bytes (packed) or f32 values (pass). */
static uint64_t sc_count(const tp_params *p, const sc_shape *S)
{
    if (!S->numel) return 0;
    if (sc_pass(p)) return S->K * S->d + S->n * S->K;
    return S->K * S->d * sc_dict_es(p) + S->n * S->k * 2 + (S->n * S->k * S->b + 7) / 8;
}

static void sc_desc(const tp_params *p, const sc_shape *S, tp_tensor *out)
{
    uint64_t c = sc_count(p, S);
    if (sc_pass(p)) {
        out->dtype = TP_F32; out->ndim = 1; out->shape[0] = c; out->data = NULL;
    } else {
        tp_desc_bytes(out, (size_t)c);
    }
}

static size_t sc_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    sc_shape S;
    TP_TRY(sc_shape_of(p, in, &S));
    if (S.n * S.K > (1ull << 40)) return tp_fail(TP_ERR_SHAPE, "sparsecode: code matrix of %llu x %llu too large",
                                                 (unsigned long long)S.n, (unsigned long long)S.K);
    sc_desc(p, &S, out);
    /* the frame refuses intermediates above 8x the tensor + 1 MiB */
    if (sc_pass(p) && tp_tensor_nbytes(out) > 8 * 4 * S.numel + (1u << 20))
        return tp_fail(TP_ERR_PARAM, "sparsecode: codes=pass with %llu atoms makes a code matrix over 8x the tensor; use codes=packed",
                       (unsigned long long)S.K);
    return tp_tensor_nbytes(out);
}

static void bits_put(uint8_t *buf, uint64_t pos, unsigned b, uint32_t v)
{
    uint64_t bit = pos * b;
    while (b) {
        unsigned sh = (unsigned)(bit & 7), take = 8 - sh < b ? 8 - sh : b;
        buf[bit >> 3] |= (uint8_t)((v & ((1u << take) - 1)) << sh);
        v >>= take; bit += take; b -= take;
    }
}

static uint32_t bits_get(const uint8_t *buf, uint64_t pos, unsigned b)
{
    uint64_t bit = pos * b;
    uint32_t v = 0;
    unsigned got = 0;
    while (got < b) {
        unsigned sh = (unsigned)(bit & 7), take = 8 - sh < b - got ? 8 - sh : b - got;
        v |= (uint32_t)((buf[bit >> 3] >> sh) & ((1u << take) - 1)) << got;
        bit += take; got += take;
    }
    return v;
}

static size_t sc_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    sc_shape S;
    TP_TRY(sc_shape_of(p, in, &S));
    const float *x = in->data;
    for (uint64_t i = 0; i < S.numel; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "sparsecode: value %llu is %s", (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    sc_desc(p, &S, out);
    size_t nbytes = tp_tensor_nbytes(out);
    if (cap < nbytes) return tp_fail(TP_ERR_DST_TOO_SMALL, "sparsecode needs %zu bytes", nbytes);
    if (!S.numel) return 0;
    size_t n = S.n, K = S.K, k = S.k, d = (size_t)S.d;
    int pass = sc_pass(p), f16 = !pass && tp_param_int(p, P_DICT) == DICT_F16;
    double *X = malloc(n * d * sizeof *X), *D = malloc(K * d * sizeof *D), *coef = malloc(n * k * sizeof *coef);
    int32_t *idx = malloc(n * k * sizeof *idx);
    size_t r = 0;
    if (!X || !D || !coef || !idx) { r = tp_fail(TP_ERR_NOMEM, "sparsecode: %zu signals", n); goto done; }
    for (size_t i = 0; i < n * d; i++) X[i] = x[i];
    tp_dict_opts o = {.atoms = (int)K, .k = (int)k, .iterations = tp_param_int(p, P_ITER),
                      .seed = (uint64_t)tp_param_int(p, P_SEED), .max_seconds = p->v[P_MAXSEC]};
    int iters, timed_out;
    double t0 = tp_now_seconds();
    r = tp_ksvd(X, n, (int)d, &o, D, &iters, &timed_out);
    if (tp_is_error(r)) goto done;
    for (size_t i = 0; i < K * d; i++) D[i] = f16 ? tp_half_to_float(tp_half_from_float((float)D[i])) : (float)D[i];
    r = tp_omp(X, n, (int)d, D, (int)K, (int)k, idx, coef);
    if (tp_is_error(r)) goto done;
    for (size_t i = 0; i < n * k; i++) {
        if (!pass && fabs(coef[i]) > 65504.0) {
            r = tp_fail(TP_ERR_PARAM, "sparsecode: coefficient %g overflows f16; use codes=pass", coef[i]);
            goto done;
        }
        coef[i] = pass ? (float)coef[i] : tp_half_to_float(tp_half_from_float((float)coef[i]));
        if (idx[i] < 0) { idx[i] = 0; coef[i] = 0; }
    }
    double err = 0, tot = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < d; c++) {
            double v = X[i * d + c];
            for (size_t s = 0; s < k; s++) v -= coef[i * k + s] * D[(size_t)idx[i * k + s] * d + c];
            err += v * v;
            tot += X[i * d + c] * X[i * d + c];
        }
    tp_train_report rep = {.codec = "sparsecode", .steps_done = (uint32_t)iters, .steps_asked = (uint32_t)o.iterations,
                           .stopped_by_time = timed_out, .seconds = tp_now_seconds() - t0, .rel_error = tot > 0 ? err / tot : 0};
    tp_train_report_set(&rep);
    uint8_t *o8 = dst;
    if (pass) {
        /* dst may be unaligned: values go in with memcpy */
        for (size_t i = 0; i < K * d; i++) { float f = (float)D[i]; memcpy(o8 + 4 * i, &f, 4); }
        uint8_t *C = o8 + 4 * K * d;
        memset(C, 0, n * K * 4);
        for (size_t i = 0; i < n; i++)
            for (size_t s = 0; s < k; s++)
                if (coef[i * k + s] != 0) { float f = (float)coef[i * k + s]; memcpy(C + 4 * (i * K + (size_t)idx[i * k + s]), &f, 4); }
    } else {
        size_t es = sc_dict_es(p);
        for (size_t i = 0; i < K * d; i++) {
            if (es == 2) { uint16_t h = tp_half_from_float((float)D[i]); memcpy(o8 + 2 * i, &h, 2); }
            else { float f = (float)D[i]; memcpy(o8 + 4 * i, &f, 4); }
        }
        uint8_t *cp = o8 + K * d * es, *ip = cp + n * k * 2;
        memset(ip, 0, (n * k * S.b + 7) / 8);
        for (size_t i = 0; i < n * k; i++) {
            uint16_t h = tp_half_from_float((float)coef[i]);
            memcpy(cp + 2 * i, &h, 2);
            if (S.b) bits_put(ip, i, S.b, (uint32_t)idx[i]);
        }
    }
    r = nbytes;
done:
    free(X); free(D); free(coef); free(idx);
    return r;
}

static size_t sc_decode(const tp_params *p, const void *src, size_t n_in, const tp_tensor *src_desc, const tp_tensor *dst_desc,
                        void *dst)
{
    sc_shape S;
    if (dst_desc->dtype != TP_F32 || tp_is_error(sc_shape_of(p, dst_desc, &S)))
        return tp_fail(TP_ERR_CORRUPT, "sparsecode stage: bad target tensor");
    uint64_t count = sc_count(p, &S);
    int pass = sc_pass(p);
    if (pass ? (src_desc->dtype != TP_F32 || src_desc->ndim != 1 || src_desc->shape[0] != count || n_in != count * 4)
             : (src_desc->dtype != TP_U8 || src_desc->ndim != 1 || n_in != count))
        return tp_fail(TP_ERR_CORRUPT, "sparsecode: payload of %zu bytes, expected %llu %s", n_in, (unsigned long long)count,
                       pass ? "f32 values" : "bytes");
    if (!S.numel) return 0;
    size_t n = S.n, K = S.K, k = S.k, d = (size_t)S.d;
    float *out = dst;
    if (pass) {
        float *v = malloc((size_t)count * sizeof *v); /* aligned copy; count <= 8x numel + 1 MiB (bound) */
        if (!v) return tp_fail(TP_ERR_NOMEM, "sparsecode: code matrix");
        memcpy(v, src, (size_t)count * 4);
        for (uint64_t i = 0; i < count; i++)
            if (!isfinite(v[i])) { free(v); return tp_fail(TP_ERR_CORRUPT, "sparsecode: non-finite value %llu", (unsigned long long)i); }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)K, 1.0f, v + K * d, (int)K, v, (int)d, 0.0f,
                    out, (int)d);
        free(v);
        return (size_t)S.numel * sizeof(float);
    }
    const uint8_t *s8 = src;
    size_t es = sc_dict_es(p);
    float *D = malloc(K * d * sizeof *D);
    if (!D) return tp_fail(TP_ERR_NOMEM, "sparsecode: dictionary");
    for (size_t i = 0; i < K * d; i++) {
        if (es == 2) { uint16_t h; memcpy(&h, s8 + 2 * i, 2); D[i] = tp_half_to_float(h); }
        else memcpy(&D[i], s8 + 4 * i, 4);
        if (!isfinite(D[i])) { free(D); return tp_fail(TP_ERR_CORRUPT, "sparsecode: non-finite atom value %zu", i); }
    }
    const uint8_t *cp = s8 + K * d * es, *ip = cp + n * k * 2;
    for (size_t i = 0; i < n; i++) {
        float *o = out + i * d;
        memset(o, 0, d * sizeof *o);
        for (size_t s = 0; s < k; s++) {
            uint16_t h;
            memcpy(&h, cp + 2 * (i * k + s), 2);
            float c = tp_half_to_float(h);
            uint32_t j = S.b ? bits_get(ip, i * k + s, S.b) : 0;
            if (!isfinite(c) || j >= K) {
                free(D);
                return tp_fail(TP_ERR_CORRUPT, "sparsecode: signal %zu slot %zu: %s", i, s, j >= K ? "atom index out of range" : "non-finite coefficient");
            }
            if (c != 0) cblas_saxpy((int)d, c, D + (size_t)j * d, 1, o, 1);
        }
    }
    free(D);
    return (size_t)S.numel * sizeof(float);
}

const tp_codec tp_codec_sparsecode = {
    .info = {.id = TP_CODEC_ID_sparsecode, .name = "sparsecode", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "K-SVD dictionary + OMP codes (k atoms per row or patch), packed or to the next stage",
             .n_params = N_PARAMS, .params = sc_params},
    .bound = sc_bound, .encode = sc_encode, .decode = sc_decode,
};
