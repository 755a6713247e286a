/* Output files that appear whole or not at all: data go to a temporary
 * file in the target's directory, which commit syncs and renames over the
 * target; abort (or any failure) removes it. */
#ifndef TP_FORMAT_ATOMIC_FILE_H
#define TP_FORMAT_ATOMIC_FILE_H

#include <stddef.h>

typedef struct {
    int fd;
    char *path, *tmp_path;
} tp_atomic_file;

size_t tp_atomic_open(tp_atomic_file *f, const char *path);
size_t tp_atomic_write(tp_atomic_file *f, const void *data, size_t n);
/* fsync + rename; the temporary file is removed if that fails. */
size_t tp_atomic_commit(tp_atomic_file *f);
void tp_atomic_abort(tp_atomic_file *f);

#endif
