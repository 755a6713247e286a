/* Output files that appear whole or not at all: data go to a temporary
 * file next to the target ("PATH.tmp.PID.K"), which commit syncs and renames
 * over the target (then syncs the directory); abort, or any failure,
 * removes it. Used by every writer of the library. */
#ifndef TP_FORMAT_ATOMIC_FILE_H
#define TP_FORMAT_ATOMIC_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int fd;               /* -1 once the temporary file is gone */
    char *path, *tmp_path;
} tp_atomic_file;

size_t tp_atomic_open(tp_atomic_file *f, const char *path);
/* On failure the temporary file is removed (later writes fail too). */
size_t tp_atomic_write(tp_atomic_file *f, const void *data, size_t n);
/* Overwrites n bytes at offset, already written (a header or an index
 * whose contents are known only at the end); the write position stays. */
size_t tp_atomic_pwrite(tp_atomic_file *f, const void *data, size_t n, uint64_t offset);
/* fsync + rename; the temporary file is removed if that fails. Frees f's
 * strings in every case. */
size_t tp_atomic_commit(tp_atomic_file *f);
void tp_atomic_abort(tp_atomic_file *f);

#endif
