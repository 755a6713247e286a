/* Adaptive binary range coder for the DCT codecs (LZMA-style carry
 * handling, 32-bit range). Each context holds two probability estimates
 * that adapt at different speeds (shift 4 and 7) and are averaged: quick to
 * learn at the start of a tensor, steady later. Probabilities are of a 0
 * bit, 15 bits of precision, always in 1..32767, so no symbol ever gets an
 * empty interval.
 *
 * The encoder never writes past its buffer: when it runs out it sets
 * overflow and keeps counting (the caller then stores a raw fallback). The
 * decoder reads zeros past the end of its input and reports overrun, so a
 * truncated stream is detected, never read beyond. */
#ifndef TP_CODECS_DCT_ENTROPY_H
#define TP_CODECS_DCT_ENTROPY_H

#include <stddef.h>
#include <stdint.h>

typedef struct { uint16_t fast, slow; } tp_bitctx;

#define TP_BITCTX_INIT ((tp_bitctx){16384, 16384})

static inline void tp_bitctx_init(tp_bitctx *c, size_t n)
{
    for (size_t i = 0; i < n; i++) c[i] = TP_BITCTX_INIT;
}

typedef struct {
    uint8_t *buf;
    size_t cap, pos;
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    uint64_t cache_size;
    int overflow;
} tp_rc_enc;

typedef struct {
    const uint8_t *buf;
    size_t n, pos;
    uint32_t range, code;
    int overrun;
} tp_rc_dec;

void tp_rc_enc_init(tp_rc_enc *e, void *buf, size_t cap);
/* Flushes; returns the byte count (meaningless when e->overflow). */
size_t tp_rc_enc_finish(tp_rc_enc *e);
void tp_rc_dec_init(tp_rc_dec *d, const void *buf, size_t n);

static inline void tp_rc_shift_low(tp_rc_enc *e)
{
    if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
        uint8_t carry = (uint8_t)(e->low >> 32);
        uint8_t temp = e->cache;
        do {
            if (e->pos < e->cap) e->buf[e->pos] = (uint8_t)(temp + carry);
            else e->overflow = 1;
            e->pos++;
            temp = 0xFF;
        } while (--e->cache_size != 0);
        e->cache = (uint8_t)(e->low >> 24);
    }
    e->cache_size++;
    e->low = (e->low & 0x00FFFFFFu) << 8;
}

static inline unsigned tp_bitctx_p(const tp_bitctx *c) { return ((unsigned)c->fast + c->slow) >> 1; }

static inline void tp_bitctx_update(tp_bitctx *c, int bit)
{
    if (bit) {
        c->fast = (uint16_t)(c->fast - (c->fast >> 4));
        c->slow = (uint16_t)(c->slow - (c->slow >> 7));
    } else {
        c->fast = (uint16_t)(c->fast + ((32768u - c->fast) >> 4));
        c->slow = (uint16_t)(c->slow + ((32768u - c->slow) >> 7));
    }
}

static inline void tp_rc_put_p(tp_rc_enc *e, unsigned p, int bit)
{
    uint32_t bound = (e->range >> 15) * p;
    if (!bit) e->range = bound;
    else { e->low += bound; e->range -= bound; }
    while (e->range < (1u << 24)) { e->range <<= 8; tp_rc_shift_low(e); }
}

static inline void tp_rc_put(tp_rc_enc *e, tp_bitctx *c, int bit)
{
    tp_rc_put_p(e, tp_bitctx_p(c), bit);
    tp_bitctx_update(c, bit);
}

/* Equiprobable bit (signs, suffix bits). */
static inline void tp_rc_put_bypass(tp_rc_enc *e, int bit) { tp_rc_put_p(e, 16384, bit); }

static inline int tp_rc_get_p(tp_rc_dec *d, unsigned p)
{
    uint32_t bound = (d->range >> 15) * p;
    int bit;
    if (d->code < bound) { d->range = bound; bit = 0; }
    else { d->code -= bound; d->range -= bound; bit = 1; }
    while (d->range < (1u << 24)) {
        d->range <<= 8;
        uint8_t b = 0;
        if (d->pos < d->n) b = d->buf[d->pos];
        else d->overrun = 1;
        d->pos++;
        d->code = (d->code << 8) | b;
    }
    return bit;
}

static inline int tp_rc_get(tp_rc_dec *d, tp_bitctx *c)
{
    int bit = tp_rc_get_p(d, tp_bitctx_p(c));
    tp_bitctx_update(c, bit);
    return bit;
}

static inline int tp_rc_get_bypass(tp_rc_dec *d) { return tp_rc_get_p(d, 16384); }

/* Adaptive Exp-Golomb code for v >= 0: the exponent in unary with one
 * context per position (ctx[0..TP_EG_CTX-1]), the mantissa bits bypass.
 * Exponents above TP_EG_MAX are refused by the decoder (returns -1). */
#define TP_EG_CTX 16
#define TP_EG_MAX 24

static inline void tp_rc_put_eg(tp_rc_enc *e, tp_bitctx *ctx, uint32_t v)
{
    uint32_t x = v + 1;
    int nb = 31 - __builtin_clz(x); /* x in [2^nb, 2^(nb+1)) */
    for (int i = 0; i < nb; i++) tp_rc_put(e, &ctx[i < TP_EG_CTX - 1 ? i : TP_EG_CTX - 1], 1);
    tp_rc_put(e, &ctx[nb < TP_EG_CTX - 1 ? nb : TP_EG_CTX - 1], 0);
    for (int i = nb - 1; i >= 0; i--) tp_rc_put_bypass(e, (int)((x >> i) & 1));
}

static inline int64_t tp_rc_get_eg(tp_rc_dec *d, tp_bitctx *ctx)
{
    int nb = 0;
    while (tp_rc_get(d, &ctx[nb < TP_EG_CTX - 1 ? nb : TP_EG_CTX - 1])) {
        if (++nb > TP_EG_MAX || d->overrun) return -1;
    }
    uint32_t x = 1;
    for (int i = 0; i < nb; i++) x = (x << 1) | (uint32_t)tp_rc_get_bypass(d);
    return (int64_t)x - 1;
}

#endif
