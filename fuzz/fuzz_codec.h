/* Shared body of the codec decoder fuzz targets: the first bytes of the
 * input pick a shape and parameter values (each clamped into the codec's
 * own range), the rest is the payload handed to the decoder. The decoder
 * must return an error or exactly the output size, never crash, read or
 * write out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"

static int fuzz_codec_decode(const char *name, const uint8_t *data, size_t size)
{
    const tp_codec *c = tp_codec_by_name(name);
    if (!c || size < 4 + c->info.n_params) return 0;
    tp_tensor dst = {TP_F32, 2, {1u + data[0] % 64u, 1u + (data[1] | (unsigned)data[2] << 8) % 700u}, NULL};
    if (data[3] & 1) { dst.ndim = 1; dst.shape[0] = dst.shape[0] * dst.shape[1] - (data[3] >> 1) % 3; }
    tp_params p;
    for (size_t i = 0; i < c->info.n_params; i++) {
        const tp_param_def *d = &c->info.params[i];
        double span = d->max - d->min + 1;
        if (span > 256) span = 256; /* keep sizes small */
        p.v[i] = d->min + (double)(data[4 + i] % (unsigned)span);
    }
    data += 4 + c->info.n_params;
    size -= 4 + c->info.n_params;
    if (c->validate && tp_is_error(c->validate(&p))) return 0;
    size_t nbytes = tp_tensor_nbytes(&dst);
    if (tp_is_error(nbytes)) return 0;
    /* Mostly feed exactly the payload size the parameters imply (zero
     * padded or cut), so the fuzzer reaches the checks past the size one. */
    int raw = (data[-(long)c->info.n_params - 1] & 2) != 0;
    tp_tensor bd;
    size_t want = c->bound(&p, &dst, &bd);
    if (tp_is_error(want)) return 0;
    size_t n = raw ? size : want;
    float *out = malloc(nbytes + 1);
    uint8_t *src = calloc(n + 1, 1); /* exact-size copy so ASan sees overreads */
    memcpy(src, data, n < size ? n : size);
    size = n;
    tp_tensor sd;
    tp_desc_bytes(&sd, size);
    size_t r = c->decode(&p, src, size, &sd, &dst, out);
    if (!tp_is_error(r) && r != nbytes) abort();
    free(out);
    free(src);
    return 0;
}
