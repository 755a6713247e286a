/* Shared libFuzzer driver for the codebook quantizers' decoders: the first
 * bytes pick a parameter set and a shape, the rest is the payload handed to
 * codec->decode (resized to the expected payload size unless a flag bit
 * says to keep its length, so both the size check and the payload parsing
 * get exercised). Each fuzz_<codec>.c defines SPECS and includes this. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/pipeline.h"

static const char *const specs[] = {SPECS};
#define N_SPECS (sizeof specs / sizeof specs[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) return 0;
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(specs[data[0] % N_SPECS], &p))) return 0;
    const tp_stage *st = &p->stage[0];
    tp_tensor dst = {0};
    dst.dtype = TP_F32;
    dst.ndim = 1 + (data[1] & 1);
    dst.shape[0] = data[2] % 67;
    dst.shape[1] = 1 + data[3] % 131;
    if (dst.ndim == 1) dst.shape[0] *= dst.shape[1];
    tp_tensor src;
    size_t want = st->codec->bound(&st->params, &dst, &src);
    if (tp_is_error(want)) { tp_pipeline_free(p); return 0; }
    const uint8_t *payload = data + 4;
    size_t n = size - 4;
    uint8_t *buf = NULL;
    if (!(data[1] & 2)) {
        buf = calloc(want + 1, 1);
        memcpy(buf, payload, n < want ? n : want);
        payload = buf;
        n = want;
    }
    tp_desc_bytes(&src, n);
    size_t numel = (size_t)(dst.ndim == 1 ? dst.shape[0] : dst.shape[0] * dst.shape[1]);
    float *out = malloc(numel * sizeof(float) + 1);
    size_t r = st->codec->decode(&st->params, payload, n, &src, &dst, out);
    if (!tp_is_error(r) && r != numel * sizeof(float)) abort();
    free(out);
    free(buf);
    tp_pipeline_free(p);
    return 0;
}
