/* The one table of codecs. Ids are pinned: they are written into frames.
 * Append new codecs at the end with the next id; never reuse an id — a
 * retired codec stays here as a comment with its id. */
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"

static const tp_codec *const registry[] = {
    &tp_codec_int,  /* id 1 */
    &tp_codec_fp16, /* id 2 */
    &tp_codec_bf16, /* id 3 */
    &tp_codec_zstd, /* id 4 */
    &tp_codec_lossless, /* id 5 */
    &tp_codec_kmeans, /* id 6 */
    &tp_codec_nf,     /* id 7 */
    &tp_codec_log,    /* id 8 */
    &tp_codec_fp8,    /* id 9 */
    &tp_codec_ternary, /* id 10 */
    &tp_codec_kq,      /* id 11 */
    &tp_codec_vq,     /* id 12 */
    &tp_codec_seedlm, /* id 13 */
    &tp_codec_dct2d, /* id 14 */
    &tp_codec_tokdct, /* id 15 */
    &tp_codec_svd,  /* id 16 */
    &tp_codec_pca,  /* id 17 */
    &tp_codec_sparse, /* id 18 */
    &tp_codec_sparsecode, /* id 19 */
    &tp_codec_autoenc, /* id 20 */
};

#define REGISTRY_SIZE (sizeof registry / sizeof registry[0])

size_t tp_codec_count(void) { return REGISTRY_SIZE; }

const tp_codec_info *tp_codec_at(size_t i) { return i < REGISTRY_SIZE ? &registry[i]->info : NULL; }

const tp_codec *tp_codec_by_id(uint16_t id)
{
    for (size_t i = 0; i < REGISTRY_SIZE; i++)
        if (registry[i]->info.id == id) return registry[i];
    return NULL;
}

const tp_codec *tp_codec_by_name(const char *name)
{
    for (size_t i = 0; i < REGISTRY_SIZE; i++)
        if (!strcmp(registry[i]->info.name, name)) return registry[i];
    return NULL;
}

const tp_codec_info *tp_codec_find(const char *name)
{
    if (!name) return NULL;
    const tp_codec *c = tp_codec_by_name(name);
    if (!c) {
        char *end;
        unsigned long id = strtoul(name, &end, 10);
        if (*name && !*end && id <= 0xffff) c = tp_codec_by_id((uint16_t)id);
    }
    return c ? &c->info : NULL;
}
