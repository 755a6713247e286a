/* Byte-level BPE tokenizer (see bpe.h). */
#include "eval/bpe.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/unicode_tables.h"

/* Open-addressing string -> int table over an arena of copied strings. */
typedef struct {
    uint32_t off, len; /* into the arena; len 0 = empty slot */
    int32_t val;
} slot;

typedef struct {
    slot *s;
    size_t mask;
} table;

struct tp_bpe {
    char *arena;
    size_t arena_len;
    uint32_t *tok_off, *tok_len; /* token i's (mapped) text in the arena */
    size_t n_tokens;
    table vocab, merges;
    int digits; /* isolate every \p{N} character first */
    int32_t unk;
    uint32_t byte_cp[256];  /* byte -> code point of GPT-2's byte alphabet */
    int16_t cp_byte[324];   /* and back (-1: not in the alphabet)        */
};

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static size_t table_init(table *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n + 2) cap *= 2;
    t->s = calloc(cap, sizeof *t->s);
    t->mask = cap - 1;
    return t->s ? 0 : tp_fail(TP_ERR_NOMEM, "tokenizer table");
}

/* First insertion of a key wins (duplicate tokens keep the lowest id). */
static void table_put(table *t, const char *arena, uint32_t off, uint32_t len, int32_t val)
{
    for (size_t i = hash(arena + off, len) & t->mask;; i = (i + 1) & t->mask) {
        slot *e = &t->s[i];
        if (!e->len) { e->off = off; e->len = len; e->val = val; return; }
        if (e->len == len && !memcmp(arena + e->off, arena + off, len)) return;
    }
}

static int32_t table_get(const table *t, const char *arena, const char *key, size_t len)
{
    if (!len) return -1;
    for (size_t i = hash(key, len) & t->mask;; i = (i + 1) & t->mask) {
        const slot *e = &t->s[i];
        if (!e->len) return -1;
        if (e->len == len && !memcmp(arena + e->off, key, len)) return e->val;
    }
}

void tp_bpe_free(tp_bpe *b)
{
    if (!b) return;
    free(b->arena);
    free(b->tok_off);
    free(b->tok_len);
    free(b->vocab.s);
    free(b->merges.s);
    free(b);
}

size_t tp_bpe_vocab_size(const tp_bpe *b) { return b->n_tokens; }

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
 * the other 68 bytes take code points 256, 257, ... in byte order. */
static void byte_alphabet(tp_bpe *b)
{
    uint32_t next = 256;
    for (int i = 0; i < 324; i++) b->cp_byte[i] = -1;
    for (uint32_t c = 0; c < 256; c++) {
        int printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
        b->byte_cp[c] = printable ? c : next++;
        b->cp_byte[b->byte_cp[c]] = (int16_t)c;
    }
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 63));
    o[2] = (char)(0x80 | (cp >> 6 & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Decodes one UTF-8 character of s[0..n) (n > 0) into *cp and returns its
 * length; a malformed byte counts as one character U+FFFD. */
static size_t get_utf8(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!len || len > n) { *cp = 0xFFFD; return 1; }
    uint32_t v = len == 1 ? c : len == 2 ? (c & 31) : len == 3 ? (c & 15) : (c & 7);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        v = v << 6 | (s[i] & 63);
    }
    *cp = v;
    return len;
}

