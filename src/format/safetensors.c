/* .safetensors headers: u64 LE header length N, N bytes of UTF-8 JSON
 *   {"__metadata__": {...}, "name": {"dtype": "F32", "shape": [3, 5],
 *    "data_offsets": [begin, end]}, ...}
 * then the data; offsets count from the byte after the header. Checks
 * follow the reference implementation (huggingface/safetensors), except
 * that gaps between tensors are allowed: only overlaps are refused. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/utf8.h"
#include "format/tensor_file.h"

#define ST_HEADER_MAX 100000000u  /* the reference's MAX_HEADER_SIZE       */
#define ST_JSON_INT_MAX (1ull << 53) /* larger JSON numbers lose precision */

static const char *const st_names[TP_DTYPE__MAX] = {
    [TP_F32] = "F32", [TP_F16] = "F16", [TP_BF16] = "BF16", [TP_F64] = "F64", [TP_I8] = "I8",
    [TP_U8] = "U8",   [TP_I16] = "I16", [TP_U16] = "U16",   [TP_I32] = "I32", [TP_U32] = "U32",
    [TP_I64] = "I64", [TP_U64] = "U64", [TP_BOOL] = "BOOL",
};

static tp_dtype st_dtype(const char *s)
{
    for (int i = 1; i < TP_DTYPE__MAX; i++)
        if (!strcmp(s, st_names[i])) return (tp_dtype)i;
    return TP_DTYPE_INVALID;
}

void tp_tf_entries_free(tp_tf_entry *e, size_t n)
{
    if (!e) return;
    for (size_t i = 0; i < n; i++) free(e[i].name);
    free(e);
}

char *tp_tf_json_text(const cJSON *v)
{
    char *printed = cJSON_PrintUnformatted(v);
    char *text = printed ? strdup(printed) : NULL;
    cJSON_free(printed);
    return text;
}

/* ---- parsing ------------------------------------------------------------ */

/* A JSON number that is an exact non-negative integer. */
static int json_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= (double)ST_JSON_INT_MAX)) return 0;
    uint64_t u = (uint64_t)d;
    if ((double)u != d) return 0;
    *out = u;
    return 1;
}

static size_t parse_shape(const char *name, const cJSON *a, tp_tensor *t)
{
    if (!cJSON_IsArray(a)) return tp_fail(TP_ERR_CORRUPT, "tensor '%s': shape is not an array", name);
    t->ndim = 0;
    for (const cJSON *d = a->child; d; d = d->next) {
        if (t->ndim == TP_MAX_DIMS)
            return tp_fail(TP_ERR_SHAPE, "tensor '%s': more than %d dimensions", name, TP_MAX_DIMS);
        if (!json_u64(d, &t->shape[t->ndim]))
            return tp_fail(TP_ERR_SHAPE, "tensor '%s': dimension %u is not a non-negative integer below 2^53", name,
                           t->ndim);
        t->ndim++;
    }
    return 0;
}

static size_t parse_offsets(const char *name, const cJSON *a, uint64_t *begin, uint64_t *end)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 2 || !json_u64(a->child, begin) ||
        !json_u64(a->child->next, end))
        return tp_fail(TP_ERR_CORRUPT, "tensor '%s': data_offsets is not [begin, end] of non-negative integers", name);
    return 0;
}

typedef struct {
    uint64_t begin, end;
} range;

