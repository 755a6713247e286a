/* Archive reader fuzz target: the input becomes a .tpz file, which is
 * opened, its index walked, and every entry decoded. */
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
    if (tp_is_error(tp_archive_open(path, &a))) return 0;
    for (size_t i = 0; i < tp_archive_count(a); i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        if (strlen(e->name) == 0) abort(); /* the reader promises non-empty names */
        if (e->raw_size > MAX_DECODED) continue;
        void *buf = malloc(e->raw_size ? (size_t)e->raw_size : 1);
        if (buf) tp_archive_decode(a, i, buf, (size_t)e->raw_size);
        free(buf);
    }
    tp_archive_close(a);
    return 0;
}
