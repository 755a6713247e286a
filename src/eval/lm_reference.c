/* A reference decoder's next-token logits over the first tokens of a text,
 * kept so that many candidates (a planner's sensitivity probes) are scored
 * against one reference run. The chunking is tp_eval_llama's, so the KL is
 * the one tp_eval_metric gives, bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/models.h"
#include "format/whole_file.h"

struct tp_lm_reference {
    int32_t *ids;
    size_t T, V;
    float *logits; /* [T - 1][V]: the scored positions */
};

void tp_lm_reference_free(tp_lm_reference *r)
{
    if (!r) return;
    free(r->ids);
    free(r->logits);
    free(r);
}

/* Runs m over r's tokens in chunks, handing each scored position's logits
 * to fn. */
typedef size_t (*logits_fn)(void *ctx, size_t pos, const float *logits);

static size_t run(tp_llama *m, const tp_lm_reference *r, float *chunk, logits_fn fn, void *ctx)
{
    TP_TRY(tp_llama_set_context(m, r->T));
    for (size_t c0 = 0; c0 < r->T; c0 += TP_EVAL_CHUNK) {
        size_t n = r->T - c0 < TP_EVAL_CHUNK ? r->T - c0 : TP_EVAL_CHUNK;
        TP_TRY(tp_llama_forward(m, r->ids + c0, n, chunk, NULL));
        for (size_t i = 0; i < n && c0 + i + 1 < r->T; i++) TP_TRY(fn(ctx, c0 + i, chunk + i * r->V));
    }
    return 0;
}

static size_t keep_logits(void *ctx, size_t pos, const float *logits)
{
    tp_lm_reference *r = ctx;
    memcpy(r->logits + pos * r->V, logits, r->V * sizeof *logits);
    return 0;
}

size_t tp_lm_reference_build(const char *ref_gguf, const char *text_path, size_t n, tp_lm_reference **out)
{
    *out = NULL;
    tp_lm_reference *r = calloc(1, sizeof *r);
    if (!r) return tp_fail(TP_ERR_NOMEM, "reference run");
    char *text = NULL;
    size_t len = 0;
    tp_llama *m = NULL;
    float *chunk = NULL;
    size_t e = tp_read_whole_file(text_path, &text, &len);
    if (!tp_is_error(e)) e = tp_llama_load(ref_gguf, NULL, &m);
    if (!tp_is_error(e)) e = tp_llama_tokenize(m, text, len, &r->ids, &r->T);
    if (!tp_is_error(e) && r->T > n) r->T = n;
    if (!tp_is_error(e) && r->T < 2) e = tp_fail(TP_ERR_ARG, "%s has fewer than 2 tokens", text_path);
    if (!tp_is_error(e)) {
        r->V = tp_llama_vocab(m);
        r->logits = malloc((r->T - 1) * r->V * sizeof *r->logits);
        chunk = malloc(TP_EVAL_CHUNK * r->V * sizeof *chunk);
        if (!r->logits || !chunk) e = tp_fail(TP_ERR_NOMEM, "reference logits");
    }
    if (!tp_is_error(e)) e = run(m, r, chunk, keep_logits, r);
    free(chunk);
    free(text);
    tp_llama_free(m);
    if (tp_is_error(e)) {
        tp_lm_reference_free(r);
        return e;
    }
    *out = r;
    return 0;
}

typedef struct {
    const tp_lm_reference *r;
    double sum;
} kl_sum;

static size_t add_kl(void *ctx, size_t pos, const float *logits)
{
    kl_sum *k = ctx;
    k->sum += tp_eval_kl_logits(k->r->logits + pos * k->r->V, logits, k->r->V);
    return 0;
}

size_t tp_lm_reference_kl(const tp_lm_reference *r, const char *ref_gguf, tp_weights *cand, double *mean_kl)
{
    tp_llama *m;
    TP_TRY(tp_llama_load_from(cand, ref_gguf, &m));
    float *chunk = malloc(TP_EVAL_CHUNK * r->V * sizeof *chunk);
    kl_sum k = {r, 0};
    size_t e = !chunk ? tp_fail(TP_ERR_NOMEM, "candidate logits")
             : tp_llama_vocab(m) != r->V ? tp_fail(TP_ERR_SHAPE, "candidate vocabulary differs from the reference")
             : run(m, r, chunk, add_kl, &k);
    free(chunk);
    tp_llama_free(m);
    if (!tp_is_error(e)) *mean_kl = k.sum / (double)(r->T - 1);
    return tp_is_error(e) ? e : 0;
}
