/* .tpz archives: a 64-byte file header, frames at 64-byte aligned offsets,
 * an index of named entries, and a 32-byte footer that points to the index.
 * Written to a temporary file and renamed into place (never half-written);
 * read through mmap, one frame at a time. Layout in docs/FORMAT.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/bytes.h"
#include "core/error.h"
#include "format/atomic_file.h"
#include "format/mapped_file.h"

#define TPZ_MAGIC 0x415A5054u        /* "TPZA" */
#define TPZ_FOOTER_MAGIC 0x455A5054u /* "TPZE" */
#define TPZ_VERSION 1
#define TPZ_HEADER_SIZE 64
#define TPZ_FOOTER_SIZE 32
#define TPZ_ALIGN 64
#define TPZ_NAME_MAX 4096
#define METRICS_BYTES 64

/* ---- writer ---------------------------------------------------------- */

struct tp_archive_writer {
    tp_atomic_file file;
    uint64_t pos;
    size_t n, cap;
    tp_archive_entry *entries; /* names and specs owned (strdup) */
};

size_t tp_archive_writer_open(const char *path, tp_archive_writer **out)
{
    if (!path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    tp_archive_writer *w = calloc(1, sizeof *w);
    if (!w) return tp_fail(TP_ERR_NOMEM, "archive writer");
    size_t r = tp_atomic_open(&w->file, path);
    if (tp_is_error(r)) { free(w); return r; }
    uint8_t hdr[TPZ_HEADER_SIZE] = {0};
    tp_put_u32(hdr, TPZ_MAGIC);
    tp_put_u16(hdr + 4, TPZ_VERSION);
    r = tp_atomic_write(&w->file, hdr, sizeof hdr);
    if (tp_is_error(r)) { tp_atomic_abort(&w->file); free(w); return r; }
    w->pos = TPZ_HEADER_SIZE;
    *out = w;
    return 0;
}

static void free_entries(tp_archive_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) { free((char *)e[i].name); free((char *)e[i].spec); }
    free(e);
}

size_t tp_archive_writer_add(tp_archive_writer *w, const char *name, const void *frame, size_t frame_size,
                             const tp_metrics *metrics)
{
    if (!w || !name || !frame) return tp_fail(TP_ERR_ARG, "NULL argument");
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len > TPZ_NAME_MAX) return tp_fail(TP_ERR_ARG, "tensor name must be 1..%d bytes", TPZ_NAME_MAX);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->entries[i].name, name)) return tp_fail(TP_ERR_ARG, "duplicate tensor name '%s'", name);
    tp_frame_info info;
    TP_TRY(tp_frame_inspect(frame, frame_size, &info));
    if (info.frame_size != frame_size) return tp_fail(TP_ERR_ARG, "frame size %zu does not match its header", frame_size);
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        tp_archive_entry *e = realloc(w->entries, cap * sizeof *e);
        if (!e) return tp_fail(TP_ERR_NOMEM, "archive index");
        w->entries = e;
        w->cap = cap;
    }
    static const uint8_t zeros[TPZ_ALIGN];
    size_t pad = (size_t)((TPZ_ALIGN - w->pos % TPZ_ALIGN) % TPZ_ALIGN);
    TP_TRY(tp_atomic_write(&w->file, zeros, pad));
    TP_TRY(tp_atomic_write(&w->file, frame, frame_size));
    tp_archive_entry *e = &w->entries[w->n];
    memset(e, 0, sizeof *e);
    e->name = strdup(name);
    e->spec = strdup(info.spec);
    if (!e->name || !e->spec) { free((char *)e->name); free((char *)e->spec); return tp_fail(TP_ERR_NOMEM, "entry"); }
    e->dtype = info.dtype;
    e->ndim = info.ndim;
    memcpy(e->shape, info.shape, sizeof e->shape);
    e->offset = w->pos + pad;
    e->frame_size = frame_size;
    e->raw_size = info.nbytes;
    if (metrics) e->metrics = *metrics;
    w->pos = e->offset + frame_size;
    w->n++;
    return 0;
}

static size_t index_bytes(const tp_archive_writer *w)
{
    size_t n = 8;
    for (size_t i = 0; i < w->n; i++)
        n += 2 + strlen(w->entries[i].name) + 2 + strlen(w->entries[i].spec) + 4 + 8 * w->entries[i].ndim + 24 + METRICS_BYTES;
    return n;
}

