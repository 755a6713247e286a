/* Reading .tpz archives (docs/FORMAT.md section 3) through mmap, one frame
 * at a time: version 1 and 2, layered tensors, metadata, and the early
 * index of a streaming archive, alone when the file is cut short. Every
 * byte of a complete file is checked (by a checksum, or as zero padding)
 * before or while it is used. The writer is archive_writer.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "format/archive_layout.h"
#include "format/layers.h"
#include "format/mapped_file.h"

typedef struct {
    size_t layer[TP_ARCHIVE_MAX_LAYERS]; /* indices into entries */
    unsigned available;                  /* layers that can be decoded */
} tensor_ref;

struct name_ref {
    const char *name;
    size_t index; /* tensor */
};

struct tp_archive {
    tp_mapped_file file;
    const uint8_t *map; /* file.bytes */
    size_t size;
    int partial;
    size_t n_entries;
    tp_archive_entry *entries; /* every index entry, in file order */
    size_t n;                  /* tensors: the base entries */
    tensor_ref *tensors;
    struct name_ref *by_name; /* sorted by name */
    char *strings;            /* names and specs, NUL-terminated */
    char *metadata;           /* NUL-terminated, or NULL */
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

static size_t tensor_of(const tp_archive *a, const char *name)
{
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(a->by_name[mid].name, name);
        if (c == 0) return a->by_name[mid].index;
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return (size_t)-1;
}

static size_t copy_metadata(tp_archive *a, const uint8_t *p, uint32_t len)
{
    if (!len) return 0;
    TP_TRY(tpz_check_metadata(p, len, TP_ERR_CORRUPT));
    a->metadata = malloc((size_t)len + 1);
    if (!a->metadata) return tp_fail(TP_ERR_NOMEM, "archive metadata");
    memcpy(a->metadata, p, len);
    a->metadata[len] = 0;
    return 0;
}

/* Sorts the tensors by name (refusing duplicates) for lookups. */
static size_t index_names(tp_archive *a)
{
    for (size_t t = 0; t < a->n; t++) {
        a->by_name[t].name = a->entries[a->tensors[t].layer[0]].name;
        a->by_name[t].index = t;
    }
    qsort(a->by_name, a->n, sizeof *a->by_name, cmp_name);
    for (size_t i = 1; i < a->n; i++)
        if (!strcmp(a->by_name[i].name, a->by_name[i - 1].name))
            return tp_fail(TP_ERR_CORRUPT, "duplicate tensor name '%s'", a->by_name[i].name);
    return 0;
}

/* Layers >= 1 join their base: named like it, numbered in the order they
 * come, f32 of its shape, after it in the file (entries are in offset
 * order). */
static size_t link_layers(tp_archive *a)
{
    size_t t = 0;
    for (size_t i = 0; i < a->n_entries; i++)
        if (a->entries[i].layer == 0) {
            a->tensors[t].layer[0] = i;
            a->tensors[t++].available = 1;
        }
    a->n = t;
    TP_TRY(index_names(a));
    for (size_t i = 0; i < a->n_entries; i++) {
        tp_archive_entry *e = &a->entries[i];
        if (e->layer == 0) continue;
        size_t k = tensor_of(a, e->name);
        if (k == (size_t)-1) return tp_fail(TP_ERR_CORRUPT, "layer %u of '%s' has no base", e->layer, e->name);
        tensor_ref *tr = &a->tensors[k];
        const tp_archive_entry *b = &a->entries[tr->layer[0]];
        if (tr->layer[0] > i || e->layer != tr->available)
            return tp_fail(TP_ERR_CORRUPT, "layer %u of '%s' is out of order", e->layer, e->name);
        if (!tp_dtype_is_float(b->dtype) || e->dtype != TP_F32 || e->ndim != b->ndim ||
            memcmp(e->shape, b->shape, sizeof(uint64_t) * b->ndim))
            return tp_fail(TP_ERR_CORRUPT, "layer %u of '%s' is not f32 of its base's shape", e->layer, e->name);
        tr->layer[tr->available++] = i;
    }
    for (size_t k = 0; k < a->n; k++)
        for (unsigned l = 0; l < a->tensors[k].available; l++) a->entries[a->tensors[k].layer[l]].n_layers = a->tensors[k].available;
    return 0;
}

static size_t alloc_tables(tp_archive *a, size_t n, size_t strings)
{
    a->entries = calloc(n ? n : 1, sizeof *a->entries);
    a->tensors = calloc(n ? n : 1, sizeof *a->tensors);
    a->by_name = calloc(n ? n : 1, sizeof *a->by_name);
    a->strings = malloc(strings);
    if (!a->entries || !a->tensors || !a->by_name || !a->strings) return tp_fail(TP_ERR_NOMEM, "archive index");
    return 0;
}

static void free_tables(tp_archive *a)
{
    free(a->entries);
    free(a->tensors);
    free(a->by_name);
    free(a->strings);
    free(a->metadata);
    a->entries = NULL;
    a->tensors = NULL;
    a->by_name = NULL;
    a->strings = a->metadata = NULL;
    a->n = a->n_entries = 0;
}

static char *put_string(char **s, const uint8_t *p, size_t n)
{
    char *out = *s;
    if (n) memcpy(out, p, n);
    out[n] = 0;
    *s += n + 1;
    return out;
}

/* The early index of a complete streaming archive must say what the full
 * index says about the bases, byte for byte; its layers come in layer
 * order, every base first. */
static size_t check_early_copy(const tp_archive *a, uint64_t early_size)
{
    for (size_t i = 1; i < a->n_entries; i++)
        if (a->entries[i].layer < a->entries[i - 1].layer)
            return tp_fail(TP_ERR_CORRUPT, "streaming archive: layer %u of '%s' comes after a layer %u", a->entries[i].layer,
                           a->entries[i].name, a->entries[i - 1].layer);
    size_t m = a->n ? a->n : 1;
    const tp_archive_entry **bases = malloc(m * sizeof *bases);
    const char **names = malloc(m * sizeof *names);
    uint32_t *ndims = malloc(m * sizeof *ndims);
    uint8_t *want = malloc((size_t)early_size);
    size_t r = bases && names && ndims && want ? 0 : tp_fail(TP_ERR_NOMEM, "early index");
    size_t meta_len = a->metadata ? strlen(a->metadata) : 0;
    for (size_t k = 0; k < a->n && !tp_is_error(r); k++) {
        bases[k] = &a->entries[a->tensors[k].layer[0]];
        names[k] = bases[k]->name;
        ndims[k] = bases[k]->ndim;
    }
    if (!tp_is_error(r) && tpz_early_bytes(a->n, names, ndims, meta_len) != early_size)
        r = tp_fail(TP_ERR_CORRUPT, "the early index does not list the archive's tensors");
    if (!tp_is_error(r)) {
        tpz_put_early(want, (size_t)early_size, bases, a->n, a->metadata, meta_len);
        if (memcmp(want, a->map + TPZ_HEADER_SIZE, (size_t)early_size))
            r = tp_fail(TP_ERR_CORRUPT, "the early index disagrees with the archive index");
    }
    free(bases);
    free(names);
    free(ndims);
    free(want);
    return r;
}

static size_t parse_index(tp_archive *a, const uint8_t *idx, size_t isz, uint64_t data_end, unsigned version,
                          uint64_t early_size)
{
    tp_reader r = tp_reader_init(idx, isz);
    uint32_t n = tp_read_u32(&r), meta_len = tp_read_u32(&r);
    if (!r.ok) return tp_fail(TP_ERR_CORRUPT, "archive index too short");
    if (version == TPZ_VERSION_1 && meta_len) return tp_fail(TP_ERR_CORRUPT, "reserved index bits set");
    const uint8_t *meta = tp_read_bytes(&r, meta_len);
    if (!r.ok) return tp_fail(TP_ERR_CORRUPT, "archive metadata runs past the index");
    TP_TRY(copy_metadata(a, meta, meta_len));
    if (n > r.left / TPZ_ENTRY_MIN) return tp_fail(TP_ERR_CORRUPT, "archive index claims %u entries", n);
    TP_TRY(alloc_tables(a, n, r.left + 2 * (size_t)n + 1));
    char *s = a->strings;
    uint64_t prev_end = TPZ_HEADER_SIZE + early_size;
    for (uint32_t i = 0; i < n; i++) {
        tp_archive_entry *e = &a->entries[i];
        const uint8_t *name, *spec;
        uint16_t nl, sl;
        TP_TRY(tpz_read_entry(&r, i, e, &name, &nl, &spec, &sl));
        if (version == TPZ_VERSION_1 && e->layer) return tp_fail(TP_ERR_CORRUPT, "entry %u has a bad descriptor", i);
        if (e->layer >= TP_ARCHIVE_MAX_LAYERS) return tp_fail(TP_ERR_CORRUPT, "entry %u is layer %u", i, e->layer);
        if (e->offset % TPZ_ALIGN || e->offset < prev_end || e->frame_size > data_end ||
            e->offset > data_end - e->frame_size)
            return tp_fail(TP_ERR_CORRUPT, "entry %u points outside the frame area", i);
        if (!all_zero(a->map + prev_end, (size_t)(e->offset - prev_end)))
            return tp_fail(TP_ERR_CORRUPT, "padding before entry %u is not zero", i);
        prev_end = e->offset + e->frame_size;
        e->name = put_string(&s, name, nl);
        e->spec = put_string(&s, spec, sl);
    }
    if (r.left) return tp_fail(TP_ERR_CORRUPT, "archive index has %zu trailing bytes", r.left);
    if (!all_zero(a->map + prev_end, (size_t)(data_end - prev_end)))
        return tp_fail(TP_ERR_CORRUPT, "padding before the archive index is not zero");
    a->n_entries = n;
    TP_TRY(link_layers(a));
    return early_size ? check_early_copy(a, early_size) : 0;
}

/* The file header: the version, and the early index size of version 2. */
static size_t read_header(const tp_archive *a, unsigned *version, uint64_t *early_size)
{
    if (a->size < TPZ_HEADER_SIZE) return tp_fail(TP_ERR_TRUNCATED, "file too short for a .tpz archive");
    const uint8_t *h = a->map;
    if (tp_get_u32(h) != TPZ_MAGIC) return tp_fail(TP_ERR_CORRUPT, "not a .tpz archive (bad magic)");
    *version = tp_get_u16(h + 4);
    if (*version != TPZ_VERSION_1 && *version != TPZ_VERSION_2) return tp_fail(TP_ERR_VERSION, "archive version %u", *version);
    *early_size = *version == TPZ_VERSION_2 ? tp_get_u64(h + 8) : 0;
    for (int i = 6; i < TPZ_HEADER_SIZE; i++)
        if (h[i] && !(*version == TPZ_VERSION_2 && i >= 8 && i < 16))
            return tp_fail(TP_ERR_CORRUPT, "reserved archive header bytes set");
    if (*early_size && (*early_size < 16 || *early_size > UINT64_MAX / 2))
        return tp_fail(TP_ERR_CORRUPT, "early index size %llu is invalid", (unsigned long long)*early_size);
    return 0;
}

static size_t open_mapped(tp_archive *a)
{
    unsigned version;
    uint64_t early;
    TP_TRY(read_header(a, &version, &early));
    if (a->size < TPZ_HEADER_SIZE + TPZ_FOOTER_SIZE) return tp_fail(TP_ERR_TRUNCATED, "file too short for a .tpz archive");
    const uint8_t *f = a->map + a->size - TPZ_FOOTER_SIZE;
    if (tp_get_u32(f + 24) != TPZ_FOOTER_MAGIC)
        return tp_fail(TP_ERR_TRUNCATED, early ? "archive footer missing (truncated or unfinished file; the complete base layers "
                                                 "of this streaming archive can be read as a partial file)"
                                               : "archive footer missing (truncated or unfinished file)");
    if (tp_get_u16(f + 28) != version || tp_get_u16(f + 30)) return tp_fail(TP_ERR_CORRUPT, "bad archive footer");
    uint64_t ioff = tp_get_u64(f), isz = tp_get_u64(f + 8);
    uint64_t limit = a->size - TPZ_FOOTER_SIZE;
    if (ioff < TPZ_HEADER_SIZE || ioff > limit || isz != limit - ioff)
        return tp_fail(TP_ERR_CORRUPT, "archive index position is invalid");
    if (early > ioff - TPZ_HEADER_SIZE) return tp_fail(TP_ERR_CORRUPT, "early index runs into the archive index");
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let fuzzers reach the index parser */
    if (tp_hash64(a->map + ioff, (size_t)isz) != tp_get_u64(f + 16))
        return tp_fail(TP_ERR_CHECKSUM, "archive index checksum mismatch");
    if (early && tp_hash64(a->map + TPZ_HEADER_SIZE, (size_t)early - 8) != tp_get_u64(a->map + TPZ_HEADER_SIZE + early - 8))
        return tp_fail(TP_ERR_CHECKSUM, "early index checksum mismatch");
#endif
    return parse_index(a, a->map + ioff, (size_t)isz, ioff, version, early);
}

/* A cut streaming archive, from its early index alone (docs/FORMAT.md 3.7). */
static size_t open_early(tp_archive *a, uint64_t early)
{
    if (early > a->size - TPZ_HEADER_SIZE) return tp_fail(TP_ERR_TRUNCATED, "the early index is not complete in the file yet");
    const uint8_t *p = a->map + TPZ_HEADER_SIZE;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (tp_hash64(p, (size_t)early - 8) != tp_get_u64(p + early - 8))
        return tp_fail(TP_ERR_CHECKSUM, "early index checksum mismatch");
#endif
    tp_reader r = tp_reader_init(p, (size_t)early - 8);
    uint32_t n = tp_read_u32(&r), meta_len = tp_read_u32(&r);
    const uint8_t *meta = tp_read_bytes(&r, meta_len);
    if (!r.ok) return tp_fail(TP_ERR_CORRUPT, "early index too short");
    TP_TRY(copy_metadata(a, meta, meta_len));
    if (n > r.left / TPZ_EARLY_ENTRY_MIN) return tp_fail(TP_ERR_CORRUPT, "early index claims %u entries", n);
    TP_TRY(alloc_tables(a, n, r.left + (size_t)n * (sizeof(((tp_frame_info *)0)->spec) + 1) + 1));
    char *s = a->strings;
    uint64_t prev_end = TPZ_HEADER_SIZE + early;
    for (uint32_t i = 0; i < n; i++) {
        tp_archive_entry *e = &a->entries[i];
        const uint8_t *name;
        uint16_t nl;
        TP_TRY(tpz_read_early_entry(&r, i, e, &name, &nl));
        if (e->offset % TPZ_ALIGN || e->offset < prev_end || e->frame_size > UINT64_MAX / 2 ||
            e->offset > UINT64_MAX / 2)
            return tp_fail(TP_ERR_CORRUPT, "early index entry %u has an impossible position", i);
        /* The padding before a frame is checked as far as the file goes. */
        uint64_t pad_end = e->offset < a->size ? e->offset : a->size;
        if (prev_end < pad_end && !all_zero(a->map + prev_end, (size_t)(pad_end - prev_end)))
            return tp_fail(TP_ERR_CORRUPT, "padding before entry %u is not zero", i);
        prev_end = e->offset + e->frame_size;
        e->name = put_string(&s, name, nl);
        a->tensors[i].layer[0] = i;
        if (e->offset + e->frame_size > a->size) {
            e->spec = put_string(&s, NULL, 0);
            continue;
        }
        tp_frame_info info;
        TP_TRY(tp_frame_inspect(a->map + e->offset, (size_t)e->frame_size, &info));
        if (info.frame_size != e->frame_size || info.dtype != e->dtype || info.ndim != e->ndim ||
            memcmp(info.shape, e->shape, sizeof(uint64_t) * e->ndim))
            return tp_fail(TP_ERR_CORRUPT, "tensor '%s': frame disagrees with the early index", e->name);
        e->spec = put_string(&s, (const uint8_t *)info.spec, strlen(info.spec));
        a->tensors[i].available = 1;
    }
    if (r.left) return tp_fail(TP_ERR_CORRUPT, "early index has %zu trailing bytes", r.left);
    a->n_entries = a->n = n;
    a->partial = 1;
    return index_names(a);
}

static size_t open_path(const char *path, tp_archive **out, int partial)
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
    unsigned version;
    uint64_t early;
    if (partial && tp_error_code(r) == TP_ERR_TRUNCATED && !tp_is_error(read_header(a, &version, &early)) && early) {
        /* Only a file without a footer reads from its early index: a footer
         * that fails its checks is corruption, not a download in progress. */
        const uint8_t *f = a->map + a->size - TPZ_FOOTER_SIZE;
        if (a->size < TPZ_HEADER_SIZE + TPZ_FOOTER_SIZE || tp_get_u32(f + 24) != TPZ_FOOTER_MAGIC) {
            free_tables(a);
            r = open_early(a, early);
        }
    }
    if (tp_is_error(r)) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s", tp_last_error_detail());
        tp_archive_close(a);
        return tp_fail(tp_error_code(r), "%s: %s", path, detail);
    }
    *out = a;
    return 0;
}

