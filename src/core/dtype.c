/* Dtype table, element counts, and exact float conversions. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/half.h"

typedef struct {
    const char *name;
    const char *alias1, *alias2; /* numpy / safetensors spellings */
    size_t size;
} dtype_row;

static const dtype_row dtype_table[TP_DTYPE__MAX] = {
    [TP_F32] = {"f32", "float32", "F32", 4},   [TP_F16] = {"f16", "float16", "F16", 2},
    [TP_BF16] = {"bf16", "bfloat16", "BF16", 2}, [TP_F64] = {"f64", "float64", "F64", 8},
    [TP_I8] = {"i8", "int8", "I8", 1},         [TP_U8] = {"u8", "uint8", "U8", 1},
    [TP_I16] = {"i16", "int16", "I16", 2},     [TP_U16] = {"u16", "uint16", "U16", 2},
    [TP_I32] = {"i32", "int32", "I32", 4},     [TP_U32] = {"u32", "uint32", "U32", 4},
    [TP_I64] = {"i64", "int64", "I64", 8},     [TP_U64] = {"u64", "uint64", "U64", 8},
    [TP_BOOL] = {"bool", "bool_", "BOOL", 1},
};

size_t tp_dtype_size(tp_dtype dt)
{
    if ((unsigned)dt >= TP_DTYPE__MAX) return 0;
    return dtype_table[dt].size;
}

const char *tp_dtype_name(tp_dtype dt)
{
    if (dt == TP_DTYPE_INVALID || (unsigned)dt >= TP_DTYPE__MAX) return "invalid";
    return dtype_table[dt].name;
}

tp_dtype tp_dtype_from_name(const char *name)
{
    if (!name) return TP_DTYPE_INVALID;
    for (int i = 1; i < TP_DTYPE__MAX; i++) {
        const dtype_row *r = &dtype_table[i];
        if (!strcasecmp(name, r->name) || !strcasecmp(name, r->alias1) || !strcasecmp(name, r->alias2))
            return (tp_dtype)i;
    }
    return TP_DTYPE_INVALID;
}

int tp_dtype_is_float(tp_dtype dt) { return dt == TP_F32 || dt == TP_F16 || dt == TP_BF16 || dt == TP_F64; }

size_t tp_tensor_numel(const tp_tensor *t, uint64_t *numel)
{
    if (!t) return tp_fail(TP_ERR_ARG, "tensor is NULL");
    if (tp_dtype_size(t->dtype) == 0) return tp_fail(TP_ERR_DTYPE, "invalid dtype %d", (int)t->dtype);
    if (t->ndim > TP_MAX_DIMS) return tp_fail(TP_ERR_SHAPE, "ndim %u exceeds %d", t->ndim, TP_MAX_DIMS);
    /* Keep byte sizes well inside size_t and below 2^62 so that offset
     * arithmetic elsewhere cannot overflow. Each dimension is held to the
     * same limit, so that an empty tensor cannot carry a huge dimension
     * (per-channel tables are sized by one) and the result does not depend
     * on where the 0 stands in the shape. */
    uint64_t limit = ((uint64_t)1 << 62) / tp_dtype_size(t->dtype);
    if (limit > SIZE_MAX / 16) limit = SIZE_MAX / 16;
    int empty = 0;
    for (uint32_t i = 0; i < t->ndim; i++) {
        if (t->shape[i] > limit)
            return tp_fail(TP_ERR_SHAPE, "dimension %u is too large (%llu)", i, (unsigned long long)t->shape[i]);
        if (t->shape[i] == 0) empty = 1;
    }
    uint64_t n = empty ? 0 : 1;
    for (uint32_t i = 0; i < t->ndim && !empty; i++) {
        uint64_t d = t->shape[i];
        if (n > limit / d) return tp_fail(TP_ERR_SHAPE, "tensor too large: element count overflows");
        n *= d;
    }
    if (numel) *numel = n;
    return 0;
}

size_t tp_tensor_nbytes(const tp_tensor *t)
{
    uint64_t n;
    TP_TRY(tp_tensor_numel(t, &n));
    return (size_t)n * tp_dtype_size(t->dtype);
}

uint16_t tp_f32_to_f16(float f) { return tp_half_from_float(f); }
float tp_f16_to_f32(uint16_t h) { return tp_half_to_float(h); }
uint16_t tp_f32_to_bf16(float f) { return tp_bf16_from_float(f); }
float tp_bf16_to_f32(uint16_t h) { return tp_bf16_to_float(h); }

static float load_as_f32(const void *src, tp_dtype dt, size_t i)
{
    switch (dt) {
    case TP_F32: return ((const float *)src)[i];
    case TP_F16: return tp_half_to_float(((const uint16_t *)src)[i]);
    case TP_BF16: return tp_bf16_to_float(((const uint16_t *)src)[i]);
    default: return (float)((const double *)src)[i];
    }
}

size_t tp_convert(void *dst, tp_dtype dst_dt, const void *src, tp_dtype src_dt, size_t n)
{
    if (!tp_dtype_is_float(dst_dt) || !tp_dtype_is_float(src_dt))
        return tp_fail(TP_ERR_DTYPE, "conversion %s -> %s: only float dtypes convert", tp_dtype_name(src_dt),
                       tp_dtype_name(dst_dt));
    if (n && (!dst || !src)) return tp_fail(TP_ERR_ARG, "NULL buffer");
    if (dst_dt == src_dt) {
        if (n) memmove(dst, src, n * tp_dtype_size(dst_dt)); /* empty tensors may have NULL data */
        return 0;
    }
    if (dst_dt == TP_F64) {
        double *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = src_dt == TP_F64 ? ((const double *)src)[i] : load_as_f32(src, src_dt, i);
        return 0;
    }
    /* f64 -> f16/bf16 goes through f32; the double rounding this implies is
     * documented (the f32 rounding happens first). */
    switch (dst_dt) {
    case TP_F32: {
        float *d = dst;
        if (src_dt == TP_F16) tp_half_to_float_n(d, src, n);
        else for (size_t i = 0; i < n; i++) d[i] = load_as_f32(src, src_dt, i);
        return 0;
    }
    case TP_F16: {
        uint16_t *d = dst;
        if (src_dt == TP_F32) tp_half_from_float_n(d, src, n);
        else for (size_t i = 0; i < n; i++) d[i] = tp_half_from_float(load_as_f32(src, src_dt, i));
        return 0;
    }
    default: {
        uint16_t *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = tp_bf16_from_float(load_as_f32(src, src_dt, i));
        return 0;
    }
    }
}