static uint8_t *put_metrics(uint8_t *q, const tp_metrics *m)
{
    tp_put_u64(q, m->count);
    tp_put_u64(q + 8, m->nonfinite);
    const double v[6] = {m->mse, m->snr_db, m->psnr_db, m->max_abs, m->cosine, m->rel_l2};
    for (int i = 0; i < 6; i++) tp_put_f64(q + 16 + 8 * i, v[i]);
    return q + METRICS_BYTES;
}

size_t tp_archive_writer_finish(tp_archive_writer *w)
{
    if (!w) return tp_fail(TP_ERR_ARG, "NULL writer");
    static const uint8_t zeros[TPZ_ALIGN];
    size_t pad = (size_t)((TPZ_ALIGN - w->pos % TPZ_ALIGN) % TPZ_ALIGN);
    size_t isz = index_bytes(w);
    uint8_t *idx = malloc(isz);
    size_t r = idx ? 0 : tp_fail(TP_ERR_NOMEM, "archive index of %zu bytes", isz);
    if (!tp_is_error(r)) {
        uint8_t *q = idx;
        tp_put_u32(q, (uint32_t)w->n);
        tp_put_u32(q + 4, 0);
        q += 8;
        for (size_t i = 0; i < w->n; i++) {
            const tp_archive_entry *e = &w->entries[i];
            size_t nl = strlen(e->name), sl = strlen(e->spec);
            tp_put_u16(q, (uint16_t)nl);
            memcpy(q + 2, e->name, nl);
            q += 2 + nl;
            tp_put_u16(q, (uint16_t)sl);
            memcpy(q + 2, e->spec, sl);
            q += 2 + sl;
            q[0] = (uint8_t)e->dtype;
            q[1] = (uint8_t)e->ndim;
            tp_put_u16(q + 2, 0);
            q += 4;
            for (uint32_t d = 0; d < e->ndim; d++, q += 8) tp_put_u64(q, e->shape[d]);
            tp_put_u64(q, e->offset);
            tp_put_u64(q + 8, e->frame_size);
            tp_put_u64(q + 16, e->raw_size);
            q = put_metrics(q + 24, &e->metrics);
        }
        uint8_t foot[TPZ_FOOTER_SIZE];
        tp_put_u64(foot, w->pos + pad);
        tp_put_u64(foot + 8, isz);
        tp_put_u64(foot + 16, tp_hash64(idx, isz));
        tp_put_u32(foot + 24, TPZ_FOOTER_MAGIC);
        tp_put_u16(foot + 28, TPZ_VERSION);
        tp_put_u16(foot + 30, 0);
        r = tp_atomic_write(&w->file, zeros, pad);
        if (!tp_is_error(r)) r = tp_atomic_write(&w->file, idx, isz);
        if (!tp_is_error(r)) r = tp_atomic_write(&w->file, foot, sizeof foot);
    }
    free(idx);
    r = tp_is_error(r) ? (tp_atomic_abort(&w->file), r) : tp_atomic_commit(&w->file);
    free_entries(w->entries, w->n);
    free(w);
    return r;
}

void tp_archive_writer_abort(tp_archive_writer *w)
{
    if (!w) return;
    tp_atomic_abort(&w->file);
    free_entries(w->entries, w->n);
    free(w);
}

/* ---- reader ---------------------------------------------------------- */

struct tp_archive {
    tp_mapped_file file;
    const uint8_t *map; /* file.bytes */
    size_t size;
    size_t n;
    tp_archive_entry *entries;
    struct name_ref { const char *name; size_t index; } *by_name; /* sorted by name */
    char *strings;    /* names and specs, NUL-terminated */
};

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct name_ref *)a)->name, ((const struct name_ref *)b)->name);
}

/* Padding between frames is not covered by a checksum; requiring zeros
 * means any flipped bit in the file is detected. */
static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

static size_t read_metrics(tp_reader *r, tp_metrics *m)
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
    return 0;
}

