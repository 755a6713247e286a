/* Shared body of the structured-codec decoder targets (fuzz_svd, fuzz_pca,
 * fuzz_sparse): the first input bytes pick a spec, a target dtype and shape
 * and the stage descriptor; the rest is the payload handed straight to the
 * codec's decode (no frame, no checksum in the way). Decode must either
 * fail or return exactly the target size, within bounds (ASan/UBSan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/pipeline.h"

static int struct_fuzz_one(const char *const *specs, size_t n_specs, const tp_dtype *dtypes, size_t n_dtypes,
                           const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    const char *spec = specs[data[0] % n_specs];
    tp_tensor dd = {.dtype = dtypes[data[1] % n_dtypes], .ndim = (uint32_t)(data[2] % 4)};
    for (uint32_t i = 0; i < dd.ndim; i++) dd.shape[i] = (uint64_t)(data[3 + (i & 1)] >> (i * 2)) % 33;
    const uint8_t *payload = data + 5;
    size_t n = size - 5;
    tp_tensor sd;
    tp_desc_bytes(&sd, n);
    if (data[1] & 0x80) { /* an f32 descriptor, as factor=pass writes */
        sd.dtype = TP_F32;
        if (n % 4) return 0;
        sd.ndim = 2;
        sd.shape[0] = data[3] & 0x7f ? n / 4 / (data[3] & 0x7f) : 0;
        sd.shape[1] = data[3] & 0x7f;
        if (sd.shape[0] * sd.shape[1] * 4 != n) { sd.ndim = 1; sd.shape[0] = n / 4; }
    }
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) abort();
    size_t want = tp_tensor_nbytes(&dd);
    void *out = malloc(want ? want : 1);
    void *in = malloc(n ? n : 1); /* exact-size copy so ASan sees over-reads */
    if (out && in) {
        memcpy(in, payload, n);
        const tp_stage *st = &p->stage[0];
        tp_tensor f = dd;
        if ((st->codec->info.flags & TP_CODEC_FLOAT_IN) && dd.dtype != TP_F32) f.dtype = TP_F32;
        if (tp_tensor_nbytes(&f) <= want) {
            size_t r = st->codec->decode(&st->params, in, n, &sd, &f, out);
            if (!tp_is_error(r) && r != tp_tensor_nbytes(&f)) abort();
        }
    }
    free(in);
    free(out);
    tp_pipeline_free(p);
    return 0;
}
