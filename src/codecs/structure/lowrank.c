/* svd and pca: low-rank factorisations that store the factors, not a
 * same-shape reconstruction.
 *
 * Shape rule (both): a tensor of ndim >= 2 is the matrix
 * rows = prod(shape[0..ndim-2]) x cols = shape[ndim-1]; ndim 1 is 1 x n,
 * a scalar 1 x 1.
 *
 * svd: X ~= sum_k s_k u_k v_k^T, k < r. Factors are balanced, a_k = sqrt(s_k)
 * u_k and b_k = sqrt(s_k) v_k, so that both halves have the same scale (a
 * following quantizer then treats them alike). Layout, r rows of rows+cols
 * values: row k = [a_k (rows values) | b_k (cols values)].
 *
 * pca: rows are samples. X ~= 1 mu^T + Z C with mu the column mean (cols
 * values), C the r top principal directions (r x cols, orthonormal rows)
 * and Z = U S the per-row coefficients (rows x r). Layout: mu, then C row
 * by row, then Z row by row.
 *
 * factor=f16|f32 writes those values as bytes (u8 output; r follows from the
 * byte count); factor=pass hands them on as an f32 tensor (svd: [r, rows+cols],
 * pca: [cols + r*(rows+cols)]) so that a next stage can quantize them.
 *
 * The decomposition is LAPACK's dgesdd in double precision; with rank= or
 * ratio= and a kept rank much smaller than min(rows, cols) it is the
 * randomized SVD of Halko, Martinsson and Tropp (SIAM Review 2011,
 * algorithm 4.4: Gaussian sketch, 2 power iterations with QR
 * re-orthonormalisation, 10 oversampling columns). With energy= and a large
 * matrix, the sketch grows until its captured energy reaches the target:
 * the residual of Q B_r is ||X||^2 - sum_{k<r} s_k(B)^2 exactly, so the
 * promised share holds for the randomized path too. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/structure/lowrank.h"
#include "core/half.h"
#include "core/rng.h"

enum { P_RANK, P_RATIO, P_ENERGY, P_FACTOR, P_METHOD, P_SEED, N_PARAMS };
enum { FACTOR_F16, FACTOR_F32, FACTOR_PASS };
enum { METHOD_AUTO, METHOD_FULL, METHOD_RANDOM };
static const char *const factor_types[] = {"f16", "f32", "pass", NULL};
static const char *const methods[] = {"auto", "full", "random", NULL};

static const tp_param_def svd_params[N_PARAMS] = {
    [P_RANK] = {"rank", TP_PARAM_INT, 0, 0, 1 << 30, NULL, "keep this many singular triplets (0: use ratio= or energy=)"},
    [P_RATIO] = {"ratio", TP_PARAM_FLOAT, 0, 0, 1, NULL, "keep ceil(ratio * min(rows, cols)) triplets (0: unused)"},
    [P_ENERGY] = {"energy", TP_PARAM_FLOAT, 0.99, 0, 1, NULL,
                  "keep the smallest rank whose squared singular values reach this share (default when rank/ratio absent)",
                  "rank,ratio"},
    [P_FACTOR] = {"factor", TP_PARAM_ENUM, 0, 0, 2, factor_types, "factor storage: f16, f32, or pass (f32 tensor to the next stage)"},
    [P_METHOD] = {"method", TP_PARAM_ENUM, 0, 0, 2, methods, "full: LAPACK dgesdd; random: Halko et al. sketch; auto: random when the rank is small"},
    [P_SEED] = {"seed", TP_PARAM_INT, 1, 0, 2147483647, NULL, "seed of the randomized sketch"},
};

static const tp_param_def pca_params[N_PARAMS] = {
    [P_RANK] = {"components", TP_PARAM_INT, 0, 0, 1 << 30, NULL, "keep this many principal components (0: use ratio= or energy=)"},
    [P_RATIO] = {"ratio", TP_PARAM_FLOAT, 0, 0, 1, NULL, "keep ceil(ratio * min(rows, cols)) components (0: unused)"},
    [P_ENERGY] = {"energy", TP_PARAM_FLOAT, 0.99, 0, 1, NULL,
                  "keep the fewest components explaining this share of the variance (default when components/ratio absent)",
                  "components,ratio"},
    [P_FACTOR] = {"factor", TP_PARAM_ENUM, 0, 0, 2, factor_types, "storage: f16, f32, or pass (f32 tensor to the next stage)"},
    [P_METHOD] = {"method", TP_PARAM_ENUM, 0, 0, 2, methods, "full: LAPACK dgesdd; random: Halko et al. sketch; auto: random when the rank is small"},
    [P_SEED] = {"seed", TP_PARAM_INT, 1, 0, 2147483647, NULL, "seed of the randomized sketch"},
};

static size_t lowrank_validate_named(const tp_params *p, const char *name, const char *rank_name)
{
    int set = (p->v[P_RANK] > 0) + (p->v[P_RATIO] > 0) + (p->v[P_ENERGY] > 0);
    if (set != 1)
        return tp_fail(TP_ERR_PARAM, "%s: give exactly one of %s=, ratio=, energy= (%d given non-zero)", name, rank_name, set);
    return 0;
}
static size_t svd_validate(const tp_params *p) { return lowrank_validate_named(p, "svd", "rank"); }
static size_t pca_validate(const tp_params *p) { return lowrank_validate_named(p, "pca", "components"); }

void tp_lowrank_dims(const tp_tensor *t, uint64_t *rows, uint64_t *cols)
{
    if (t->ndim == 0) { *rows = 1; *cols = 1; return; }
    *cols = t->shape[t->ndim - 1];
    uint64_t r = 1;
    for (uint32_t i = 0; i + 1 < t->ndim; i++) r *= t->shape[i];
    *rows = r;
}

/* ---- decomposition ---------------------------------------------------- */