/* One tensor entry; the view's data is set from the offsets by the caller. */
static size_t parse_entry(const cJSON *e, tp_tensor *t, range *rg)
{
    const char *name = e->string;
    if (!cJSON_IsObject(e)) return tp_fail(TP_ERR_CORRUPT, "tensor '%s': entry is not a JSON object", name);
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *f = e->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype")          ? &dtype
                             : !strcmp(f->string, "shape")        ? &shape
                             : !strcmp(f->string, "data_offsets") ? &offsets
                                                                  : NULL;
        if (!slot) continue; /* unknown fields are ignored, as by the reference */
        if (*slot) return tp_fail(TP_ERR_CORRUPT, "tensor '%s': field '%s' given twice", name, f->string);
        *slot = f;
    }
    if (!dtype || !shape || !offsets)
        return tp_fail(TP_ERR_CORRUPT, "tensor '%s': needs dtype, shape and data_offsets", name);
    if (!cJSON_IsString(dtype)) return tp_fail(TP_ERR_CORRUPT, "tensor '%s': dtype is not a string", name);
    memset(t, 0, sizeof *t);
    t->dtype = st_dtype(dtype->valuestring);
    if (t->dtype == TP_DTYPE_INVALID)
        return tp_fail(TP_ERR_DTYPE, "tensor '%s': dtype %.32s is not supported", name, dtype->valuestring);
    TP_TRY(parse_shape(name, shape, t));
    TP_TRY(parse_offsets(name, offsets, &rg->begin, &rg->end));
    size_t nbytes = tp_tensor_nbytes(t);
    if (tp_is_error(nbytes)) return tp_fail(TP_ERR_SHAPE, "tensor '%s': shape is too large", name);
    if (rg->end < rg->begin) return tp_fail(TP_ERR_CORRUPT, "tensor '%s': data_offsets end before they begin", name);
    if (rg->end - rg->begin != nbytes)
        return tp_fail(TP_ERR_CORRUPT, "tensor '%s': data_offsets span %llu bytes, its shape needs %zu", name,
                       (unsigned long long)(rg->end - rg->begin), nbytes);
    return 0;
}

static size_t check_metadata(const cJSON *m)
{
    if (!cJSON_IsObject(m)) return tp_fail(TP_ERR_CORRUPT, "__metadata__ is not a JSON object");
    for (const cJSON *v = m->child; v; v = v->next)
        if (!cJSON_IsString(v)) return tp_fail(TP_ERR_CORRUPT, "__metadata__ value '%s' is not a string", v->string);
    return 0;
}

typedef struct {
    range r;
    const char *name;
} placed;

static int cmp_placed(const void *a, const void *b)
{
    const range *x = &((const placed *)a)->r, *y = &((const placed *)b)->r;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Every tensor name once; no two non-empty byte ranges share a byte. */
static size_t check_layout(placed *pl, size_t n)
{
    const char **names = malloc((n ? n : 1) * sizeof *names);
    if (!names) return tp_fail(TP_ERR_NOMEM, "name table of %zu entries", n);
    for (size_t i = 0; i < n; i++) names[i] = pl[i].name;
    qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(names[i - 1], names[i])) {
            size_t r = tp_fail(TP_ERR_CORRUPT, "tensor name '%s' appears twice", names[i]);
            free(names);
            return r;
        }
    free(names);
    qsort(pl, n, sizeof *pl, cmp_placed);
    uint64_t reach = 0;
    const char *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (pl[i].r.begin == pl[i].r.end) continue;
        if (last && pl[i].r.begin < reach)
            return tp_fail(TP_ERR_CORRUPT, "tensors '%s' and '%s' overlap", last, pl[i].name);
        reach = pl[i].r.end;
        last = pl[i].name;
    }
    return 0;
}

static size_t parse_tensors(const cJSON *root, const uint8_t *data, size_t data_len, tp_tf_entry *ents, placed *pl,
                            const cJSON **metadata)
{
    size_t k = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!strcmp(e->string, "__metadata__")) {
            if (*metadata) return tp_fail(TP_ERR_CORRUPT, "__metadata__ given twice");
            TP_TRY(check_metadata(e));
            *metadata = e;
            continue;
        }
        TP_TRY(parse_entry(e, &ents[k].t, &pl[k].r));
        if (pl[k].r.end > data_len)
            return tp_fail(TP_ERR_TRUNCATED, "tensor '%s': data_offsets end at %llu, past the %zu data bytes", e->string,
                           (unsigned long long)pl[k].r.end, data_len);
        ents[k].t.data = data + pl[k].r.begin;
        ents[k].name = strdup(e->string);
        if (!ents[k].name) return tp_fail(TP_ERR_NOMEM, "tensor name");
        pl[k].name = ents[k].name;
        k++;
    }
    return check_layout(pl, k);
}

