/* Fuzzes the dct2d decoder directly (the frame checksum would hide it):
 * the first 4 bytes pick parameters, dtype and shape; the rest is either
 * the whole payload or, to reach the coefficient decoder quickly, a token
 * section behind a well-formed header (token format 0 or 1, bit 4). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/pipeline.h"
#include "core/bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"quality=50", "quality=0,keep=0.3", "block=8,quality=90,color=none",
                                        "quality=75,color=ycbcr", "block=5,quality=20,matrix=flat", "block=32,quality=1"};
    if (size < 4) return 0;
    const tp_codec *c = tp_codec_by_name("dct2d");
    const char *spec = specs[data[0] % (sizeof specs / sizeof specs[0])];
    tp_params p;
    if (tp_is_error(tp_params_parse(c, spec, strlen(spec), &p))) abort();
    tp_tensor t = {data[1] & 1 ? TP_U8 : TP_F32, 0, {0}, NULL};
    uint64_t h = 1 + data[2] % 40, w = 1 + data[3] % 40;
    if (data[1] & 2) { t.ndim = 3; t.shape[0] = 3; t.shape[1] = h; t.shape[2] = w; }
    else { t.ndim = 2; t.shape[0] = h; t.shape[1] = w; }
    size_t out_n = tp_tensor_nbytes(&t);
    uint8_t *out = malloc(out_n);
    const uint8_t *pl = data + 4;
    size_t n = size - 4;
    uint8_t *built = NULL;
    if (data[1] & 4) { /* well-formed header, the rest as the stream */
        built = malloc(n + 20);
        memset(built, 0, 20);
        built[1] = (uint8_t)(data[1] >> 4 & 1); /* token format */
        tp_put_u32(built + 4, 0);           /* mid 0.0f  */
        tp_put_u32(built + 8, 0x3f800000u); /* unit 1.0f */
        size_t S = data[1] & 8 ? n : n / 2;
        tp_put_u64(built + 12, S);
        memcpy(built + 20, pl, n);
        pl = built;
        n += 20;
    }
    tp_tensor src;
    tp_desc_bytes(&src, n);
    size_t r = c->decode(&p, pl, n, &src, &t, out);
    if (!tp_is_error(r) && r != out_n) abort();
    free(built);
    free(out);
    return 0;
}
