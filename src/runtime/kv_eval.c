/* tp_kv_eval_llama: next-token KL, agreement and perplexity of a decoder
 * whose attention reads a compressed KV cache, against the same decoder
 * with exact attention, plus the cache's own attention error per layer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "format/whole_file.h"
#include "tpress.h"
#include "tpress_eval.h"

#define CHUNK 128

typedef struct {
    tp_kv *kv;
    const tp_llama *m;
    size_t heads, kv_heads, hd, kvd, dim;
    double cos_sum[TP_KV_EVAL_MAX_LAYERS];
    size_t cos_n[TP_KV_EVAL_MAX_LAYERS];
    double err2, ref2;
    float *exact;   /* [dim]    */
    double *scores; /* [tokens] */
} kv_hook;

/* Exact attention of query q (all heads) over positions 0..last of the
 * model's f32 cache of this layer. */
static void exact_attention(kv_hook *H, size_t layer, const float *q, size_t last, float *out)
{
    const float *K, *V;
    tp_llama_kv(H->m, layer, &K, &V);
    const size_t group = H->heads / H->kv_heads;
    for (size_t h = 0; h < H->heads; h++) {
        const size_t kh = h / group;
        double mx = -INFINITY, sum = 0;
        for (size_t t = 0; t <= last; t++) {
            double s = 0;
            for (size_t i = 0; i < H->hd; i++) s += (double)q[h * H->hd + i] * K[t * H->kvd + kh * H->hd + i];
            H->scores[t] = s / sqrt((double)H->hd);
            mx = fmax(mx, H->scores[t]);
        }
        for (size_t t = 0; t <= last; t++) sum += (H->scores[t] = exp(H->scores[t] - mx));
        for (size_t i = 0; i < H->hd; i++) {
            double o = 0;
            for (size_t t = 0; t <= last; t++) o += H->scores[t] * V[t * H->kvd + kh * H->hd + i];
            out[h * H->hd + i] = (float)(o / sum);
        }
    }
}