static void gaussian_fill(double *x, size_t n, uint64_t seed)
{
    tp_rng s;
    tp_rng_seed(&s, seed);
    for (size_t i = 0; i < n; i += 2) {
        double u1 = tp_rng_uniform(&s), u2 = tp_rng_uniform(&s);
        double r = sqrt(-2.0 * log(u1));
        x[i] = r * cos(6.283185307179586 * u2);
        if (i + 1 < n) x[i + 1] = r * sin(6.283185307179586 * u2);
    }
}

/* Orthonormalises the columns of Y (m x l, row-major, m >= l) in place. */
static int orthonormalize(double *Y, int m, int l)
{
    double *tau = malloc((size_t)l * sizeof *tau);
    if (!tau) return -1;
    int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, l, Y, l, tau);
    if (!info) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, l, l, Y, l, tau);
    free(tau);
    return info;
}

/* Full thin SVD of A (m x n row-major, destroyed): U m x p, s p, Vt p x n. */
static size_t full_svd(double *A, int m, int n, tp_svd *out)
{
    int p = m < n ? m : n;
    out->U = malloc((size_t)m * p * sizeof(double));
    out->s = malloc((size_t)p * sizeof(double));
    out->Vt = malloc((size_t)p * n * sizeof(double));
    out->l = p;
    if (!out->U || !out->s || !out->Vt) return tp_fail(TP_ERR_NOMEM, "svd: factors of %dx%d", m, n);
    int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', m, n, A, n, out->s, out->U, p, out->Vt, n);
    if (info) return tp_fail(TP_ERR_BACKEND, "svd: LAPACK dgesdd failed (info %d)", info);
    return 0;
}

/* Randomized SVD with l sketch columns (Halko et al. 2011, alg. 4.4, q=2).
 * A is not modified. */
static size_t random_svd(const double *A, int m, int n, int l, uint64_t seed, tp_svd *out)
{
    size_t r = 0;
    double *Om = malloc((size_t)n * l * sizeof(double));
    double *Y = malloc((size_t)m * l * sizeof(double));
    double *Z = malloc((size_t)n * l * sizeof(double));
    double *B = malloc((size_t)l * n * sizeof(double));
    double *Ub = malloc((size_t)l * l * sizeof(double));
    out->U = malloc((size_t)m * l * sizeof(double));
    out->s = malloc((size_t)l * sizeof(double));
    out->Vt = malloc((size_t)l * n * sizeof(double));
    out->l = l;
    if (!Om || !Y || !Z || !B || !Ub || !out->U || !out->s || !out->Vt) {
        r = tp_fail(TP_ERR_NOMEM, "svd: sketch of %dx%d", m, l);
        goto done;
    }
    gaussian_fill(Om, (size_t)n * l, seed);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, l, n, 1.0, A, n, Om, l, 0.0, Y, l);
    for (int q = 0; q < 2; q++) {
        if (orthonormalize(Y, m, l)) { r = tp_fail(TP_ERR_BACKEND, "svd: QR of the sketch failed"); goto done; }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, l, m, 1.0, A, n, Y, l, 0.0, Z, l);
        if (orthonormalize(Z, n, l)) { r = tp_fail(TP_ERR_BACKEND, "svd: QR of the sketch failed"); goto done; }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, l, n, 1.0, A, n, Z, l, 0.0, Y, l);
    }
    if (orthonormalize(Y, m, l)) { r = tp_fail(TP_ERR_BACKEND, "svd: QR of the sketch failed"); goto done; }
    /* B = Q^T A (l x n) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l, n, m, 1.0, Y, l, A, n, 0.0, B, n);
    int info = LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', l, n, B, n, out->s, Ub, l, out->Vt, n);
    if (info) { r = tp_fail(TP_ERR_BACKEND, "svd: LAPACK dgesdd failed (info %d)", info); goto done; }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, l, l, 1.0, Y, l, Ub, l, 0.0, out->U, l);
done:
    free(Om); free(Y); free(Z); free(B); free(Ub);
    return r;
}

void tp_svd_free(tp_svd *s)
{
    free(s->U); free(s->s); free(s->Vt);
    memset(s, 0, sizeof *s);
}

/* Smallest r with sum_{k<r} s_k^2 >= energy * total (r <= l); -1 if the l
 * values do not reach it. */
