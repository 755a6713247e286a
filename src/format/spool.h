/* Bytes that must wait for their place in an output file: an unlinked
 * temporary file next to it (same file system, so the room the output
 * needs is where it is looked for; nothing is left behind by a crash),
 * appended to and read back at any offset. */
#ifndef TP_FORMAT_SPOOL_H
#define TP_FORMAT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int fd; /* -1: closed */
    uint64_t size;
} tp_spool;

/* Creates the spool beside near_path ("near_path.spool.XXXXXX", removed
 * from the directory at once). */
size_t tp_spool_open(tp_spool *s, const char *near_path);
/* Appends n bytes; *offset gets where they start. */
size_t tp_spool_append(tp_spool *s, const void *p, size_t n, uint64_t *offset);
/* Reads back n bytes from offset (all of them or an error). */
size_t tp_spool_read(const tp_spool *s, uint64_t offset, void *p, size_t n);
void tp_spool_close(tp_spool *s);

#endif
