/* Adaptive binary range coder: the non-inline parts (see dct_entropy.h). */
#include "codecs/dct_entropy.h"

void tp_rc_enc_init(tp_rc_enc *e, void *buf, size_t cap)
{
    e->buf = buf;
    e->cap = cap;
    e->pos = 0;
    e->low = 0;
    e->range = 0xFFFFFFFFu;
    e->cache = 0;
    e->cache_size = 1;
    e->overflow = 0;
}

size_t tp_rc_enc_finish(tp_rc_enc *e)
{
    for (int i = 0; i < 5; i++) tp_rc_shift_low(e);
    return e->pos;
}

void tp_rc_dec_init(tp_rc_dec *d, const void *buf, size_t n)
{
    d->buf = buf;
    d->n = n;
    d->pos = 0;
    d->range = 0xFFFFFFFFu;
    d->code = 0;
    d->overrun = 0;
    /* The first byte the encoder writes is always the initial cache (0). */
    for (int i = 0; i < 5; i++) {
        uint8_t b = d->pos < n ? d->buf[d->pos] : 0;
        if (d->pos >= n) d->overrun = 1;
        d->pos++;
        d->code = (d->code << 8) | b;
    }
}
