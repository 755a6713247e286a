#include "format/atomic_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

size_t tp_atomic_open(tp_atomic_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t n = strlen(path);
    f->path = strdup(path);
    f->tmp_path = malloc(n + 16);
    if (!f->path || !f->tmp_path) { tp_atomic_abort(f); return tp_fail(TP_ERR_NOMEM, "path"); }
    snprintf(f->tmp_path, n + 16, "%s.tmp.XXXXXX", path);
    f->fd = mkstemp(f->tmp_path);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp_path);
        f->tmp_path = NULL;
        tp_atomic_abort(f);
        return tp_fail(TP_ERR_IO, "cannot create a file next to %s: %s", path, strerror(e));
    }
    /* mkstemp makes 0600; give the result the permissions a plain open()
     * would (umask is read back immediately: not thread-safe against a
     * concurrent umask() call, which libraries do not make). */
    mode_t mask = umask(022);
    umask(mask);
    fchmod(f->fd, 0666 & ~mask);
    return 0;
}

size_t tp_atomic_write(tp_atomic_file *f, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return tp_fail(TP_ERR_IO, "writing %s: %s", f->path, w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t tp_atomic_commit(tp_atomic_file *f)
{
    size_t r = 0;
    if (fsync(f->fd) != 0) r = tp_fail(TP_ERR_IO, "fsync %s: %s", f->tmp_path, strerror(errno));
    if (close(f->fd) != 0 && !tp_is_error(r)) r = tp_fail(TP_ERR_IO, "close %s: %s", f->tmp_path, strerror(errno));
    f->fd = -1;
    if (!tp_is_error(r) && rename(f->tmp_path, f->path) != 0)
        r = tp_fail(TP_ERR_IO, "rename to %s: %s", f->path, strerror(errno));
    if (tp_is_error(r)) { tp_atomic_abort(f); return r; }
    free(f->path);
    free(f->tmp_path);
    f->path = f->tmp_path = NULL;
    return 0;
}

void tp_atomic_abort(tp_atomic_file *f)
{
    if (f->fd >= 0) close(f->fd);
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    f->fd = -1;
    f->path = f->tmp_path = NULL;
}
