/* fp16 and bf16: casts of float tensors to 16-bit floats (round to
 * nearest even, NaN/Inf kept). Output is the 16-bit tensor itself, with the
 * input's shape, so that a following dtype-aware stage sees what it reads. */
#include <string.h>

#include "codecs/codec.h"

/* Frame payloads sit at any address, but tp_convert reads and writes
 * typed elements: when a side is not aligned to its element size, convert
 * through aligned chunks. */
static size_t convert_any(void *dst, tp_dtype dd, const void *src, tp_dtype sd, size_t n)
{
    size_t ds = tp_dtype_size(dd), ss = tp_dtype_size(sd);
    if ((uintptr_t)dst % ds == 0 && (uintptr_t)src % ss == 0) return tp_convert(dst, dd, src, sd, n);
    uint64_t a[256], b[256]; /* 256 values of up to 8 bytes each */
    for (size_t i = 0; i < n; i += 256) {
        size_t m = n - i < 256 ? n - i : 256;
        memcpy(a, (const uint8_t *)src + i * ss, m * ss);
        TP_TRY(tp_convert(b, dd, a, sd, m));
        memcpy((uint8_t *)dst + i * ds, b, m * ds);
    }
    return 0;
}

static size_t cast_bound(tp_dtype to, const tp_tensor *in, tp_tensor *out)
{
    if (!tp_dtype_is_float(in->dtype))
        return tp_fail(TP_ERR_DTYPE, "cast to %s needs a float tensor, got %s", tp_dtype_name(to), tp_dtype_name(in->dtype));
    *out = *in;
    out->dtype = to;
    out->data = NULL;
    if (out->ndim == 0) { out->ndim = 1; out->shape[0] = 1; }
    return tp_tensor_nbytes(out);
}

static size_t cast_encode(tp_dtype to, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    size_t n = cast_bound(to, in, out);
    if (tp_is_error(n)) return n;
    if (cap < n) return tp_fail(TP_ERR_DST_TOO_SMALL, "cast needs %zu bytes", n);
    TP_TRY(convert_any(dst, to, in->data, in->dtype, n / 2));
    return n;
}

static size_t cast_decode(tp_dtype from, const void *src, size_t n, const tp_tensor *src_desc,
                          const tp_tensor *dst_desc, void *dst)
{
    uint64_t numel;
    TP_TRY(tp_tensor_numel(dst_desc, &numel));
    if (src_desc->dtype != from || n != numel * 2)
        return tp_fail(TP_ERR_CORRUPT, "%s stage holds %zu bytes for %llu values", tp_dtype_name(from), n,
                       (unsigned long long)numel);
    if (!tp_dtype_is_float(dst_desc->dtype)) return tp_fail(TP_ERR_CORRUPT, "cast target is not a float dtype");
    TP_TRY(convert_any(dst, dst_desc->dtype, src, from, (size_t)numel));
    return (size_t)numel * tp_dtype_size(dst_desc->dtype);
}

static size_t fp16_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out) { return cast_bound(TP_F16, in, out); }
static size_t fp16_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    return cast_encode(TP_F16, in, dst, cap, out);
}
static size_t fp16_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *sd, const tp_tensor *dd, void *dst)
{
    return cast_decode(TP_F16, src, n, sd, dd, dst);
}

static size_t bf16_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out) { return cast_bound(TP_BF16, in, out); }
static size_t bf16_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    return cast_encode(TP_BF16, in, dst, cap, out);
}
static size_t bf16_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *sd, const tp_tensor *dd, void *dst)
{
    return cast_decode(TP_BF16, src, n, sd, dd, dst);
}

const tp_codec tp_codec_fp16 = {
    .info = {.id = TP_CODEC_ID_fp16, .name = "fp16", .flags = TP_CODEC_LOSSY,
             .summary = "cast to IEEE half precision (round to nearest even; NaN/Inf kept)"},
    .bound = fp16_bound, .encode = fp16_encode, .decode = fp16_decode,
};

const tp_codec tp_codec_bf16 = {
    .info = {.id = TP_CODEC_ID_bf16, .name = "bf16", .flags = TP_CODEC_LOSSY,
             .summary = "cast to bfloat16 (round to nearest even; NaN/Inf kept)"},
    .bound = bf16_bound, .encode = bf16_encode, .decode = bf16_decode,
};
