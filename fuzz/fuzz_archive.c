/* Archive reader fuzz target: the input becomes a .tpz file, which is
 * opened through the partial reader (a complete file reads as by
 * tp_archive_open; a cut streaming archive from its early index), its index
 * and layers walked, and every tensor decoded from each number of layers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpress.h"

#define MAX_DECODED (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_temp(data, size, ".tpz");
    tp_archive *a;
    if (tp_is_error(tp_archive_open_partial(path, &a))) return 0;
    const char *meta = tp_archive_metadata(a);
    if (meta && !*meta) abort(); /* metadata is absent or non-empty */
    for (size_t i = 0; i < tp_archive_count(a); i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        unsigned have = tp_archive_layer_count(a, i);
        /* the reader promises non-empty names, and layers within the count */
        if (strlen(e->name) == 0 || e->layer != 0 || have > e->n_layers || e->n_layers > TP_ARCHIVE_MAX_LAYERS) abort();
        if (tp_archive_is_partial(a) && have > 1) abort();
        for (unsigned k = 0; k < have; k++) {
            const tp_archive_entry *l = tp_archive_layer_at(a, i, k);
            if (!l || l->layer != k || strcmp(l->name, e->name)) abort();
        }
        if (tp_archive_layer_at(a, i, have)) abort();
        if (e->raw_size > MAX_DECODED) continue;
        void *buf = malloc(e->raw_size ? (size_t)e->raw_size : 1);
        for (unsigned k = 1; buf && k <= (have ? have : 1); k++) tp_archive_decode_layers(a, i, k, buf, (size_t)e->raw_size);
        free(buf);
    }
    tp_archive_close(a);
    return 0;
}