static size_t parse_index(tp_archive *a, const uint8_t *idx, size_t isz, uint64_t data_end)
{
    tp_reader r = tp_reader_init(idx, isz);
    uint32_t n = tp_read_u32(&r), reserved = tp_read_u32(&r);
    if (!r.ok) return tp_fail(TP_ERR_CORRUPT, "archive index too short");
    if (reserved) return tp_fail(TP_ERR_CORRUPT, "reserved index bits set");
    /* Each entry takes at least 96 bytes, which bounds n by the index size. */
    if (n > isz / 96) return tp_fail(TP_ERR_CORRUPT, "archive index claims %u entries", n);
    a->entries = calloc(n ? n : 1, sizeof *a->entries);
    a->by_name = calloc(n ? n : 1, sizeof *a->by_name);
    a->strings = malloc(isz + 2 * (size_t)n + 1);
    if (!a->entries || !a->by_name || !a->strings) return tp_fail(TP_ERR_NOMEM, "archive index");
    char *s = a->strings;
    uint64_t prev_end = TPZ_HEADER_SIZE;
    for (uint32_t i = 0; i < n; i++) {
        tp_archive_entry *e = &a->entries[i];
        uint16_t nl = tp_read_u16(&r);
        const uint8_t *name = tp_read_bytes(&r, nl);
        uint16_t sl = tp_read_u16(&r);
        const uint8_t *spec = tp_read_bytes(&r, sl);
        e->dtype = (tp_dtype)tp_read_u8(&r);
        e->ndim = tp_read_u8(&r);
        uint16_t res = tp_read_u16(&r);
        if (!r.ok) return tp_fail(TP_ERR_CORRUPT, "archive index entry %u truncated", i);
        if (!nl || memchr(name, 0, nl) || memchr(spec, 0, sl)) return tp_fail(TP_ERR_CORRUPT, "entry %u has a bad name or spec", i);
        if (res || e->ndim > TP_MAX_DIMS || !tp_dtype_size(e->dtype))
            return tp_fail(TP_ERR_CORRUPT, "entry %u has a bad descriptor", i);
        for (uint32_t d = 0; d < e->ndim; d++) e->shape[d] = tp_read_u64(&r);
        e->offset = tp_read_u64(&r);
        e->frame_size = tp_read_u64(&r);
        e->raw_size = tp_read_u64(&r);
        read_metrics(&r, &e->metrics);
        if (!r.ok) return tp_fail(TP_ERR_CORRUPT, "archive index entry %u truncated", i);
        tp_tensor t = {e->dtype, e->ndim, {0}, NULL};
        memcpy(t.shape, e->shape, sizeof t.shape);
        size_t nb = tp_tensor_nbytes(&t);
        if (tp_is_error(nb) || nb != e->raw_size) return tp_fail(TP_ERR_CORRUPT, "entry %u size disagrees with its shape", i);
        if (e->offset % TPZ_ALIGN || e->offset < prev_end || e->frame_size > data_end ||
            e->offset > data_end - e->frame_size)
            return tp_fail(TP_ERR_CORRUPT, "entry %u points outside the frame area", i);
        if (!all_zero(a->map + prev_end, (size_t)(e->offset - prev_end)))
            return tp_fail(TP_ERR_CORRUPT, "padding before entry %u is not zero", i);
        prev_end = e->offset + e->frame_size;
        memcpy(s, name, nl); s[nl] = 0; e->name = s; s += nl + 1;
        memcpy(s, spec, sl); s[sl] = 0; e->spec = s; s += sl + 1;
        a->by_name[i].name = e->name;
        a->by_name[i].index = i;
    }
    if (r.left) return tp_fail(TP_ERR_CORRUPT, "archive index has %zu trailing bytes", r.left);
    if (!all_zero(a->map + prev_end, (size_t)(data_end - prev_end)))
        return tp_fail(TP_ERR_CORRUPT, "padding before the archive index is not zero");
    a->n = n;
    qsort(a->by_name, n, sizeof *a->by_name, cmp_name);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(a->by_name[i].name, a->by_name[i - 1].name))
            return tp_fail(TP_ERR_CORRUPT, "duplicate tensor name '%s'", a->by_name[i].name);
    return 0;
}

