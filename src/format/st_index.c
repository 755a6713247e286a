/* The index of a sharded safetensors model (model.safetensors.index.json,
 * as Hugging Face writes it): which shard file holds each tensor, and the
 * model's metadata. Only the text is parsed here; sharded.c opens the
 * shards. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "format/tensor_file.h"

/* The safetensors header limit: an index lists names and file names only,
 * so a larger one is not an index. */
#define INDEX_MAX 100000000u

void tp_st_index_free(tp_st_index *ix)
{
    if (!ix) return;
    for (size_t i = 0; i < ix->n_shards; i++) free(ix->shards[i]);
    free(ix->shards);
    for (size_t i = 0; i < ix->n; i++) free(ix->entries[i].name);
    free(ix->entries);
    free(ix->metadata);
    memset(ix, 0, sizeof *ix);
}

/* A shard path stays inside the index's directory: relative, and no ".."
 * component. (A symbolic link inside the directory may still point out;
 * following links is the file system's business, as for any path.) */
static int shard_path_ok(const char *p)
{
    if (!*p || *p == '/') return 0;
    for (const char *c = p; *c;) {
        size_t len = strcspn(c, "/");
        if (len == 2 && c[0] == '.' && c[1] == '.') return 0;
        c += len;
        if (*c == '/') c++;
    }
    return 1;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int tp_st_index_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const tp_st_index_entry *)a)->name, ((const tp_st_index_entry *)b)->name);
}

/* The distinct shard paths of the weight_map, sorted. */
static size_t collect_shards(const cJSON *map, size_t n, tp_st_index *ix)
{
    ix->shards = calloc(n ? n : 1, sizeof *ix->shards);
    if (!ix->shards) return tp_fail(TP_ERR_NOMEM, "index of %zu tensors", n);
    for (const cJSON *e = map->child; e; e = e->next) {
        if (!cJSON_IsString(e))
            return tp_fail(TP_ERR_CORRUPT, "index: weight_map entry '%.200s' is not a file name", e->string);
        if (!shard_path_ok(e->valuestring))
            return tp_fail(TP_ERR_CORRUPT, "index: shard path '%.200s' of tensor '%.200s' leaves the model's directory",
                           e->valuestring, e->string);
        ix->shards[ix->n_shards] = strdup(e->valuestring);
        if (!ix->shards[ix->n_shards]) return tp_fail(TP_ERR_NOMEM, "shard path");
        ix->n_shards++;
    }
    qsort(ix->shards, ix->n_shards, sizeof *ix->shards, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < ix->n_shards; i++) {
        if (k && !strcmp(ix->shards[k - 1], ix->shards[i])) free(ix->shards[i]);
        else ix->shards[k++] = ix->shards[i];
    }
    ix->n_shards = k;
    return 0;
}

static size_t collect_entries(const cJSON *map, size_t n, tp_st_index *ix)
{
    ix->entries = calloc(n ? n : 1, sizeof *ix->entries);
    if (!ix->entries) return tp_fail(TP_ERR_NOMEM, "index of %zu tensors", n);
    for (const cJSON *e = map->child; e; e = e->next) {
        tp_st_index_entry *x = &ix->entries[ix->n];
        if (!(x->name = strdup(e->string))) return tp_fail(TP_ERR_NOMEM, "tensor name");
        ix->n++;
        const char *shard = e->valuestring;
        char **at = bsearch(&shard, ix->shards, ix->n_shards, sizeof *ix->shards, cmp_str);
        x->shard = (size_t)(at - ix->shards); /* collect_shards put every value there */
    }
    qsort(ix->entries, ix->n, sizeof *ix->entries, tp_st_index_entry_cmp);
    for (size_t i = 1; i < ix->n; i++)
        if (!strcmp(ix->entries[i - 1].name, ix->entries[i].name))
            return tp_fail(TP_ERR_CORRUPT, "index: tensor '%.200s' is in the weight_map twice", ix->entries[i].name);
    return 0;
}

static size_t parse_root(const cJSON *root, tp_st_index *ix)
{
    if (!cJSON_IsObject(root)) return tp_fail(TP_ERR_CORRUPT, "index is not a JSON object");
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (!cJSON_IsObject(map)) return tp_fail(TP_ERR_CORRUPT, "index has no weight_map object");
    if (meta && !cJSON_IsNull(meta)) {
        if (!cJSON_IsObject(meta)) return tp_fail(TP_ERR_CORRUPT, "index: metadata is not a JSON object");
        if (!(ix->metadata = tp_tf_json_text(meta))) return tp_fail(TP_ERR_NOMEM, "index metadata");
    }
    size_t n = (size_t)cJSON_GetArraySize(map);
    TP_TRY(collect_shards(map, n, ix));
    return collect_entries(map, n, ix);
}

size_t tp_st_index_parse(const char *text, size_t len, tp_st_index *ix)
{
    if (!ix || (!text && len)) return tp_fail(TP_ERR_ARG, "NULL index text or output");
    memset(ix, 0, sizeof *ix);
    if (len > INDEX_MAX) return tp_fail(TP_ERR_CORRUPT, "index of %zu bytes exceeds the 100 MB limit (not an index?)", len);
    /* cJSON wants a NUL; a NUL inside the text ends it early, and the
     * trailing-bytes check below then refuses it. */
    char *buf = malloc(len + 1);
    if (!buf) return tp_fail(TP_ERR_NOMEM, "index of %zu bytes", len);
    if (len) memcpy(buf, text, len);
    buf[len] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    size_t at = end ? (size_t)(end - buf) : 0;
    size_t r = 0;
    if (!root) r = tp_fail(TP_ERR_CORRUPT, "index is not valid JSON (near byte %zu)", at);
    for (size_t i = at; root && !r && i < len; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
            r = tp_fail(TP_ERR_CORRUPT, "index has bytes after its JSON (at byte %zu)", i);
    free(buf);
    if (!r) r = parse_root(root, ix);
    cJSON_Delete(root);
    if (tp_is_error(r)) tp_st_index_free(ix);
    return r;
}
