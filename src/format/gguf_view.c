/* GGUF tensors as tensor-file views: the types tensorpress has a dtype for
 * are read in place; a quantized tensor is read only when the caller asks
 * for its dequantized values, because compressing those again quantizes
 * twice (its ggml grid and then ours), which the caller should choose
 * knowingly. */
#include <stdlib.h>
#include <string.h>

#include "format/gguf.h"
#include "format/tensor_file.h"

static tp_dtype plain_dtype(uint32_t type)
{
    switch (type) {
    case TP_GGML_F32: return TP_F32;
    case TP_GGML_F16: return TP_F16;
    case TP_GGML_BF16: return TP_BF16;
    case TP_GGML_F64: return TP_F64;
    case TP_GGML_I8: return TP_I8;
    case TP_GGML_I16: return TP_I16;
    case TP_GGML_I32: return TP_I32;
    case TP_GGML_I64: return TP_I64;
    default: return TP_DTYPE_INVALID;
    }
}

static size_t view(const tp_gguf *g, size_t i, int allow_requantize, tp_tf_entry *e)
{
    const tp_gguf_tensor *gt = tp_gguf_tensor_at(g, i);
    e->t.ndim = gt->ndim;
    for (uint32_t d = 0; d < gt->ndim; d++) e->t.shape[d] = gt->ne[gt->ndim - 1 - d];
    tp_dtype dt = plain_dtype(gt->type);
    if (dt != TP_DTYPE_INVALID) {
        e->t.dtype = dt;
        e->t.data = tp_gguf_tensor_data(g, i);
    } else if (!tp_ggml_can_dequant(gt->type)) {
        return tp_fail(TP_ERR_UNSUPPORTED, "GGUF tensor '%.200s' is %s, which has no dequantizer here", gt->name,
                       tp_ggml_type_name(gt->type));
    } else if (!allow_requantize) {
        return tp_fail(TP_ERR_UNSUPPORTED,
                       "GGUF tensor '%.200s' is %s, a quantized type: compressing it requantizes it; "
                       "use --allow-requantize (allow_requantize) to read it dequantized to f32",
                       gt->name, tp_ggml_type_name(gt->type));
    } else {
        e->t.dtype = TP_F32;
        e->decode = 1;
        e->src = i;
    }
    return tp_is_error(tp_tensor_nbytes(&e->t)) ? tp_fail(TP_ERR_SHAPE, "GGUF tensor '%.200s' is too large", gt->name) : 0;
}

size_t tp_gguf_entries(const tp_gguf *g, int allow_requantize, tp_tf_entry **entries)
{
    *entries = NULL;
    size_t n = tp_gguf_tensor_count(g);
    tp_tf_entry *ents = calloc(n ? n : 1, sizeof *ents);
    if (!ents) return tp_fail(TP_ERR_NOMEM, "table of %zu tensors", n);
    size_t r = 0;
    for (size_t i = 0; i < n && !tp_is_error(r); i++) {
        r = view(g, i, allow_requantize, &ents[i]);
        if (!tp_is_error(r) && !(ents[i].name = strdup(tp_gguf_tensor_at(g, i)->name)))
            r = tp_fail(TP_ERR_NOMEM, "tensor name");
    }
    if (tp_is_error(r)) {
        tp_tf_entries_free(ents, n);
        return r;
    }
    *entries = ents;
    return n;
}
