/* BERT tokenization: the basic tokenizer (clean text, CJK split, accent
 * strip, lower case, whitespace and punctuation split) followed by greedy
 * longest-match WordPiece with "##" continuations, as in the uncased BERT
 * tokenizers (HF tokenizers' BertNormalizer + BertPreTokenizer + WordPiece). */
#ifndef TP_EVAL_WORDPIECE_H
#define TP_EVAL_WORDPIECE_H
#include <stddef.h>
#include <stdint.h>

typedef struct tp_wordpiece tp_wordpiece;

/* Loads vocab.txt (one token per line, id = line number from 0). Needs the
 * tokens [CLS], [SEP] and [UNK]. */
size_t tp_wordpiece_load(const char *vocab_path, tp_wordpiece **out);
void tp_wordpiece_free(tp_wordpiece *wp);
size_t tp_wordpiece_vocab_size(const tp_wordpiece *wp);
/* Token text of id (NULL if out of range). */
const char *tp_wordpiece_token(const tp_wordpiece *wp, int32_t id);
/* Id of a token, or -1. */
int32_t tp_wordpiece_id(const tp_wordpiece *wp, const char *token);

/* Encodes len bytes of UTF-8 text as [CLS] pieces... [SEP], keeping at most
 * max_ids ids (max_ids >= 2; longer texts lose their tail pieces, as with
 * truncation=longest_first). Writes the ids to ids and returns their count,
 * or an error (TP_ERR_NOMEM, TP_ERR_ARG). Invalid UTF-8 bytes are dropped. */
size_t tp_wordpiece_encode(const tp_wordpiece *wp, const char *text, size_t len, int32_t *ids, size_t max_ids);
#endif
