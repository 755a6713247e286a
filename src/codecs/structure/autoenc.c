/* autoenc: an MLP autoencoder trained on the rows of the tensor; stores the
 * decoder and one latent code per row, not the encoder.
 *
 * Matrix view as svd: N rows of d = last dim values. Network (H = hidden,
 * L = latent, act = activation):
 *   H > 0: encoder d -> H (act) -> L, decoder L -> H (act) -> d
 *   H = 0: encoder d -> L, decoder L -> d (both linear)
 * Training (mlp.c): Adam on the mean squared error of the standardised rows
 * (column mean removed, divided by one global RMS), so lr= means the same
 * on every tensor; the mean and RMS are then folded into the decoder's last
 * layer. The decoder is rounded to its stored precision first; the codes
 * are the encoder's outputs, except with H = 0 where they are re-fitted by
 * least squares to the rounded decoder (the best codes for it).
 *
 * Output: decoder layers (W then b per layer, row-major out x in) in
 * weights=f16|f32, then the N x L codes in codes=f16|f32 (u8 output); or,
 * codes=pass, one f32 tensor [decoder values + N*L] for the next stage.
 * The sizes follow from the parameters and the shape: no header. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/structure/lowrank.h"
#include "codecs/structure/mlp.h"
#include "codecs/structure/train_report.h"
#include "core/clock.h"
#include "core/half.h"

enum { P_HIDDEN, P_LATENT, P_ACT, P_EPOCHS, P_LR, P_BATCH, P_SEED, P_MAXSEC, P_WEIGHTS, P_CODES, N_PARAMS };
enum { ST_F16, ST_F32, ST_PASS };
static const char *const act_names[] = {"relu", "tanh", "gelu", NULL};
static const char *const w_types[] = {"f16", "f32", NULL};
static const char *const c_types[] = {"f16", "f32", "pass", NULL};

static const tp_param_def ae_params[N_PARAMS] = {
    [P_HIDDEN] = {"hidden", TP_PARAM_INT, 128, 0, 65536, NULL, "hidden units of encoder and decoder (0: linear autoencoder)"},
    [P_LATENT] = {"latent", TP_PARAM_INT, 32, 1, 65536, NULL, "latent values stored per row"},
    [P_ACT] = {"activation", TP_PARAM_ENUM, 1, 0, 2, act_names, "activation of the hidden layers"},
    [P_EPOCHS] = {"epochs", TP_PARAM_INT, 100, 0, 1000000, NULL, "passes over the rows"},
    [P_LR] = {"lr", TP_PARAM_FLOAT, 0.003, 1e-7, 1, NULL, "Adam learning rate (on standardised rows)"},
    [P_BATCH] = {"batch", TP_PARAM_INT, 32, 1, 65536, NULL, "rows per Adam step"},
    [P_SEED] = {"seed", TP_PARAM_INT, 1, 0, 2147483647, NULL, "seed of the initial weights and the row shuffles"},
    [P_MAXSEC] = {"max_seconds", TP_PARAM_FLOAT, 60, 0, 86400, NULL, "stop training after this many seconds (0: no bound)"},
    [P_WEIGHTS] = {"weights", TP_PARAM_ENUM, 0, 0, 1, w_types, "decoder weight storage (codes f16/f32)"},
    [P_CODES] = {"codes", TP_PARAM_ENUM, 0, 0, 2, c_types, "latent code storage, or pass: f32 [decoder | codes] to the next stage"},
};

typedef struct {
    uint64_t numel, N, dec, codes; /* decoder values, code values */
    int d, H, L;
    tp_mlp net; /* 4 layers (H > 0) or 2; decoder = the second half */
} ae_shape;

static size_t ae_shape_of(const tp_params *p, const tp_tensor *t, ae_shape *S)
{
    memset(S, 0, sizeof *S);
    uint64_t rows, cols;
    TP_TRY(tp_tensor_numel(t, &S->numel));
    tp_lowrank_dims(t, &rows, &cols);
    if (!S->numel) return 0;
    if (rows > 0x7fffffff || cols > 0x7fffffff) return tp_fail(TP_ERR_SHAPE, "autoenc: matrix too large");
    S->N = rows; S->d = (int)cols;
    S->H = tp_param_int(p, P_HIDDEN); S->L = tp_param_int(p, P_LATENT);
    int act = TP_ACT_RELU + tp_param_int(p, P_ACT);
    tp_mlp *m = &S->net;
    if (S->H) {
        int ni[4] = {S->d, S->H, S->L, S->H}, no[4] = {S->H, S->L, S->H, S->d}, a[4] = {act, TP_ACT_NONE, act, TP_ACT_NONE};
        m->n_layers = 4;
        memcpy(m->n_in, ni, sizeof ni); memcpy(m->n_out, no, sizeof no); memcpy(m->act, a, sizeof a);
    } else {
        m->n_layers = 2;
        m->n_in[0] = S->d; m->n_out[0] = S->L; m->n_in[1] = S->L; m->n_out[1] = S->d;
        m->act[0] = m->act[1] = TP_ACT_NONE;
    }
    uint64_t H = (uint64_t)S->H, L = (uint64_t)S->L, d = (uint64_t)S->d;
    S->dec = H ? H * L + H + d * H + d : d * L + d;
    S->codes = S->N * L;
    if (S->dec + S->codes > (1ull << 40)) return tp_fail(TP_ERR_SHAPE, "autoenc: %llu values too many", (unsigned long long)(S->dec + S->codes));
    return 0;
}

