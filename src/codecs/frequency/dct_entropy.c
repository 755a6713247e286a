/* Token coder for the DCT codecs: tables, rANS encoder, decoder set-up
 * (see dct_entropy.h for the layout). */
#include "codecs/frequency/dct_entropy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/error.h"

/* W[c] = round(16 * 2^((c-1)/2)), c = 1..31; W[0] = 0 (absent). */
static const uint32_t W[32] = {0,     16,    23,    32,    45,    64,    91,    128,   181,    256,   362,
                               512,   724,   1024,  1448,  2048,  2896,  4096,  5793,  8192,   11585, 16384,
                               23170, 32768, 46341, 65536, 92682, 131072, 185364, 262144, 370728, 524288};

/* Frequencies (sum M = 2^scale, each present symbol >= 1) from codes. */
static void tok_normalize(const uint8_t *code, int n, int scale, uint16_t *freq)
{
    const uint32_t M = 1u << scale;
    uint64_t sum = 0;
    for (int s = 0; s < n; s++) sum += W[code[s]];
    uint32_t tot = 0;
    int big = 0;
    for (int s = 0; s < n; s++) {
        uint64_t f = code[s] ? W[code[s]] * (uint64_t)M / sum : 0;
        if (code[s] && f == 0) f = 1;
        freq[s] = (uint16_t)f;
        tot += (uint32_t)f;
        if (freq[s] > freq[big]) big = s;
    }
    freq[big] = (uint16_t)((int)freq[big] + (int)M - (int)tot);
}

void tp_tok_enc_init(tp_tok_enc *e, size_t hint)
{
    memset(e, 0, sizeof *e);
    e->captok = hint > 1024 ? hint : 1024;
    e->capbytes = e->captok / 2;
    e->tok = malloc(e->captok * sizeof *e->tok);
    e->bits = malloc(e->capbytes);
    if (!e->tok || !e->bits) e->nomem = 1, e->captok = e->capbytes = 0;
}

void tp_tok_enc_free(tp_tok_enc *e)
{
    free(e->tok);
    free(e->bits);
    memset(e, 0, sizeof *e);
}

/* Doubles the token (which = 0) or bit (1) buffer; 1 on failure. */
int tp_tok_enc_grow(tp_tok_enc *e, int which)
{
    if (e->nomem) return 1;
    if (which == 0) {
        void *p = realloc(e->tok, 2 * e->captok * sizeof *e->tok);
        if (!p) { e->nomem = 1; return 1; }
        e->tok = p;
        e->captok *= 2;
    } else {
        void *p = realloc(e->bits, 2 * e->capbytes + 8);
        if (!p) { e->nomem = 1; return 1; }
        e->bits = p;
        e->capbytes = 2 * e->capbytes + 8;
    }
    return 0;
}

int tp_tok_reserve(tp_tok_enc *e, size_t ntok, size_t nbits)
{
    while (e->captok - e->ntok < ntok)
        if (tp_tok_enc_grow(e, 0)) return 1;
    while (e->capbytes - e->nbytes < nbits / 8 + 16) /* + the acc's 4 bytes and an 8-byte store */
        if (tp_tok_enc_grow(e, 1)) return 1;
    return 0;
}

typedef struct {
    uint8_t *p, *end;
    uint64_t acc;
    int n;
} bitw;

static void bw_put(bitw *w, uint32_t v, int n)
{
    w->acc |= (uint64_t)v << w->n;
    w->n += n;
    while (w->n >= 8) {
        if (w->p < w->end) *w->p = (uint8_t)w->acc;
        w->p++;
        w->acc >>= 8;
        w->n -= 8;
    }
}

/* Encoder form of a symbol: x -> (x / f) * M + x % f + start with the
 * division done as a multiply by a rounded-up reciprocal, exact for
 * x < 2^31 (Alverson 1991; the rANS arrangement follows Giesen's
 * rans_byte.h): x + bias + floor(x / f) * (M - f). */
typedef struct {
    uint32_t xmax, rcp, bias, cmpl;
    int shift;
} enc_sym;

static void enc_sym_init(enc_sym *es, uint32_t start, uint32_t f, int scale)
{
    const uint32_t M = 1u << scale;
    es->xmax = ((TP_TOK_L >> scale) << 8) * f;
    es->cmpl = M - f;
    if (f < 2) { /* floor(x / 1) = x: rcp = 2^32 - 1 gives x - 1 (x > 0), the bias adds the 1 back */
        es->rcp = ~0u;
        es->shift = 0;
        es->bias = start + M - 1;
    } else {
        int sh = 0;
        while (f > (1u << sh)) sh++;
        es->rcp = (uint32_t)(((UINT64_C(1) << (sh + 31)) + f - 1) / f);
        es->shift = sh - 1;
        es->bias = start;
    }
}

