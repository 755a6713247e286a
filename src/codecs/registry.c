/* The codec table, generated from codec_list.h. */
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"

/* List order: the order of tp_codec_at(). */
static const tp_codec *const registry[] = {
#define TP_CODEC(id, name) &tp_codec_##name,
#include "codecs/codec_list.h"
};

/* Indexed by id, NULL for ids without a codec. Two rows with one id
 * initialise the same element, which -Woverride-init (-Wextra) rejects. */
static const tp_codec *const by_id[] = {
#define TP_CODEC(id, name) [id] = &tp_codec_##name,
#include "codecs/codec_list.h"
};

#define REGISTRY_SIZE (sizeof registry / sizeof registry[0])
#define BY_ID_SIZE (sizeof by_id / sizeof by_id[0])

size_t tp_codec_count(void) { return REGISTRY_SIZE; }

const tp_codec_info *tp_codec_at(size_t i) { return i < REGISTRY_SIZE ? &registry[i]->info : NULL; }

const tp_codec *tp_codec_by_id(uint16_t id) { return id < BY_ID_SIZE ? by_id[id] : NULL; }

/* A scan: called once per stage at parse time, over a few dozen names. */
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
