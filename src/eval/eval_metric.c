/* tp_eval_metric: one model-level number for a planner's accuracy check,
 * with the candidate from a file or from the caller's memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/models.h"
#include "tpress_eval.h"

#define METRIC_DEFAULT_TOKENS 512

static int is_gguf(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char m[4] = {0};
    size_t got = fread(m, 1, 4, f);
    fclose(f);
    return got == 4 && !memcmp(m, "GGUF", 4);
}

size_t tp_eval_metric(const char *ref_path, const char *cand_path, tp_tensor_fetch_fn fetch, void *user,
                      const char *text_path, size_t max_tokens, double *metric, int *higher_is_better)
{
    if (!ref_path || (!cand_path && !fetch) || !text_path || !metric) return tp_fail(TP_ERR_ARG, "NULL argument");
    tp_weights *cand;
    TP_TRY(fetch ? tp_weights_from_fetch(fetch, user, &cand) : tp_weights_open(cand_path, &cand));
    size_t r;
    int llama = is_gguf(ref_path);
    if (llama) {
        size_t n = max_tokens ? max_tokens : METRIC_DEFAULT_TOKENS;
        tp_eval_lm_result res = {0};
        r = tp_eval_llama_from(ref_path, cand, text_path, n, n, &res);
        if (!tp_is_error(r)) *metric = res.mean_kl;
        tp_eval_lm_result_free(&res);
    } else {
        tp_eval_result res = {0};
        r = tp_eval_minilm_from(ref_path, cand, NULL, text_path, &res);
        if (!tp_is_error(r)) *metric = res.mean_cosine;
        tp_eval_result_free(&res);
    }
    tp_weights_close(cand);
    if (!tp_is_error(r) && higher_is_better) *higher_is_better = !llama;
    return tp_is_error(r) ? r : 0;
}

int tp_eval_model_kind(const char *path)
{
    if (!path) return 0;
    if (is_gguf(path)) return 2;
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path + 1) : 0;
    char vocab[4096];
    if (snprintf(vocab, sizeof vocab, "%.*svocab.txt", dl, path) >= (int)sizeof vocab) return 0;
    FILE *f = fopen(vocab, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* A decoder's reference run is made by the first call and kept in the
 * spec: a planner probes hundreds of candidates against one reference. */
size_t tp_eval_model_metric(void *spec, tp_tensor_fetch_fn fetch, void *fetch_user, double *metric)
{
    tp_eval_metric_spec *s = spec;
    if (!s || !fetch || !metric) return tp_fail(TP_ERR_ARG, "NULL metric spec, fetch or result");
    if (!is_gguf(s->ref_path))
        return tp_eval_metric(s->ref_path, NULL, fetch, fetch_user, s->text_path, s->max_tokens, metric, NULL);
    size_t n = s->max_tokens ? s->max_tokens : METRIC_DEFAULT_TOKENS;
    if (!s->cache) TP_TRY(tp_lm_reference_build(s->ref_path, s->text_path, n, (tp_lm_reference **)&s->cache));
    tp_weights *cand;
    TP_TRY(tp_weights_from_fetch(fetch, fetch_user, &cand));
    size_t r = tp_lm_reference_kl(s->cache, s->ref_path, cand, metric);
    tp_weights_close(cand);
    return r;
}

void tp_eval_metric_spec_release(tp_eval_metric_spec *s)
{
    if (!s) return;
    tp_lm_reference_free(s->cache);
    s->cache = NULL;
}
