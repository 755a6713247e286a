/* Writing .tpz archives (docs/FORMAT.md section 3): frames at 64-byte
 * aligned offsets, then the index and the footer, into a temporary file
 * renamed into place (never half-written). Version 1 unless a feature of
 * version 2 is used (layers, metadata, the streaming layout); the header
 * is rewritten at the end, when that is known, so a version 1 file has the
 * bytes it always had. In the streaming layout the base frames go straight
 * to the file and the enhancement layers wait in a spool until finish puts
 * them after every base, layer by layer. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "format/archive_layout.h"
#include "format/atomic_file.h"
#include "format/spool.h"

typedef struct {
    tp_archive_entry e;    /* name and spec owned; n_layers: layers so far */
    size_t base;           /* index of the tensor's layer-0 entry          */
    size_t layers[TP_ARCHIVE_MAX_LAYERS]; /* layer-0 entries: each layer's entry */
    int spooled;           /* e.offset is a position in the spool          */
} w_entry;

struct tp_archive_writer {
    tp_atomic_file file;
    uint64_t pos;
    size_t n, cap;
    w_entry *entries;
    char *metadata;
    size_t meta_len;
    int v2;
    /* streaming layout */
    int streaming;
    size_t n_decl, next_decl;
    tp_archive_entry *decl;   /* declared tensors: name (owned), descriptor */
    size_t *decl_base;        /* entry index of each declared tensor's base */
    uint64_t early_size;
    tp_spool spool;
};

static const uint8_t zeros[TPZ_ALIGN];

size_t tp_archive_writer_open(const char *path, tp_archive_writer **out)
{
    if (!path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    tp_archive_writer *w = calloc(1, sizeof *w);
    if (!w) return tp_fail(TP_ERR_NOMEM, "archive writer");
    w->spool.fd = -1;
    size_t r = tp_atomic_open(&w->file, path);
    if (tp_is_error(r)) { free(w); return r; }
    uint8_t hdr[TPZ_HEADER_SIZE] = {0};
    tp_put_u32(hdr, TPZ_MAGIC);
    tp_put_u16(hdr + 4, TPZ_VERSION_1);
    r = tp_atomic_write(&w->file, hdr, sizeof hdr);
    if (tp_is_error(r)) { tp_atomic_abort(&w->file); free(w); return r; }
    w->pos = TPZ_HEADER_SIZE;
    *out = w;
    return 0;
}

static void writer_free(tp_archive_writer *w)
{
    for (size_t i = 0; i < w->n; i++) { free((char *)w->entries[i].e.name); free((char *)w->entries[i].e.spec); }
    for (size_t i = 0; i < w->n_decl; i++) free((char *)w->decl[i].name);
    free(w->entries);
    free(w->decl);
    free(w->decl_base);
    free(w->metadata);
    tp_spool_close(&w->spool);
    free(w);
}

size_t tp_archive_writer_set_metadata(tp_archive_writer *w, const char *json)
{
    if (!w || !json) return tp_fail(TP_ERR_ARG, "NULL argument");
    if (w->n || w->streaming) return tp_fail(TP_ERR_ARG, "metadata must be set before any frame and before streaming");
    size_t n = strlen(json);
    TP_TRY(tpz_check_metadata((const uint8_t *)json, n, TP_ERR_ARG));
    char *copy = strdup(json);
    if (!copy) return tp_fail(TP_ERR_NOMEM, "metadata");
    free(w->metadata);
    w->metadata = copy;
    w->meta_len = n;
    w->v2 = 1;
    return 0;
}

static size_t check_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TPZ_NAME_MAX) return tp_fail(TP_ERR_ARG, "tensor name must be 1..%d bytes", TPZ_NAME_MAX);
    return 0;
}

