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
/* Lets the kernel drop the pages wholly inside [p, p + n) when p lies in
 * m's mapping: a streaming reader done with a tensor keeps its resident
 * memory at what it is working on. The bytes stay readable (they fault in
 * again from the file). Does nothing for heap contents. */
void tp_mapped_forget(const tp_mapped_file *m, const void *p, size_t n);

#endif
