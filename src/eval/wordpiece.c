/* BERT basic tokenizer + WordPiece (see wordpiece.h). */
#include "eval/wordpiece.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/unicode_tables.h"

#define WP_MAX_WORD_CHARS 100 /* longer words become [UNK], as in BERT */

struct tp_wordpiece {
    char *text;          /* all tokens, NUL-terminated, back to back */
    const char **tok;    /* id -> token */
    size_t n;
    int32_t *slots;      /* open-addressing hash: token id or -1 */
    size_t mask;
    int32_t cls, sep, unk;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ull; }
    return h;
}

static int32_t lookup(const tp_wordpiece *wp, const char *s, size_t n)
{
    for (size_t i = (size_t)hash_bytes(s, n) & wp->mask;; i = (i + 1) & wp->mask) {
        int32_t id = wp->slots[i];
        if (id < 0) return -1;
        const char *t = wp->tok[id];
        if (!strncmp(t, s, n) && t[n] == 0) return id;
    }
}

size_t tp_wordpiece_load(const char *vocab_path, tp_wordpiece **out)
{
    if (!vocab_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    FILE *f = fopen(vocab_path, "rb");
    if (!f) return tp_fail(TP_ERR_IO, "cannot open vocabulary %s", vocab_path);
    tp_wordpiece *wp = calloc(1, sizeof *wp);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!wp || !buf) { fclose(f); free(wp); free(buf); return tp_fail(TP_ERR_NOMEM, "vocabulary"); }
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) { fclose(f); free(buf); free(wp); return tp_fail(TP_ERR_NOMEM, "vocabulary"); }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    buf[len] = 0;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    if (len && buf[len - 1] != '\n') lines++;
    wp->text = buf;
    wp->tok = malloc((lines ? lines : 1) * sizeof *wp->tok);
    size_t nslots = 1;
    while (nslots < 2 * lines + 2) nslots <<= 1;
    wp->slots = malloc(nslots * sizeof *wp->slots);
    if (!wp->tok || !wp->slots) { tp_wordpiece_free(wp); return tp_fail(TP_ERR_NOMEM, "vocabulary"); }
    wp->mask = nslots - 1;
    memset(wp->slots, 0xff, nslots * sizeof *wp->slots);
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        if (nl > p && nl[-1] == '\r') nl[-1] = 0;
        int32_t id = (int32_t)wp->n++;
        wp->tok[id] = p;
        size_t tl = strlen(p);
        if (lookup(wp, p, tl) < 0) { /* first occurrence wins */
            size_t i = (size_t)hash_bytes(p, tl) & wp->mask;
            while (wp->slots[i] >= 0) i = (i + 1) & wp->mask;
            wp->slots[i] = id;
        }
        p = nl + 1;
    }
    wp->cls = lookup(wp, "[CLS]", 5);
    wp->sep = lookup(wp, "[SEP]", 5);
    wp->unk = lookup(wp, "[UNK]", 5);
    if (wp->cls < 0 || wp->sep < 0 || wp->unk < 0) {
        tp_wordpiece_free(wp);
        return tp_fail(TP_ERR_CORRUPT, "%s: vocabulary lacks [CLS], [SEP] or [UNK]", vocab_path);
    }
    *out = wp;
    return 0;
}

void tp_wordpiece_free(tp_wordpiece *wp)
{
    if (!wp) return;
    free(wp->text);
    free(wp->tok);
    free(wp->slots);
    free(wp);
}

size_t tp_wordpiece_vocab_size(const tp_wordpiece *wp) { return wp->n; }

const char *tp_wordpiece_token(const tp_wordpiece *wp, int32_t id)
{
    return id >= 0 && (size_t)id < wp->n ? wp->tok[id] : NULL;
}

int32_t tp_wordpiece_id(const tp_wordpiece *wp, const char *token) { return lookup(wp, token, strlen(token)); }

/* ---- Unicode helpers ---- */


static const char *lower_strip(uint32_t cp)
{
    size_t lo = 0, hi = tp_uc_lower_strip_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < tp_uc_lower_strip[mid].cp) hi = mid;
        else if (cp > tp_uc_lower_strip[mid].cp) lo = mid + 1;
        else return tp_uc_lower_strip[mid].utf8;
    }
    return NULL;
}

