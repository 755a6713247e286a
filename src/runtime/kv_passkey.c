/* tp_kv_passkey_llama: passkey retrieval (Mohtashami and Jaggi 2023,
 * "Landmark Attention"): a five-digit key hidden at a given depth in
 * filler text, then "What is the pass key? The pass key is" and greedy
 * decoding; found when the generated text holds the key. The decoder's
 * attention reads a tp_kv of the given method, fed a token at a time, or is
 * exact when the method is NULL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "tpress.h"
#include "tpress_eval.h"

#define PREFILL_CHUNK 64
#define ANSWER_TOKENS 8

static const char intro[] = "There is an important piece of information hidden inside a lot of irrelevant text. "
                            "Find it and memorize it. I will quiz you about it.\n";
static const char filler[] = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ";
static const char question[] = "\nWhat is the pass key? The pass key is";

typedef struct {
    tp_kv *kv;
    size_t heads, kvd, dim;
} cache_hook;

static size_t attend_from_cache(void *ctx, size_t layer, const float *k, const float *v, const float *q, size_t n,
                                float *att)
{
    cache_hook *H = ctx;
    for (size_t i = 0; i < n; i++) {
        TP_TRY(tp_kv_append(H->kv, (uint32_t)layer, k + i * H->kvd, v + i * H->kvd, 1, NULL));
        TP_TRY(tp_kv_attend(H->kv, (uint32_t)layer, q + i * H->dim, (uint32_t)H->heads, att + i * H->dim));
    }
    return 0;
}

static size_t token_count(const tp_llama *m, const char *text)
{
    int32_t *ids;
    size_t n;
    TP_TRY(tp_llama_tokenize(m, text, strlen(text), &ids, &n));
    free(ids);
    return n;
}

/* The prompt with the key after `before` of n_fill filler sentences. */
static char *prompt_text(size_t n_fill, size_t before, unsigned key)
{
    size_t cap = sizeof intro + (n_fill + 1) * sizeof filler + 128 + sizeof question;
    char *p = malloc(cap), *q = p;
    if (!p) return NULL;
    q += snprintf(q, cap, "%s", intro);
    for (size_t i = 0; i < n_fill; i++) {
        if (i == before) q += snprintf(q, cap - (size_t)(q - p), "The pass key is %05u. Remember it. %05u is the pass key. ", key, key);
        q += snprintf(q, cap - (size_t)(q - p), "%s", filler);
    }
    if (before >= n_fill) q += snprintf(q, cap - (size_t)(q - p), "The pass key is %05u. Remember it. %05u is the pass key. ", key, key);
    snprintf(q, cap - (size_t)(q - p), "%s", question);
    return p;
}

/* One trial: prefill, greedy answer, key found or not. */
static size_t one_trial(tp_llama *m, cache_hook *H, const tp_kv_config *kc, const char *text, unsigned key,
                        float *logits, size_t V, int *found, size_t *prompt_tokens)
{
    int32_t *ids;
    size_t n;
    TP_TRY(tp_llama_tokenize(m, text, strlen(text), &ids, &n));
    *prompt_tokens = n;
    size_t r = tp_llama_set_context(m, n + ANSWER_TOKENS);
    if (H && !tp_is_error(r)) {
        tp_kv_free(H->kv);
        H->kv = NULL;
        r = tp_kv_create(kc, &H->kv);
    }
    for (size_t c0 = 0; c0 < n && !tp_is_error(r); c0 += PREFILL_CHUNK)
        r = tp_llama_forward(m, ids + c0, n - c0 < PREFILL_CHUNK ? n - c0 : PREFILL_CHUNK, logits, NULL);
    size_t last = (n - 1) % PREFILL_CHUNK;
    int32_t answer[ANSWER_TOKENS];
    for (size_t i = 0; i < ANSWER_TOKENS && !tp_is_error(r); i++) {
        answer[i] = (int32_t)tp_eval_argmax(logits + last * V, V);
        last = 0;
        if (i + 1 < ANSWER_TOKENS) r = tp_llama_forward(m, &answer[i], 1, logits, NULL);
    }
    free(ids);
    TP_TRY(r);
    char out[256], want[8];
    TP_TRY(tp_llama_detokenize(m, answer, ANSWER_TOKENS, out, sizeof out));
    snprintf(want, sizeof want, "%05u", key);
    *found = strstr(out, want) != NULL;
    return 0;
}

size_t tp_kv_passkey_llama(const char *gguf, size_t context, const char *method, size_t n_positions,
                           tp_kv_passkey_result *out)
{
    if (!gguf || !out || !n_positions) return tp_fail(TP_ERR_ARG, "NULL argument or no positions");
    memset(out, 0, sizeof *out);
    tp_llama *m;
    TP_TRY(tp_llama_load(gguf, NULL, &m));
    const size_t V = tp_llama_vocab(m);
    cache_hook H = {NULL, tp_llama_heads(m), tp_llama_kv_dim(m), tp_llama_dim(m)};
    tp_kv_config kc = {(uint32_t)tp_llama_layers(m), (uint32_t)tp_llama_kv_heads(m),
                       (uint32_t)(tp_llama_kv_dim(m) / tp_llama_kv_heads(m)), TP_F32, method, 0, NULL};
    float *logits = malloc(PREFILL_CHUNK * V * sizeof *logits);
    size_t r = logits ? 0 : tp_fail(TP_ERR_NOMEM, "logits");
    size_t fixed = 0, per = 0;
    if (!tp_is_error(r)) r = fixed = token_count(m, intro);
    if (!tp_is_error(r)) r = per = token_count(m, filler);
    if (!tp_is_error(r)) {
        size_t q = token_count(m, question) + 40; /* the key sentence and slack */
        if (context < fixed + q + 2 * per) r = tp_fail(TP_ERR_PARAM, "passkey context of %zu tokens is too short", context);
        else {
            fixed += q;
            r = 0;
        }
    }
    if (!tp_is_error(r) && method) tp_llama_set_attention(m, attend_from_cache, &H);
    tp_rng rng;
    tp_rng_seed(&rng, 7);
    const size_t n_fill = tp_is_error(r) ? 0 : (context - fixed) / per;
    for (size_t i = 0; i < n_positions && !tp_is_error(r); i++) {
        unsigned key = 10000 + (unsigned)tp_rng_below(&rng, 90000);
        size_t before = n_positions > 1 ? i * n_fill / (n_positions - 1) : n_fill / 2;
        char *text = prompt_text(n_fill, before, key);
        if (!text) { r = tp_fail(TP_ERR_NOMEM, "passkey prompt"); break; }
        int found = 0;
        size_t tokens = 0;
        r = one_trial(m, method ? &H : NULL, &kc, text, key, logits, V, &found, &tokens);
        free(text);
        out->n_trials++;
        out->n_found += (size_t)found;
        if (tokens > out->prompt_tokens) out->prompt_tokens = tokens;
    }
    if (!tp_is_error(r)) out->accuracy = (double)out->n_found / (double)out->n_trials;
    tp_kv_free(H.kv);
    free(logits);
    tp_llama_free(m);
    return tp_is_error(r) ? r : 0;
}
