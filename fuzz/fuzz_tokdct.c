/* Fuzzes the tokdct decoder and its kept-positions reader directly: the
 * first 4 bytes pick parameters and shape; the payload is the rest, padded
 * or cut to the bound (or left as is, to test the size checks). A payload
 * whose byte 1 is 0xff is read as version 1, any other as the layout before
 * versions, so both are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const specs[] = {"grid=0", "grid=0,prune=5", "grid=0,profile=mild,prune=1",
                                        "grid=0,low=1,mid=2,high=3", "grid=0,profile=extreme,lo_edge=0,hi_edge=0",
                                        "grid=0,step=0.5,prune=7", "grid=0,low=0,mid=8,high=1,prune=3"};
    if (size < 4) return 0;
    const tp_codec *c = tp_codec_by_name("tokdct");
    const char *spec = specs[data[0] % (sizeof specs / sizeof specs[0])];
    tp_params p;
    if (tp_is_error(tp_params_parse(c, spec, strlen(spec), &p))) abort();
    uint64_t g = 3 + data[1] % 6, ch = 1 + data[2] % 17, items = 1 + data[3] % 3;
    tp_tensor t = {TP_F32, 3, {items, g * g, ch}, NULL};
    tp_tensor desc;
    size_t need = c->bound(&p, &t, &desc);
    if (tp_is_error(need)) return 0;
    size_t n = data[3] & 128 ? size - 4 : need;
    uint8_t *pl = calloc(n + 1, 1);
    memcpy(pl, data + 4, n < size - 4 ? n : size - 4);
    float *out = malloc(tp_tensor_nbytes(&t));
    tp_desc_bytes(&desc, n);
    size_t r = c->decode(&p, pl, n, &desc, &t, out);
    if (!tp_is_error(r) && r != tp_tensor_nbytes(&t)) abort();
    uint32_t pos[3 * 64];
    r = c->kept(&p, pl, n, &t, pos, sizeof pos / sizeof pos[0]);
    if (!tp_is_error(r) && r > sizeof pos / sizeof pos[0]) abort();
    free(pl);
    free(out);
    return 0;
}
