#include "importance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Copies the f32 1-D tensor t (named name in path) into a new vector. */
static size_t read_vector(const char *path, const char *name, const tp_tensor *t, float **out, char *detail,
                          size_t cap)
{
    if (t->dtype != TP_F32) {
        snprintf(detail, cap, "%s: importance '%s' is %s; it must be f32", path, name, tp_dtype_name(t->dtype));
        return (size_t)0 - TP_ERR_DTYPE;
    }
    if (t->ndim != 1) {
        char shape[96];
        cli_shape_str(t->ndim, t->shape, shape, sizeof shape);
        snprintf(detail, cap, "%s: importance '%s' has shape %s; it must be 1-D", path, name, shape);
        return (size_t)0 - TP_ERR_SHAPE;
    }
    uint64_t n = t->shape[0];
    float *v = malloc(n ? n * sizeof *v : 1);
    if (!v) { snprintf(detail, cap, "%s: out of memory", path); return (size_t)0 - TP_ERR_NOMEM; }
    memcpy(v, t->data, n * sizeof *v);
    int any = 0;
    for (uint64_t c = 0; c < n; c++) {
        if (!isfinite(v[c]) || v[c] < 0) {
            snprintf(detail, cap, "%s: importance '%s' value %llu is %g; it must be finite and >= 0", path, name,
                     (unsigned long long)c, (double)v[c]);
            free(v);
            return (size_t)0 - TP_ERR_ARG;
        }
        any |= v[c] > 0;
    }
    if (!any) {
        snprintf(detail, cap, "%s: importance '%s' is 0 everywhere", path, name);
        free(v);
        return (size_t)0 - TP_ERR_ARG;
    }
    *out = v;
    return 0;
}

static uint64_t last_dim(const tp_tensor *t) { return t->ndim ? t->shape[t->ndim - 1] : 0; }

static size_t load_named(const char *path, tp_tensor_file *f, const tp_tensor_file *model, cli_importance *imp,
                         char *detail, size_t cap)
{
    for (size_t i = 0; i < tp_tensor_file_count(f); i++) {
        const char *name = tp_tensor_file_name(f, i);
        size_t m = 0;
        while (m < imp->n && strcmp(tp_tensor_file_name(model, m), name)) m++;
        if (m == imp->n) {
            snprintf(detail, cap, "%s: importance '%s' names no tensor of the input", path, name);
            return (size_t)0 - TP_ERR_NOT_FOUND;
        }
        if (imp->per_tensor[m]) {
            snprintf(detail, cap, "%s: importance '%s' given twice", path, name);
            return (size_t)0 - TP_ERR_ARG;
        }
        tp_tensor t, w;
        size_t r = tp_tensor_file_get(f, i, &t);
        if (!tp_is_error(r)) r = tp_tensor_file_get(model, m, &w);
        if (tp_is_error(r)) { snprintf(detail, cap, "%s: %s", path, tp_last_error_detail()); return r; }
        r = read_vector(path, name, &t, &imp->per_tensor[m], detail, cap);
        if (tp_is_error(r)) return r;
        imp->n_cols[m] = t.shape[0];
        if (t.shape[0] != last_dim(&w)) {
            snprintf(detail, cap, "%s: importance '%s' has %llu values, the tensor has %llu columns", path, name,
                     (unsigned long long)t.shape[0], (unsigned long long)last_dim(&w));
            return (size_t)0 - TP_ERR_SHAPE;
        }
        imp->matched++;
    }
    if (!imp->matched) {
        snprintf(detail, cap, "%s: holds no importance vector", path);
        return (size_t)0 - TP_ERR_NOT_FOUND;
    }
    return 0;
}

static size_t load_shared(const char *path, tp_tensor_file *f, const tp_tensor_file *model, cli_importance *imp,
                          char *detail, size_t cap)
{
    tp_tensor t;
    size_t r = tp_tensor_file_get(f, 0, &t);
    if (tp_is_error(r)) { snprintf(detail, cap, "%s: %s", path, tp_last_error_detail()); return r; }
    r = read_vector(path, tp_tensor_file_name(f, 0), &t, &imp->shared, detail, cap);
    if (tp_is_error(r)) return r;
    for (size_t m = 0; m < imp->n; m++) {
        tp_tensor w;
        r = tp_tensor_file_get(model, m, &w);
        if (tp_is_error(r)) { snprintf(detail, cap, "%s", tp_last_error_detail()); return r; }
        if (w.ndim >= 2 && last_dim(&w) == t.shape[0]) {
            imp->per_tensor[m] = imp->shared;
            imp->n_cols[m] = t.shape[0];
            imp->matched++;
        }
    }
    if (!imp->matched) {
        snprintf(detail, cap, "%s: no tensor of the input has %llu columns (the vector's length)", path,
                 (unsigned long long)t.shape[0]);
        return (size_t)0 - TP_ERR_SHAPE;
    }
    return 0;
}

size_t cli_importance_load(const char *path, const tp_tensor_file *model, cli_importance *out, char *detail,
                           size_t detail_cap)
{
    memset(out, 0, sizeof *out);
    out->n = tp_tensor_file_count(model);
    out->per_tensor = calloc(out->n ? out->n : 1, sizeof *out->per_tensor);
    out->n_cols = calloc(out->n ? out->n : 1, sizeof *out->n_cols);
    if (!out->per_tensor || !out->n_cols) {
        cli_importance_free(out);
        snprintf(detail, detail_cap, "%s: out of memory", path);
        return (size_t)0 - TP_ERR_NOMEM;
    }
    tp_tensor_file *f;
    size_t r = tp_tensor_file_open(path, &f);
    if (tp_is_error(r)) {
        snprintf(detail, detail_cap, "%s: %s: %s", path, tp_error_name(r), tp_last_error_detail());
        cli_importance_free(out);
        return r;
    }
    r = cli_has_suffix(path, ".npy") ? load_shared(path, f, model, out, detail, detail_cap)
                                     : load_named(path, f, model, out, detail, detail_cap);
    tp_tensor_file_close(f);
    if (tp_is_error(r)) cli_importance_free(out);
    return r;
}

void cli_importance_free(cli_importance *imp)
{
    if (imp->per_tensor && !imp->shared)
        for (size_t i = 0; i < imp->n; i++) free(imp->per_tensor[i]);
    free(imp->shared);
    free(imp->per_tensor);
    free(imp->n_cols);
    memset(imp, 0, sizeof *imp);
}
