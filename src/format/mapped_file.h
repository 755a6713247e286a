/* Read-only file contents for the parsers: mapped in normal builds; read
 * into the heap in fuzzing builds, so that AddressSanitizer sees every
 * out-of-bounds read. (As with any mapping, a file truncated by another
 * process while open faults on access.) */
#ifndef TP_FORMAT_MAPPED_FILE_H
#define TP_FORMAT_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *bytes;
    size_t size;
    int mapped; /* bytes is an mmap (else malloc'd) */
} tp_mapped_file;

/* Fails with TP_ERR_NOT_FOUND, TP_ERR_IO (not a regular file, read error)
 * or TP_ERR_TRUNCATED (empty file). */
size_t tp_mapped_open(tp_mapped_file *m, const char *path);
void tp_mapped_close(tp_mapped_file *m);

#endif
