/* zstd: general lossless stage over the bytes of any tensor (libzstd). */
#include <zstd.h>
#include <zstd_errors.h>

#include "codecs/codec.h"

enum { P_LEVEL };

static const tp_param_def zstd_params[] = {
    [P_LEVEL] = {"level", TP_PARAM_INT, 3, -7, 22, NULL, "zstd compression level (negative = faster)"},
};

static size_t zstd_bound_fn(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    size_t n = tp_tensor_nbytes(in);
    if (tp_is_error(n)) return n;
    size_t b = ZSTD_compressBound(n);
    tp_desc_bytes(out, b);
    return b;
}

static size_t zstd_encode_fn(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    size_t n = tp_tensor_nbytes(in);
    if (tp_is_error(n)) return n;
    size_t r = ZSTD_compress(dst, cap, in->data, n, tp_param_int(p, P_LEVEL));
    /* Below ZSTD_compressBound zstd may fail even when its output would
     * fit: that is the caller's too-small buffer, not a backend fault. */
    if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
        return tp_fail(TP_ERR_DST_TOO_SMALL, "zstd needs up to %zu bytes, have %zu", ZSTD_compressBound(n), cap);
    if (ZSTD_isError(r)) return tp_fail(TP_ERR_BACKEND, "zstd: %s", ZSTD_getErrorName(r));
    tp_desc_bytes(out, r);
    return r;
}

static size_t zstd_decode_fn(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                             const tp_tensor *dst_desc, void *dst)
{
    size_t want = tp_tensor_nbytes(dst_desc);
    if (tp_is_error(want)) return want;
    unsigned long long content = ZSTD_getFrameContentSize(src, n);
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != want)
        return tp_fail(TP_ERR_CORRUPT, "zstd frame holds %llu bytes, expected %zu", content, want);
    size_t r = ZSTD_decompress(dst, want, src, n);
    if (ZSTD_isError(r)) return tp_fail(TP_ERR_CORRUPT, "zstd: %s", ZSTD_getErrorName(r));
    if (r != want) return tp_fail(TP_ERR_CORRUPT, "zstd produced %zu bytes, expected %zu", r, want);
    return r;
}

const tp_codec tp_codec_zstd = {
    .info = {.id = TP_CODEC_ID_zstd, .name = "zstd", .flags = 0, .summary = "zstd over the raw bytes (lossless, any dtype)",
             .n_params = 1, .params = zstd_params},
    .bound = zstd_bound_fn, .encode = zstd_encode_fn, .decode = zstd_decode_fn,
};