size_t tp_archive_open(const char *path, tp_archive **out) { return open_path(path, out, 0); }

size_t tp_archive_open_partial(const char *path, tp_archive **out) { return open_path(path, out, 1); }

void tp_archive_close(tp_archive *a)
{
    if (!a) return;
    tp_mapped_close(&a->file);
    free_tables(a);
    free(a);
}

int tp_archive_is_partial(const tp_archive *a) { return a ? a->partial : 0; }

const char *tp_archive_metadata(const tp_archive *a) { return a ? a->metadata : NULL; }

size_t tp_archive_count(const tp_archive *a) { return a ? a->n : 0; }

const tp_archive_entry *tp_archive_entry_at(const tp_archive *a, size_t i)
{
    return a && i < a->n ? &a->entries[a->tensors[i].layer[0]] : NULL;
}

unsigned tp_archive_layer_count(const tp_archive *a, size_t i) { return a && i < a->n ? a->tensors[i].available : 0; }

const tp_archive_entry *tp_archive_layer_at(const tp_archive *a, size_t i, unsigned layer)
{
    if (!a || i >= a->n || layer >= a->tensors[i].available) return NULL;
    return &a->entries[a->tensors[i].layer[layer]];
}

size_t tp_archive_find(const tp_archive *a, const char *name)
{
    if (!a || !name) return tp_fail(TP_ERR_ARG, "NULL argument");
    size_t i = tensor_of(a, name);
    return i != (size_t)-1 ? i : tp_fail(TP_ERR_NOT_FOUND, "no tensor named '%s'", name);
}