static size_t open_mapped(tp_archive *a)
{
    if (a->size < TPZ_HEADER_SIZE + TPZ_FOOTER_SIZE) return tp_fail(TP_ERR_TRUNCATED, "file too short for a .tpz archive");
    const uint8_t *h = a->map;
    if (tp_get_u32(h) != TPZ_MAGIC) return tp_fail(TP_ERR_CORRUPT, "not a .tpz archive (bad magic)");
    if (tp_get_u16(h + 4) != TPZ_VERSION) return tp_fail(TP_ERR_VERSION, "archive version %u", tp_get_u16(h + 4));
    for (int i = 6; i < TPZ_HEADER_SIZE; i++)
        if (h[i]) return tp_fail(TP_ERR_CORRUPT, "reserved archive header bytes set");
    const uint8_t *f = a->map + a->size - TPZ_FOOTER_SIZE;
    if (tp_get_u32(f + 24) != TPZ_FOOTER_MAGIC)
        return tp_fail(TP_ERR_TRUNCATED, "archive footer missing (truncated or unfinished file)");
    if (tp_get_u16(f + 28) != TPZ_VERSION || tp_get_u16(f + 30)) return tp_fail(TP_ERR_CORRUPT, "bad archive footer");
    uint64_t ioff = tp_get_u64(f), isz = tp_get_u64(f + 8);
    uint64_t limit = a->size - TPZ_FOOTER_SIZE;
    if (ioff < TPZ_HEADER_SIZE || ioff > limit || isz != limit - ioff)
        return tp_fail(TP_ERR_CORRUPT, "archive index position is invalid");
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let fuzzers reach the index parser */
    if (tp_hash64(a->map + ioff, (size_t)isz) != tp_get_u64(f + 16))
        return tp_fail(TP_ERR_CHECKSUM, "archive index checksum mismatch");
#endif
    return parse_index(a, a->map + ioff, (size_t)isz, ioff);
}

size_t tp_archive_open(const char *path, tp_archive **out)
{
    if (!path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    tp_archive *a = calloc(1, sizeof *a);
    if (!a) return tp_fail(TP_ERR_NOMEM, "archive");
    size_t r = tp_mapped_open(&a->file, path);
    if (tp_is_error(r)) { free(a); return r; }
    a->map = a->file.bytes;
    a->size = a->file.size;
    r = open_mapped(a);
    if (tp_is_error(r)) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", tp_last_error_detail());
        tp_archive_close(a);
        return tp_fail(tp_error_code(r), "%s: %s", path, detail);
    }
    *out = a;
    return 0;
}

void tp_archive_close(tp_archive *a)
{
    if (!a) return;
    tp_mapped_close(&a->file);
    free(a->entries);
    free(a->by_name);
    free(a->strings);
    free(a);
}

size_t tp_archive_count(const tp_archive *a) { return a ? a->n : 0; }

const tp_archive_entry *tp_archive_entry_at(const tp_archive *a, size_t i) { return a && i < a->n ? &a->entries[i] : NULL; }

size_t tp_archive_find(const tp_archive *a, const char *name)
{
    if (!a || !name) return tp_fail(TP_ERR_ARG, "NULL argument");
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->by_name[mid].name, name);
        if (c == 0) return a->by_name[mid].index;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return tp_fail(TP_ERR_NOT_FOUND, "no tensor named '%s'", name);
}

size_t tp_archive_frame(const tp_archive *a, size_t i, const void **frame)
{
    if (!a || !frame || i >= a->n) return tp_fail(TP_ERR_ARG, "entry %zu out of range", i);
    *frame = a->map + a->entries[i].offset;
    return (size_t)a->entries[i].frame_size;
}

size_t tp_archive_decode(const tp_archive *a, size_t i, void *dst, size_t cap)
{
    const void *frame;
    size_t n = tp_archive_frame(a, i, &frame);
    if (tp_is_error(n)) return n;
    const tp_archive_entry *e = &a->entries[i];
    tp_frame_info info;
    TP_TRY(tp_frame_header(frame, n, &info)); /* the decode below verifies the checksum */
    if (info.frame_size != n || info.dtype != e->dtype || info.ndim != e->ndim ||
        memcmp(info.shape, e->shape, sizeof(uint64_t) * e->ndim))
        return tp_fail(TP_ERR_CORRUPT, "tensor '%s': frame disagrees with the archive index", e->name);
    return tp_frame_decode(frame, n, dst, cap);
}
