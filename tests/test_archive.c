/* .tpz archives: round trip through the API, validation of names, atomic
 * writes, and a golden archive that must stay readable and whose every
 * truncation and sampled bit flip is rejected. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "core/rng.h"

static size_t add_tensor(tp_archive_writer *w, const char *name, const char *spec, const float *x, uint64_t rows,
                         uint64_t cols)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    tp_tensor t = {TP_F32, 2, {rows, cols}, x};
    void *frame;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(n)) return n;
    tp_metrics m = {.count = rows * cols, .snr_db = 42.5, .max_abs = 0.25};
    r = tp_archive_writer_add(w, name, frame, n, &m);
    free(frame);
    return r;
}

/* The deterministic content of the golden archive. */
static size_t write_golden(const char *path)
{
    static float x[3 * 40];
    th_gaussian(x, 3 * 40, 7);
    tp_archive_writer *w;
    size_t r = tp_archive_writer_open(path, &w);
    if (tp_is_error(r)) return r;
    const char *specs[3] = {"int:bits=4,group=32", "fp16|zstd:level=3", "zstd:level=1"};
    const char *names[3] = {"layer.0.weight", "layer.0.bias", "emb"};
    for (int i = 0; i < 3 && !tp_is_error(r); i++) r = add_tensor(w, names[i], specs[i], x + 40 * i, 4, 10);
    if (tp_is_error(r)) { tp_archive_writer_abort(w); return r; }
    return tp_archive_writer_finish(w);
}

/* 1 if the archive at path opens and every entry decodes. */
static int archive_reads(const char *path)
{
    tp_archive *a;
    if (tp_is_error(tp_archive_open(path, &a))) return 0;
    int ok = 1;
    for (size_t i = 0; i < tp_archive_count(a) && ok; i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        void *buf = malloc(e->raw_size + 1);
        ok = !tp_is_error(tp_archive_decode(a, i, buf, e->raw_size));
        free(buf);
    }
    tp_archive_close(a);
    return ok;
}

TEST(archive_round_trip)
{
    const char *path = th_tmp_path(".tpz");
    CHECK_OK(write_golden(path));
    tp_archive *a;
    CHECK_OK(tp_archive_open(path, &a));
    CHECK(tp_archive_count(a) == 3);
    const tp_archive_entry *e = tp_archive_entry_at(a, 1);
    CHECK(!strcmp(e->name, "layer.0.bias") && e->dtype == TP_F32 && e->ndim == 2 && e->shape[1] == 10);
    CHECK(!strcmp(e->spec, "fp16 | zstd:level=3"));
    CHECK(e->raw_size == 160 && e->metrics.snr_db == 42.5 && e->metrics.max_abs == 0.25);
    for (size_t i = 0; i < 3; i++) CHECK(tp_archive_entry_at(a, i)->offset % 64 == 0);
    CHECK(tp_archive_find(a, "emb") == 2);
    CHECK_ERR(tp_archive_find(a, "missing"), TP_ERR_NOT_FOUND);
    float x[120], y[40];
    th_gaussian(x, 120, 7);
    CHECK(tp_archive_decode(a, 2, y, sizeof y) == sizeof y);
    CHECK(!memcmp(x + 80, y, sizeof y));
    CHECK_ERR(tp_archive_decode(a, 2, y, sizeof y - 1), TP_ERR_DST_TOO_SMALL);
    tp_archive_close(a);
    unlink(path);
}

TEST(archive_rejects_bad_names_and_leaves_no_file)
{
    const char *path = th_tmp_path(".tpz");
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tp_archive_writer *w;
    CHECK_OK(tp_archive_writer_open(path, &w));
    CHECK_OK(add_tensor(w, "a", "zstd", x, 2, 4));
    CHECK_ERR(add_tensor(w, "a", "zstd", x, 2, 4), TP_ERR_ARG);
    CHECK_ERR(add_tensor(w, "", "zstd", x, 2, 4), TP_ERR_ARG);
    unsigned char junk[64] = {0};
    CHECK(tp_is_error(tp_archive_writer_add(w, "j", junk, sizeof junk, NULL)));
    tp_archive_writer_abort(w);
    struct stat st;
    CHECK(stat(path, &st) != 0);
    /* Nothing named path.tmp.* remains either. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls %s.tmp.* >/dev/null 2>&1", path);
    CHECK(system(cmd) != 0);
}

TEST(archive_golden_still_reads)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/small.tpz", th_data_dir());
    if (getenv("TP_REGEN_GOLDEN")) CHECK_OK(write_golden(path));
    /* Byte-identical to what this build writes: the format has not drifted. */
    const char *fresh = th_tmp_path(".tpz");
    CHECK_OK(write_golden(fresh));
    size_t n1, n2;
    unsigned char *a = th_read_file(path, &n1), *b = th_read_file(fresh, &n2);
    CHECK(a && b);
    CHECK(n1 == n2 && !memcmp(a, b, n1));
    CHECK(archive_reads(path));
    free(a);
    free(b);
    unlink(fresh);
}

TEST(archive_golden_truncations_and_bit_flips_rejected)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/small.tpz", th_data_dir());
    size_t n;
    unsigned char *g = th_read_file(path, &n);
    CHECK(g && n > 256);
    const char *tmp = th_tmp_path(".tpz");
    for (size_t len = 0; len < n; len++) {
        th_write_file(tmp, g, len);
        if (archive_reads(tmp)) { th_fail(__FILE__, __LINE__, "a truncated archive was accepted"); break; }
    }
    unsigned char *c = malloc(n);
    tp_rng rng = {12345};
    uint64_t s;
    for (int k = 0; k < 1500; k++) {
        s = tp_rng_next(&rng);
        size_t bit = (size_t)(s % (n * 8));
        memcpy(c, g, n);
        c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        th_write_file(tmp, c, n);
        if (archive_reads(tmp)) { th_fail(__FILE__, __LINE__, "a bit-flipped archive was accepted"); break; }
    }
    free(c);
    free(g);
    unlink(tmp);
}