static size_t parse_json(const uint8_t *h, size_t len, cJSON **root)
{
    *root = NULL;
    if (!tp_utf8_valid(h, len)) return tp_fail(TP_ERR_CORRUPT, "safetensors header is not valid UTF-8");
    char *text = malloc(len + 1);
    if (!text) return tp_fail(TP_ERR_NOMEM, "safetensors header of %zu bytes", len);
    memcpy(text, h, len);
    text[len] = 0;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t at = end ? (size_t)(end - text) : 0;
    free(text);
    if (!j) return tp_fail(TP_ERR_CORRUPT, "safetensors header is not valid JSON (near byte %zu)", at);
    for (size_t i = at; i < len; i++)
        if (h[i] != ' ' && h[i] != '\t' && h[i] != '\n' && h[i] != '\r') {
            cJSON_Delete(j);
            return tp_fail(TP_ERR_CORRUPT, "safetensors header has bytes after its JSON (at byte %zu)", i);
        }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return tp_fail(TP_ERR_CORRUPT, "safetensors header is not a JSON object");
    }
    *root = j;
    return 0;
}

size_t tp_safetensors_parse(const uint8_t *p, size_t n, tp_tf_entry **entries, char **metadata)
{
    if (!p || !entries) return tp_fail(TP_ERR_ARG, "NULL safetensors buffer or output");
    *entries = NULL;
    if (metadata) *metadata = NULL;
    tp_reader r = tp_reader_init(p, n);
    uint64_t hlen = tp_read_u64(&r);
    if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "safetensors file shorter than its 8-byte header length");
    if (hlen > ST_HEADER_MAX)
        return tp_fail(TP_ERR_CORRUPT, "safetensors header of %llu bytes exceeds the 100 MB limit (not a safetensors file?)",
                       (unsigned long long)hlen);
    const uint8_t *h = tp_read_bytes(&r, (size_t)hlen);
    if (!h)
        return tp_fail(TP_ERR_TRUNCATED, "safetensors header of %llu bytes does not fit in the %zu-byte file",
                       (unsigned long long)hlen, n);
    cJSON *root;
    TP_TRY(parse_json(h, (size_t)hlen, &root));
    size_t count = 0;
    for (const cJSON *e = root->child; e; e = e->next) count += strcmp(e->string, "__metadata__") != 0;
    tp_tf_entry *ents = calloc(count ? count : 1, sizeof *ents);
    placed *pl = calloc(count ? count : 1, sizeof *pl);
    const cJSON *meta = NULL;
    size_t res = ents && pl ? parse_tensors(root, r.p, r.left, ents, pl, &meta)
                            : tp_fail(TP_ERR_NOMEM, "table of %zu tensors", count);
    char *meta_text = NULL;
    if (!tp_is_error(res) && meta && metadata && !(meta_text = tp_tf_json_text(meta)))
        res = tp_fail(TP_ERR_NOMEM, "__metadata__ text");
    free(pl);
    cJSON_Delete(root);
    if (tp_is_error(res)) {
        tp_tf_entries_free(ents, count);
        return res;
    }
    *entries = ents;
    if (metadata) *metadata = meta_text;
    return count;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct {
    char *b;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *s, const char *p, size_t n)
{
    if (s->oom) return;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + n) cap *= 2;
        char *b = realloc(s->b, cap);
        if (!b) { s->oom = 1; return; }
        s->b = b;
        s->cap = cap;
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
}

static void sb_str(sbuf *s, const char *p) { sb_put(s, p, strlen(p)); }

static void sb_u64(sbuf *s, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    sb_put(s, tmp, (size_t)n);
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void sb_json_string(sbuf *s, const char *p)
{
    sb_put(s, "\"", 1);
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; sb_put(s, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); sb_put(s, esc, 6); }
        else sb_put(s, (const char *)&c, 1);
    }
    sb_put(s, "\"", 1);
}

