/* Tensor files: opening every kind tpress reads tensors from (.npy,
 * .safetensors, a sharded model's index or directory, GGUF) as one list
 * of named views; and writing .npy/.safetensors through a temporary file
 * that only a successful finish renames into place, so a failed or
 * aborted write never leaves a partial output. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format/atomic_file.h"
#include "format/gguf.h"
#include "format/mapped_file.h"
#include "format/tensor_file.h"

/* A GGUF tensor read dequantized: its f32 values while someone holds them. */
typedef struct {
    float *data;
    size_t refs;
} decoded;

struct tp_tensor_file {
    tp_tf_contents c;
    tp_gguf *gguf;     /* parsed from c.files[0]                          */
    decoded *dec;      /* per entry, when some entry decodes              */
    pthread_mutex_t mu; /* guards dec: get and release may run on threads */
};

void tp_tf_contents_free(tp_tf_contents *c)
{
    for (size_t i = 0; i < c->n_files; i++) tp_mapped_close(&c->files[i]);
    free(c->files);
    tp_tf_entries_free(c->entries, c->n);
    free(c->metadata);
    memset(c, 0, sizeof *c);
}

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

static size_t parse_gguf(tp_tensor_file *f, const tp_tensor_file_open_options *opt)
{
    TP_TRY(tp_gguf_parse(f->c.files[0].bytes, f->c.files[0].size, &f->gguf));
    size_t n = tp_gguf_entries(f->gguf, opt->allow_requantize, &f->c.entries);
    if (tp_is_error(n)) return n;
    f->c.n = n;
    for (size_t i = 0; i < n; i++)
        if (f->c.entries[i].decode) {
            f->dec = calloc(n, sizeof *f->dec);
            return f->dec ? 0 : tp_fail(TP_ERR_NOMEM, "tensor table");
        }
    return 0;
}

/* One mapped file: .npy, .safetensors or GGUF. */
static size_t parse_file(tp_tensor_file *f, const char *path, const tp_tensor_file_open_options *opt)
{
    f->c.files = calloc(1, sizeof *f->c.files);
    if (!f->c.files) return tp_fail(TP_ERR_NOMEM, "tensor file handle");
    TP_TRY(tp_mapped_open(&f->c.files[0], path));
    f->c.n_files = 1;
    const uint8_t *bytes = f->c.files[0].bytes;
    size_t size = f->c.files[0].size;
    tp_file_kind kind = tp_sniff(bytes, size);
    if (kind == TP_FILE_GGUF) return parse_gguf(f, opt);
    /* A .npy path that lacks the magic gets the npy parser's "bad magic"
     * rather than a puzzling safetensors complaint. */
    if (kind != TP_FILE_NPY && !has_suffix(path, ".npy")) {
        size_t n = tp_safetensors_parse(bytes, size, &f->c.entries, &f->c.metadata);
        if (tp_is_error(n)) return n;
        f->c.n = n;
        return 0;
    }
    f->c.entries = calloc(1, sizeof *f->c.entries);
    if (!f->c.entries) return tp_fail(TP_ERR_NOMEM, "tensor table");
    f->c.n = 1;
    TP_TRY(tp_npy_parse(bytes, size, &f->c.entries[0].t));
    f->c.entries[0].name = file_stem(path);
    return f->c.entries[0].name ? 0 : tp_fail(TP_ERR_NOMEM, "tensor name");
}

/* A directory stands for the one file it names (tp_model_dir_file), and
 * only one level deep: a link in it back to itself cannot recurse. A .json
 * path is a sharded model's index. */
static size_t parse_path(tp_tensor_file *f, const char *path, const tp_tensor_file_open_options *opt)
{
    struct stat st;
    char *inner = NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        TP_TRY(tp_model_dir_file(path, &inner));
        path = inner;
    }
    size_t r = has_suffix(path, ".json") ? tp_sharded_open(path, &f->c) : parse_file(f, path, opt);
    free(inner);
    return r;
}

