/* Named f32 weights from an archive or a tensor file (see weights.h). */
#include "eval/weights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct tp_weights {
    tp_archive *arch;
    tp_tensor_file *file;
};

size_t tp_weights_open(const char *path, tp_weights **out)
{
    if (!path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return tp_fail(TP_ERR_IO, "cannot open %s", path);
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    tp_weights *w = calloc(1, sizeof *w);
    if (!w) return tp_fail(TP_ERR_NOMEM, "weights");
    size_t r = got == 4 && !memcmp(magic, "TPZA", 4) ? tp_archive_open(path, &w->arch)
                                                     : tp_tensor_file_open(path, &w->file);
    if (tp_is_error(r)) { free(w); return r; }
    *out = w;
    return 0;
}

void tp_weights_close(tp_weights *w)
{
    if (!w) return;
    tp_archive_close(w->arch);
    tp_tensor_file_close(w->file);
    free(w);
}

static size_t file_find(const tp_tensor_file *f, const char *name)
{
    for (size_t i = 0, n = tp_tensor_file_count(f); i < n; i++)
        if (!strcmp(tp_tensor_file_name(f, i), name)) return i;
    return tp_fail(TP_ERR_NOT_FOUND, "no tensor '%s'", name);
}

size_t tp_weights_desc(const tp_weights *w, const char *name, tp_tensor *t)
{
    memset(t, 0, sizeof *t);
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
    size_t raw = tp_tensor_nbytes(&t);
    if (tp_is_error(raw)) return raw;
    size_t n = raw / tp_dtype_size(t.dtype);
    float *dst = malloc(n ? n * sizeof(float) : 1);
    void *tmp = t.dtype == TP_F32 ? (void *)dst : malloc(raw ? raw : 1);
    if (!dst || !tmp) { free(dst); if (tmp != dst) free(tmp); return tp_fail(TP_ERR_NOMEM, "tensor '%s'", name); }
    size_t r;
    if (w->arch) {
        r = tp_archive_decode(w->arch, tp_archive_find(w->arch, name), tmp, raw);
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
