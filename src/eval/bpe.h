/* GPT-2-style byte-level BPE tokenizer built from a GGUF's metadata
 * (tokenizer.ggml.model = "gpt2": tokens, merges, pre-tokenizer name).
 *
 * Text is split by the GPT-2 pre-tokenizer regex
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (pre "smollm" first isolates every \p{N} character, as HF's
 * Digits(individual_digits) does), each piece's bytes are mapped to GPT-2's
 * printable byte alphabet, and merges are applied lowest rank first.
 * Special tokens in the text (e.g. "<|im_start|>") are not recognised: they
 * are tokenized as plain text. */
#ifndef TP_EVAL_BPE_H
#define TP_EVAL_BPE_H
#include <stddef.h>
#include <stdint.h>
#include "format/gguf.h"

typedef struct tp_bpe tp_bpe;

/* Builds the tokenizer (copies what it needs; g may be closed after).
 * TP_ERR_UNSUPPORTED for other tokenizer models or pre-tokenizers,
 * TP_ERR_NOT_FOUND / TP_ERR_CORRUPT for missing or malformed metadata. */
size_t tp_bpe_load(const tp_gguf *g, tp_bpe **out);
void tp_bpe_free(tp_bpe *b);
size_t tp_bpe_vocab_size(const tp_bpe *b);
/* Token ids of len bytes of text in a new malloc'd array (*ids, *n; caller
 * frees). No BOS/EOS is added. */
size_t tp_bpe_encode(const tp_bpe *b, const char *text, size_t len, int32_t **ids, size_t *n);
/* Bytes of the tokens back to back into out (cap bytes, NUL-terminated);
 * returns the length, TP_ERR_DST_TOO_SMALL, or TP_ERR_PARAM for an id
 * outside the vocabulary. */
size_t tp_bpe_decode(const tp_bpe *b, const int32_t *ids, size_t n, char *out, size_t cap);
#endif
