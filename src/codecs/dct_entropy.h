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
 *   R bytes rANS stream (one 32-bit state, byte renormalisation, L = 2^23,
 *           12-bit probabilities; starts with the final state, LE)
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

#define TP_TOK_MAX_CTX 64
#define TP_TOK_NSYM 32
#define TP_TOK_SCALE 12
#define TP_TOK_M (1u << TP_TOK_SCALE)
#define TP_TOK_L (1u << 23)

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

/* Writes the section for contexts 0..nctx-1 into dst. Returns its size, 0
 * if it does not fit in cap, or an error (no memory). */
size_t tp_tok_enc_finish(tp_tok_enc *e, int nctx, uint8_t *dst, size_t cap);

typedef struct {
    const uint8_t *p, *end; /* rANS bytes */
    uint32_t x;
    const uint8_t *bp, *bend; /* raw bits */
    uint64_t acc;
    int nacc, bad;
    uint8_t *slot;                          /* [ctx][TP_TOK_M] -> symbol */
    uint32_t fs[TP_TOK_MAX_CTX][TP_TOK_NSYM]; /* freq | start << 16 */
} tp_tok_dec;

/* Parses a section of exactly n bytes. Returns 0 or an error
 * (TP_ERR_CORRUPT, TP_ERR_NOMEM). */
size_t tp_tok_dec_init(tp_tok_dec *d, int nctx, const uint8_t *src, size_t n);
void tp_tok_dec_free(tp_tok_dec *d);
/* 0 when every byte was used and the final state is the initial one. */
int tp_tok_dec_finish(const tp_tok_dec *d);

static inline int tp_tok_get(tp_tok_dec *d, int ctx)
{
    uint32_t s = d->x & (TP_TOK_M - 1);
    int sym = d->slot[(size_t)ctx * TP_TOK_M + s];
    uint32_t fs = d->fs[ctx][sym];
    uint32_t x = (fs & 0xffff) * (d->x >> TP_TOK_SCALE) + s - (fs >> 16);
    /* x >= 2^11 here, so at most two bytes refill it; away from the end
     * they are read without a data-dependent branch. */
    if (__builtin_expect(d->end - d->p >= 2, 1)) {
        int nb = (x < TP_TOK_L) + (x < (TP_TOK_L >> 8));
        uint32_t two = (uint32_t)d->p[0] << 8 | d->p[1];
        x = (uint32_t)((uint64_t)x << (8 * nb)) | (uint32_t)((uint64_t)two >> (8 * (2 - nb)));
        d->p += nb;
    } else
        while (x < TP_TOK_L) {
            uint8_t b = 0;
            if (d->p < d->end) b = *d->p++;
            else d->bad = 1;
            x = (x << 8) | b;
        }
    d->x = x;
    return sym;
}

static inline uint32_t tp_tok_get_bits(tp_tok_dec *d, int n)
{
    if (d->nacc < n) {
        while (d->nacc <= 56 && d->bp < d->bend) {
            d->acc |= (uint64_t)*d->bp++ << d->nacc;
            d->nacc += 8;
        }
        if (d->nacc < n) { d->bad = 1; d->nacc = n; }
    }
    uint32_t v = (uint32_t)(d->acc & ((1u << n) - 1));
    d->acc >>= n;
    d->nacc -= n;
    return v;
}

/* Magnitude category of a > 0: its bit length. */
static inline int tp_tok_cat(uint32_t a) { return 32 - __builtin_clz(a); }

#endif
