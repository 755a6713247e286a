/* Tensor files (.npy, .safetensors): mapping them for reading, and writing
 * them through a temporary file that only a successful finish renames into
 * place, so a failed or aborted write never leaves a partial output. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/tensor_file.h"

struct tp_tensor_file {
    uint8_t *bytes;
    size_t size;
    int mapped;             /* bytes is an mmap (else malloc'd, or NULL) */
    tp_tf_entry *entries;
    size_t n;
};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

/* Python's Path(path).stem: the basename without its last extension. */
static char *file_stem(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, base, len);
    s[len] = 0;
    return s;
}

/* Fuzzing builds read into the heap so that AddressSanitizer sees every
 * out-of-bounds read; real builds map the file. (As with any mapping, a
 * file truncated by another process while open faults on access.) */
static size_t load_bytes(int fd, size_t size, tp_tensor_file *f, const char *path)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    f->bytes = malloc(size);
    if (!f->bytes) return tp_fail(TP_ERR_NOMEM, "%zu bytes for %s", size, path);
    for (size_t got = 0; got < size;) {
        ssize_t k = pread(fd, f->bytes + got, size - got, (off_t)got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return tp_fail(TP_ERR_IO, "reading %s: %s", path, k ? strerror(errno) : "file shrank");
        got += (size_t)k;
    }
    return 0;
#else
    void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) return tp_fail(TP_ERR_IO, "mapping %s: %s", path, strerror(errno));
    f->bytes = m;
    f->mapped = 1;
    return 0;
#endif
}

static size_t parse_file(tp_tensor_file *f, const char *path)
{
    int npy = f->size >= TP_NPY_MAGIC_LEN && !memcmp(f->bytes, TP_NPY_MAGIC, TP_NPY_MAGIC_LEN);
    /* A .npy path that lacks the magic gets the npy parser's "bad magic"
     * rather than a puzzling safetensors complaint. */
    if (!npy && !has_suffix(path, ".npy")) {
        size_t n = tp_safetensors_parse(f->bytes, f->size, &f->entries);
        if (tp_is_error(n)) return n;
        f->n = n;
        return 0;
    }
    f->entries = calloc(1, sizeof *f->entries);
    if (!f->entries) return tp_fail(TP_ERR_NOMEM, "tensor table");
    f->n = 1;
    TP_TRY(tp_npy_parse(f->bytes, f->size, &f->entries[0].t));
    f->entries[0].name = file_stem(path);
    return f->entries[0].name ? 0 : tp_fail(TP_ERR_NOMEM, "tensor name");
}

size_t tp_tensor_file_open(const char *path, tp_tensor_file **out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL output pointer");
    *out = NULL;
    if (!path) return tp_fail(TP_ERR_ARG, "NULL path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tp_fail(errno == ENOENT ? TP_ERR_NOT_FOUND : TP_ERR_IO, "opening %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        size_t r = tp_fail(TP_ERR_IO, "stat %s: %s", path, strerror(errno));
        close(fd);
        return r;
    }
    size_t r = 0;
    if (!S_ISREG(st.st_mode)) r = tp_fail(TP_ERR_IO, "%s is not a regular file", path);
    else if (st.st_size == 0) r = tp_fail(TP_ERR_TRUNCATED, "%s is empty", path);
    else if ((uint64_t)st.st_size > SIZE_MAX) r = tp_fail(TP_ERR_UNSUPPORTED, "%s is too large to map", path);
    tp_tensor_file *f = NULL;
    if (!tp_is_error(r)) {
        f = calloc(1, sizeof *f);
        if (!f) r = tp_fail(TP_ERR_NOMEM, "tensor file handle");
    }
    if (!tp_is_error(r)) {
        f->size = (size_t)st.st_size;
        r = load_bytes(fd, f->size, f, path);
    }
    close(fd);
    if (!tp_is_error(r)) r = parse_file(f, path);
    if (tp_is_error(r)) {
        tp_tensor_file_close(f);
        return r;
    }
    *out = f;
    return 0;
}

void tp_tensor_file_close(tp_tensor_file *f)
{
    if (!f) return;
    tp_tf_entries_free(f->entries, f->n);
    if (f->mapped) munmap(f->bytes, f->size);
    else free(f->bytes);
    free(f);
}

size_t tp_tensor_file_count(const tp_tensor_file *f) { return f ? f->n : 0; }

const char *tp_tensor_file_name(const tp_tensor_file *f, size_t i)
{
    return f && i < f->n ? f->entries[i].name : NULL;
}

size_t tp_tensor_file_get(const tp_tensor_file *f, size_t i, tp_tensor *t)
{
    if (!f || !t) return tp_fail(TP_ERR_ARG, "NULL file or tensor");
    if (i >= f->n) return tp_fail(TP_ERR_NOT_FOUND, "tensor %zu of a file holding %zu", i, f->n);
    *t = f->entries[i].t;
    return 0;
}

/* ---- writer ------------------------------------------------------------ */

struct tp_tensor_writer {
    char *path, *tmp;
    int fd;                 /* -1 once the temp file is gone */
    size_t n, next;
    size_t *nbytes;
};

