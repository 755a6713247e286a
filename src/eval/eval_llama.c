/* Decoder evaluation (tpress eval --model smollm2): both models run the same
 * windows of the text in lockstep, chunk by chunk, so no more than one
 * chunk of logits per model is ever held. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "format/whole_file.h"
#include "eval/models.h"
#include "tpress_eval.h"

#define EVAL_DEFAULT_WINDOW 512

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    tp_llama *ref, *cand;
    size_t V, S, D;
    float *lr, *lc, *hr, *hc;
    double *kl;
    size_t n_kl, agree;
    double nll_r, nll_c;
    double *sx, *se; /* per state: sum x^2, sum (x - y)^2 */
} eval_ctx;

/* Runs ids[0..n) of one window at its next positions and scores every
 * position whose next token is inside the window (next[i], i < n_score). */
static size_t run_chunk(eval_ctx *c, const int32_t *ids, size_t n, const int32_t *next, size_t n_score,
                        tp_eval_lm_result *out)
{
    double t0 = tp_now_seconds();
    TP_TRY(tp_llama_forward(c->ref, ids, n, c->lr, c->hr));
    double t1 = tp_now_seconds();
    TP_TRY(tp_llama_forward(c->cand, ids, n, c->lc, c->hc));
    out->ref_seconds += t1 - t0;
    out->cand_seconds += tp_now_seconds() - t1;
    for (size_t i = 0; i < n_score; i++) {
        const float *p = c->lr + i * c->V, *q = c->lc + i * c->V;
        c->kl[c->n_kl++] = tp_eval_kl_logits(p, q, c->V);
        c->agree += tp_eval_argmax(p, c->V) == tp_eval_argmax(q, c->V);
        c->nll_r += tp_eval_nll(p, c->V, (size_t)next[i]);
        c->nll_c += tp_eval_nll(q, c->V, (size_t)next[i]);
    }
    for (size_t s = 0; s < c->S; s++) {
        const float *x = c->hr + s * n * c->D, *y = c->hc + s * n * c->D;
        double sx = 0, se = 0;
        for (size_t k = 0; k < n * c->D; k++) {
            double d = (double)x[k] - y[k];
            sx += (double)x[k] * x[k];
            se += d * d;
        }
        c->sx[s] += sx;
        c->se[s] += se;
    }
    return 0;
}