static int rank_for_energy(const double *s, int l, double energy, double total)
{
    if (total <= 0) return 0;
    double acc = 0, want = energy * total;
    for (int k = 0; k < l; k++) {
        if (acc >= want) return k;
        acc += s[k] * s[k];
    }
    /* Rounding may leave the full sum a hair under the target. */
    if (acc >= want * (1 - 1e-12)) return l;
    return -1;
}

size_t tp_lowrank_svd(double *A, int m, int n, const tp_lowrank_opts *o, tp_svd *out, int *rank)
{
    memset(out, 0, sizeof *out);
    *rank = 0;
    int p = m < n ? m : n;
    if (p == 0) return 0;
    double total = 0;
    for (size_t i = 0; i < (size_t)m * n; i++) total += A[i] * A[i];
    int k = -1; /* requested rank, -1: by energy */
    if (o->rank > 0) k = o->rank < p ? o->rank : p;
    else if (o->ratio > 0) { k = (int)ceil(o->ratio * p - 1e-9); if (k > p) k = p; }

    int random = o->method == METHOD_RANDOM || (o->method == METHOD_AUTO && p >= 256);
    if (random && k >= 0) {
        int l = k + 10;
        if (o->method == METHOD_AUTO && 2 * l > p) random = 0;
        if (random) {
            if (l > p) l = p;
            TP_TRY(random_svd(A, m, n, l, o->seed, out));
        }
    } else if (random) {
        for (int l = p / 8 > 16 ? p / 8 : 16;; l *= 2) {
            if (l > p) l = p;
            if (o->method == METHOD_AUTO && 2 * l > p) { random = 0; break; }
            TP_TRY(random_svd(A, m, n, l, o->seed, out));
            int r = rank_for_energy(out->s, out->l, o->energy, total);
            if (r >= 0 || l == p) break;
            tp_svd_free(out);
        }
    }
    if (!random) TP_TRY(full_svd(A, m, n, out));
    int r = k >= 0 ? k : rank_for_energy(out->s, out->l, o->energy, total);
    if (r < 0) r = out->l;
    if (r > out->l) r = out->l;
    while (r > 0 && !(out->s[r - 1] > 0)) r--; /* exact zeros carry nothing */
    *rank = r;
    return 0;
}

/* ---- shared encode/decode ----------------------------------------------- */

typedef struct {
    int pca;
    uint64_t rows, cols, numel;
} lr_shape;

static size_t lr_shape_of(int pca, const tp_tensor *t, lr_shape *S)
{
    S->pca = pca;
    TP_TRY(tp_tensor_numel(t, &S->numel));
    tp_lowrank_dims(t, &S->rows, &S->cols);
    if (S->rows > 0x7fffffff || S->cols > 0x7fffffff)
        return tp_fail(TP_ERR_SHAPE, "%s: matrix %llux%llu too large for LAPACK", pca ? "pca" : "svd",
                       (unsigned long long)S->rows, (unsigned long long)S->cols);
    return 0;
}

/* Values stored for rank r. */
static uint64_t lr_values(const lr_shape *S, uint64_t r)
{
    if (S->numel == 0) return 0;
    return (S->pca ? S->cols : 0) + r * (S->rows + S->cols);
}