size_t tp_archive_writer_stream(tp_archive_writer *w, const char *const *names, const tp_tensor *descs, size_t n)
{
    if (!w || (n && (!names || !descs))) return tp_fail(TP_ERR_ARG, "NULL argument");
    if (w->n || w->streaming) return tp_fail(TP_ERR_ARG, "streaming must be chosen before any frame is added");
    if (n > UINT32_MAX) return tp_fail(TP_ERR_ARG, "%zu tensors", n);
    w->decl = calloc(n ? n : 1, sizeof *w->decl);
    w->decl_base = calloc(n ? n : 1, sizeof *w->decl_base);
    const char **nm = calloc(n ? n : 1, sizeof *nm);
    uint32_t *nd = calloc(n ? n : 1, sizeof *nd);
    size_t r = w->decl && w->decl_base && nm && nd ? 0 : tp_fail(TP_ERR_NOMEM, "stream declaration");
    for (size_t i = 0; i < n && !tp_is_error(r); i++) {
        if (!names[i]) { r = tp_fail(TP_ERR_ARG, "tensor %zu has no name", i); break; }
        r = check_name(names[i]);
        if (tp_is_error(r)) break;
        size_t nb = tp_tensor_nbytes(&descs[i]);
        if (tp_is_error(nb) || !tp_dtype_size(descs[i].dtype)) { r = tp_fail(TP_ERR_ARG, "tensor '%s': bad descriptor", names[i]); break; }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(names[j], names[i])) { r = tp_fail(TP_ERR_ARG, "duplicate tensor name '%s'", names[i]); break; }
        if (tp_is_error(r)) break;
        tp_archive_entry *d = &w->decl[i];
        d->name = strdup(names[i]);
        if (!d->name) { r = tp_fail(TP_ERR_NOMEM, "stream declaration"); break; }
        d->dtype = descs[i].dtype;
        d->ndim = descs[i].ndim;
        memcpy(d->shape, descs[i].shape, sizeof d->shape);
        w->n_decl = i + 1;
        nm[i] = names[i];
        nd[i] = descs[i].ndim;
    }
    if (!tp_is_error(r)) {
        w->early_size = tpz_early_bytes(n, nm, nd, w->meta_len);
        r = tp_spool_open(&w->spool, w->file.path);
    }
    free(nm);
    free(nd);
    /* Room for the early index, filled in by finish once the offsets are
     * known; the first base frame starts at the next aligned offset. */
    uint64_t end = tpz_align(TPZ_HEADER_SIZE + w->early_size);
    for (uint64_t left = end - w->pos; !tp_is_error(r) && left;) {
        size_t k = left < TPZ_ALIGN ? (size_t)left : TPZ_ALIGN;
        r = tp_atomic_write(&w->file, zeros, k);
        left -= k;
    }
    if (tp_is_error(r)) {
        for (size_t i = 0; i < w->n_decl; i++) free((char *)w->decl[i].name);
        free(w->decl);
        free(w->decl_base);
        w->decl = NULL;
        w->decl_base = NULL;
        w->n_decl = 0;
        tp_spool_close(&w->spool);
        return r;
    }
    w->pos = end;
    w->streaming = 1;
    w->v2 = 1;
    return 0;
}

/* The base entry of name, or (size_t)-1. */
static size_t find_base(const tp_archive_writer *w, const char *name)
{
    for (size_t i = w->n; i-- > 0;)
        if (w->entries[i].e.layer == 0 && !strcmp(w->entries[i].e.name, name)) return i;
    return (size_t)-1;
}

static size_t place_frame(tp_archive_writer *w, const void *frame, size_t frame_size, uint64_t *offset)
{
    size_t pad = (size_t)(tpz_align(w->pos) - w->pos);
    TP_TRY(tp_atomic_write(&w->file, zeros, pad));
    TP_TRY(tp_atomic_write(&w->file, frame, frame_size));
    *offset = w->pos + pad;
    w->pos = *offset + frame_size;
    return 0;
}

/* Whether a frame may be layer `layer` of tensor name: the order and
 * descriptor rules of docs/FORMAT.md 3.6 and, when streaming, 3.7. *base
 * gets the tensor's base entry (layers >= 1). */
static size_t check_layer(const tp_archive_writer *w, const char *name, unsigned layer, const tp_frame_info *info,
                          size_t *base)
{
    if (layer >= TP_ARCHIVE_MAX_LAYERS) return tp_fail(TP_ERR_ARG, "layer %u (at most %d layers)", layer, TP_ARCHIVE_MAX_LAYERS);
    size_t b = find_base(w, name);
    if (layer == 0) {
        if (b != (size_t)-1) return tp_fail(TP_ERR_ARG, "duplicate tensor name '%s'", name);
        if (!w->streaming) return 0;
        if (w->next_decl >= w->n_decl) return tp_fail(TP_ERR_ARG, "tensor '%s' was not declared for streaming", name);
        const tp_archive_entry *d = &w->decl[w->next_decl];
        if (strcmp(d->name, name)) return tp_fail(TP_ERR_ARG, "streaming: tensor '%s' is due before '%s'", d->name, name);
        if (d->dtype != info->dtype || d->ndim != info->ndim || memcmp(d->shape, info->shape, sizeof(uint64_t) * d->ndim))
            return tp_fail(TP_ERR_ARG, "tensor '%s': frame differs from its declared dtype or shape", name);
        return 0;
    }
    if (b == (size_t)-1) return tp_fail(TP_ERR_ARG, "layer %u of '%s' before its base", layer, name);
    const tp_archive_entry *e = &w->entries[b].e;
    if (e->n_layers != layer) return tp_fail(TP_ERR_ARG, "tensor '%s' has %u layers: layer %u is not next", name, e->n_layers, layer);
    if (!tp_dtype_is_float(e->dtype)) return tp_fail(TP_ERR_ARG, "tensor '%s' is %s: only float tensors have layers", name, tp_dtype_name(e->dtype));
    if (info->dtype != TP_F32 || info->ndim != e->ndim || memcmp(info->shape, e->shape, sizeof(uint64_t) * e->ndim))
        return tp_fail(TP_ERR_ARG, "layer %u of '%s' must decode to f32 of the base's shape", layer, name);
    *base = b;
    return 0;
}

