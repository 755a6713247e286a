/* Unicode tables for the BERT basic tokenizer (generated, see
 * scripts/gen_unicode_tables.py). Ranges and map are sorted by code point. */
#ifndef TP_EVAL_UNICODE_TABLES_H
#define TP_EVAL_UNICODE_TABLES_H
#include <stddef.h>
#include <stdint.h>

typedef struct { uint32_t lo, hi; } tp_uc_range;

/* 1 if cp lies in one of the n sorted, disjoint ranges r (binary search). */
int tp_uc_in_ranges(const tp_uc_range *r, size_t n, uint32_t cp);
typedef struct { uint32_t cp; const char *utf8; } tp_uc_map;

extern const tp_uc_range tp_uc_ws[], tp_uc_drop[], tp_uc_punct[];
extern const size_t tp_uc_ws_n, tp_uc_drop_n, tp_uc_punct_n;
/* lower(strip_accents(cp)) for every code point it changes (may be ""). */
extern const tp_uc_map tp_uc_lower_strip[];
extern const size_t tp_uc_lower_strip_n;
/* Categories L* and N* (unicode_classes.c, scripts/gen_unicode_classes.py),
 * for the byte-level BPE pre-tokenizer. */
extern const tp_uc_range tp_uc_letter[], tp_uc_number[];
extern const size_t tp_uc_letter_n, tp_uc_number_n;
#endif
