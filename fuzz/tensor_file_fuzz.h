/* Shared body of the tensor-file fuzz targets: the input becomes a file
 * (the API reads paths), which is opened and every tensor byte read. The
 * library reads into the heap in fuzzing builds, so ASan sees stray reads. */
#ifndef TP_FUZZ_TENSOR_FILE_H
#define TP_FUZZ_TENSOR_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "tpress.h"

/* suffix picks the parser for inputs without the npy magic. */
static int fuzz_tensor_file(const uint8_t *data, size_t size, const char *suffix)
{
    const char *path = fuzz_write_temp(data, size, suffix);
    tp_tensor_file *tf;
    if (tp_is_error(tp_tensor_file_open(path, &tf))) return 0;
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
