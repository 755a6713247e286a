/* Helpers shared by the fuzz targets. */
#ifndef TP_FUZZ_UTIL_H
#define TP_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_path[64];

static void fuzz_cleanup(void) { unlink(fuzz_path); }

/* Writes the input to this process's temp file (one per process, with the
 * given suffix, rewritten for every input) and returns its path: the file
 * APIs read paths. */
static const char *fuzz_write_temp(const uint8_t *data, size_t size, const char *suffix)
{
    if (!fuzz_path[0]) {
        snprintf(fuzz_path, sizeof fuzz_path, "/tmp/tp_fuzz_XXXXXX%s", suffix);
        int fd = mkstemps(fuzz_path, (int)strlen(suffix));
        if (fd < 0) abort();
        close(fd);
        atexit(fuzz_cleanup);
    }
    FILE *f = fopen(fuzz_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    return fuzz_path;
}

#endif
