#include "format/mapped_file.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

static size_t load(int fd, tp_mapped_file *m, const char *path)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    m->bytes = malloc(m->size);
    if (!m->bytes) return tp_fail(TP_ERR_NOMEM, "%zu bytes for %s", m->size, path);
    for (size_t got = 0; got < m->size;) {
        ssize_t k = pread(fd, m->bytes + got, m->size - got, (off_t)got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return tp_fail(TP_ERR_IO, "reading %s: %s", path, k ? strerror(errno) : "file shrank");
        got += (size_t)k;
    }
    return 0;
#else
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return tp_fail(TP_ERR_IO, "mapping %s: %s", path, strerror(errno));
    m->bytes = p;
    m->mapped = 1;
    return 0;
#endif
}

size_t tp_mapped_open(tp_mapped_file *m, const char *path)
{
    memset(m, 0, sizeof *m);
    if (!path) return tp_fail(TP_ERR_ARG, "NULL path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tp_fail(errno == ENOENT ? TP_ERR_NOT_FOUND : TP_ERR_IO, "opening %s: %s", path, strerror(errno));
    struct stat st;
    size_t r = 0;
    if (fstat(fd, &st) != 0) r = tp_fail(TP_ERR_IO, "stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode)) r = tp_fail(TP_ERR_IO, "%s is not a regular file", path);
    else if (st.st_size == 0) r = tp_fail(TP_ERR_TRUNCATED, "%s is empty", path);
    else if ((uint64_t)st.st_size > SIZE_MAX) r = tp_fail(TP_ERR_UNSUPPORTED, "%s is too large to map", path);
    else {
        m->size = (size_t)st.st_size;
        r = load(fd, m, path);
    }
    close(fd);
    if (tp_is_error(r)) tp_mapped_close(m);
    return r;
}

void tp_mapped_close(tp_mapped_file *m)
{
    if (m->mapped) munmap(m->bytes, m->size);
    else free(m->bytes);
    memset(m, 0, sizeof *m);
}

void tp_mapped_forget(const tp_mapped_file *m, const void *p, size_t n)
{
    const uint8_t *b = p;
    if (!m->mapped || b < m->bytes || n > m->size || b - m->bytes > (ptrdiff_t)(m->size - n)) return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)b + page - 1) / page * page, hi = ((uintptr_t)b + n) / page * page;
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
}