size_t tp_bpe_load(const tp_gguf *g, tp_bpe **out)
{
    if (!g || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    const char *s;
    size_t len;
    TP_TRY(tp_gguf_get_str(g, "tokenizer.ggml.model", &s, &len));
    if (len != 4 || memcmp(s, "gpt2", 4))
        return tp_fail(TP_ERR_UNSUPPORTED, "tokenizer model '%.*s' (only gpt2 byte-level BPE)", (int)(len > 64 ? 64 : len), s);
    int digits = 0;
    if (!tp_is_error(tp_gguf_get_str(g, "tokenizer.ggml.pre", &s, &len))) {
        if (len == 6 && !memcmp(s, "smollm", 6)) digits = 1;
        else if (!((len == 4 && !memcmp(s, "gpt2", 4)) || (len == 7 && !memcmp(s, "default", 7))))
            return tp_fail(TP_ERR_UNSUPPORTED, "pre-tokenizer '%.*s' (smollm, gpt2 or default)", (int)(len > 64 ? 64 : len), s);
    }
    const tp_gguf_kv *tk = tp_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const tp_gguf_kv *mk = tp_gguf_find_kv(g, "tokenizer.ggml.merges");
    if (!tk || !mk) return tp_fail(TP_ERR_NOT_FOUND, "GGUF lacks tokenizer.ggml.tokens or .merges");
    if (tk->type != TP_GGUF_ARRAY || tk->elem_type != TP_GGUF_STRING || mk->type != TP_GGUF_ARRAY ||
        mk->elem_type != TP_GGUF_STRING || tk->n == 0 || tk->n > INT32_MAX || mk->n > INT32_MAX)
        return tp_fail(TP_ERR_CORRUPT, "tokenizer.ggml.tokens / merges are not string arrays of a sane size");
    size_t nt = (size_t)tk->n, nm = (size_t)mk->n, total = 0;
    for (size_t k = 0; k < 2; k++) {
        const tp_gguf_kv *kv = k ? mk : tk;
        for (uint64_t i = 0; i < kv->n; i++) {
            TP_TRY(tp_gguf_arr_str(g, kv, i, &s, &len));
            if (len >= UINT32_MAX || total > UINT32_MAX - len - 1) return tp_fail(TP_ERR_CORRUPT, "tokenizer strings too large");
            total += len + 1;
        }
    }
    tp_bpe *b = calloc(1, sizeof *b);
    if (!b) return tp_fail(TP_ERR_NOMEM, "tokenizer");
    b->digits = digits;
    b->n_tokens = nt;
    b->arena = malloc(total + 1);
    b->tok_off = malloc(nt * sizeof *b->tok_off);
    b->tok_len = malloc(nt * sizeof *b->tok_len);
    size_t r = !b->arena || !b->tok_off || !b->tok_len ? tp_fail(TP_ERR_NOMEM, "tokenizer") : 0;
    if (!tp_is_error(r)) r = table_init(&b->vocab, nt);
    if (!tp_is_error(r)) r = table_init(&b->merges, nm);
    for (size_t k = 0; k < 2 && !tp_is_error(r); k++) {
        const tp_gguf_kv *kv = k ? mk : tk;
        for (uint64_t i = 0; i < kv->n && !tp_is_error(r); i++) {
            r = tp_gguf_arr_str(g, kv, i, &s, &len);
            if (tp_is_error(r)) break;
            uint32_t off = (uint32_t)b->arena_len;
            memcpy(b->arena + off, s, len);
            b->arena[off + len] = 0;
            b->arena_len += len + 1;
            if (!k) {
                b->tok_off[i] = off;
                b->tok_len[i] = (uint32_t)len;
                if (len) table_put(&b->vocab, b->arena, off, (uint32_t)len, (int32_t)i);
            } else if (len) {
                table_put(&b->merges, b->arena, off, (uint32_t)len, (int32_t)i);
            }
        }
    }
    if (tp_is_error(r)) { tp_bpe_free(b); return r; }
    uint32_t unk;
    b->unk = !tp_is_error(tp_gguf_get_u32(g, "tokenizer.ggml.unknown_token_id", &unk)) && unk < nt ? (int32_t)unk : -1;
    byte_alphabet(b);
    *out = b;
    return 0;
}

/* Character classes of the pre-tokenizer regex. */

static int is_letter(uint32_t c)
{
    if (c < 128) return (c | 32) >= 'a' && (c | 32) <= 'z';
    return tp_uc_in_ranges(tp_uc_letter, tp_uc_letter_n, c);
}

static int is_number(uint32_t c)
{
    if (c < 128) return c >= '0' && c <= '9';
    return tp_uc_in_ranges(tp_uc_number, tp_uc_number_n, c);
}

/* \s: the Unicode White_Space property. */
static int is_space(uint32_t c)
{
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

enum { C_LETTER, C_NUMBER, C_SPACE, C_OTHER };
static int cls(uint32_t c) { return is_letter(c) ? C_LETTER : is_number(c) ? C_NUMBER : is_space(c) ? C_SPACE : C_OTHER; }

/* End of the pre-token that starts at pos, within [pos, end). */
static size_t piece_end(const unsigned char *t, size_t pos, size_t end)
{
    uint32_t c0, c1;
    size_t l0 = get_utf8(t + pos, end - pos, &c0);
    if (c0 == '\'' && pos + 1 < end) {
        unsigned char a = t[pos + 1], b2 = pos + 2 < end ? t[pos + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return pos + 2;
        if ((a == 'r' && b2 == 'e') || (a == 'v' && b2 == 'e') || (a == 'l' && b2 == 'l')) return pos + 3;
    }
    size_t j = pos + (c0 == ' ' ? 1 : 0);
    if (j < end) {
        size_t l1 = get_utf8(t + j, end - j, &c1);
        int k = cls(c1);
        if (k != C_SPACE) {
            size_t e = j + l1;
            while (e < end) {
                uint32_t c;
                size_t l = get_utf8(t + e, end - e, &c);
                if (cls(c) != k) break;
                e += l;
            }
            return e;
        }
    }
    /* Whitespace run: all of it at the end of the text, else all but its
     * last character (which joins the next word), else one character. */
    size_t e = pos + l0, last = pos;
    while (e < end) {
        uint32_t c;
        size_t l = get_utf8(t + e, end - e, &c);
        if (!is_space(c)) break;
        last = e;
        e += l;
    }
    if (e == end || last == pos) return e;
    return last;
}

typedef struct {
    int32_t *v;
    size_t n, cap;
} ids_buf;

static size_t push_id(ids_buf *o, int32_t id)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 256;
        int32_t *nv = realloc(o->v, cap * sizeof *nv);
        if (!nv) return tp_fail(TP_ERR_NOMEM, "token ids");
        o->v = nv;
        o->cap = cap;
    }
    o->v[o->n++] = id;
    return 0;
}

/* BPE on one pre-token: maps its bytes, merges, appends the ids. */
static size_t bpe_piece(const tp_bpe *b, const unsigned char *p, size_t n, ids_buf *o)
{
    /* Mapped text (<= 2 UTF-8 bytes per byte), symbol starts/lengths, and a
     * scratch key "left right". */
    size_t cap = 2 * n + 1;
    char *m = malloc(cap), *key = malloc(2 * cap + 2);
    uint32_t *st = malloc(n * sizeof *st), *ln = malloc(n * sizeof *ln);
    size_t r = 0;
    if (!m || !key || !st || !ln) r = tp_fail(TP_ERR_NOMEM, "tokenizer");
    size_t ns = 0, ml = 0;
    for (size_t i = 0; i < n && !tp_is_error(r); i++) {
        size_t l = put_utf8(m + ml, b->byte_cp[p[i]]);
        st[ns] = (uint32_t)ml;
        ln[ns++] = (uint32_t)l;
        ml += l;
    }
    while (!tp_is_error(r) && ns > 1) {
        int32_t best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < ns; i++) {
            memcpy(key, m + st[i], ln[i]);
            key[ln[i]] = ' ';
            memcpy(key + ln[i] + 1, m + st[i + 1], ln[i + 1]);
            int32_t rank = table_get(&b->merges, b->arena, key, ln[i] + 1 + ln[i + 1]);
            if (rank >= 0 && (best < 0 || rank < best)) { best = rank; at = i; }
        }
        if (best < 0) break;
        ln[at] += ln[at + 1];
        memmove(st + at + 1, st + at + 2, (ns - at - 2) * sizeof *st);
        memmove(ln + at + 1, ln + at + 2, (ns - at - 2) * sizeof *ln);
        ns--;
    }
    for (size_t i = 0; i < ns && !tp_is_error(r); i++) {
        int32_t id = table_get(&b->vocab, b->arena, m + st[i], ln[i]);
        if (id >= 0) { r = push_id(o, id); continue; }
        /* Not in the vocabulary: its characters one by one. */
        for (size_t k = 0; k < ln[i] && !tp_is_error(r);) {
            uint32_t cp;
            size_t l = get_utf8((const unsigned char *)m + st[i] + k, ln[i] - k, &cp);
            id = table_get(&b->vocab, b->arena, m + st[i] + k, l);
            r = push_id(o, id >= 0 ? id : b->unk >= 0 ? b->unk : 0);
            k += l;
        }
    }
    free(m); free(key); free(st); free(ln);
    return r;
}

