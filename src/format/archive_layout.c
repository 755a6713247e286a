#include "format/archive_layout.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/utf8.h"

size_t tpz_entry_bytes(const tp_archive_entry *e)
{
    return 2 + strlen(e->name) + 2 + strlen(e->spec) + 4 + 8 * (size_t)e->ndim + 24 + TPZ_METRICS_BYTES;
}

static uint8_t *put_metrics(uint8_t *q, const tp_metrics *m)
{
    tp_put_u64(q, m->count);
    tp_put_u64(q + 8, m->nonfinite);
    const double v[6] = {m->mse, m->snr_db, m->psnr_db, m->max_abs, m->cosine, m->rel_l2};
    for (int i = 0; i < 6; i++) tp_put_f64(q + 16 + 8 * i, v[i]);
    return q + TPZ_METRICS_BYTES;
}

static void read_metrics(tp_reader *r, tp_metrics *m)
{
    m->count = tp_read_u64(r);
    m->nonfinite = tp_read_u64(r);
    m->mse = tp_read_f64(r);
    m->snr_db = tp_read_f64(r);
    m->psnr_db = tp_read_f64(r);
    m->max_abs = tp_read_f64(r);
    m->cosine = tp_read_f64(r);
    m->rel_l2 = tp_read_f64(r);
    m->rmse = m->mse >= 0 ? __builtin_sqrt(m->mse) : m->mse;
}

static uint8_t *put_text(uint8_t *q, const char *s)
{
    size_t n = strlen(s);
    tp_put_u16(q, (uint16_t)n);
    memcpy(q + 2, s, n);
    return q + 2 + n;
}

uint8_t *tpz_put_entry(uint8_t *q, const tp_archive_entry *e)
{
    q = put_text(q, e->name);
    q = put_text(q, e->spec);
    q[0] = (uint8_t)e->dtype;
    q[1] = (uint8_t)e->ndim;
    tp_put_u16(q + 2, (uint16_t)e->layer);
    q += 4;
    for (uint32_t d = 0; d < e->ndim; d++, q += 8) tp_put_u64(q, e->shape[d]);
    tp_put_u64(q, e->offset);
    tp_put_u64(q + 8, e->frame_size);
    tp_put_u64(q + 16, e->raw_size);
    return put_metrics(q + 24, &e->metrics);
}

/* The descriptor of an entry: a dtype, ndim <= 8 and a shape whose byte
 * size fits the format's limits. */
static size_t check_desc(uint32_t i, tp_archive_entry *e)
{
    if (e->ndim > TP_MAX_DIMS || !tp_dtype_size(e->dtype)) return tp_fail(TP_ERR_CORRUPT, "entry %u has a bad descriptor", i);
    tp_tensor t = {e->dtype, e->ndim, {0}, NULL};
    memcpy(t.shape, e->shape, sizeof t.shape);
    size_t nb = tp_tensor_nbytes(&t);
    if (tp_is_error(nb)) return tp_fail(TP_ERR_CORRUPT, "entry %u has an impossible shape", i);
    return nb;
}

size_t tpz_read_entry(tp_reader *r, uint32_t i, tp_archive_entry *e, const uint8_t **name, uint16_t *name_len,
                      const uint8_t **spec, uint16_t *spec_len)
{
    memset(e, 0, sizeof *e);
    *name_len = tp_read_u16(r);
    *name = tp_read_bytes(r, *name_len);
    *spec_len = tp_read_u16(r);
    *spec = tp_read_bytes(r, *spec_len);
    e->dtype = (tp_dtype)tp_read_u8(r);
    e->ndim = tp_read_u8(r);
    e->layer = tp_read_u16(r);
    if (!r->ok) return tp_fail(TP_ERR_CORRUPT, "archive index entry %u truncated", i);
    if (!*name_len || *name_len > TPZ_NAME_MAX || memchr(*name, 0, *name_len) || memchr(*spec, 0, *spec_len))
        return tp_fail(TP_ERR_CORRUPT, "entry %u has a bad name or spec", i);
    if (e->ndim > TP_MAX_DIMS) return tp_fail(TP_ERR_CORRUPT, "entry %u has a bad descriptor", i);
    for (uint32_t d = 0; d < e->ndim; d++) e->shape[d] = tp_read_u64(r);
    e->offset = tp_read_u64(r);
    e->frame_size = tp_read_u64(r);
    e->raw_size = tp_read_u64(r);
    read_metrics(r, &e->metrics);
    if (!r->ok) return tp_fail(TP_ERR_CORRUPT, "archive index entry %u truncated", i);
    size_t nb = check_desc(i, e);
    if (tp_is_error(nb)) return nb;
    if (nb != e->raw_size) return tp_fail(TP_ERR_CORRUPT, "entry %u size disagrees with its shape", i);
    return 0;
}

