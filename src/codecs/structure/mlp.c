/* MLP forward pass and Adam training for the autoenc codec. Single
 * threaded apart from what the BLAS does; deterministic for a seed and a
 * BLAS thread count. Activations: ReLU, tanh, and GELU in the tanh form of
 * Hendrycks & Gimpel (2016). Mini-batches: a seeded Fisher-Yates shuffle of
 * the rows each epoch. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/structure/mlp.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"

#define GELU_C 0.7978845608028654 /* sqrt(2/pi) */

size_t tp_mlp_params(const tp_mlp *m, int l0, int l1)
{
    size_t s = 0;
    for (int l = l0; l < l1; l++) s += (size_t)m->n_out[l] * m->n_in[l] + (size_t)m->n_out[l];
    return s;
}

static float act_f(int a, float x)
{
    switch (a) {
    case TP_ACT_RELU: return x > 0 ? x : 0;
    case TP_ACT_TANH: return tanhf(x);
    case TP_ACT_GELU: return 0.5f * x * (1.0f + tanhf((float)GELU_C * (x + 0.044715f * x * x * x)));
    default: return x;
    }
}

static float act_d(int a, float x)
{
    switch (a) {
    case TP_ACT_RELU: return x > 0 ? 1.0f : 0.0f;
    case TP_ACT_TANH: { float t = tanhf(x); return 1 - t * t; }
    case TP_ACT_GELU: {
        float t = tanhf((float)GELU_C * (x + 0.044715f * x * x * x));
        return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * (float)GELU_C * (1 + 3 * 0.044715f * x * x);
    }
    default: return 1.0f;
    }
}

/* Y = act(X W^T + b) for one layer; pre (optional) keeps X W^T + b. */
static void layer_fwd(const tp_mlp *m, int l, const float *W, const float *X, size_t rows, float *Y, float *pre)
{
    int ni = m->n_in[l], no = m->n_out[l];
    const float *b = W + (size_t)no * ni;
    for (size_t i = 0; i < rows; i++) memcpy(Y + i * no, b, (size_t)no * sizeof *Y);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, no, ni, 1.0f, X, ni, W, ni, 1.0f, Y, no);
    if (pre) memcpy(pre, Y, rows * no * sizeof *Y);
    if (m->act[l] != TP_ACT_NONE)
        for (size_t i = 0; i < rows * no; i++) Y[i] = act_f(m->act[l], Y[i]);
}

static int widest(const tp_mlp *m)
{
    int w = m->n_in[0];
    for (int l = 0; l < m->n_layers; l++) if (m->n_out[l] > w) w = m->n_out[l];
    return w;
}

void tp_mlp_forward(const tp_mlp *m, int l0, int l1, const float *P, const float *X, size_t rows, float *Y, float *scratch)
{
    size_t w = (size_t)widest(m);
    float *buf[2] = {scratch, scratch + rows * w};
    const float *in = X;
    for (int l = l0; l < l1; l++) {
        float *out = l + 1 == l1 ? Y : buf[(l - l0) & 1];
        layer_fwd(m, l, P, in, rows, out, NULL);
        P += (size_t)m->n_out[l] * m->n_in[l] + m->n_out[l];
        in = out;
    }
}