size_t tp_eval_llama_from(const char *ref_path, tp_weights *cand, const char *text_path, size_t window,
                          size_t max_tokens, tp_eval_lm_result *out)
{
    if (!ref_path || !cand || !text_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    if (!window) window = EVAL_DEFAULT_WINDOW;
    if (window < 2) return tp_fail(TP_ERR_PARAM, "window of %zu tokens (at least 2)", window);
    eval_ctx c = {0};
    char *text = NULL;
    size_t len = 0, T = 0;
    int32_t *ids = NULL;
    size_t r = tp_read_whole_file(text_path, &text, &len);
    if (!tp_is_error(r)) r = tp_llama_load(ref_path, NULL, &c.ref);
    if (!tp_is_error(r)) r = tp_llama_load_from(cand, ref_path, &c.cand);
    if (!tp_is_error(r) && (tp_llama_vocab(c.ref) != tp_llama_vocab(c.cand) || tp_llama_dim(c.ref) != tp_llama_dim(c.cand)))
        r = tp_fail(TP_ERR_SHAPE, "reference and candidate differ in vocabulary or width");
    if (!tp_is_error(r)) r = tp_llama_tokenize(c.ref, text, len, &ids, &T);
    if (!tp_is_error(r) && max_tokens && T > max_tokens) T = max_tokens;
    if (!tp_is_error(r) && T < 2) r = tp_fail(TP_ERR_ARG, "%s has fewer than 2 tokens", text_path);
    if (!tp_is_error(r)) {
        c.V = tp_llama_vocab(c.ref);
        c.D = tp_llama_dim(c.ref);
        c.S = tp_llama_layers(c.ref) + 1;
        if (c.S > TP_EVAL_MAX_STATES) r = tp_fail(TP_ERR_UNSUPPORTED, "more than %d layers", TP_EVAL_MAX_STATES - 1);
    }
    if (!tp_is_error(r) && window > T) window = T;
    if (!tp_is_error(r)) r = tp_llama_set_context(c.ref, window);
    if (!tp_is_error(r)) r = tp_llama_set_context(c.cand, window);
    if (!tp_is_error(r)) {
        c.lr = malloc(TP_EVAL_CHUNK * c.V * sizeof *c.lr);
        c.lc = malloc(TP_EVAL_CHUNK * c.V * sizeof *c.lc);
        c.hr = malloc(TP_EVAL_CHUNK * c.S * c.D * sizeof *c.hr);
        c.hc = malloc(TP_EVAL_CHUNK * c.S * c.D * sizeof *c.hc);
        c.kl = malloc(T * sizeof *c.kl);
        c.sx = calloc(c.S, sizeof *c.sx);
        c.se = calloc(c.S, sizeof *c.se);
        if (!c.lr || !c.lc || !c.hr || !c.hc || !c.kl || !c.sx || !c.se) r = tp_fail(TP_ERR_NOMEM, "evaluation buffers");
    }
    /* Windows back to back; a last piece shorter than 2 tokens is dropped. */
    for (size_t w0 = 0; !tp_is_error(r) && w0 + 1 < T; w0 += window) {
        size_t wn = T - w0 < window ? T - w0 : window;
        tp_llama_reset(c.ref);
        tp_llama_reset(c.cand);
        for (size_t c0 = 0; c0 < wn && !tp_is_error(r); c0 += TP_EVAL_CHUNK) {
            size_t n = wn - c0 < TP_EVAL_CHUNK ? wn - c0 : TP_EVAL_CHUNK;
            size_t n_score = c0 + n < wn ? n : n - 1; /* the window's last token predicts nothing */
            r = run_chunk(&c, ids + w0 + c0, n, ids + w0 + c0 + 1, n_score, out);
        }
        out->n_tokens += wn;
    }
    if (!tp_is_error(r)) {
        out->window = window;
        out->n_predicted = c.n_kl;
        double sum = 0;
        for (size_t i = 0; i < c.n_kl; i++) sum += c.kl[i];
        out->mean_kl = sum / (double)c.n_kl;
        out->position_kl = malloc(c.n_kl * sizeof *out->position_kl);
        if (!out->position_kl) r = tp_fail(TP_ERR_NOMEM, "per-position KL");
    }
    if (!tp_is_error(r)) {
        memcpy(out->position_kl, c.kl, c.n_kl * sizeof *c.kl);
        qsort(c.kl, c.n_kl, sizeof *c.kl, cmp_double);
        /* Nearest-rank 99th percentile. */
        size_t k = (size_t)ceil(0.99 * (double)c.n_kl);
        out->p99_kl = c.kl[(k ? k : 1) - 1];
        out->max_kl = c.kl[c.n_kl - 1];
        out->top1_agreement = (double)c.agree / (double)c.n_kl;
        out->ref_ppl = exp(c.nll_r / (double)c.n_kl);
        out->cand_ppl = exp(c.nll_c / (double)c.n_kl);
        out->n_states = c.S;
        for (size_t s = 0; s < c.S; s++)
            out->state_snr_db[s] = c.se[s] == 0 ? INFINITY : c.sx[s] == 0 ? -INFINITY : 10.0 * log10(c.sx[s] / c.se[s]);
    }
    free(c.lr); free(c.lc); free(c.hr); free(c.hc); free(c.kl); free(c.sx); free(c.se);
    free(ids);
    free(text);
    tp_llama_free(c.ref);
    tp_llama_free(c.cand);
    return tp_is_error(r) ? r : 0;
}

size_t tp_eval_llama(const char *ref_path, const char *cand_path, const char *text_path, size_t window,
                     size_t max_tokens, tp_eval_lm_result *out)
{
    if (!ref_path || !cand_path || !text_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    tp_weights *cand;
    TP_TRY(tp_weights_open(cand_path, &cand));
    size_t r = tp_eval_llama_from(ref_path, cand, text_path, window, max_tokens, out);
    tp_weights_close(cand);
    return r;
}

void tp_eval_lm_result_free(tp_eval_lm_result *r)
{
    if (!r) return;
    free(r->position_kl);
    r->position_kl = NULL;
}
