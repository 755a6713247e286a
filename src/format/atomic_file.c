#include "format/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

/* Removes the temporary file; later calls see fd == -1. */
static void drop_temp(tp_atomic_file *f)
{
    if (f->fd < 0) return;
    close(f->fd);
    unlink(f->tmp_path);
    f->fd = -1;
}

void tp_atomic_abort(tp_atomic_file *f)
{
    drop_temp(f);
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
}

size_t tp_atomic_open(tp_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (!path || !*path) return tp_fail(TP_ERR_ARG, "no output path");
    size_t len = strlen(path) + 48;
    f->path = strdup(path);
    f->tmp_path = malloc(len);
    if (!f->path || !f->tmp_path) { tp_atomic_abort(f); return tp_fail(TP_ERR_NOMEM, "path"); }
    /* Created exclusively with mode 0666, so the umask gives the result the
     * permissions of any new file. */
    static _Atomic unsigned counter;
    for (int tries = 0; tries < 100; tries++) {
        snprintf(f->tmp_path, len, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd >= 0) return 0;
        if (errno != EEXIST) {
            int e = errno;
            tp_atomic_abort(f);
            return tp_fail(TP_ERR_IO, "cannot create a file next to %s: %s", path, strerror(e));
        }
    }
    tp_atomic_abort(f);
    return tp_fail(TP_ERR_IO, "no free temporary name next to %s", path);
}

size_t tp_atomic_write(tp_atomic_file *f, const void *data, size_t n)
{
    if (f->fd < 0) return tp_fail(TP_ERR_IO, "an earlier write to %s failed", f->path ? f->path : "?");
    const char *p = data;
    while (n) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            size_t r = tp_fail(TP_ERR_IO, "writing %s: %s", f->path, w < 0 ? strerror(errno) : "no progress");
            drop_temp(f);
            return r;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t tp_atomic_pwrite(tp_atomic_file *f, const void *data, size_t n, uint64_t offset)
{
    if (f->fd < 0) return tp_fail(TP_ERR_IO, "an earlier write to %s failed", f->path ? f->path : "?");
    const char *p = data;
    while (n) {
        ssize_t w = pwrite(f->fd, p, n, (off_t)offset);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            size_t r = tp_fail(TP_ERR_IO, "writing %s: %s", f->path, w < 0 ? strerror(errno) : "no progress");
            drop_temp(f);
            return r;
        }
        p += w;
        n -= (size_t)w;
        offset += (uint64_t)w;
    }
    return 0;
}

/* Makes the rename itself durable. */
static void sync_dir(const char *path)
{
    char *dir = strdup(path);
    if (!dir) return;
    char *slash = strrchr(dir, '/');
    if (slash) slash[slash == dir] = 0; /* keep "/" itself */
    int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

size_t tp_atomic_commit(tp_atomic_file *f)
{
    size_t r = 0;
    if (f->fd < 0) r = tp_fail(TP_ERR_IO, "an earlier write to %s failed", f->path ? f->path : "?");
    else if (fsync(f->fd) != 0) r = tp_fail(TP_ERR_IO, "syncing %s: %s", f->tmp_path, strerror(errno));
    else {
        int fd = f->fd;
        f->fd = -1;
        if (close(fd) != 0) r = tp_fail(TP_ERR_IO, "closing %s: %s", f->tmp_path, strerror(errno));
        else if (rename(f->tmp_path, f->path) != 0) r = tp_fail(TP_ERR_IO, "renaming to %s: %s", f->path, strerror(errno));
        if (tp_is_error(r)) unlink(f->tmp_path);
        else sync_dir(f->path);
    }
    tp_atomic_abort(f);
    return r;
}
