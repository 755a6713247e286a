/* libFuzzer target: ternary stage decoder. The first bytes choose the
 * parameters and the tensor shape; the rest is the payload. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    const tp_codec *c = tp_codec_by_name("ternary");
    char spec[96];
    int mode = data[0] % 3;
    snprintf(spec, sizeof spec, "scale=%s,group=%d,axis=%d", data[0] & 4 ? "f32" : "f16",
             mode == 1 ? 1 + data[1] % 70 : 0, mode == 2 ? (data[1] & 1) : -1);
    tp_params p;
    if (tp_is_error(tp_params_parse(c, spec, strlen(spec), &p))) return 0;
    uint64_t r = 1 + data[2] % 64, k = data[3] % 128 + (uint64_t)(data[4] & 3) * 128;
    tp_tensor dst = {.dtype = TP_F32, .ndim = 2, .shape = {r, k}};
    /* Mostly the exact payload size (the input cut or zero-padded to it),
     * so the fuzzer reaches the block decoding; sometimes the raw size. */
    tp_tensor src;
    size_t want = c->bound(&p, &dst, &src);
    if (tp_is_error(want)) return 0;
    size_t have = size - 5;
    size_t len = (data[4] & 0x80) ? have : want;
    uint8_t *buf = malloc(len + 1);
    memset(buf, 0, len + 1);
    memcpy(buf, data + 5, have < len ? have : len);
    tp_desc_bytes(&src, len);
    float *out = malloc(tp_tensor_nbytes(&dst) + 1);
    c->decode(&p, buf, len, &src, &dst, out);
    free(out);
    free(buf);
    return 0;
}