size_t tp_tok_enc_finish(tp_tok_enc *e, int nctx, int version, uint8_t *dst, size_t cap)
{
    const int sc = tp_tok_scale(version), nstate = version == TP_TOK_V0 ? 1 : TP_TOK_NSTATE;
    if (e->nomem) return tp_fail(TP_ERR_NOMEM, "dct token buffers");
    /* flush the raw bits */
    while (e->nacc > 0) {
        if (e->nbytes + 1 > e->capbytes && tp_tok_enc_grow(e, 1)) return tp_fail(TP_ERR_NOMEM, "dct token buffers");
        e->bits[e->nbytes++] = (uint8_t)e->acc;
        e->acc >>= 8;
        e->nacc -= 8;
    }
    e->nacc = 0;
    uint32_t *cnt = calloc((size_t)nctx * TP_TOK_NSYM, sizeof *cnt); /* [ctx * TP_TOK_NSYM + sym] */
    enc_sym *enc = malloc((size_t)nctx * TP_TOK_NSYM * sizeof *enc);
    uint8_t *rb = malloc(2 * e->ntok + 4 * TP_TOK_NSTATE + 8);
    size_t r = 0;
    if (!cnt || !enc || !rb) { r = tp_fail(TP_ERR_NOMEM, "dct token tables"); goto done; }
    { /* four histograms: a run of one token does not chain on one counter */
        uint32_t *c4 = calloc((size_t)4 * nctx * TP_TOK_NSYM, sizeof *c4);
        if (!c4) { r = tp_fail(TP_ERR_NOMEM, "dct token tables"); goto done; }
        const size_t nc = (size_t)nctx * TP_TOK_NSYM;
        size_t i = 0;
        for (; i + 4 <= e->ntok; i += 4) {
            c4[e->tok[i]]++;
            c4[nc + e->tok[i + 1]]++;
            c4[2 * nc + e->tok[i + 2]]++;
            c4[3 * nc + e->tok[i + 3]]++;
        }
        for (; i < e->ntok; i++) c4[e->tok[i]]++;
        for (size_t k = 0; k < nc; k++) cnt[k] = c4[k] + c4[nc + k] + c4[2 * nc + k] + c4[3 * nc + k];
        free(c4);
    }
    bitw w = {dst, dst + cap, 0, 0};
    for (int c = 0; c < nctx; c++) {
        int n = 0;
        uint32_t mx = 0;
        for (int s = 0; s < TP_TOK_NSYM; s++)
            if (cnt[c * TP_TOK_NSYM + s]) { n = s + 1; if (cnt[c * TP_TOK_NSYM + s] > mx) mx = cnt[c * TP_TOK_NSYM + s]; }
        bw_put(&w, (uint32_t)n, 6);
        uint8_t code[TP_TOK_NSYM] = {0};
        for (int s = 0; s < n; s++) {
            if (cnt[c * TP_TOK_NSYM + s]) {
                int k = 31 + (int)lrint(2.0 * log2((double)cnt[c * TP_TOK_NSYM + s] / mx));
                code[s] = (uint8_t)(k < 1 ? 1 : k);
            }
            bw_put(&w, code[s], 5);
        }
        uint16_t freq[TP_TOK_NSYM] = {0};
        if (n) tok_normalize(code, n, sc, freq);
        uint32_t start = 0;
        for (int s = 0; s < TP_TOK_NSYM; s++) {
            enc_sym_init(&enc[c * TP_TOK_NSYM + s], start, freq[s], sc);
            start += freq[s];
        }
    }
    if (w.n) bw_put(&w, 0, 8 - w.n);
    /* rANS, backwards; token i uses state i % nstate. Up to two bytes
     * leave a state per token: both are stored, the pointer moves by the
     * count (no data-dependent branch); the extra byte is overwritten. */
    uint8_t *end = rb + 2 * e->ntok + 4 * TP_TOK_NSTATE + 8, *q = end;
    uint32_t xs[TP_TOK_NSTATE] = {TP_TOK_L, TP_TOK_L, TP_TOK_L, TP_TOK_L};
    for (size_t i = e->ntok; i-- > 0;) {
        const enc_sym *es = &enc[e->tok[i]];
        uint32_t x = xs[i & (size_t)(nstate - 1)];
        int nb = (x >= es->xmax) + ((uint64_t)x >= (uint64_t)es->xmax << 8);
        q[-1] = (uint8_t)x;
        q[-2] = (uint8_t)(x >> 8);
        q -= nb;
        x = (uint32_t)((uint64_t)x >> (8 * nb));
        uint32_t quo = (uint32_t)(((uint64_t)x * es->rcp) >> 32) >> es->shift;
        xs[i & (size_t)(nstate - 1)] = x + es->bias + quo * es->cmpl;
    }
    for (int k = nstate; k-- > 0;) {
        q -= 4;
        tp_put_u32(q, xs[k]);
    }
    size_t R = (size_t)(end - q), tab = (size_t)(w.p - dst);
    size_t total = tab + 4 + R + e->nbytes;
    if (total > cap || R > 0xffffffffu) goto done; /* r = 0: does not fit */
    uint8_t *o = dst + tab;
    o[0] = (uint8_t)R; o[1] = (uint8_t)(R >> 8); o[2] = (uint8_t)(R >> 16); o[3] = (uint8_t)(R >> 24);
    memcpy(o + 4, q, R);
    memcpy(o + 4 + R, e->bits, e->nbytes);
    r = total;
done:
    free(cnt);
    free(enc);
    free(rb);
    return r;
}