static int dec_l0(const ae_shape *S) { return S->net.n_layers / 2; }

static uint64_t ae_count(const tp_params *p, const ae_shape *S)
{
    int c = tp_param_int(p, P_CODES);
    if (!S->numel) return 0;
    if (c == ST_PASS) return S->dec + S->codes;
    return S->dec * (tp_param_int(p, P_WEIGHTS) == ST_F16 ? 2 : 4) + S->codes * (c == ST_F16 ? 2 : 4);
}

static void ae_desc(const tp_params *p, const ae_shape *S, tp_tensor *out)
{
    if (tp_param_int(p, P_CODES) == ST_PASS) {
        out->dtype = TP_F32; out->ndim = 1; out->shape[0] = ae_count(p, S); out->data = NULL;
    } else {
        tp_desc_bytes(out, (size_t)ae_count(p, S));
    }
}

static size_t ae_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    ae_shape S;
    TP_TRY(ae_shape_of(p, in, &S));
    ae_desc(p, &S, out);
    /* the frame refuses intermediates above 8x the tensor + 1 MiB */
    if (tp_param_int(p, P_CODES) == ST_PASS && tp_tensor_nbytes(out) > 8 * 4 * S.numel + (1u << 20))
        return tp_fail(TP_ERR_PARAM, "autoenc: codes=pass output over 8x the tensor; use codes=f16");
    return tp_tensor_nbytes(out);
}

/* X^ (N x d) from decoder parameters Pd and codes Z, in row blocks. */
static size_t ae_reconstruct(const ae_shape *S, const float *Pd, const float *Z, float *out)
{
    size_t blk = 64, w = (size_t)(S->H > S->d ? S->H : S->d);
    if (w < (size_t)S->L) w = (size_t)S->L;
    float *scratch = malloc(2 * blk * w * sizeof *scratch);
    if (!scratch) return tp_fail(TP_ERR_NOMEM, "autoenc: decoder scratch");
    int l0 = dec_l0(S);
    for (size_t i = 0; i < S->N; i += blk) {
        size_t rows = S->N - i < blk ? S->N - i : blk;
        tp_mlp_forward(&S->net, l0, S->net.n_layers, Pd, Z + i * S->L, rows, out + i * S->d, scratch);
    }
    free(scratch);
    return 0;
}

static float round_to(int f16, float v) { return f16 ? tp_half_to_float(tp_half_from_float(v)) : v; }

/* Least-squares codes for a linear decoder x = W z + b (W d x L): solves
 * (W^T W) Z^T = W^T (X - b)^T by Cholesky, with a tiny ridge for rank
 * deficiency. Returns 0 if solved (else the encoder's codes stay). */
static int ls_codes(const ae_shape *S, const float *Pd, const float *X, float *Z)
{
    int d = S->d, L = S->L;
    const float *W = Pd, *b = Pd + (size_t)d * L;
    double *A = calloc((size_t)L * L, sizeof *A), *R = malloc((size_t)S->N * L * sizeof *R);
    int info = -1;
    if (A && R) {
        double tr = 0;
        for (int a = 0; a < L; a++)
            for (int c = 0; c < L; c++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += (double)W[(size_t)j * L + a] * W[(size_t)j * L + c];
                A[(size_t)a * L + c] = s;
            }
        for (int a = 0; a < L; a++) tr += A[(size_t)a * L + a];
        for (int a = 0; a < L; a++) A[(size_t)a * L + a] += 1e-9 * (tr / L) + 1e-30;
        for (size_t i = 0; i < S->N; i++)
            for (int a = 0; a < L; a++) {
                double s = 0;
                for (int j = 0; j < d; j++) s += (double)W[(size_t)j * L + a] * ((double)X[i * d + j] - b[j]);
                R[i * L + a] = s; /* row i of B^T: B = W^T (X - b)^T, L x N */
            }
        /* A symmetric: solve A Y = R^T, i.e. Y^T = R A^{-1}; use column-major view of R (L x N). */
        info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', L, (int)S->N, A, L, R, L);
        if (!info)
            for (size_t i = 0; i < S->N * (size_t)L; i++) Z[i] = (float)R[i];
    }
    free(A); free(R);
    return info;
}