size_t tp_archive_writer_add_layer(tp_archive_writer *w, const char *name, unsigned layer, const void *frame,
                                   size_t frame_size, const tp_metrics *metrics)
{
    if (!w || !name || !frame) return tp_fail(TP_ERR_ARG, "NULL argument");
    TP_TRY(check_name(name));
    tp_frame_info info;
    TP_TRY(tp_frame_inspect(frame, frame_size, &info));
    if (info.frame_size != frame_size) return tp_fail(TP_ERR_ARG, "frame size %zu does not match its header", frame_size);
    size_t base = w->n;
    TP_TRY(check_layer(w, name, layer, &info, &base));
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        w_entry *e = realloc(w->entries, cap * sizeof *e);
        if (!e) return tp_fail(TP_ERR_NOMEM, "archive index");
        w->entries = e;
        w->cap = cap;
    }
    w_entry *we = &w->entries[w->n];
    memset(we, 0, sizeof *we);
    we->e.name = strdup(name);
    we->e.spec = strdup(info.spec);
    if (!we->e.name || !we->e.spec) {
        free((char *)we->e.name);
        free((char *)we->e.spec);
        return tp_fail(TP_ERR_NOMEM, "entry");
    }
    size_t r = w->streaming && layer > 0 ? tp_spool_append(&w->spool, frame, frame_size, &we->e.offset)
                                         : place_frame(w, frame, frame_size, &we->e.offset);
    if (tp_is_error(r)) {
        free((char *)we->e.name);
        free((char *)we->e.spec);
        return r;
    }
    we->spooled = w->streaming && layer > 0;
    we->e.dtype = info.dtype;
    we->e.ndim = info.ndim;
    memcpy(we->e.shape, info.shape, sizeof we->e.shape);
    we->e.frame_size = frame_size;
    we->e.raw_size = info.nbytes;
    we->e.layer = layer;
    if (metrics) we->e.metrics = *metrics;
    we->base = base;
    w_entry *b = &w->entries[base];
    b->layers[layer] = w->n;
    b->e.n_layers = layer + 1;
    if (layer == 0 && w->streaming) w->decl_base[w->next_decl++] = w->n;
    if (layer > 0) w->v2 = 1;
    w->n++;
    return 0;
}

size_t tp_archive_writer_add(tp_archive_writer *w, const char *name, const void *frame, size_t frame_size,
                             const tp_metrics *metrics)
{
    return tp_archive_writer_add_layer(w, name, 0, frame, frame_size, metrics);
}

/* Moves the spooled layers into the file after every base, layer by layer
 * in declaration order, and writes that order (entry indices, as the index
 * lists them) to order. Each frame is checked again on its way back. */
static size_t unspool(tp_archive_writer *w, size_t *order)
{
    size_t k = 0, r = 0;
    for (size_t i = 0; i < w->n_decl; i++) order[k++] = w->decl_base[i];
    void *buf = NULL;
    size_t buf_cap = 0;
    for (unsigned layer = 1; layer < TP_ARCHIVE_MAX_LAYERS && !tp_is_error(r); layer++) {
        for (size_t i = 0; i < w->n_decl && !tp_is_error(r); i++) {
            const w_entry *b = &w->entries[w->decl_base[i]];
            if (b->e.n_layers <= layer) continue;
            w_entry *we = &w->entries[b->layers[layer]];
            size_t n = (size_t)we->e.frame_size;
            if (n > buf_cap) {
                void *p = realloc(buf, n);
                if (!p) { r = tp_fail(TP_ERR_NOMEM, "layer frame of %zu bytes", n); break; }
                buf = p;
                buf_cap = n;
            }
            r = tp_spool_read(&w->spool, we->e.offset, buf, n);
            tp_frame_info info;
            if (!tp_is_error(r)) r = tp_frame_inspect(buf, n, &info);
            if (!tp_is_error(r)) r = place_frame(w, buf, n, &we->e.offset);
            we->spooled = 0;
            order[k++] = b->layers[layer];
        }
    }
    free(buf);
    return r;
}

