/* Token coder for the DCT codecs: static multi-symbol rANS with many small
 * contexts, plus a raw bit stream.
 *
 * A coder sees a sequence of (context, symbol) tokens (symbols < 32, up to
 * TP_TOK_MAX_CTX contexts) interleaved with raw bit fields (<= 24 bits:
 * signs and magnitude mantissas). The encoder buffers both, then writes
 *   tables: per context 5 bits n (0: context unused), then n 5-bit codes,
 *           code 0 = symbol absent, code c >= 1 = weight W[c] ~ 2^((c-1)/2);
 *           zero bits up to a byte boundary
 *   u32     R, the byte count of the rANS stream
 *   R bytes rANS stream (32-bit states, byte renormalisation, L = 2^23;
 *           starts with the final states, LE). Version 0: one state,
 *           12-bit probabilities. Version 1: four states, token i coded
 *           with state i % 4 into one byte stream (interleaved rANS,
 *           Giesen 2014), 10-bit probabilities: the state updates of
 *           neighbouring tokens no longer wait on each other (encoder and
 *           decoder), and the look-up tables of one plane kind fit in L1
 *           (24 x 1 KiB).
 *   rest    raw bits, LSB first
 * Frequencies come from the weights by one integer rule on both sides
 * (tok_normalize), so a table costs 5 bits per symbol, not a count: about
 * 10 bytes per context, which matters for small images. Unlike an adaptive
 * binary coder, a token costs one table look-up to decode, and a zero run
 * or a whole magnitude category is one token.
 *
 * The decoder never reads outside its input: past the end it sees zeros and
 * sets bad; a corrupt stream decodes to in-range symbols and is caught by
 * the final-state and length checks of tp_tok_dec_finish. */
#ifndef TP_CODECS_DCT_ENTROPY_H
#define TP_CODECS_DCT_ENTROPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TP_TOK_MAX_CTX 64
#define TP_TOK_NSYM 32
#define TP_TOK_L (1u << 23)
#define TP_TOK_V0 0 /* one state, 12-bit probabilities (first format) */
#define TP_TOK_V1 1 /* four interleaved states, 10-bit probabilities  */
#define TP_TOK_NSTATE 4 /* states of version 1 */
#define TP_TOK_NVER 2

static inline int tp_tok_scale(int version) { return version == TP_TOK_V0 ? 12 : 10; }

typedef struct {
    uint16_t *tok; /* ctx * TP_TOK_NSYM + sym */
    size_t ntok, captok;
    uint8_t *bits;
    size_t nbytes, capbytes;
    uint64_t acc;
    int nacc, nomem;
} tp_tok_enc;

void tp_tok_enc_init(tp_tok_enc *e, size_t hint);
void tp_tok_enc_free(tp_tok_enc *e);
int tp_tok_enc_grow(tp_tok_enc *e, int which);

static inline void tp_tok_put(tp_tok_enc *e, int ctx, int sym)
{
    if (e->ntok == e->captok && tp_tok_enc_grow(e, 0)) return;
    e->tok[e->ntok++] = (uint16_t)(ctx * TP_TOK_NSYM + sym);
}

/* n <= 24 raw bits (v < 2^n). */
static inline void tp_tok_bits(tp_tok_enc *e, uint32_t v, int n)
{
    e->acc |= (uint64_t)v << e->nacc;
    e->nacc += n;
    if (e->nacc >= 32) {
        if (e->nbytes + 4 > e->capbytes && tp_tok_enc_grow(e, 1)) return;
        uint8_t *p = e->bits + e->nbytes;
        p[0] = (uint8_t)e->acc; p[1] = (uint8_t)(e->acc >> 8); p[2] = (uint8_t)(e->acc >> 16); p[3] = (uint8_t)(e->acc >> 24);
        e->nbytes += 4;
        e->acc >>= 32;
        e->nacc -= 32;
    }
}

/* Unchecked writing over room made by tp_tok_reserve: the hot loops keep
 * the cursor in registers (stores through the byte buffer would otherwise
 * force the encoder's fields to be reloaded after every raw field). */
typedef struct {
    uint16_t *tok;
    uint8_t *bits;
    uint64_t acc;
    int nacc;
} tp_tok_span;

/* Room for ntok more tokens and nbits more raw bits; 1 on failure (no
 * memory, also reported by tp_tok_enc_finish). */
int tp_tok_reserve(tp_tok_enc *e, size_t ntok, size_t nbits);

static inline tp_tok_span tp_tok_span_begin(const tp_tok_enc *e)
{
    tp_tok_span s = {e->tok + e->ntok, e->bits + e->nbytes, e->acc, e->nacc};
    return s;
}

static inline void tp_tok_span_end(tp_tok_enc *e, const tp_tok_span *s)
{
    e->ntok = (size_t)(s->tok - e->tok);
    e->nbytes = (size_t)(s->bits - e->bits);
    e->acc = s->acc;
    e->nacc = s->nacc;
}

static inline void tp_span_put(tp_tok_span *s, int ctx, int sym) { *s->tok++ = (uint16_t)(ctx * TP_TOK_NSYM + sym); }

