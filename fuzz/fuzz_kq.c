/* libFuzzer target: kq stage decoder. The first bytes choose the parameters
 * and the tensor size; the rest is the payload. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    const tp_codec *c = tp_codec_by_name("kq");
    char spec[96];
    static const int subs[4] = {0, 16, 32, 0};
    snprintf(spec, sizeof spec, "bits=%d,sub=%d,sbits=%d,sym=%d", 2 + data[0] % 5, subs[data[1] & 3],
             (data[1] >> 2) % 6 ? 3 + (data[1] >> 2) % 6 : 0, (int)(data[1] >> 5) % 3 - 1);
    tp_params p;
    if (tp_is_error(tp_params_parse(c, spec, strlen(spec), &p))) return 0;
    uint64_t n = ((uint64_t)data[2] << 8 | data[3]) % 2048;
    tp_tensor dst = {.dtype = TP_F32, .ndim = 1, .shape = {n}};
    /* Mostly the exact payload size (the input cut or zero-padded to it),
     * so the fuzzer reaches the block decoding; sometimes the raw size. */
    tp_tensor src;
    size_t want = c->bound(&p, &dst, &src);
    if (tp_is_error(want)) return 0;
    size_t have = size - 4;
    size_t len = (data[3] & 0x80) ? have : want;
    uint8_t *buf = malloc(len + 1);
    memset(buf, 0, len + 1);
    memcpy(buf, data + 4, have < len ? have : len);
    tp_desc_bytes(&src, len);
    float *out = malloc(tp_tensor_nbytes(&dst) + 1);
    c->decode(&p, buf, len, &src, &dst, out);
    free(out);
    free(buf);
    return 0;
}
