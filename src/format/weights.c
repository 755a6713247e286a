/* Named f32 weights from an archive or a tensor file (see weights.h). */
#include "format/weights.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "format/gguf.h"

struct tp_weights {
    tp_archive *arch;
    tp_tensor_file *file;
    tp_gguf *gguf;
    tp_tensor_fetch_fn fetch;
    void *user;
};

size_t tp_weights_open(const char *path, tp_weights **out)
{
    if (!path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    tp_file_kind kind;
    TP_TRY(tp_sniff_path(path, &kind));
    tp_weights *w = calloc(1, sizeof *w);
    if (!w) return tp_fail(TP_ERR_NOMEM, "weights");
    size_t r = kind == TP_FILE_ARCHIVE ? tp_archive_open(path, &w->arch)
               : kind == TP_FILE_GGUF  ? tp_gguf_open(path, &w->gguf)
                                       : tp_tensor_file_open(path, &w->file);
    if (tp_is_error(r)) { free(w); return r; }
    *out = w;
    return 0;
}

size_t tp_weights_from_fetch(tp_tensor_fetch_fn fetch, void *user, tp_weights **out)
{
    if (!fetch || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out) return tp_fail(TP_ERR_NOMEM, "weights");
    (*out)->fetch = fetch;
    (*out)->user = user;
    return 0;
}

/* One call of the caller's fetch, checked: a contiguous tensor with data. */
static size_t fetch_tensor(const tp_weights *w, const char *name, tp_tensor *t)
{
    memset(t, 0, sizeof *t);
    size_t r = w->fetch(w->user, name, t);
    if (tp_is_error(r)) return tp_error_code(r) == TP_ERR_NOT_FOUND ? tp_fail(TP_ERR_NOT_FOUND, "no tensor '%s'", name) : r;
    if (!t->data || t->ndim > TP_MAX_DIMS) return tp_fail(TP_ERR_ARG, "fetch gave no data or a bad shape for '%s'", name);
    return tp_is_error(tp_tensor_nbytes(t)) ? tp_fail(TP_ERR_SHAPE, "fetch gave a bad tensor for '%s'", name) : 0;
}

void tp_weights_close(tp_weights *w)
{
    if (!w) return;
    tp_archive_close(w->arch);
    tp_tensor_file_close(w->file);
    tp_gguf_close(w->gguf);
    free(w);
}

static size_t file_find(const tp_tensor_file *f, const char *name)
{
    for (size_t i = 0, n = tp_tensor_file_count(f); i < n; i++)
        if (!strcmp(tp_tensor_file_name(f, i), name)) return i;
    return tp_fail(TP_ERR_NOT_FOUND, "no tensor '%s'", name);
}

size_t tp_weights_count(const tp_weights *w)
{
    if (w->fetch) return 0;
    return w->arch ? tp_archive_count(w->arch) : w->gguf ? tp_gguf_tensor_count(w->gguf) : tp_tensor_file_count(w->file);
}

const char *tp_weights_name(const tp_weights *w, size_t i)
{
    if (i >= tp_weights_count(w)) return NULL;
    if (w->arch) return tp_archive_entry_at(w->arch, i)->name;
    if (w->gguf) return tp_gguf_tensor_at(w->gguf, i)->name;
    return tp_tensor_file_name(w->file, i);
}

tp_gguf *tp_weights_gguf(const tp_weights *w) { return w->gguf; }

/* A GGUF tensor as seen through this interface: f32 (dequantized), shape
 * in row-major order (ggml's ne reversed). */
static size_t gguf_desc(const tp_gguf *g, const char *name, tp_tensor *t)
{
    size_t i = tp_gguf_find_tensor(g, name);
    if (tp_is_error(i)) return i;
    const tp_gguf_tensor *gt = tp_gguf_tensor_at(g, i);
    if (!tp_ggml_can_dequant(gt->type))
        return tp_fail(TP_ERR_UNSUPPORTED, "tensor '%s' is %s, which has no dequantizer here", name, tp_ggml_type_name(gt->type));
    t->dtype = TP_F32;
    t->ndim = gt->ndim;
    for (uint32_t d = 0; d < gt->ndim; d++) t->shape[d] = gt->ne[gt->ndim - 1 - d];
    return 0;
}

size_t tp_weights_desc(const tp_weights *w, const char *name, tp_tensor *t)
{
    memset(t, 0, sizeof *t);
    if (w->gguf) return gguf_desc(w->gguf, name, t);
    if (w->fetch) {
        TP_TRY(fetch_tensor(w, name, t));
        t->data = NULL;
        return 0;
    }
    if (w->arch) {
        size_t i = tp_archive_find(w->arch, name);
        if (tp_is_error(i)) return i;
        const tp_archive_entry *e = tp_archive_entry_at(w->arch, i);
        t->dtype = e->dtype;
        t->ndim = e->ndim;
        memcpy(t->shape, e->shape, sizeof t->shape);
        return 0;
    }
    size_t i = file_find(w->file, name);
    if (tp_is_error(i)) return i;
    TP_TRY(tp_tensor_file_get(w->file, i, t));
    t->data = NULL;
    return 0;
}

int tp_weights_has(const tp_weights *w, const char *name)
{
    tp_tensor t;
    return !tp_is_error(tp_weights_desc(w, name, &t));
}

size_t tp_weights_f32(const tp_weights *w, const char *name, uint32_t ndim, const uint64_t *shape, float **out)
{
    *out = NULL;
    tp_tensor t;
    TP_TRY(tp_weights_desc(w, name, &t));
    if (!tp_dtype_is_float(t.dtype)) return tp_fail(TP_ERR_DTYPE, "tensor '%s' is %s, not float", name, tp_dtype_name(t.dtype));
    if (ndim && (t.ndim != ndim || memcmp(t.shape, shape, ndim * sizeof *shape)))
        return tp_fail(TP_ERR_SHAPE, "tensor '%s' does not have the expected shape", name);
    if (w->gguf) return tp_gguf_tensor_f32(w->gguf, tp_gguf_find_tensor(w->gguf, name), out);
    size_t raw = tp_tensor_nbytes(&t);
    if (tp_is_error(raw)) return raw;
    size_t n = raw / tp_dtype_size(t.dtype);
    float *dst = malloc(n ? n * sizeof(float) : 1);
    void *tmp = t.dtype == TP_F32 ? (void *)dst : malloc(raw ? raw : 1);
    if (!dst || !tmp) { free(dst); if (tmp != dst) free(tmp); return tp_fail(TP_ERR_NOMEM, "tensor '%s'", name); }
    size_t r;
    if (w->arch) {
        r = tp_archive_decode(w->arch, tp_archive_find(w->arch, name), tmp, raw);
    } else if (w->fetch) {
        /* Fetched again: the first call's data need not outlive the next. */
        tp_tensor v;
        r = fetch_tensor(w, name, &v);
        if (!tp_is_error(r) && (v.dtype != t.dtype || tp_tensor_nbytes(&v) != raw))
            r = tp_fail(TP_ERR_SHAPE, "fetch gave '%s' two different shapes", name);
        if (!tp_is_error(r)) memcpy(tmp, v.data, raw);
    } else {
        tp_tensor v;
        r = tp_tensor_file_get(w->file, file_find(w->file, name), &v);
        if (!tp_is_error(r)) memcpy(tmp, v.data, raw); /* the mapping may be unaligned */
    }
    if (!tp_is_error(r) && t.dtype != TP_F32) r = tp_convert(dst, TP_F32, tmp, t.dtype, n);
    if (tmp != dst) free(tmp);
    if (tp_is_error(r)) { free(dst); return r; }
    *out = dst;
    return 0;
}

size_t tp_weights_count_values(const char *path, uint64_t *n_values)
{
    if (!path || !n_values) return tp_fail(TP_ERR_ARG, "NULL argument");
    *n_values = 0;
    tp_weights *w;
    TP_TRY(tp_weights_open(path, &w));
    size_t r = 0;
    for (size_t i = 0, n = tp_weights_count(w); i < n && !tp_is_error(r); i++) {
        tp_tensor t;
        uint64_t k = 0;
        if (w->gguf) {
            *n_values += tp_gguf_tensor_at(w->gguf, i)->numel;
            continue;
        }
        r = tp_weights_desc(w, tp_weights_name(w, i), &t);
        if (!tp_is_error(r)) r = tp_tensor_numel(&t, &k);
        *n_values += k;
    }
    tp_weights_close(w);
    return tp_is_error(r) ? r : 0;
}

size_t tp_weights_export_f32(const char *in_path, const char *out_path, uint64_t *n_values)
{
    if (!in_path || !out_path) return tp_fail(TP_ERR_ARG, "NULL argument");
    tp_weights *w;
    TP_TRY(tp_weights_open(in_path, &w));
    size_t n = tp_weights_count(w), r = 0;
    uint64_t total = 0;
    tp_tensor *descs = calloc(n ? n : 1, sizeof *descs);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (!descs || !names) r = tp_fail(TP_ERR_NOMEM, "export");
    for (size_t i = 0; i < n && !tp_is_error(r); i++) {
        names[i] = tp_weights_name(w, i);
        r = tp_weights_desc(w, names[i], &descs[i]);
        if (!tp_is_error(r) && !tp_dtype_is_float(descs[i].dtype))
            r = tp_fail(TP_ERR_DTYPE, "tensor '%s' is %s, not float", names[i], tp_dtype_name(descs[i].dtype));
        descs[i].dtype = TP_F32;
    }
    tp_tensor_writer *tw = NULL;
    if (!tp_is_error(r)) r = tp_tensor_writer_open(out_path, names, descs, n, &tw);
    for (size_t i = 0; i < n && !tp_is_error(r); i++) {
        float *x;
        r = tp_weights_f32(w, names[i], 0, NULL, &x);
        if (tp_is_error(r)) break;
        size_t nb = tp_tensor_nbytes(&descs[i]);
        r = tp_tensor_writer_put(tw, i, x, nb);
        total += nb / sizeof(float);
        free(x);
    }
    if (tw) {
        if (tp_is_error(r)) tp_tensor_writer_abort(tw);
        else r = tp_tensor_writer_finish(tw);
    }
    free(descs);
    free(names);
    tp_weights_close(w);
    if (!tp_is_error(r) && n_values) *n_values = total;
    return tp_is_error(r) ? r : 0;
}