/* BERT's "Chinese character" blocks (CJK ideographs, not all of CJK). */
static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Decodes one UTF-8 sequence at s (n > 0 bytes left); returns its length,
 * with *cp = 0xFFFD for an invalid byte (length 1). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) { *cp = c; return 1; }
    if ((c & 0xE0) == 0xC0) { len = 2; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { len = 3; v = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { len = 4; v = c & 0x07; min = 0x10000; }
    else { *cp = 0xFFFD; return 1; }
    if (len > n) { *cp = 0xFFFD; return 1; }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { *cp = 0xFFFD; return 1; }
    *cp = v;
    return len;
}

static size_t utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- encoding ---- */

typedef struct {
    uint32_t *cp;  /* normalized code points; 0x20 separates words */
    uint8_t *punct; /* 1 where cp is a punctuation character */
    size_t n, cap;
} cpbuf;

static int push(cpbuf *b, uint32_t cp)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 256;
        uint32_t *c = realloc(b->cp, nc * sizeof *c);
        if (!c) return -1;
        b->cp = c;
        uint8_t *p = realloc(b->punct, nc);
        if (!p) return -1;
        b->punct = p;
        b->cap = nc;
    }
    b->punct[b->n] = cp != ' ' && tp_uc_in_ranges(tp_uc_punct, tp_uc_punct_n, cp);
    b->cp[b->n++] = cp;
    return 0;
}

/* Pushes the normalized form of one input code point. */
static int normalize_push(cpbuf *b, uint32_t cp)
{
    if (tp_uc_in_ranges(tp_uc_drop, tp_uc_drop_n, cp)) return 0;
    if (tp_uc_in_ranges(tp_uc_ws, tp_uc_ws_n, cp)) return push(b, ' ');
    int cjk = is_cjk(cp);
    if (cjk && push(b, ' ')) return -1;
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: canonical decomposition */
        uint32_t s = cp - 0xAC00, t = s % 28;
        if (push(b, 0x1100 + s / 588) || push(b, 0x1161 + (s % 588) / 28)) return -1;
        if (t && push(b, 0x11A7 + t)) return -1;
    } else {
        const char *m = lower_strip(cp);
        if (!m) {
            if (push(b, cp)) return -1;
        } else {
            const unsigned char *u = (const unsigned char *)m;
            size_t n = strlen(m);
            while (n) {
                uint32_t c;
                size_t k = utf8_decode(u, n, &c);
                if (push(b, c)) return -1;
                u += k;
                n -= k;
            }
        }
    }
    if (cjk && push(b, ' ')) return -1;
    return 0;
}

/* WordPiece of one word (code points w[0..n)); appends ids to out (up to
 * cap in all, counting from *nout). */
static int wordpiece_word(const tp_wordpiece *wp, const uint32_t *w, size_t n, int32_t *out, size_t *nout, size_t cap,
                          char *scratch, size_t *offs)
{
    if (n > WP_MAX_WORD_CHARS) {
        if (*nout < cap) out[(*nout)++] = wp->unk;
        return 0;
    }
    /* scratch = UTF-8 of the word after 2 spare bytes; offs[i] = byte
     * offset of char i. A continuation piece is looked up as "##" + bytes,
     * written into the 2 bytes just before it (saved and restored). */
    size_t bl = 2;
    for (size_t i = 0; i < n; i++) { offs[i] = bl; bl += utf8_encode(w[i], scratch + bl); }
    offs[n] = bl;
    int32_t pieces[WP_MAX_WORD_CHARS];
    size_t np = 0, start = 0;
    while (start < n) {
        int32_t id = -1;
        size_t end = n, from = start ? offs[start] - 2 : offs[start];
        char saved[2] = {scratch[from], scratch[from + 1]};
        if (start) scratch[from] = scratch[from + 1] = '#';
        for (; end > start; end--) {
            id = lookup(wp, scratch + from, offs[end] - from);
            if (id >= 0) break;
        }
        scratch[from] = saved[0];
        scratch[from + 1] = saved[1];
        if (id < 0) { np = 0; pieces[np++] = wp->unk; break; }
        pieces[np++] = id;
        start = end;
    }
    for (size_t i = 0; i < np && *nout < cap; i++) out[(*nout)++] = pieces[i];
    return 0;
}

size_t tp_wordpiece_encode(const tp_wordpiece *wp, const char *text, size_t len, int32_t *ids, size_t max_ids)
{
    if (!wp || (!text && len) || !ids || max_ids < 2) return tp_fail(TP_ERR_ARG, "bad tokenizer arguments");
    cpbuf b = {0};
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        i += utf8_decode(s + i, len - i, &cp);
        if (normalize_push(&b, cp)) { free(b.cp); free(b.punct); return tp_fail(TP_ERR_NOMEM, "tokenizer"); }
    }
    size_t n = 0, cap = max_ids - 1;
    ids[n++] = wp->cls;
    char scratch[2 + 4 * WP_MAX_WORD_CHARS + 4];
    size_t offs[WP_MAX_WORD_CHARS + 1];
    for (size_t i = 0; i < b.n && n < cap;) {
        if (b.cp[i] == ' ') { i++; continue; }
        size_t j = i + 1;
        if (!b.punct[i])
            while (j < b.n && b.cp[j] != ' ' && !b.punct[j]) j++;
        wordpiece_word(wp, b.cp + i, j - i, ids, &n, cap, scratch, offs);
        i = j;
    }
    ids[n++] = wp->sep;
    free(b.cp);
    free(b.punct);
    return n;
}