size_t tp_tok_dec_init(tp_tok_dec *d, int nctx, int version, const uint8_t *src, size_t n)
{
    memset(d, 0, sizeof *d);
    if (version < 0 || version >= TP_TOK_NVER) return tp_fail(TP_ERR_CORRUPT, "dct token stream version %d", version);
    const int sc = tp_tok_scale(version), nstate = version == TP_TOK_V0 ? 1 : TP_TOK_NSTATE;
    const uint32_t M = 1u << sc;
    d->version = version;
    d->slot = malloc((size_t)nctx * M);
    if (!d->slot) return tp_fail(TP_ERR_NOMEM, "dct token decode tables");
    const uint8_t *p = src, *end = src + n;
    uint64_t acc = 0;
    int na = 0;
#define NEED(k)                                                                                              \
    while (na < (k)) {                                                                                       \
        if (p >= end) return tp_fail(TP_ERR_CORRUPT, "dct token tables truncated");                          \
        acc |= (uint64_t)*p++ << na;                                                                         \
        na += 8;                                                                                             \
    }
    for (int c = 0; c < nctx; c++) {
        NEED(6);
        int ns = (int)(acc & 63);
        acc >>= 6, na -= 6;
        if (ns > TP_TOK_NSYM) return tp_fail(TP_ERR_CORRUPT, "dct token table of %d symbols", ns);
        uint8_t code[TP_TOK_NSYM] = {0};
        int any = 0;
        for (int s = 0; s < ns; s++) {
            NEED(5);
            code[s] = (uint8_t)(acc & 31);
            acc >>= 5, na -= 5;
            any |= code[s];
        }
        if (ns && (!code[ns - 1] || !any)) return tp_fail(TP_ERR_CORRUPT, "dct token table without its last symbol");
        uint16_t freq[TP_TOK_NSYM] = {0};
        if (ns) tok_normalize(code, ns, sc, freq);
        else freq[0] = (uint16_t)M; /* unused context: any use is caught as a mismatch */
        uint8_t *sl = d->slot + (size_t)c * M;
        uint32_t start = 0;
        for (int s = 0; s < TP_TOK_NSYM; s++) {
            d->fs[c][s] = freq[s] | start << 16;
            if (freq[s]) memset(sl + start, s, freq[s]);
            start += freq[s];
        }
    }
#undef NEED
    if (end - p < 4) return tp_fail(TP_ERR_CORRUPT, "dct token stream truncated");
    uint64_t R = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
    p += 4;
    if (R < 4u * nstate || R > (uint64_t)(end - p)) return tp_fail(TP_ERR_CORRUPT, "dct rANS stream of %llu bytes", (unsigned long long)R);
    for (int k = 0; k < nstate; k++) {
        d->c.x[k] = (uint32_t)p[4 * k] | (uint32_t)p[4 * k + 1] << 8 | (uint32_t)p[4 * k + 2] << 16 | (uint32_t)p[4 * k + 3] << 24;
        if (d->c.x[k] < TP_TOK_L || d->c.x[k] >= TP_TOK_L << 8) return tp_fail(TP_ERR_CORRUPT, "dct rANS state out of range");
    }
    for (int k = nstate; k < TP_TOK_NSTATE; k++) d->c.x[k] = TP_TOK_L;
    d->c.p = p + 4 * nstate;
    d->c.end = p + R;
    d->c.bp = p + R;
    d->c.bend = end;
    return 0;
}

void tp_tok_dec_free(tp_tok_dec *d)
{
    free(d->slot);
    d->slot = NULL;
}

int tp_tok_dec_finish(const tp_tok_dec *d)
{
    return d->c.bad || d->c.p != d->c.end || d->c.x[0] != TP_TOK_L || d->c.x[1] != TP_TOK_L || d->c.x[2] != TP_TOK_L || d->c.x[3] != TP_TOK_L || d->c.bp != d->c.bend || d->c.nacc >= 8 ? -1 : 0;
}