size_t tp_archive_layer_frame(const tp_archive *a, size_t i, unsigned layer, const void **frame)
{
    if (!a || !frame || i >= a->n) return tp_fail(TP_ERR_ARG, "entry %zu out of range", i);
    const tp_archive_entry *e = &a->entries[a->tensors[i].layer[0]];
    if (layer >= a->tensors[i].available) {
        if (a->partial && (layer == 0 || layer < e->n_layers))
            return tp_fail(TP_ERR_TRUNCATED, "tensor '%s': layer %u is not in the partial file", e->name, layer);
        return tp_fail(TP_ERR_ARG, "tensor '%s' has no layer %u", e->name, layer);
    }
    e = &a->entries[a->tensors[i].layer[layer]];
    *frame = a->map + e->offset;
    return (size_t)e->frame_size;
}

size_t tp_archive_frame(const tp_archive *a, size_t i, const void **frame) { return tp_archive_layer_frame(a, i, 0, frame); }

/* The frame of layer `layer` of tensor i, checked against its entry before
 * anything decodes it (the decode verifies the checksum). */
static size_t checked_frame(const tp_archive *a, size_t i, unsigned layer, const void **frame)
{
    size_t n = tp_archive_layer_frame(a, i, layer, frame);
    if (tp_is_error(n)) return n;
    const tp_archive_entry *e = &a->entries[a->tensors[i].layer[layer]];
    tp_frame_info info;
    TP_TRY(tp_frame_header(*frame, n, &info));
    if (info.frame_size != n || info.dtype != e->dtype || info.ndim != e->ndim ||
        memcmp(info.shape, e->shape, sizeof(uint64_t) * e->ndim))
        return tp_fail(TP_ERR_CORRUPT, "tensor '%s': frame disagrees with the archive index", e->name);
    return n;
}