static size_t attend_hook(void *ctx, size_t layer, const float *k, const float *v, const float *q, size_t n, float *att)
{
    kv_hook *H = ctx;
    const size_t p0 = tp_llama_position(H->m);
    for (size_t i = 0; i < n; i++) {
        TP_TRY(tp_kv_append(H->kv, (uint32_t)layer, k + i * H->kvd, v + i * H->kvd, 1, NULL));
        float *a = att + i * H->dim;
        TP_TRY(tp_kv_attend(H->kv, (uint32_t)layer, q + i * H->dim, (uint32_t)H->heads, a));
        exact_attention(H, layer, q + i * H->dim, p0 + i, H->exact);
        for (size_t h = 0; h < H->heads; h++) {
            H->cos_sum[layer] += tp_eval_cosine(a + h * H->hd, H->exact + h * H->hd, H->hd);
            H->cos_n[layer]++;
        }
        for (size_t j = 0; j < H->dim; j++) {
            double d = (double)a[j] - H->exact[j];
            H->err2 += d * d;
            H->ref2 += (double)H->exact[j] * H->exact[j];
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    tp_llama *ref, *cand;
    int32_t *ids;
    size_t T, V;
    float *lr, *lc;
    double *kl;
    kv_hook H;
} kv_run;

static void run_free(kv_run *R)
{
    tp_llama_free(R->ref);
    tp_llama_free(R->cand);
    tp_kv_free(R->H.kv);
    free(R->ids); free(R->lr); free(R->lc); free(R->kl); free(R->H.exact); free(R->H.scores);
}

static size_t setup(kv_run *R, const char *gguf, const char *text_path, size_t context, const char *method)
{
    char *text = NULL;
    size_t len = 0;
    TP_TRY(tp_read_whole_file(text_path, &text, &len));
    size_t r = tp_llama_load(gguf, NULL, &R->ref);
    if (!tp_is_error(r)) r = tp_llama_load(gguf, NULL, &R->cand);
    if (!tp_is_error(r)) r = tp_llama_tokenize(R->ref, text, len, &R->ids, &R->T);
    free(text);
    TP_TRY(r);
    if (R->T > context) R->T = context;
    if (R->T < 2) return tp_fail(TP_ERR_ARG, "%s has fewer than 2 tokens", text_path);
    kv_hook *H = &R->H;
    H->m = R->cand;
    H->heads = tp_llama_heads(R->cand);
    H->kv_heads = tp_llama_kv_heads(R->cand);
    H->kvd = tp_llama_kv_dim(R->cand);
    H->dim = tp_llama_dim(R->cand);
    H->hd = H->kvd / H->kv_heads;
    if (tp_llama_layers(R->cand) > TP_KV_EVAL_MAX_LAYERS) return tp_fail(TP_ERR_UNSUPPORTED, "more than %d layers", TP_KV_EVAL_MAX_LAYERS);
    tp_kv_config c = {(uint32_t)tp_llama_layers(R->cand), (uint32_t)H->kv_heads, (uint32_t)H->hd, TP_F32, method, 0, NULL};
    TP_TRY(tp_kv_create(&c, &H->kv));
    TP_TRY(tp_llama_set_context(R->ref, R->T));
    TP_TRY(tp_llama_set_context(R->cand, R->T));
    tp_llama_set_attention(R->cand, attend_hook, H);
    R->V = tp_llama_vocab(R->ref);
    R->lr = malloc(CHUNK * R->V * sizeof *R->lr);
    R->lc = malloc(CHUNK * R->V * sizeof *R->lc);
    R->kl = malloc(R->T * sizeof *R->kl);
    H->exact = malloc(H->dim * sizeof *H->exact);
    H->scores = malloc(R->T * sizeof *H->scores);
    if (!R->lr || !R->lc || !R->kl || !H->exact || !H->scores) return tp_fail(TP_ERR_NOMEM, "KV evaluation buffers");
    return 0;
}

size_t tp_kv_eval_llama(const char *gguf, const char *text_path, size_t context, const char *method, tp_kv_eval_result *out)
{
    if (!gguf || !text_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    if (context < 2) return tp_fail(TP_ERR_PARAM, "context of %zu tokens (at least 2)", context);
    kv_run R;
    memset(&R, 0, sizeof R);
    size_t r = setup(&R, gguf, text_path, context, method);
    double nll_r = 0, nll_c = 0;
    size_t agree = 0, n_kl = 0;
    for (size_t c0 = 0; !tp_is_error(r) && c0 < R.T; c0 += CHUNK) {
        size_t n = R.T - c0 < CHUNK ? R.T - c0 : CHUNK;
        r = tp_llama_forward(R.ref, R.ids + c0, n, R.lr, NULL);
        if (!tp_is_error(r)) r = tp_llama_forward(R.cand, R.ids + c0, n, R.lc, NULL);
        size_t n_score = c0 + n < R.T ? n : n - 1;
        for (size_t i = 0; !tp_is_error(r) && i < n_score; i++) {
            const float *p = R.lr + i * R.V, *q = R.lc + i * R.V;
            size_t next = (size_t)R.ids[c0 + i + 1];
            R.kl[n_kl++] = tp_eval_kl_logits(p, q, R.V);
            agree += tp_eval_argmax(p, R.V) == tp_eval_argmax(q, R.V);
            nll_r += tp_eval_nll(p, R.V, next);
            nll_c += tp_eval_nll(q, R.V, next);
        }
    }
    if (!tp_is_error(r)) {
        tp_kv_stats s;
        tp_kv_stats_get(R.H.kv, &s);
        out->n_tokens = R.T;
        out->n_predicted = n_kl;
        out->n_layers = tp_llama_layers(R.cand);
        out->bytes = s.bytes;
        /* over every token of the context, so that an evicting cache is
         * compared at its real bytes */
        double elements = 2.0 * (double)s.tokens_appended * R.H.kv_heads * R.H.hd;
        out->bits_per_element = elements > 0 ? 8.0 * (double)s.bytes / elements : 0;
        out->ratio_vs_f16 = s.bytes ? elements * 2.0 / (double)s.bytes : 0;
        double sum = 0;
        for (size_t i = 0; i < n_kl; i++) sum += R.kl[i];
        out->mean_kl = sum / (double)n_kl;
        qsort(R.kl, n_kl, sizeof *R.kl, cmp_double);
        size_t k = (size_t)ceil(0.99 * (double)n_kl);
        out->p99_kl = R.kl[(k ? k : 1) - 1];
        out->top1_agreement = (double)agree / (double)n_kl;
        out->ref_ppl = exp(nll_r / (double)n_kl);
        out->cand_ppl = exp(nll_c / (double)n_kl);
        out->min_cosine = INFINITY;
        for (size_t l = 0; l < out->n_layers; l++) {
            out->layer_cosine[l] = R.H.cos_sum[l] / (double)R.H.cos_n[l];
            out->mean_cosine += out->layer_cosine[l] / (double)out->n_layers;
            out->min_cosine = fmin(out->min_cosine, out->layer_cosine[l]);
        }
        out->rel_error = R.H.ref2 > 0 ? sqrt(R.H.err2 / R.H.ref2) : 0;
        double per = (double)s.tokens_appended;
        out->append_us = per > 0 ? 1e6 * s.append_seconds / per : 0;
        out->attend_us = per > 0 ? 1e6 * s.attend_seconds / per : 0;
    }
    run_free(&R);
    return tp_is_error(r) ? r : 0;
}