/* n <= 24 raw bits: eight bytes are stored, the whole ones kept. */
static inline void tp_span_bits(tp_tok_span *s, uint32_t v, int n)
{
    s->acc |= (uint64_t)v << s->nacc;
    s->nacc += n;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(s->bits, &s->acc, 8);
#else
    for (int i = 0; i < 8; i++) s->bits[i] = (uint8_t)(s->acc >> (8 * i));
#endif
    s->bits += s->nacc >> 3;
    s->acc >>= s->nacc & ~7;
    s->nacc &= 7;
}

/* Writes the section for contexts 0..nctx-1 in format `version` into dst.
 * Returns its size, 0 if it does not fit in cap, or an error (no memory). */
size_t tp_tok_enc_finish(tp_tok_enc *e, int nctx, int version, uint8_t *dst, size_t cap);

/* What reading a token or a bit field changes; the hot loops copy it to
 * a local so that it lives in registers. */
typedef struct {
    const uint8_t *p, *end;    /* rANS bytes                 */
    uint32_t x[TP_TOK_NSTATE]; /* x[0] decodes the next token */
    const uint8_t *bp, *bend;  /* raw bits                   */
    uint64_t acc;
    int nacc, bad;
} tp_tok_cur;

typedef struct {
    tp_tok_cur c;
    int version;
    uint8_t *slot;                          /* [ctx][2^scale] -> symbol */
    uint32_t fs[TP_TOK_MAX_CTX][TP_TOK_NSYM]; /* freq | start << 16 */
} tp_tok_dec;

/* Parses a section of exactly n bytes in format `version`. Returns 0 or an
 * error (TP_ERR_CORRUPT, TP_ERR_NOMEM). */
size_t tp_tok_dec_init(tp_tok_dec *d, int nctx, int version, const uint8_t *src, size_t n);
void tp_tok_dec_free(tp_tok_dec *d);
/* 0 when every byte was used and the final states are the initial ones. */
int tp_tok_dec_finish(const tp_tok_dec *d);

/* One token with the tables of t; `version` must be t->version (a
 * constant here so that callers can keep one specialised loop per format). */
__attribute__((always_inline)) static inline int tp_tok_read(tp_tok_cur *c, const tp_tok_dec *t, int ctx, const int version)
{
    const int sc = tp_tok_scale(version);
    uint32_t x = c->x[0], s = x & ((1u << sc) - 1);
    int sym = t->slot[((size_t)ctx << sc) + s];
    uint32_t fs = t->fs[ctx][sym];
    x = (fs & 0xffff) * (x >> sc) + s - (fs >> 16);
    /* x >= 2^11 here, so at most two bytes refill it; away from the end
     * they are read without a data-dependent branch. */
    if (__builtin_expect(c->end - c->p >= 2, 1)) {
        int nb = (x < TP_TOK_L) + (x < (TP_TOK_L >> 8));
        uint32_t two = (uint32_t)c->p[0] << 8 | c->p[1];
        x = (uint32_t)((uint64_t)x << (8 * nb)) | (uint32_t)((uint64_t)two >> (8 * (2 - nb)));
        c->p += nb;
    } else
        while (x < TP_TOK_L) {
            uint8_t b = 0;
            if (c->p < c->end) b = *c->p++;
            else c->bad = 1;
            x = (x << 8) | b;
        }
    if (version == TP_TOK_V0) c->x[0] = x;
    else { c->x[0] = c->x[1]; c->x[1] = c->x[2]; c->x[2] = c->x[3]; c->x[3] = x; }
    return sym;
}

/* n <= 24 raw bits. */
static inline uint32_t tp_tok_read_bits(tp_tok_cur *c, int n)
{
    if (__builtin_expect(c->bend - c->bp >= 8, 1)) {
        /* Branch-free refill to >= 56 bits (Giesen's "variant 4"): bits
         * above nacc are those the next load puts there again. */
        uint64_t w = (uint64_t)c->bp[0] | (uint64_t)c->bp[1] << 8 | (uint64_t)c->bp[2] << 16 | (uint64_t)c->bp[3] << 24 |
                     (uint64_t)c->bp[4] << 32 | (uint64_t)c->bp[5] << 40 | (uint64_t)c->bp[6] << 48 | (uint64_t)c->bp[7] << 56;
        c->acc |= w << c->nacc;
        c->bp += (63 - c->nacc) >> 3;
        c->nacc |= 56;
    } else if (c->nacc < n) {
        while (c->nacc <= 56 && c->bp < c->bend) {
            c->acc |= (uint64_t)*c->bp++ << c->nacc;
            c->nacc += 8;
        }
        if (c->nacc < n) { c->bad = 1; c->nacc = n; }
    }
    uint32_t v = (uint32_t)(c->acc & ((1u << n) - 1));
    c->acc >>= n;
    c->nacc -= n;
    return v;
}

static inline int tp_tok_get(tp_tok_dec *d, int ctx)
{
    return d->version == TP_TOK_V0 ? tp_tok_read(&d->c, d, ctx, TP_TOK_V0) : tp_tok_read(&d->c, d, ctx, TP_TOK_V1);
}

static inline uint32_t tp_tok_get_bits(tp_tok_dec *d, int n) { return tp_tok_read_bits(&d->c, n); }

/* Magnitude category of a > 0: its bit length. */
static inline int tp_tok_cat(uint32_t a) { return 32 - __builtin_clz(a); }

#endif
