/*
 * tpress_eval.h — model-level evaluation in libtpress: what a compressed
 * model does, not only how far its tensors moved. The MiniLM encoder and
 * Llama decoder (SmolLM2) forwards, their tokenizers, embedding cosine,
 * next-token KL, perplexity, and tp_eval_metric for a planner. Same
 * conventions as tpress.h, which it includes.
 */
#ifndef TPRESS_EVAL_H
#define TPRESS_EVAL_H

#include "tpress.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Model-level evaluation (src/eval/): what a compressed model does, not
 * only how far its tensors moved. No Python or torch at run time.
 * ---------------------------------------------------------------------- */

/* Metrics on vectors and logits, computed in float64. */
/* Cosine of a and b (n values); 1 exactly when a == b; 0 if either is 0. */
TP_API double tp_eval_cosine(const float *a, const float *b, size_t n);
/* KL(P || Q) in nats of the softmax distributions of two logit vectors. */
TP_API double tp_eval_kl_logits(const float *ref_logits, const float *cand_logits, size_t n);
/* Index of the largest value (the first one on ties); 0 when n == 0. */
TP_API size_t tp_eval_argmax(const float *x, size_t n);
/* Negative log-likelihood -log softmax(logits)[target] in nats; the
 * perplexity of a text is exp(mean NLL over its positions). */
TP_API double tp_eval_nll(const float *logits, size_t n, size_t target);

/* all-MiniLM-L6-v2 sentence embeddings: BERT encoder (WordPiece tokenizer,
 * post-LN layers, head count from config.json beside the vocabulary (default 12), exact-erf GELU), mean pooling over the
 * tokens and L2 normalisation, as sentence-transformers computes them. */
typedef struct tp_minilm tp_minilm;

/* Loads weights from .safetensors or a .tpz archive (every tensor decoded to
 * f32) and the vocabulary from vocab_path (NULL: vocab.txt in the directory
 * of weights_path). The layer count and sizes come from the tensor shapes.
 * Errors: TP_ERR_NOT_FOUND / TP_ERR_SHAPE for missing or odd tensors,
 * TP_ERR_IO for files. */
TP_API size_t tp_minilm_load(const char *weights_path, const char *vocab_path, tp_minilm **out);
TP_API void tp_minilm_free(tp_minilm *m);
/* Embedding width (384) and number of layers (6). */
TP_API size_t tp_minilm_dim(const tp_minilm *m);
TP_API size_t tp_minilm_layers(const tp_minilm *m);
/* Longest token sequence per sentence, [CLS] and [SEP] included (default
 * 256, as sentence-transformers uses for this model; 2..max positions). */
TP_API size_t tp_minilm_set_max_tokens(tp_minilm *m, size_t max_tokens);
/* Token ids of text ([CLS] ... [SEP], truncated to max tokens); writes at
 * most cap ids and returns the count, or TP_ERR_DST_TOO_SMALL. */
TP_API size_t tp_minilm_tokenize(const tp_minilm *m, const char *text, int32_t *ids, size_t cap);
/* Embeds n NUL-terminated texts into out[n * dim]. Deterministic for a
 * given build and thread count. */
TP_API size_t tp_minilm_embed(const tp_minilm *m, const char *const *texts, size_t n, float *out);
/* Runs n texts and returns, in new malloc'd arrays (caller frees), the
 * token ids of all texts back to back (*ids, *n_tokens of them), where text
 * i starts (*starts, n + 1 offsets) and the hidden states
 * (*hidden: (layers + 1) x n_tokens x dim floats; state 0 is the embedding
 * layer's output, state l the output of layer l). */
TP_API size_t tp_minilm_hidden(const tp_minilm *m, const char *const *texts, size_t n, int32_t **ids, uint64_t **starts,
                        size_t *n_tokens, float **hidden);

/* Reads a text file of sentences, one per line (blank lines skipped), into
 * *lines (array and strings in one malloc'd block, caller frees *lines). */
TP_API size_t tp_eval_read_lines(const char *path, char ***lines, size_t *n);

typedef struct {
    size_t n_sentences;
    uint64_t n_tokens;         /* tokens the model saw, [CLS]/[SEP] included */
    double mean_cosine;        /* reference vs candidate embedding          */
    double min_cosine;
    size_t min_index;          /* sentence with the lowest cosine           */
    double top1_agreement;     /* fraction of sentences whose nearest other
                                  sentence is the same under both models    */
    double ref_seconds, cand_seconds; /* forward wall time of each model    */
    double *sentence_cosine;   /* n_sentences cosines in line order (malloc'd:
                                  tp_eval_result_free)                     */
} tp_eval_result;

/* Evaluates CANDIDATE weights (.tpz or tensor file) against REF on the
 * sentences of text_path, with the vocabulary beside ref_path (else beside
 * cand_path). A model against itself gives cosine 1 and agreement 1 exactly.
 * On success the caller frees the result's array with tp_eval_result_free;
 * on error nothing is left to free. */