/* count, metadata length, metadata, entries, checksum */
size_t tpz_early_bytes(size_t n, const char *const *names, const uint32_t *ndims, size_t meta_len)
{
    size_t b = 8 + meta_len + 8;
    for (size_t i = 0; i < n; i++) b += 2 + strlen(names[i]) + 4 + 8 * (size_t)ndims[i] + 16 + TPZ_METRICS_BYTES;
    return b;
}

void tpz_put_early(uint8_t *dst, size_t size, const tp_archive_entry *const *bases, size_t n, const char *meta,
                   size_t meta_len)
{
    uint8_t *q = dst;
    tp_put_u32(q, (uint32_t)n);
    tp_put_u32(q + 4, (uint32_t)meta_len);
    if (meta_len) memcpy(q + 8, meta, meta_len);
    q += 8 + meta_len;
    for (size_t i = 0; i < n; i++) {
        const tp_archive_entry *e = bases[i];
        q = put_text(q, e->name);
        q[0] = (uint8_t)e->dtype;
        q[1] = (uint8_t)e->ndim;
        tp_put_u16(q + 2, (uint16_t)e->n_layers);
        q += 4;
        for (uint32_t d = 0; d < e->ndim; d++, q += 8) tp_put_u64(q, e->shape[d]);
        tp_put_u64(q, e->offset);
        tp_put_u64(q + 8, e->frame_size);
        q = put_metrics(q + 16, &e->metrics);
    }
    tp_put_u64(q, tp_hash64(dst, size - 8));
}

size_t tpz_read_early_entry(tp_reader *r, uint32_t i, tp_archive_entry *e, const uint8_t **name, uint16_t *name_len)
{
    memset(e, 0, sizeof *e);
    *name_len = tp_read_u16(r);
    *name = tp_read_bytes(r, *name_len);
    e->dtype = (tp_dtype)tp_read_u8(r);
    e->ndim = tp_read_u8(r);
    e->n_layers = tp_read_u16(r);
    if (!r->ok) return tp_fail(TP_ERR_CORRUPT, "early index entry %u truncated", i);
    if (!*name_len || *name_len > TPZ_NAME_MAX || memchr(*name, 0, *name_len))
        return tp_fail(TP_ERR_CORRUPT, "early index entry %u has a bad name", i);
    if (e->n_layers < 1 || e->n_layers > TP_ARCHIVE_MAX_LAYERS)
        return tp_fail(TP_ERR_CORRUPT, "early index entry %u claims %u layers", i, e->n_layers);
    if (e->ndim > TP_MAX_DIMS) return tp_fail(TP_ERR_CORRUPT, "entry %u has a bad descriptor", i);
    for (uint32_t d = 0; d < e->ndim; d++) e->shape[d] = tp_read_u64(r);
    e->offset = tp_read_u64(r);
    e->frame_size = tp_read_u64(r);
    read_metrics(r, &e->metrics);
    if (!r->ok) return tp_fail(TP_ERR_CORRUPT, "early index entry %u truncated", i);
    size_t nb = check_desc(i, e);
    if (tp_is_error(nb)) return nb;
    e->raw_size = nb;
    return 0;
}

size_t tpz_check_metadata(const uint8_t *p, size_t n, tp_error code)
{
    if (n > TPZ_METADATA_MAX) return tp_fail(code, "metadata of %zu bytes (at most %u)", n, TPZ_METADATA_MAX);
    if (!tp_utf8_valid(p, n)) return tp_fail(code, "metadata is not UTF-8 text without NUL");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)p, n, &end, 0);
    int ok = j != NULL;
    cJSON_Delete(j);
    for (; ok && end < (const char *)p + n; end++)
        if (!strchr(" \t\r\n", *end)) ok = 0;
    return ok ? 0 : tp_fail(code, "metadata is not one JSON value");
}