static size_t write_all(tp_tensor_writer *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(w->fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return tp_fail(TP_ERR_IO, "writing %s: %s", w->tmp, strerror(errno));
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Closes and deletes the temp file; later calls see fd == -1. */
static void drop_temp(tp_tensor_writer *w)
{
    if (w->fd < 0) return;
    close(w->fd);
    unlink(w->tmp);
    w->fd = -1;
}

static void writer_free(tp_tensor_writer *w)
{
    if (!w) return;
    drop_temp(w);
    free(w->path);
    free(w->tmp);
    free(w->nbytes);
    free(w);
}

/* "PATH.tmp.PID.K", created exclusively with mode 0666 so the umask gives
 * the final file the same permissions as any new file. */
static size_t create_temp(tp_tensor_writer *w)
{
    size_t len = strlen(w->path) + 48;
    w->tmp = malloc(len);
    if (!w->tmp) return tp_fail(TP_ERR_NOMEM, "temp path");
    static _Atomic unsigned counter;
    for (int tries = 0; tries < 100; tries++) {
        snprintf(w->tmp, len, "%s.tmp.%ld.%u", w->path, (long)getpid(), counter++);
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (w->fd >= 0) return 0;
        if (errno != EEXIST) return tp_fail(TP_ERR_IO, "creating %s: %s", w->tmp, strerror(errno));
    }
    return tp_fail(TP_ERR_IO, "no free temp name next to %s", w->path);
}

static size_t build_header(const char *path, const char *const *names, const tp_tensor *descs, size_t n,
                           uint8_t **hdr)
{
    if (has_suffix(path, ".npy")) {
        if (n != 1) return tp_fail(TP_ERR_ARG, ".npy holds exactly one tensor, %zu given", n);
        return tp_npy_header(&descs[0], hdr);
    }
    return tp_safetensors_header(names, descs, n, hdr);
}

size_t tp_tensor_writer_open(const char *path, const char *const *names, const tp_tensor *descs, size_t n,
                             tp_tensor_writer **out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL output pointer");
    *out = NULL;
    if (!path || !*path) return tp_fail(TP_ERR_ARG, "no output path");
    if (n && !descs) return tp_fail(TP_ERR_ARG, "NULL tensor descriptors");
    uint8_t *hdr = NULL;
    size_t hlen = build_header(path, names, descs, n, &hdr);
    if (tp_is_error(hlen)) return hlen;
    tp_tensor_writer *w = calloc(1, sizeof *w);
    size_t r = 0;
    if (!w) r = tp_fail(TP_ERR_NOMEM, "tensor writer");
    else {
        w->fd = -1;
        w->n = n;
        w->path = strdup(path);
        w->nbytes = malloc((n ? n : 1) * sizeof *w->nbytes);
        if (!w->path || !w->nbytes) r = tp_fail(TP_ERR_NOMEM, "tensor writer");
    }
    for (size_t i = 0; !tp_is_error(r) && i < n; i++) w->nbytes[i] = tp_tensor_nbytes(&descs[i]); /* checked */
    if (!tp_is_error(r)) r = create_temp(w);
    if (!tp_is_error(r)) r = write_all(w, hdr, hlen);
    free(hdr);
    if (tp_is_error(r)) {
        writer_free(w);
        return r;
    }
    *out = w;
    return 0;
}

size_t tp_tensor_writer_put(tp_tensor_writer *w, size_t i, const void *data, size_t nbytes)
{
    if (!w) return tp_fail(TP_ERR_ARG, "NULL writer");
    if (w->fd < 0) return tp_fail(TP_ERR_IO, "an earlier write to %s failed", w->path);
    if (i != w->next) return tp_fail(TP_ERR_ARG, "tensor %zu put out of order (expected %zu of %zu)", i, w->next, w->n);
    if (nbytes != w->nbytes[i])
        return tp_fail(TP_ERR_ARG, "tensor %zu: %zu bytes given, its shape needs %zu", i, nbytes, w->nbytes[i]);
    if (nbytes && !data) return tp_fail(TP_ERR_ARG, "tensor %zu: NULL data", i);
    size_t r = write_all(w, data, nbytes);
    if (tp_is_error(r)) {
        drop_temp(w);
        return r;
    }
    w->next++;
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

size_t tp_tensor_writer_finish(tp_tensor_writer *w)
{
    if (!w) return tp_fail(TP_ERR_ARG, "NULL writer");
    size_t r = 0;
    if (w->fd < 0) r = tp_fail(TP_ERR_IO, "an earlier write to %s failed", w->path);
    else if (w->next != w->n) r = tp_fail(TP_ERR_ARG, "only %zu of %zu tensors were put", w->next, w->n);
    else if (fsync(w->fd) != 0) r = tp_fail(TP_ERR_IO, "syncing %s: %s", w->tmp, strerror(errno));
    else {
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) != 0) r = tp_fail(TP_ERR_IO, "closing %s: %s", w->tmp, strerror(errno));
        else if (rename(w->tmp, w->path) != 0) r = tp_fail(TP_ERR_IO, "renaming to %s: %s", w->path, strerror(errno));
        if (tp_is_error(r)) unlink(w->tmp);
        else sync_dir(w->path);
    }
    writer_free(w);
    return r;
}

void tp_tensor_writer_abort(tp_tensor_writer *w) { writer_free(w); }