static size_t ae_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    ae_shape S;
    TP_TRY(ae_shape_of(p, in, &S));
    const float *x = in->data;
    for (uint64_t i = 0; i < S.numel; i++)
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "autoenc: value %llu is %s", (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
    ae_desc(p, &S, out);
    size_t nbytes = tp_tensor_nbytes(out);
    if (cap < nbytes) return tp_fail(TP_ERR_DST_TOO_SMALL, "autoenc needs %zu bytes", nbytes);
    if (!S.numel) return 0;
    size_t N = S.N, d = (size_t)S.d, L = (size_t)S.L, np = tp_mlp_params(&S.net, 0, S.net.n_layers);
    int cmode = tp_param_int(p, P_CODES), wf16 = cmode != ST_PASS && tp_param_int(p, P_WEIGHTS) == ST_F16;
    int cf16 = cmode == ST_F16;
    float *Xs = malloc(N * d * sizeof *Xs), *P = malloc(np * sizeof *P), *Z = malloc(N * L * sizeof *Z);
    float *Xh = malloc(N * d * sizeof *Xh), *mu = calloc(d, sizeof *mu);
    size_t r = 0;
    if (!Xs || !P || !Z || !Xh || !mu) { r = tp_fail(TP_ERR_NOMEM, "autoenc: %zu rows", N); goto done; }
    /* standardise */
    double ss = 0;
    for (size_t j = 0; j < d; j++) {
        double s = 0;
        for (size_t i = 0; i < N; i++) s += x[i * d + j];
        mu[j] = (float)(s / N);
    }
    for (size_t i = 0; i < N * d; i++) { double v = x[i] - mu[i % d]; ss += v * v; }
    float sig = ss > 0 ? (float)sqrt(ss / (N * d)) : 1.0f;
    for (size_t i = 0; i < N * d; i++) Xs[i] = (x[i] - mu[i % d]) / sig;
    tp_mlp_train_opts o = {.epochs = tp_param_int(p, P_EPOCHS), .batch = tp_param_int(p, P_BATCH), .lr = p->v[P_LR],
                           .max_seconds = p->v[P_MAXSEC], .seed = (uint64_t)tp_param_int(p, P_SEED)};
    int epochs, timed_out;
    double t0 = tp_now_seconds();
    r = tp_mlp_train(&S.net, Xs, N, &o, P, &epochs, &timed_out);
    if (tp_is_error(r)) goto done;
    for (size_t i = 0; i < np; i++)
        if (!isfinite(P[i])) { r = tp_fail(TP_ERR_PARAM, "autoenc: training diverged (non-finite weights); lower lr="); goto done; }
    /* codes from the encoder (on standardised rows) */
    {
        int l0 = dec_l0(&S);
        size_t blk = 64, w = (size_t)(S.H > S.d ? S.H : S.d);
        float *scratch = malloc(2 * blk * (w > L ? w : L) * sizeof *scratch);
        if (!scratch) { r = tp_fail(TP_ERR_NOMEM, "autoenc: encoder scratch"); goto done; }
        for (size_t i = 0; i < N; i += blk) {
            size_t rows = N - i < blk ? N - i : blk;
            tp_mlp_forward(&S.net, 0, l0, P, Xs + i * d, rows, Z + i * L, scratch);
        }
        free(scratch);
    }
    /* fold the standardisation into the decoder's last layer, round it */
    float *Pd = P + tp_mlp_params(&S.net, 0, dec_l0(&S));
    size_t ndec = (size_t)S.dec, last = ndec - d - d * (size_t)S.net.n_in[S.net.n_layers - 1];
    for (size_t i = last; i < ndec - d; i++) Pd[i] *= sig;
    for (size_t j = 0; j < d; j++) Pd[ndec - d + j] = Pd[ndec - d + j] * sig + mu[j];
    for (size_t i = 0; i < ndec; i++) Pd[i] = round_to(wf16, Pd[i]);
    if (!S.H) ls_codes(&S, Pd, x, Z); /* on failure the encoder's codes (standardised scale) are kept */
    for (size_t i = 0; i < N * L; i++) {
        if (!isfinite(Z[i]) || (cf16 && fabsf(Z[i]) > 65504.0f)) {
            r = tp_fail(TP_ERR_PARAM, "autoenc: latent value %g does not fit f16; use codes=f32", (double)Z[i]);
            goto done;
        }
        Z[i] = round_to(cf16, Z[i]);
    }
    for (size_t i = 0; i < ndec; i++)
        if (wf16 && !(fabsf(Pd[i]) <= 65504.0f)) { r = tp_fail(TP_ERR_PARAM, "autoenc: decoder weight overflows f16; use weights=f32"); goto done; }
    r = ae_reconstruct(&S, Pd, Z, Xh);
    if (tp_is_error(r)) goto done;
    double err = 0, tot = 0;
    for (size_t i = 0; i < N * d; i++) { double e = (double)x[i] - Xh[i]; err += e * e; tot += (double)x[i] * x[i]; }
    tp_train_report rep = {.codec = "autoenc", .steps_done = (uint32_t)epochs, .steps_asked = (uint32_t)o.epochs,
                           .stopped_by_time = timed_out, .seconds = tp_now_seconds() - t0, .rel_error = tot > 0 ? err / tot : 0};
    tp_train_report_set(&rep);
    uint8_t *o8 = dst;
    if (cmode == ST_PASS) {
        memcpy(o8, Pd, ndec * sizeof *Pd);
        memcpy(o8 + ndec * 4, Z, N * L * sizeof *Z);
    } else {
        size_t off = 0;
        for (size_t i = 0; i < ndec; i++) {
            if (wf16) { uint16_t h = tp_half_from_float(Pd[i]); memcpy(o8 + off, &h, 2); off += 2; }
            else { memcpy(o8 + off, &Pd[i], 4); off += 4; }
        }
        for (size_t i = 0; i < N * L; i++) {
            if (cf16) { uint16_t h = tp_half_from_float(Z[i]); memcpy(o8 + off, &h, 2); off += 2; }
            else { memcpy(o8 + off, &Z[i], 4); off += 4; }
        }
    }
    r = nbytes;
done:
    free(Xs); free(P); free(Z); free(Xh); free(mu);
    return r;
}