TP_API size_t tp_eval_minilm(const char *ref_path, const char *cand_path, const char *text_path, tp_eval_result *out);
/* Frees the arrays of a result (NULL-safe, idempotent). */
TP_API void tp_eval_result_free(tp_eval_result *r);

/* Llama-architecture decoder (SmolLM2-135M): byte-level BPE tokenizer from
 * the GGUF metadata, RMSNorm, RoPE (the GGUF's base), grouped-query
 * attention, SwiGLU, tied embeddings when the file has no output.weight;
 * a KV cache; OpenBLAS sgemm. */
typedef struct tp_llama tp_llama;

/* Loads the weights at weights_path (.gguf, dequantized to f32; or a
 * .safetensors/.tpz with the GGUF's tensor names, e.g. written by `tpress
 * dump --what weights` and compressed) with hyperparameters and tokenizer
 * from gguf_path (NULL: weights_path itself must be the GGUF). The KV cache
 * holds 2048 tokens (tp_llama_set_context). Errors: TP_ERR_UNSUPPORTED for
 * other architectures/tokenizers, TP_ERR_NOT_FOUND / TP_ERR_SHAPE for
 * missing or odd tensors, file errors. */
TP_API size_t tp_llama_load(const char *weights_path, const char *gguf_path, tp_llama **out);
TP_API void tp_llama_free(tp_llama *m);
TP_API size_t tp_llama_dim(const tp_llama *m);
TP_API size_t tp_llama_layers(const tp_llama *m);
TP_API size_t tp_llama_vocab(const tp_llama *m);
/* Width of one position of the K (or V) cache: kv heads x head size. */
TP_API size_t tp_llama_kv_dim(const tp_llama *m);
/* Number of key/value heads (kv_dim / kv_heads is the head size). */
TP_API size_t tp_llama_kv_heads(const tp_llama *m);
/* Tokens in the KV cache. */
TP_API size_t tp_llama_position(const tp_llama *m);
/* Resizes the KV cache to n_ctx tokens and empties it. */
TP_API size_t tp_llama_set_context(tp_llama *m, size_t n_ctx);
/* Empties the KV cache (the next forward starts at position 0). */
TP_API void tp_llama_reset(tp_llama *m);
/* Token ids of len bytes of text (new malloc'd array, caller frees; no BOS
 * added, special-token strings are not recognised). */
TP_API size_t tp_llama_tokenize(const tp_llama *m, const char *text, size_t len, int32_t **ids, size_t *n);
/* Text of the tokens into out (cap bytes, NUL-terminated); returns its length. */
TP_API size_t tp_llama_detokenize(const tp_llama *m, const int32_t *ids, size_t n, char *out, size_t cap);
/* Runs n tokens at the next positions (appending to the KV cache).
 * logits (may be NULL) receives n x vocab values; hidden (may be NULL)
 * (layers + 1) x n x dim: state 0 the embeddings, state l the residual
 * stream after layer l. TP_ERR_PARAM past the context or for a bad id. */
TP_API size_t tp_llama_forward(tp_llama *m, const int32_t *ids, size_t n, float *logits, float *hidden);
/* The cache of a layer: position p's key (after RoPE) at k + p * kv_dim,
 * value at v + p * kv_dim, for p < tp_llama_position. Valid until the next
 * forward, reset or set_context. */
TP_API size_t tp_llama_kv(const tp_llama *m, size_t layer, const float **k, const float **v);

/* Attention for a forward in place of the built-in one (e.g. from a
 * compressed KV cache, tp_kv): called once per layer with the n new
 * tokens' keys (after RoPE) and values, [n][kv_dim], and their queries
 * (after RoPE), [n][dim]; it writes att, [n][dim]: for each query head
 * softmax(q K^T / sqrt(head size)) V over every earlier token and the new
 * tokens up to and including its own. The model's own f32 cache is still
 * filled (tp_llama_kv gives it, up to the new tokens, during the call). A
 * non-zero error result stops the forward with it. */
typedef size_t (*tp_llama_attention_fn)(void *ctx, size_t layer, const float *k, const float *v, const float *q,
                                        size_t n, float *att);
/* Sets (fn not NULL) or clears the attention hook. */
TP_API void tp_llama_set_attention(tp_llama *m, tp_llama_attention_fn fn, void *ctx);
/* Query heads (dim / query heads is the head size). */
TP_API size_t tp_llama_heads(const tp_llama *m);

/* A compressed KV cache in the loop of a real model (src/runtime/kv_eval.c,
 * docs/KV.md): the GGUF decoder runs the first context tokens of a text
 * once with its exact f32 attention and once with attention from a tp_kv
 * of the given method, fed a token at a time as in decoding. */
