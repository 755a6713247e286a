/* libFuzzer target: arbitrary bytes as a lossless payload. The first byte
 * picks the target dtype and the next two the element count, so every
 * plane layout is reached; decoding must fail cleanly or succeed. */
#include <stdint.h>
#include <stdlib.h>

#include "codecs/lossless/lossless.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const tp_dtype dts[] = {TP_BF16, TP_F16, TP_F32, TP_F64, TP_U8, TP_I16, TP_I32, TP_I64};
    if (size < 3) return 0;
    tp_dtype dt = dts[data[0] & 7];
    size_t numel = (size_t)data[1] | ((size_t)data[2] << 8);
    numel *= 1 + (data[0] >> 3); /* up to ~2M elements */
    size_t out = numel * tp_dtype_size(dt);
    uint8_t *dst = malloc(out ? out : 1);
    if (!dst) return 0;
    tp_ll_decode(data + 3, size - 3, dt, out, dst, 1 + (data[0] >> 7));
    free(dst);
    return 0;
}