size_t tp_tensor_file_open_ex(const char *path, const tp_tensor_file_open_options *opt, tp_tensor_file **out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL output pointer");
    *out = NULL;
    if (!path) return tp_fail(TP_ERR_ARG, "NULL path");
    static const tp_tensor_file_open_options defaults;
    tp_tensor_file *f = calloc(1, sizeof *f);
    if (!f) return tp_fail(TP_ERR_NOMEM, "tensor file handle");
    pthread_mutex_init(&f->mu, NULL);
    size_t r = parse_path(f, path, opt ? opt : &defaults);
    if (tp_is_error(r)) {
        tp_tensor_file_close(f);
        return r;
    }
    *out = f;
    return 0;
}

size_t tp_tensor_file_open(const char *path, tp_tensor_file **out) { return tp_tensor_file_open_ex(path, NULL, out); }

void tp_tensor_file_close(tp_tensor_file *f)
{
    if (!f) return;
    for (size_t i = 0; f->dec && i < f->c.n; i++) free(f->dec[i].data);
    free(f->dec);
    tp_gguf_close(f->gguf);
    tp_tf_contents_free(&f->c);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

size_t tp_tensor_file_count(const tp_tensor_file *f) { return f ? f->c.n : 0; }

const char *tp_tensor_file_name(const tp_tensor_file *f, size_t i)
{
    return f && i < f->c.n ? f->c.entries[i].name : NULL;
}

const char *tp_tensor_file_metadata(const tp_tensor_file *f) { return f ? f->c.metadata : NULL; }

/* Dequantizes outside the lock, so threads asking for different tensors
 * decode at once; two asking for the same one may both decode, and the
 * later result is dropped. The file is const to its callers (what it
 * holds does not change); the cache behind it is not. */
static size_t get_decoded(const tp_tensor_file *f, size_t i, tp_tensor *t)
{
    tp_tensor_file *mf = (tp_tensor_file *)f;
    decoded *d = &mf->dec[i];
    pthread_mutex_lock(&mf->mu);
    float *x = d->data;
    if (x) d->refs++;
    pthread_mutex_unlock(&mf->mu);
    if (!x) {
        float *mine;
        TP_TRY(tp_gguf_tensor_f32(f->gguf, f->c.entries[i].src, &mine));
        pthread_mutex_lock(&mf->mu);
        if (!d->data) d->data = mine;
        else x = mine; /* lost the race: drop ours */
        d->refs++;
        t->data = d->data;
        pthread_mutex_unlock(&mf->mu);
        free(x);
        return 0;
    }
    t->data = x;
    return 0;
}

size_t tp_tensor_file_get(const tp_tensor_file *f, size_t i, tp_tensor *t)
{
    if (!f || !t) return tp_fail(TP_ERR_ARG, "NULL file or tensor");
    if (i >= f->c.n) return tp_fail(TP_ERR_NOT_FOUND, "tensor %zu of a file holding %zu", i, f->c.n);
    *t = f->c.entries[i].t;
    return f->c.entries[i].decode ? get_decoded(f, i, t) : 0;
}

size_t tp_tensor_file_desc(const tp_tensor_file *f, size_t i, tp_tensor *t)
{
    if (!f || !t) return tp_fail(TP_ERR_ARG, "NULL file or tensor");
    if (i >= f->c.n) return tp_fail(TP_ERR_NOT_FOUND, "tensor %zu of a file holding %zu", i, f->c.n);
    *t = f->c.entries[i].t;
    t->data = NULL;
    return 0;
}

size_t tp_tensor_file_release(const tp_tensor_file *f, size_t i)
{
    if (!f) return tp_fail(TP_ERR_ARG, "NULL file");
    if (i >= f->c.n) return tp_fail(TP_ERR_NOT_FOUND, "tensor %zu of a file holding %zu", i, f->c.n);
    const tp_tf_entry *e = &f->c.entries[i];
    if (!e->decode) {
        for (size_t k = 0; k < f->c.n_files; k++) tp_mapped_forget(&f->c.files[k], e->t.data, tp_tensor_nbytes(&e->t));
        return 0;
    }
    tp_tensor_file *mf = (tp_tensor_file *)f;
    decoded *d = &mf->dec[i];
    float *drop = NULL;
    size_t r = 0;
    pthread_mutex_lock(&mf->mu);
    if (!d->refs) r = tp_fail(TP_ERR_ARG, "tensor %zu released more often than it was got", i);
    else if (--d->refs == 0) {
        drop = d->data;
        d->data = NULL;
    }
    pthread_mutex_unlock(&mf->mu);
    free(drop);
    return r;
}

/* ---- writer ------------------------------------------------------------ */

struct tp_tensor_writer {
    tp_atomic_file file;
    size_t n, next;
    size_t *nbytes;
};

static void writer_free(tp_tensor_writer *w)
{
    if (!w) return;
    tp_atomic_abort(&w->file);
    free(w->nbytes);
    free(w);
}

static size_t build_header(const char *path, const char *const *names, const tp_tensor *descs, size_t n,
                           const char *metadata, uint8_t **hdr)
{
    if (has_suffix(path, ".npy")) {
        if (n != 1) return tp_fail(TP_ERR_ARG, ".npy holds exactly one tensor, %zu given", n);
        return tp_npy_header(&descs[0], hdr);
    }
    return tp_safetensors_header(names, descs, n, metadata, hdr);
}

size_t tp_tensor_writer_open(const char *path, const char *const *names, const tp_tensor *descs, size_t n,
                             tp_tensor_writer **out)
{
    return tp_tensor_writer_open_meta(path, names, descs, n, NULL, out);
}

size_t tp_tensor_writer_open_meta(const char *path, const char *const *names, const tp_tensor *descs, size_t n,
                                  const char *metadata, tp_tensor_writer **out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL output pointer");
    *out = NULL;
    if (!path || !*path) return tp_fail(TP_ERR_ARG, "no output path");
    if (n && !descs) return tp_fail(TP_ERR_ARG, "NULL tensor descriptors");
    uint8_t *hdr = NULL;
    size_t hlen = build_header(path, names, descs, n, metadata, &hdr);
    if (tp_is_error(hlen)) return hlen;
    tp_tensor_writer *w = calloc(1, sizeof *w);
    size_t r = 0;
    if (!w) r = tp_fail(TP_ERR_NOMEM, "tensor writer");
    else {
        w->file.fd = -1;
        w->n = n;
        w->nbytes = malloc((n ? n : 1) * sizeof *w->nbytes);
        if (!w->nbytes) r = tp_fail(TP_ERR_NOMEM, "tensor writer");
    }
    for (size_t i = 0; !tp_is_error(r) && i < n; i++) w->nbytes[i] = tp_tensor_nbytes(&descs[i]); /* checked */
    if (!tp_is_error(r)) r = tp_atomic_open(&w->file, path);
    if (!tp_is_error(r)) r = tp_atomic_write(&w->file, hdr, hlen);
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
    if (i != w->next) return tp_fail(TP_ERR_ARG, "tensor %zu put out of order (expected %zu of %zu)", i, w->next, w->n);
    if (nbytes != w->nbytes[i])
        return tp_fail(TP_ERR_ARG, "tensor %zu: %zu bytes given, its shape needs %zu", i, nbytes, w->nbytes[i]);
    if (nbytes && !data) return tp_fail(TP_ERR_ARG, "tensor %zu: NULL data", i);
    TP_TRY(tp_atomic_write(&w->file, data, nbytes));
    w->next++;
    return 0;
}

size_t tp_tensor_writer_finish(tp_tensor_writer *w)
{
    if (!w) return tp_fail(TP_ERR_ARG, "NULL writer");
    size_t r = w->next != w->n ? tp_fail(TP_ERR_ARG, "only %zu of %zu tensors were put", w->next, w->n)
                               : tp_atomic_commit(&w->file);
    writer_free(w);
    return r;
}

void tp_tensor_writer_abort(tp_tensor_writer *w) { writer_free(w); }
