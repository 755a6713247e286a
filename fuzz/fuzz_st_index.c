/* libFuzzer target: a sharded model's index (tp_st_index_parse on the
 * input bytes). Whatever it accepts keeps its promises: shard paths sorted,
 * distinct and inside the directory; names sorted and distinct; every
 * entry's shard in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/tensor_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int escapes(const char *p)
{
    if (!*p || *p == '/') return 1;
    for (const char *c = p; (c = strstr(c, "..")); c += 2)
        if ((c == p || c[-1] == '/') && (c[2] == 0 || c[2] == '/')) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_st_index ix;
    if (tp_is_error(tp_st_index_parse((const char *)data, size, &ix))) {
        if (ix.n || ix.n_shards || ix.entries || ix.shards || ix.metadata) abort();
        return 0;
    }
    for (size_t i = 0; i < ix.n_shards; i++) {
        if (escapes(ix.shards[i])) abort();
        if (i && strcmp(ix.shards[i - 1], ix.shards[i]) >= 0) abort();
    }
    for (size_t i = 0; i < ix.n; i++) {
        if (ix.entries[i].shard >= ix.n_shards) abort();
        if (i && strcmp(ix.entries[i - 1].name, ix.entries[i].name) >= 0) abort();
    }
    if (ix.metadata && ix.metadata[0] != '{') abort();
    tp_st_index_free(&ix);
    return 0;
}