static size_t write_early_index(tp_archive_writer *w)
{
    const tp_archive_entry **bases = malloc((w->n_decl ? w->n_decl : 1) * sizeof *bases);
    uint8_t *early = malloc((size_t)w->early_size);
    size_t r = bases && early ? 0 : tp_fail(TP_ERR_NOMEM, "early index");
    if (!tp_is_error(r)) {
        for (size_t i = 0; i < w->n_decl; i++) bases[i] = &w->entries[w->decl_base[i]].e;
        tpz_put_early(early, (size_t)w->early_size, bases, w->n_decl, w->metadata, w->meta_len);
        r = tp_atomic_pwrite(&w->file, early, (size_t)w->early_size, TPZ_HEADER_SIZE);
    }
    free(bases);
    free(early);
    return r;
}

static size_t write_index(tp_archive_writer *w, const size_t *order, unsigned version)
{
    size_t isz = 8 + w->meta_len;
    for (size_t i = 0; i < w->n; i++) isz += tpz_entry_bytes(&w->entries[i].e);
    uint8_t *idx = malloc(isz);
    if (!idx) return tp_fail(TP_ERR_NOMEM, "archive index of %zu bytes", isz);
    tp_put_u32(idx, (uint32_t)w->n);
    tp_put_u32(idx + 4, (uint32_t)w->meta_len);
    if (w->meta_len) memcpy(idx + 8, w->metadata, w->meta_len);
    uint8_t *q = idx + 8 + w->meta_len;
    for (size_t i = 0; i < w->n; i++) q = tpz_put_entry(q, &w->entries[order[i]].e);
    uint64_t ioff = tpz_align(w->pos);
    uint8_t foot[TPZ_FOOTER_SIZE];
    tp_put_u64(foot, ioff);
    tp_put_u64(foot + 8, isz);
    tp_put_u64(foot + 16, tp_hash64(idx, isz));
    tp_put_u32(foot + 24, TPZ_FOOTER_MAGIC);
    tp_put_u16(foot + 28, (uint16_t)version);
    tp_put_u16(foot + 30, 0);
    size_t r = tp_atomic_write(&w->file, zeros, (size_t)(ioff - w->pos));
    if (!tp_is_error(r)) r = tp_atomic_write(&w->file, idx, isz);
    if (!tp_is_error(r)) r = tp_atomic_write(&w->file, foot, sizeof foot);
    free(idx);
    return r;
}

size_t tp_archive_writer_finish(tp_archive_writer *w)
{
    if (!w) return tp_fail(TP_ERR_ARG, "NULL writer");
    size_t r = 0;
    if (w->streaming && w->next_decl < w->n_decl)
        r = tp_fail(TP_ERR_ARG, "tensor '%s' was declared but never added", w->decl[w->next_decl].name);
    size_t *order = malloc((w->n ? w->n : 1) * sizeof *order);
    if (!tp_is_error(r) && !order) r = tp_fail(TP_ERR_NOMEM, "archive index");
    if (!tp_is_error(r)) {
        if (w->streaming) r = unspool(w, order);
        else for (size_t i = 0; i < w->n; i++) order[i] = i;
    }
    for (size_t i = 0; i < w->n; i++) w->entries[i].e.n_layers = w->entries[w->entries[i].base].e.n_layers;
    unsigned version = w->v2 ? TPZ_VERSION_2 : TPZ_VERSION_1;
    if (!tp_is_error(r)) r = write_index(w, order, version);
    if (!tp_is_error(r) && w->streaming) r = write_early_index(w);
    if (!tp_is_error(r) && version == TPZ_VERSION_2) {
        uint8_t hdr[TPZ_HEADER_SIZE] = {0};
        tp_put_u32(hdr, TPZ_MAGIC);
        tp_put_u16(hdr + 4, TPZ_VERSION_2);
        tp_put_u64(hdr + 8, w->early_size);
        r = tp_atomic_pwrite(&w->file, hdr, sizeof hdr, 0);
    }
    free(order);
    r = tp_is_error(r) ? (tp_atomic_abort(&w->file), r) : tp_atomic_commit(&w->file);
    writer_free(w);
    return r;
}

void tp_archive_writer_abort(tp_archive_writer *w)
{
    if (!w) return;
    tp_atomic_abort(&w->file);
    writer_free(w);
}
