#include "plan/importance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Prefixes the current error's detail with path, keeping its code; the
 * detail is copied first because tp_fail writes the same buffer. */
static size_t fail_in(size_t r, const char *path, int with_name)
{
    char why[512];
    snprintf(why, sizeof why, "%s", tp_last_error_detail());
    if (with_name) return tp_fail(tp_error_code(r), "%s: %s: %s", path, tp_error_name(r), why);
    return tp_fail(tp_error_code(r), "%s: %s", path, why);
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* "[2,3]" as the CLI prints shapes. */
static void shape_str(uint32_t ndim, const uint64_t *shape, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < ndim && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%llu", i ? "," : "", (unsigned long long)shape[i]);
    if (off < cap) snprintf(buf + off, cap - off, "]");
}

/* Copies the f32 1-D tensor t (named name in path) into a new vector. */
static size_t read_vector(const char *path, const char *name, const tp_tensor *t, float **out)
{
    if (t->dtype != TP_F32)
        return tp_fail(TP_ERR_DTYPE, "%s: importance '%s' is %s; it must be f32", path, name, tp_dtype_name(t->dtype));
    if (t->ndim != 1) {
        char shape[96];
        shape_str(t->ndim, t->shape, shape, sizeof shape);
        return tp_fail(TP_ERR_SHAPE, "%s: importance '%s' has shape %s; it must be 1-D", path, name, shape);
    }
    uint64_t n = t->shape[0];
    float *v = malloc(n ? n * sizeof *v : 1);
    if (!v) return tp_fail(TP_ERR_NOMEM, "%s: out of memory", path);
    memcpy(v, t->data, n * sizeof *v);
    int any = 0;
    for (uint64_t c = 0; c < n; c++) {
        if (!isfinite(v[c]) || v[c] < 0) {
            double bad = v[c];
            free(v);
            return tp_fail(TP_ERR_ARG, "%s: importance '%s' value %llu is %g; it must be finite and >= 0", path, name,
                           (unsigned long long)c, bad);
        }
        any |= v[c] > 0;
    }
    if (!any) {
        free(v);
        return tp_fail(TP_ERR_ARG, "%s: importance '%s' is 0 everywhere", path, name);
    }
    *out = v;
    return 0;
}

static uint64_t last_dim(const tp_tensor *t) { return t->ndim ? t->shape[t->ndim - 1] : 0; }

static size_t load_named(const char *path, tp_tensor_file *f, const tp_tensor_file *model, tp_importance *imp)
{
    for (size_t i = 0; i < tp_tensor_file_count(f); i++) {
        const char *name = tp_tensor_file_name(f, i);
        size_t m = 0;
        while (m < imp->n && strcmp(tp_tensor_file_name(model, m), name)) m++;
        if (m == imp->n) return tp_fail(TP_ERR_NOT_FOUND, "%s: importance '%s' names no tensor of the input", path, name);
        if (imp->per_tensor[m]) return tp_fail(TP_ERR_ARG, "%s: importance '%s' given twice", path, name);
        tp_tensor t, w;
        size_t r = tp_tensor_file_get(f, i, &t);
        if (!tp_is_error(r)) r = tp_tensor_file_get(model, m, &w);
        if (tp_is_error(r)) return fail_in(r, path, 0);
        TP_TRY(read_vector(path, name, &t, &imp->per_tensor[m]));
        imp->n_cols[m] = t.shape[0];
        if (t.shape[0] != last_dim(&w))
            return tp_fail(TP_ERR_SHAPE, "%s: importance '%s' has %llu values, the tensor has %llu columns", path, name,
                           (unsigned long long)t.shape[0], (unsigned long long)last_dim(&w));
        imp->matched++;
    }
    if (!imp->matched) return tp_fail(TP_ERR_NOT_FOUND, "%s: holds no importance vector", path);
    return 0;
}

static size_t load_shared(const char *path, tp_tensor_file *f, const tp_tensor_file *model, tp_importance *imp)
{
    tp_tensor t;
    size_t r = tp_tensor_file_get(f, 0, &t);
    if (tp_is_error(r)) return fail_in(r, path, 0);
    TP_TRY(read_vector(path, tp_tensor_file_name(f, 0), &t, &imp->shared));
    for (size_t m = 0; m < imp->n; m++) {
        tp_tensor w;
        TP_TRY(tp_tensor_file_get(model, m, &w));
        if (w.ndim >= 2 && last_dim(&w) == t.shape[0]) {
            imp->per_tensor[m] = imp->shared;
            imp->n_cols[m] = t.shape[0];
            imp->matched++;
        }
    }
    if (!imp->matched)
        return tp_fail(TP_ERR_SHAPE, "%s: no tensor of the input has %llu columns (the vector's length)", path,
                       (unsigned long long)t.shape[0]);
    return 0;
}

size_t tp_importance_load(const char *path, const tp_tensor_file *model, tp_importance *out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    if (!path || !model) return tp_fail(TP_ERR_ARG, "NULL argument");
    out->n = tp_tensor_file_count(model);
    out->per_tensor = calloc(out->n ? out->n : 1, sizeof *out->per_tensor);
    out->n_cols = calloc(out->n ? out->n : 1, sizeof *out->n_cols);
    if (!out->per_tensor || !out->n_cols) {
        tp_importance_free(out);
        return tp_fail(TP_ERR_NOMEM, "%s: out of memory", path);
    }
    tp_tensor_file *f;
    size_t r = tp_tensor_file_open(path, &f);
    if (tp_is_error(r)) {
        tp_importance_free(out);
        return fail_in(r, path, 1);
    }
    r = has_suffix(path, ".npy") ? load_shared(path, f, model, out) : load_named(path, f, model, out);
    tp_tensor_file_close(f);
    if (tp_is_error(r)) tp_importance_free(out);
    return r;
}

void tp_importance_free(tp_importance *imp)
{
    if (imp->per_tensor && !imp->shared)
        for (size_t i = 0; i < imp->n; i++) free(imp->per_tensor[i]);
    free(imp->shared);
    free(imp->per_tensor);
    free(imp->n_cols);
    memset(imp, 0, sizeof *imp);
}