static void lr_desc(const tp_params *p, const lr_shape *S, uint64_t r, tp_tensor *out)
{
    uint64_t nv = lr_values(S, r);
    int f = tp_param_int(p, P_FACTOR);
    if (f == FACTOR_PASS) {
        out->dtype = TP_F32;
        out->data = NULL;
        if (S->pca) { out->ndim = 1; out->shape[0] = nv; }
        else { out->ndim = 2; out->shape[0] = r; out->shape[1] = S->rows + S->cols; }
        return;
    }
    tp_desc_bytes(out, (size_t)(nv * (f == FACTOR_F16 ? 2 : 4)));
}

static size_t lr_bound(int pca, const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    lr_shape S;
    TP_TRY(lr_shape_of(pca, in, &S));
    uint64_t pmax = S.rows < S.cols ? S.rows : S.cols;
    lr_desc(p, &S, pmax, out);
    return tp_tensor_nbytes(out);
}

static size_t lr_encode(int pca, const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    const char *name = pca ? "pca" : "svd";
    lr_shape S;
    TP_TRY(lr_shape_of(pca, in, &S));
    const float *x = in->data;
    for (uint64_t i = 0; i < S.numel; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "%s: value %llu is %s", name, (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    if (S.numel == 0) {
        lr_desc(p, &S, 0, out);
        return 0;
    }
    int m = (int)S.rows, n = (int)S.cols;
    double *A = malloc((size_t)S.numel * sizeof *A);
    double *mean = calloc((size_t)n, sizeof *mean);
    if (!A || !mean) { free(A); free(mean); return tp_fail(TP_ERR_NOMEM, "%s: working copy", name); }
    for (uint64_t i = 0; i < S.numel; i++) A[i] = x[i];
    if (pca) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) mean[j] += A[(size_t)i * n + j];
        for (int j = 0; j < n; j++) mean[j] /= m;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) A[(size_t)i * n + j] -= mean[j];
    }
    tp_lowrank_opts o = {.rank = tp_param_int(p, P_RANK), .ratio = p->v[P_RATIO], .energy = p->v[P_ENERGY],
                         .method = tp_param_int(p, P_METHOD), .seed = (uint64_t)tp_param_int(p, P_SEED)};
    tp_svd sv;
    int r;
    size_t res = tp_lowrank_svd(A, m, n, &o, &sv, &r);
    free(A);
    if (tp_is_error(res)) { free(mean); tp_svd_free(&sv); return res; }
    lr_desc(p, &S, (uint64_t)r, out);
    size_t nbytes = tp_tensor_nbytes(out);
    uint64_t nv = lr_values(&S, (uint64_t)r);
    float *v = malloc((nv ? nv : 1) * sizeof *v);
    if (cap < nbytes || !v) {
        int oom = !v;
        free(mean); free(v); tp_svd_free(&sv);
        return oom ? tp_fail(TP_ERR_NOMEM, "%s: factors", name) : tp_fail(TP_ERR_DST_TOO_SMALL, "%s needs %zu bytes", name, nbytes);
    }
    int l = sv.l;
    size_t w = 0;
    if (pca) {
        for (int j = 0; j < n; j++) v[w++] = (float)mean[j];
        for (int k = 0; k < r; k++)
            for (int j = 0; j < n; j++) v[w++] = (float)sv.Vt[(size_t)k * n + j];
        for (int i = 0; i < m; i++)
            for (int k = 0; k < r; k++) v[w++] = (float)(sv.U[(size_t)i * l + k] * sv.s[k]);
    } else {
        for (int k = 0; k < r; k++) {
            double rs = sqrt(sv.s[k]);
            for (int i = 0; i < m; i++) v[w++] = (float)(rs * sv.U[(size_t)i * l + k]);
            for (int j = 0; j < n; j++) v[w++] = (float)(rs * sv.Vt[(size_t)k * n + j]);
        }
    }
    free(mean);
    tp_svd_free(&sv);
    int f = tp_param_int(p, P_FACTOR);
    if (f == FACTOR_F16) {
        uint8_t *d = dst;
        for (uint64_t i = 0; i < nv; i++) {
            if (fabsf(v[i]) > 65504.0f) {
                double big = v[i];
                free(v);
                return tp_fail(TP_ERR_PARAM, "%s: factor value %g overflows f16; use factor=f32", name, big);
            }
            uint16_t h = tp_half_from_float(v[i]);
            memcpy(d + 2 * i, &h, 2);
        }
    } else {
        memcpy(dst, v, nv * sizeof *v);
    }
    free(v);
    return nbytes;
}