size_t tp_archive_decode_layers(const tp_archive *a, size_t i, unsigned layers, void *dst, size_t cap)
{
    if (!a || i >= a->n) return tp_fail(TP_ERR_ARG, "entry %zu out of range", i);
    const tp_archive_entry *e = &a->entries[a->tensors[i].layer[0]];
    unsigned have = a->tensors[i].available;
    unsigned k = layers == 0 || layers > have ? have : layers;
    const void *frame;
    size_t n = checked_frame(a, i, 0, &frame);
    if (tp_is_error(n)) return n;
    if (k <= 1) return tp_frame_decode(frame, n, dst, cap);
    if (cap < e->raw_size) return tp_fail(TP_ERR_DST_TOO_SMALL, "tensor '%s' needs %llu bytes", e->name, (unsigned long long)e->raw_size);
    /* The sums run on aligned values: the caller's buffer when it is
     * aligned, else a copy. */
    size_t raw = (size_t)e->raw_size, numel = raw / tp_dtype_size(e->dtype);
    int aligned = (uintptr_t)dst % tp_dtype_size(e->dtype) == 0 && (uintptr_t)dst % sizeof(float) == 0;
    void *out = aligned ? dst : malloc(raw ? raw : 1);
    float *acc = out && e->dtype == TP_F32 ? out : malloc(numel ? numel * sizeof(float) : 1);
    float *tmp = malloc(numel ? numel * sizeof(float) : 1);
    size_t r = out && acc && tmp ? 0 : tp_fail(TP_ERR_NOMEM, "tensor '%s': layer sums of %zu values", e->name, numel);
    if (!tp_is_error(r)) r = tp_frame_decode(frame, n, out, raw);
    if (!tp_is_error(r)) r = tp_layers_start(acc, out, e->dtype, numel);
    for (unsigned l = 1; l < k && !tp_is_error(r); l++) {
        n = checked_frame(a, i, l, &frame);
        r = tp_is_error(n) ? n : tp_layers_add(acc, tmp, frame, n, numel);
    }
    if (!tp_is_error(r)) r = tp_layers_finish(out, e->dtype, acc, numel);
    if (!tp_is_error(r) && out != dst) memcpy(dst, out, raw);
    if (acc != out) free(acc);
    if (out != dst) free(out);
    free(tmp);
    return tp_is_error(r) ? r : raw;
}

size_t tp_archive_decode(const tp_archive *a, size_t i, void *dst, size_t cap)
{
    return tp_archive_decode_layers(a, i, 0, dst, cap);
}
