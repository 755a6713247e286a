/* Shared body of the tensor-file fuzz targets: the input becomes a file
 * (the API reads paths), which is opened and every tensor byte read. The
 * library reads into the heap in fuzzing builds, so ASan sees stray reads. */
#ifndef TP_FUZZ_TENSOR_FILE_H
#define TP_FUZZ_TENSOR_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tpress.h"

static char fuzz_path[64];

static void fuzz_cleanup(void) { unlink(fuzz_path); }

/* One temp file per process, rewritten for every input. suffix picks the
 * parser for inputs without the npy magic. */
static int fuzz_tensor_file(const uint8_t *data, size_t size, const char *suffix)
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

    tp_tensor_file *tf;
    if (tp_is_error(tp_tensor_file_open(fuzz_path, &tf))) return 0;
    size_t n = tp_tensor_file_count(tf);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        tp_tensor t;
        if (tp_is_error(tp_tensor_file_get(tf, i, &t))) abort();
        if (!tp_tensor_file_name(tf, i)) abort();
        size_t nb = tp_tensor_nbytes(&t);
        if (tp_is_error(nb)) abort(); /* the reader promised a valid shape */
        for (size_t k = 0; k < nb; k++) sink ^= ((const uint8_t *)t.data)[k];
    }
    (void)sink;
    tp_tensor_file_close(tf);
    return 0;
}

#endif
