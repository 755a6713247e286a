#include "format/whole_file.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"

size_t tp_read_whole_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return tp_fail(TP_ERR_IO, "cannot open %s", path);
    size_t cap = 1 << 16, n = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!b) return tp_fail(TP_ERR_NOMEM, "%s", path);
    if (err) { free(b); return tp_fail(TP_ERR_IO, "cannot read %s", path); }
    *buf = b;
    *len = n;
    return 0;
}
