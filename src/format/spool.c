#include "format/spool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

size_t tp_spool_open(tp_spool *s, const char *near_path)
{
    s->fd = -1;
    s->size = 0;
    size_t len = strlen(near_path) + 16;
    char *path = malloc(len);
    if (!path) return tp_fail(TP_ERR_NOMEM, "spool path");
    snprintf(path, len, "%s.spool.XXXXXX", near_path);
    int fd = mkstemp(path);
    if (fd < 0) {
        size_t r = tp_fail(TP_ERR_IO, "cannot create a temporary file next to %s: %s", near_path, strerror(errno));
        free(path);
        return r;
    }
    unlink(path);
    free(path);
    s->fd = fd;
    return 0;
}

size_t tp_spool_append(tp_spool *s, const void *p, size_t n, uint64_t *offset)
{
    if (s->fd < 0) return tp_fail(TP_ERR_IO, "spool is closed");
    *offset = s->size;
    const char *q = p;
    size_t left = n;
    while (left) {
        ssize_t w = pwrite(s->fd, q, left, (off_t)(s->size + (n - left)));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return tp_fail(TP_ERR_IO, "writing the temporary layer file: %s", w < 0 ? strerror(errno) : "no progress");
        q += w;
        left -= (size_t)w;
    }
    s->size += n;
    return 0;
}

size_t tp_spool_read(const tp_spool *s, uint64_t offset, void *p, size_t n)
{
    if (s->fd < 0) return tp_fail(TP_ERR_IO, "spool is closed");
    char *q = p;
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(s->fd, q + got, n - got, (off_t)(offset + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return tp_fail(TP_ERR_IO, "reading the temporary layer file: %s", k < 0 ? strerror(errno) : "end of file");
        got += (size_t)k;
    }
    return 0;
}

void tp_spool_close(tp_spool *s)
{
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}