static size_t check_names(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !names[i][0]) return tp_fail(TP_ERR_ARG, "tensor %zu has no name", i);
        if (!strcmp(names[i], "__metadata__")) return tp_fail(TP_ERR_ARG, "tensor name __metadata__ is reserved");
        if (!tp_utf8_valid((const uint8_t *)names[i], strlen(names[i])))
            return tp_fail(TP_ERR_ARG, "tensor %zu: name is not valid UTF-8", i);
    }
    const char **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return tp_fail(TP_ERR_NOMEM, "name table of %zu entries", n);
    if (n) memcpy(sorted, names, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_name);
    size_t r = 0;
    for (size_t i = 1; i < n && !r; i++)
        if (!strcmp(sorted[i - 1], sorted[i])) r = tp_fail(TP_ERR_ARG, "tensor name '%s' given twice", sorted[i]);
    free(sorted);
    return r;
}

/* "__metadata__":{...}, from a JSON object; safetensors allows string
 * values only, so any other value is stored as its JSON text. */
static size_t put_metadata(sbuf *s, const char *json)
{
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tp_fail(TP_ERR_ARG, "metadata is not a JSON object");
    }
    sb_str(s, "\"__metadata__\":{");
    size_t r = 0;
    for (const cJSON *e = root->child; e && !r; e = e->next) {
        if (e != root->child) sb_put(s, ",", 1);
        sb_json_string(s, e->string);
        sb_put(s, ":", 1);
        if (cJSON_IsString(e)) sb_json_string(s, e->valuestring);
        else {
            char *text = tp_tf_json_text(e);
            if (!text) r = tp_fail(TP_ERR_NOMEM, "metadata text");
            else sb_json_string(s, text);
            free(text);
        }
    }
    sb_put(s, "}", 1);
    cJSON_Delete(root);
    return r;
}

size_t tp_safetensors_header(const char *const *names, const tp_tensor *descs, size_t n, const char *metadata,
                             uint8_t **out)
{
    if (!out || (n && (!names || !descs))) return tp_fail(TP_ERR_ARG, "NULL names, descriptors or output");
    *out = NULL;
    TP_TRY(check_names(names, n));
    sbuf s = {0};
    sb_put(&s, "\0\0\0\0\0\0\0\0{", 9); /* length patched below */
    if (metadata) {
        size_t r = put_metadata(&s, metadata);
        if (tp_is_error(r)) {
            free(s.b);
            return r;
        }
        if (n) sb_put(&s, ",", 1);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nb = tp_tensor_nbytes(&descs[i]);
        if (tp_is_error(nb)) {
            free(s.b);
            return nb;
        }
        if (off > ((uint64_t)1 << 62) - nb) {
            free(s.b);
            return tp_fail(TP_ERR_SHAPE, "tensors total more than 2^62 bytes");
        }
        if (i) sb_put(&s, ",", 1);
        sb_json_string(&s, names[i]);
        sb_str(&s, ":{\"dtype\":\"");
        sb_str(&s, st_names[descs[i].dtype]);
        sb_str(&s, "\",\"shape\":[");
        for (uint32_t d = 0; d < descs[i].ndim; d++) {
            if (d) sb_put(&s, ",", 1);
            sb_u64(&s, descs[i].shape[d]);
        }
        sb_str(&s, "],\"data_offsets\":[");
        sb_u64(&s, off);
        sb_put(&s, ",", 1);
        sb_u64(&s, off + nb);
        sb_str(&s, "]}");
        off += nb;
    }
    sb_put(&s, "}", 1);
    while (!s.oom && s.len % 8) sb_put(&s, " ", 1);
    if (s.oom) {
        free(s.b);
        return tp_fail(TP_ERR_NOMEM, "safetensors header");
    }
    if (s.len - 8 > ST_HEADER_MAX) {
        free(s.b);
        return tp_fail(TP_ERR_ARG, "safetensors header would exceed the 100 MB limit (%zu tensors)", n);
    }
    tp_put_u64((uint8_t *)s.b, s.len - 8);
    *out = (uint8_t *)s.b;
    return s.len;
}