#define TP_KV_EVAL_MAX_LAYERS 128
typedef struct {
    size_t n_tokens, n_predicted, n_layers;
    uint64_t bytes;            /* the cache's bytes at the end (tp_kv_stats) */
    double bits_per_element, ratio_vs_f16; /* bytes over every token of the
                               context (evicted ones too), vs f16 of them   */
    double mean_kl, p99_kl;    /* next-token KL(exact || cached), nats      */
    double top1_agreement, ref_ppl, cand_ppl;
    /* attention outputs from the cache against exact attention over the
     * same run's f32 keys and values: cosine per layer (mean over tokens
     * and heads), its mean and minimum over layers, and the relative L2
     * error over everything */
    double layer_cosine[TP_KV_EVAL_MAX_LAYERS];
    double mean_cosine, min_cosine, rel_error;
    double append_us, attend_us; /* per token and layer                    */
} tp_kv_eval_result;

TP_API size_t tp_kv_eval_llama(const char *gguf, const char *text_path, size_t context, const char *method,
                               tp_kv_eval_result *out);

/* Passkey retrieval (Mohtashami and Jaggi 2023): n_positions prompts of
 * about context tokens, each with a five-digit key at an even depth from
 * the start to the end of filler text, answered by greedy decoding with
 * the decoder's attention reading a tp_kv of method (NULL: exact
 * attention). */
typedef struct {
    size_t n_trials, n_found, prompt_tokens; /* longest prompt */
    double accuracy;
} tp_kv_passkey_result;

TP_API size_t tp_kv_passkey_llama(const char *gguf, size_t context, const char *method, size_t n_positions,
                                  tp_kv_passkey_result *out);

#define TP_EVAL_MAX_STATES 129
typedef struct {
    size_t n_tokens;        /* tokens of the text that were evaluated      */
    size_t n_predicted;     /* next-token predictions scored               */
    size_t window;          /* tokens per window (the KV cache is emptied
                               between windows)                            */
    double mean_kl, p99_kl, max_kl; /* KL(ref || cand) per position, nats */
    double top1_agreement;  /* same argmax token                           */
    double ref_ppl, cand_ppl; /* perplexity of the text under each model  */
    size_t n_states;        /* layers + 1                                  */
    double state_snr_db[TP_EVAL_MAX_STATES]; /* hidden-state SNR per state
                               (0 = embeddings), over all positions        */
    double ref_seconds, cand_seconds; /* forward wall time of each model  */
    double *position_kl;    /* n_predicted KLs in text order (malloc'd:
                               tp_eval_lm_result_free)                     */
} tp_eval_lm_result;

/* Evaluates CANDIDATE weights against REF (a GGUF, which also gives the
 * hyperparameters and the tokenizer) on the text in text_path, cut into
 * windows of window tokens (0: 512), at most max_tokens tokens (0: all).
 * A model against itself gives KL 0 and agreement 1 exactly. On success
 * the caller frees the result's array with tp_eval_lm_result_free. */
TP_API size_t tp_eval_llama(const char *ref_gguf, const char *cand_path, const char *text_path, size_t window,
                     size_t max_tokens, tp_eval_lm_result *out);
/* Frees the arrays of a result (NULL-safe, idempotent). */
TP_API void tp_eval_lm_result_free(tp_eval_lm_result *r);

/* The model-level number a planner compares with an accuracy threshold,
 * for candidate weights against the reference at ref_path:
 *  - ref_path a GGUF (Llama/SmolLM2): mean next-token KL(ref || cand) in
 *    nats over the first max_tokens tokens of text_path (0: 512) in one
 *    window; 0 for the same weights; *higher_is_better = 0.
 *  - otherwise MiniLM (.safetensors/.tpz with vocab.txt beside): mean
 *    cosine of the sentence embeddings of the lines of text_path
 *    (max_tokens unused); 1 for the same weights; *higher_is_better = 1.
 * The candidate comes from fetch(user, ...) when fetch is not NULL, else
 * from the file cand_path (.tpz, .safetensors, .gguf). higher_is_better
 * may be NULL. Errors as tp_eval_minilm / tp_eval_llama, or what fetch
 * returned. */
TP_API size_t tp_eval_metric(const char *ref_path, const char *cand_path, tp_tensor_fetch_fn fetch, void *user,
                      const char *text_path, size_t max_tokens, double *metric, int *higher_is_better);

/* Which model tp_eval_metric recognises at path: 2 a GGUF (Llama), 1 a
 * MiniLM weights file (vocab.txt beside it), 0 neither. */
TP_API int tp_eval_model_kind(const char *path);

/* tp_eval_metric as a planner's tp_model_metric_fn (tpress.h): spec points
 * to a tp_eval_metric_spec; higher is better for MiniLM (cosine), lower
 * for a GGUF (KL). For a GGUF the first call keeps the reference run (its
 * logits) in cache, and later calls only run the candidate: give the spec
 * cache NULL, and release it with tp_eval_metric_spec_release. */
typedef struct {
    const char *ref_path, *text_path;
    size_t max_tokens;
    void *cache;
} tp_eval_metric_spec;
TP_API size_t tp_eval_model_metric(void *spec, tp_tensor_fetch_fn fetch, void *fetch_user, double *metric);
TP_API void tp_eval_metric_spec_release(tp_eval_metric_spec *s);

#ifdef __cplusplus
}
#endif
#endif /* TPRESS_EVAL_H */