static size_t lr_decode(int pca, const tp_params *p, const void *src, size_t n_in, const tp_tensor *src_desc,
                        const tp_tensor *dst_desc, void *dst)
{
    const char *name = pca ? "pca" : "svd";
    lr_shape S;
    if (tp_is_error(lr_shape_of(pca, dst_desc, &S)) || dst_desc->dtype != TP_F32)
        return tp_fail(TP_ERR_CORRUPT, "%s stage: bad target tensor", name);
    float *out = dst;
    if (S.numel == 0) {
        if (n_in) return tp_fail(TP_ERR_CORRUPT, "%s: %zu bytes for an empty tensor", name, n_in);
        return 0;
    }
    int f = tp_param_int(p, P_FACTOR);
    size_t es = f == FACTOR_F16 ? 2 : 4;
    uint64_t per = S.rows + S.cols, base = pca ? S.cols : 0;
    uint64_t pmax = S.rows < S.cols ? S.rows : S.cols;
    uint64_t nv = n_in / es, r;
    if (n_in % es || nv < base || (nv - base) % per) return tp_fail(TP_ERR_CORRUPT, "%s: payload of %zu bytes fits no rank", name, n_in);
    r = (nv - base) / per;
    if (r > pmax) return tp_fail(TP_ERR_CORRUPT, "%s: rank %llu above min(rows, cols)", name, (unsigned long long)r);
    if (f == FACTOR_PASS) {
        int ok = src_desc->dtype == TP_F32 &&
                 (pca ? src_desc->ndim == 1 && src_desc->shape[0] == nv
                      : src_desc->ndim == 2 && src_desc->shape[0] == r && src_desc->shape[1] == per);
        if (!ok) return tp_fail(TP_ERR_CORRUPT, "%s: factor tensor descriptor does not match", name);
    } else if (src_desc->dtype != TP_U8 || src_desc->ndim != 1) {
        return tp_fail(TP_ERR_CORRUPT, "%s: payload is not bytes", name);
    }
    float *v = malloc((nv ? nv : 1) * sizeof *v);
    if (!v) return tp_fail(TP_ERR_NOMEM, "%s: factors", name);
    if (f == FACTOR_F16) {
        const uint8_t *s8 = src;
        for (uint64_t i = 0; i < nv; i++) { uint16_t h; memcpy(&h, s8 + 2 * i, 2); v[i] = tp_half_to_float(h); }
    } else {
        memcpy(v, src, nv * 4);
    }
    int m = (int)S.rows, n = (int)S.cols, rk = (int)r;
    if (pca) {
        const float *mu = v, *C = v + n, *Z = v + n + (size_t)rk * n;
        for (int i = 0; i < m; i++) memcpy(out + (size_t)i * n, mu, (size_t)n * sizeof *out);
        if (rk) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, rk, 1.0f, Z, rk, C, n, 1.0f, out, n);
    } else if (rk) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, rk, 1.0f, v, (int)per, v + m, (int)per, 0.0f, out, n);
    } else {
        memset(out, 0, (size_t)S.numel * sizeof *out);
    }
    free(v);
    return (size_t)S.numel * sizeof(float);
}

static size_t svd_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out) { return lr_bound(0, p, in, out); }
static size_t pca_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out) { return lr_bound(1, p, in, out); }
static size_t svd_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    return lr_encode(0, p, in, dst, cap, out);
}
static size_t pca_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    return lr_encode(1, p, in, dst, cap, out);
}
static size_t svd_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *sd, const tp_tensor *dd, void *dst)
{
    return lr_decode(0, p, src, n, sd, dd, dst);
}
static size_t pca_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *sd, const tp_tensor *dd, void *dst)
{
    return lr_decode(1, p, src, n, sd, dd, dst);
}

const tp_codec tp_codec_svd = {
    .info = {.id = TP_CODEC_ID_svd, .name = "svd", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "truncated SVD (rank, ratio or energy), balanced factors as f16/f32 or to the next stage",
             .n_params = N_PARAMS, .params = svd_params},
    .validate = svd_validate, .bound = svd_bound, .encode = svd_encode, .decode = svd_decode,
};

const tp_codec tp_codec_pca = {
    .info = {.id = TP_CODEC_ID_pca, .name = "pca", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "PCA over rows: mean + top components + per-row coefficients",
             .n_params = N_PARAMS, .params = pca_params},
    .validate = pca_validate, .bound = pca_bound, .encode = pca_encode, .decode = pca_decode,
};
