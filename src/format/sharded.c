/* A Hugging Face model as a directory: which file to open in it, and a
 * sharded model (an index and its .safetensors shards) as one set of
 * tensors. Every shard is mapped for as long as the handle lives, so the
 * views point into the shards as they do into a single file. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/tensor_file.h"

#define INDEX_NAME "model.safetensors.index.json"

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

size_t tp_model_dir_file(const char *dir, char **path)
{
    *path = NULL;
    DIR *d = opendir(dir);
    if (!d) return tp_fail(TP_ERR_IO, "cannot list the directory %s", dir);
    int index = 0;
    size_t n_st = 0;
    char one[256] = "";
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, INDEX_NAME)) index = 1;
        else if (has_suffix(e->d_name, ".safetensors") && n_st++ == 0) snprintf(one, sizeof one, "%s", e->d_name);
    }
    closedir(d);
    if (!index && n_st == 0)
        return tp_fail(TP_ERR_NOT_FOUND, "%s holds no " INDEX_NAME " and no .safetensors file", dir);
    if (!index && n_st > 1)
        return tp_fail(TP_ERR_ARG, "%s holds %zu .safetensors files and no " INDEX_NAME ": name one", dir, n_st);
    *path = join(dir, index ? INDEX_NAME : one);
    return *path ? 0 : tp_fail(TP_ERR_NOMEM, "path");
}

/* The directory part of path ("." when it has none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    char *d = malloc(len + 1);
    if (!d) return NULL;
    memcpy(d, path, len);
    d[len] = 0;
    return d;
}

static size_t read_index(const char *index_path, tp_st_index *ix)
{
    tp_mapped_file m;
    TP_TRY(tp_mapped_open(&m, index_path));
    size_t r = tp_st_index_parse((const char *)m.bytes, m.size, ix);
    tp_mapped_close(&m);
    if (tp_is_error(r)) return tp_fail(tp_error_code(r), "%s: %s", index_path, tp_last_error_detail());
    return 0;
}

/* Maps and parses shard s into c->files[s] and ents[s]. */
static size_t open_shard(const char *dir, const tp_st_index *ix, size_t s, tp_tf_contents *c, tp_tf_entry **ents,
                         size_t *counts)
{
    char *path = join(dir, ix->shards[s]);
    if (!path) return tp_fail(TP_ERR_NOMEM, "path");
    size_t r = tp_mapped_open(&c->files[s], path);
    if (tp_is_error(r))
        r = tp_fail(tp_error_code(r), "shard %s named by the index: %s", ix->shards[s], tp_last_error_detail());
    else {
        c->n_files = s + 1;
        r = tp_safetensors_parse(c->files[s].bytes, c->files[s].size, &ents[s], NULL);
        if (tp_is_error(r)) r = tp_fail(tp_error_code(r), "shard %s: %s", path, tp_last_error_detail());
        else counts[s] = r;
    }
    free(path);
    return tp_is_error(r) ? r : 0;
}

/* Every shard tensor is an index entry that names that shard, and every
 * index entry was found. owner[j] is 1 + the shard where entry j was seen. */
static size_t match(const tp_st_index *ix, tp_tf_entry **ents, const size_t *counts, size_t *owner)
{
    for (size_t s = 0; s < ix->n_shards; s++)
        for (size_t k = 0; k < counts[s]; k++) {
            tp_st_index_entry key = {.name = ents[s][k].name};
            const tp_st_index_entry *x = bsearch(&key, ix->entries, ix->n, sizeof key, tp_st_index_entry_cmp);
            if (!x)
                return tp_fail(TP_ERR_CORRUPT, "shard %s holds tensor '%.200s', which the index does not list",
                               ix->shards[s], key.name);
            size_t j = (size_t)(x - ix->entries);
            if (owner[j])
                return tp_fail(TP_ERR_CORRUPT, "tensor '%.200s' is in two shards, %s and %s", key.name,
                               ix->shards[owner[j] - 1], ix->shards[s]);
            owner[j] = s + 1;
        }
    for (size_t j = 0; j < ix->n; j++) {
        const tp_st_index_entry *x = &ix->entries[j];
        if (!owner[j])
            return tp_fail(TP_ERR_CORRUPT, "tensor '%.200s' is not in shard %s, where the index puts it", x->name,
                           ix->shards[x->shard]);
        if (owner[j] - 1 != x->shard)
            return tp_fail(TP_ERR_CORRUPT, "the index puts tensor '%.200s' in shard %s, but it is in %s", x->name,
                           ix->shards[x->shard], ix->shards[owner[j] - 1]);
    }
    return 0;
}

/* The shards' tables, one after another, into c->entries (the names move). */
static size_t concat(const tp_st_index *ix, tp_tf_entry **ents, const size_t *counts, tp_tf_contents *c)
{
    c->entries = calloc(ix->n ? ix->n : 1, sizeof *c->entries);
    if (!c->entries) return tp_fail(TP_ERR_NOMEM, "table of %zu tensors", ix->n);
    for (size_t s = 0; s < ix->n_shards; s++) {
        memcpy(c->entries + c->n, ents[s], counts[s] * sizeof *ents[s]);
        c->n += counts[s];
        free(ents[s]);
        ents[s] = NULL;
    }
    return 0;
}

size_t tp_sharded_open(const char *index_path, tp_tf_contents *c)
{
    memset(c, 0, sizeof *c);
    tp_st_index ix;
    TP_TRY(read_index(index_path, &ix));
    char *dir = dir_of(index_path);
    size_t m = ix.n_shards ? ix.n_shards : 1;
    tp_tf_entry **ents = calloc(m, sizeof *ents);
    size_t *counts = calloc(m, sizeof *counts), *owner = calloc(ix.n ? ix.n : 1, sizeof *owner);
    c->files = calloc(m, sizeof *c->files);
    size_t r = dir && ents && counts && owner && c->files ? 0 : tp_fail(TP_ERR_NOMEM, "shard tables");
    for (size_t s = 0; !tp_is_error(r) && s < ix.n_shards; s++) r = open_shard(dir, &ix, s, c, ents, counts);
    if (!tp_is_error(r)) r = match(&ix, ents, counts, owner);
    if (!tp_is_error(r)) r = concat(&ix, ents, counts, c);
    if (!tp_is_error(r)) {
        c->metadata = ix.metadata;
        ix.metadata = NULL;
    }
    for (size_t s = 0; ents && s < ix.n_shards; s++) tp_tf_entries_free(ents[s], counts[s]);
    free(ents);
    free(counts);
    free(owner);
    free(dir);
    tp_st_index_free(&ix);
    if (tp_is_error(r)) tp_tf_contents_free(c);
    return r;
}