size_t tp_mlp_train(const tp_mlp *m, const float *X, size_t n, const tp_mlp_train_opts *o, float *P, int *epochs_done,
                    int *timed_out)
{
    int L = m->n_layers, d = m->n_in[0], dout = m->n_out[L - 1];
    size_t np = tp_mlp_params(m, 0, L);
    size_t off[TP_MLP_MAX_LAYERS];
    tp_rng rng;
    tp_rng_seed(&rng, o->seed);
    for (int l = 0, s = 0; l < L; l++) {
        off[l] = (size_t)s;
        double lim = sqrt(6.0 / (m->n_in[l] + m->n_out[l]));
        size_t nw = (size_t)m->n_out[l] * m->n_in[l];
        for (size_t i = 0; i < nw; i++) P[off[l] + i] = (float)((2 * tp_rng_uniform(&rng) - 1) * lim);
        memset(P + off[l] + nw, 0, (size_t)m->n_out[l] * sizeof *P);
        s += (int)(nw + m->n_out[l]);
    }
    *epochs_done = 0;
    *timed_out = 0;
    if (o->epochs <= 0 || n == 0) return 0;
    size_t B = (size_t)o->batch < n ? (size_t)o->batch : n, w = (size_t)widest(m);
    float *Mo = calloc(np, sizeof *Mo), *Vo = calloc(np, sizeof *Vo), *G = malloc(np * sizeof *G);
    float *Xb = malloc(B * d * sizeof *Xb), *gA = malloc(B * w * sizeof *gA), *gB = malloc(B * w * sizeof *gB);
    float *act[TP_MLP_MAX_LAYERS] = {0}, *pre[TP_MLP_MAX_LAYERS] = {0};
    size_t *perm = malloc(n * sizeof *perm);
    size_t r = 0;
    int ok = Mo && Vo && G && Xb && gA && gB && perm;
    for (int l = 0; l < L && ok; l++) {
        act[l] = malloc(B * m->n_out[l] * sizeof(float));
        pre[l] = malloc(B * m->n_out[l] * sizeof(float));
        ok = act[l] && pre[l];
    }
    if (!ok) { r = tp_fail(TP_ERR_NOMEM, "autoenc: training buffers"); goto done; }
    for (size_t i = 0; i < n; i++) perm[i] = i;
    double t0 = tp_now_seconds(), b1t = 1, b2t = 1;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int ep = 0; ep < o->epochs && !*timed_out; ep++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)tp_rng_below(&rng, i + 1), t = perm[i];
            perm[i] = perm[j]; perm[j] = t;
        }
        for (size_t s = 0; s < n; s += B) {
            if (o->max_seconds > 0 && tp_now_seconds() - t0 > o->max_seconds) { *timed_out = 1; break; }
            size_t rows = n - s < B ? n - s : B;
            for (size_t i = 0; i < rows; i++) memcpy(Xb + i * d, X + perm[s + i] * d, (size_t)d * sizeof *Xb);
            const float *in = Xb;
            for (int l = 0; l < L; l++) { layer_fwd(m, l, P + off[l], in, rows, act[l], pre[l]); in = act[l]; }
            /* d(mean squared error)/d(output) */
            float scale = 2.0f / (float)(rows * dout), *g = gA, *gn = gB;
            for (size_t i = 0; i < rows * dout; i++) g[i] = scale * (act[L - 1][i] - Xb[i]);
            for (int l = L - 1; l >= 0; l--) {
                int ni = m->n_in[l], no = m->n_out[l];
                if (m->act[l] != TP_ACT_NONE)
                    for (size_t i = 0; i < rows * no; i++) g[i] *= act_d(m->act[l], pre[l][i]);
                const float *lin = l ? act[l - 1] : Xb;
                float *gW = G + off[l], *gb = gW + (size_t)no * ni;
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, ni, (int)rows, 1.0f, g, no, lin, ni, 0.0f, gW, ni);
                for (int c = 0; c < no; c++) {
                    float acc = 0;
                    for (size_t i = 0; i < rows; i++) acc += g[i * no + c];
                    gb[c] = acc;
                }
                if (l) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, ni, no, 1.0f, g, no, P + off[l], ni, 0.0f, gn,
                                ni);
                    float *t = g; g = gn; gn = t;
                }
            }
            b1t *= b1; b2t *= b2;
            float lr_t = (float)(o->lr * sqrt(1 - b2t) / (1 - b1t));
            for (size_t i = 0; i < np; i++) {
                Mo[i] = (float)b1 * Mo[i] + (float)(1 - b1) * G[i];
                Vo[i] = (float)b2 * Vo[i] + (float)(1 - b2) * G[i] * G[i];
                P[i] -= lr_t * Mo[i] / (sqrtf(Vo[i]) + (float)eps);
            }
        }
        if (!*timed_out) ++*epochs_done;
    }
done:
    free(Mo); free(Vo); free(G); free(Xb); free(gA); free(gB); free(perm);
    for (int l = 0; l < L; l++) { free(act[l]); free(pre[l]); }
    return r;
}
