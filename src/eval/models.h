/* The model loaders and evaluations on weights already opened (a file or
 * the caller's fetch function, see weights.h): the public functions open a
 * path and call these. */
#ifndef TP_EVAL_MODELS_H
#define TP_EVAL_MODELS_H
#include "format/weights.h"
#include "tpress_eval.h"

/* vocab_path is required here. */
size_t tp_minilm_load_from(tp_weights *w, const char *vocab_path, tp_minilm **out);
/* gguf_path NULL: w must be the GGUF. */
size_t tp_llama_load_from(tp_weights *w, const char *gguf_path, tp_llama **out);
/* vocab_path NULL: vocab.txt beside ref_path. */
size_t tp_eval_minilm_from(const char *ref_path, tp_weights *cand, const char *vocab_path, const char *text_path,
                           tp_eval_result *out);
size_t tp_eval_llama_from(const char *ref_gguf, tp_weights *cand, const char *text_path, size_t window,
                          size_t max_tokens, tp_eval_lm_result *out);

/* Tokens per forward call of the decoder evaluations (the chunking fixes
 * the arithmetic, so every evaluation that compares logits uses it). */
#define TP_EVAL_CHUNK 128

/* A reference decoder's logits over the first n tokens of a text, for
 * scoring many candidates against one run (lm_reference.c): mean KL over
 * the n - 1 scored positions, as tp_eval_llama in one window of n. */
typedef struct tp_lm_reference tp_lm_reference;
size_t tp_lm_reference_build(const char *ref_gguf, const char *text_path, size_t n, tp_lm_reference **out);
size_t tp_lm_reference_kl(const tp_lm_reference *r, const char *ref_gguf, tp_weights *cand, double *mean_kl);
void tp_lm_reference_free(tp_lm_reference *r);
#endif