static size_t ae_decode(const tp_params *p, const void *src, size_t n_in, const tp_tensor *src_desc, const tp_tensor *dst_desc,
                        void *dst)
{
    ae_shape S;
    if (dst_desc->dtype != TP_F32 || tp_is_error(ae_shape_of(p, dst_desc, &S)))
        return tp_fail(TP_ERR_CORRUPT, "autoenc stage: bad target tensor");
    uint64_t count = ae_count(p, &S);
    int cmode = tp_param_int(p, P_CODES), pass = cmode == ST_PASS;
    if (pass ? (src_desc->dtype != TP_F32 || src_desc->ndim != 1 || src_desc->shape[0] != count || n_in != count * 4)
             : (src_desc->dtype != TP_U8 || src_desc->ndim != 1 || n_in != count))
        return tp_fail(TP_ERR_CORRUPT, "autoenc: payload of %zu bytes does not match the network", n_in);
    if (!S.numel) return 0;
    size_t nv = (size_t)(S.dec + S.codes);
    float *v = malloc(nv * sizeof *v);
    if (!v) return tp_fail(TP_ERR_NOMEM, "autoenc: decoder values");
    const uint8_t *s8 = src;
    if (pass) {
        memcpy(v, s8, nv * 4);
    } else {
        size_t off = 0;
        int wf16 = tp_param_int(p, P_WEIGHTS) == ST_F16, cf16 = cmode == ST_F16;
        for (size_t i = 0; i < nv; i++) {
            int h16 = i < S.dec ? wf16 : cf16;
            if (h16) { uint16_t h; memcpy(&h, s8 + off, 2); v[i] = tp_half_to_float(h); off += 2; }
            else { memcpy(&v[i], s8 + off, 4); off += 4; }
        }
    }
    for (size_t i = 0; i < nv; i++)
        if (!isfinite(v[i])) { free(v); return tp_fail(TP_ERR_CORRUPT, "autoenc: non-finite value %zu", i); }
    size_t r = ae_reconstruct(&S, v, v + S.dec, dst);
    free(v);
    return tp_is_error(r) ? r : (size_t)S.numel * sizeof(float);
}

const tp_codec tp_codec_autoenc = {
    .info = {.id = TP_CODEC_ID_autoenc, .name = "autoenc", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "MLP autoencoder trained on the rows (Adam); stores the decoder and the latent codes",
             .n_params = N_PARAMS, .params = ae_params},
    .bound = ae_bound, .encode = ae_encode, .decode = ae_decode,
};