size_t tp_bpe_encode(const tp_bpe *b, const char *text, size_t len, int32_t **ids, size_t *n)
{
    if (!b || (!text && len) || !ids || !n) return tp_fail(TP_ERR_ARG, "NULL argument");
    *ids = NULL;
    *n = 0;
    const unsigned char *t = (const unsigned char *)text;
    ids_buf o = {0};
    size_t pos = 0, r = 0;
    while (pos < len && !tp_is_error(r)) {
        /* The segment ends at the next number character when digits are
         * isolated; a number character is a segment of its own. */
        size_t end = len;
        if (b->digits) {
            uint32_t c;
            size_t l = get_utf8(t + pos, len - pos, &c);
            if (is_number(c)) end = pos + l;
            else
                for (size_t q = pos; q < len;) {
                    size_t lq = get_utf8(t + q, len - q, &c);
                    if (is_number(c)) { end = q; break; }
                    q += lq;
                }
        }
        while (pos < end && !tp_is_error(r)) {
            size_t e = piece_end(t, pos, end);
            r = bpe_piece(b, t + pos, e - pos, &o);
            pos = e;
        }
    }
    if (tp_is_error(r)) { free(o.v); return r; }
    *ids = o.v;
    *n = o.n;
    return 0;
}

size_t tp_bpe_decode(const tp_bpe *b, const int32_t *ids, size_t n, char *out, size_t cap)
{
    if (!b || (!ids && n) || !out || !cap) return tp_fail(TP_ERR_ARG, "NULL argument");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= b->n_tokens) return tp_fail(TP_ERR_PARAM, "token id %d outside the vocabulary", ids[i]);
        const unsigned char *s = (const unsigned char *)b->arena + b->tok_off[ids[i]];
        size_t len = b->tok_len[ids[i]];
        for (size_t j = 0; j < len;) {
            uint32_t cp;
            size_t l = get_utf8(s + j, len - j, &cp);
            /* Characters outside the byte alphabet (special tokens) as is. */
            int byte = cp < 324 ? b->cp_byte[cp] : -1;
            size_t need = byte >= 0 ? 1 : l;
            if (k + need >= cap) return tp_fail(TP_ERR_DST_TOO_SMALL, "decoded text longer than %zu bytes", cap);
            if (byte >= 0) out[k++] = (char)byte;
            else { memcpy(out + k, s + j, l); k += l; }
            j += l;
        }
    }
    out[k] = 0;
    return k;
}
