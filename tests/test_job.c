/* The compress job (src/plan/job.c): fallback policy, file order, thread
 * count independence, measured metrics, no output on error. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

typedef struct {
    size_t seen, order_ok, stop_at;
    const char *specs[4];
} progress_log;

static size_t note(void *ctx, const tp_compress_event *e)
{
    progress_log *l = ctx;
    l->order_ok += e->index == l->seen;
    if (e->index < 4) l->specs[e->index] = e->fallback_why ? "fallback" : "lossy";
    l->seen++;
    return l->seen == l->stop_at ? (size_t)0 - (size_t)TP_ERR_GENERIC : 0;
}

#define ROWS 64
#define COLS 96

TEST(compress_job_policy_order_and_threads)
{
    static float w[ROWS * COLS], w2[ROWS * COLS], norm[COLS];
    static int64_t ids[100];
    th_gaussian(w, ROWS * COLS, 1);
    th_gaussian(w2, ROWS * COLS, 2);
    th_gaussian(norm, COLS, 3);
    for (int i = 0; i < 100; i++) ids[i] = i * 7;
    const char *names[4] = {"w", "ids", "norm", "w2"};
    tp_tensor t[4] = {{TP_F32, 2, {ROWS, COLS}, w}, {TP_I64, 1, {100}, ids}, {TP_F32, 1, {COLS}, norm},
                      {TP_F32, 2, {ROWS, COLS}, w2}};
    const char *p1 = th_tmp_path(".tpz"), *p2 = th_tmp_path(".tpz");
    tp_compress_options opt = {.spec = "int:bits=4,group=32", .threads = 1};
    progress_log log1 = {0};
    tp_compress_summary sum;
    CHECK_OK(tp_compress_tensors(4, names, t, p1, &opt, note, &log1, &sum));
    CHECK(log1.seen == 4 && log1.order_ok == 4);
    CHECK(!strcmp(log1.specs[0], "lossy") && !strcmp(log1.specs[1], "fallback") &&
          !strcmp(log1.specs[2], "fallback") && !strcmp(log1.specs[3], "lossy"));
    CHECK(sum.tensors == 4 && sum.fallbacks == 2 && sum.bytes_in == 2 * sizeof w + sizeof ids + sizeof norm);
    opt.threads = 2;
    CHECK_OK(tp_compress_tensors(4, names, t, p2, &opt, NULL, NULL, NULL));
    size_t n1 = 0, n2 = 0;
    uint8_t *a = th_read_file(p1, &n1), *b = th_read_file(p2, &n2);
    CHECK(a && b && n1 == n2 && n1 == sum.file_bytes && !memcmp(a, b, n1));
    free(a);
    free(b);
    tp_archive *arc;
    CHECK_OK(tp_archive_open(p1, &arc));
    const tp_archive_entry *e = tp_archive_entry_at(arc, 1);
    CHECK(!strncmp(e->spec, TP_LOSSLESS_SPEC, strlen(TP_LOSSLESS_SPEC)));
    int64_t back[100];
    CHECK(tp_archive_decode(arc, 1, back, sizeof back) == sizeof back && !memcmp(back, ids, sizeof ids));
    CHECK(tp_archive_entry_at(arc, 0)->metrics.snr_db > 15);
    tp_archive_close(arc);
    unlink(p1);
    unlink(p2);
}

TEST(compress_job_error_leaves_no_output)
{
    static float w[ROWS * COLS];
    th_gaussian(w, ROWS * COLS, 4);
    const char *names[4] = {"a", "b", "c", "d"};
    tp_tensor t[4];
    for (int i = 0; i < 4; i++) t[i] = (tp_tensor){TP_F32, 2, {ROWS, COLS}, w};
    const char *path = th_tmp_path(".tpz");
    progress_log log = {.stop_at = 2};
    CHECK_ERR(tp_compress_tensors(4, names, t, path, NULL, note, &log, NULL), TP_ERR_GENERIC);
    CHECK(access(path, F_OK) != 0);
    CHECK_ERR(tp_compress_tensors(4, names, t, path, &(tp_compress_options){.spec = "int:bits=9"}, NULL, NULL, NULL),
              TP_ERR_PARAM);
    CHECK(access(path, F_OK) != 0);
    CHECK_ERR(tp_compress_file("/nonexistent/x.safetensors", path, NULL, NULL, NULL, NULL), TP_ERR_NOT_FOUND);
}

TEST(compress_job_lossy_integers_on_request)
{
    static uint8_t img[48 * 64];
    for (int i = 0; i < 48 * 64; i++) img[i] = (uint8_t)((i % 64) * 3 + (i / 64) * 2);
    const char *names[1] = {"image"};
    tp_tensor t = {TP_U8, 2, {48, 64}, img};
    const char *path = th_tmp_path(".tpz");
    tp_compress_options opt = {.spec = "dct2d:block=8,quality=90"};
    progress_log log = {0};
    CHECK_OK(tp_compress_tensors(1, names, &t, path, &opt, note, &log, NULL));
    CHECK(!strcmp(log.specs[0], "fallback"));
    opt.lossy_integers = 1;
    CHECK_OK(tp_compress_tensors(1, names, &t, path, &opt, NULL, NULL, NULL));
    tp_archive *arc;
    CHECK_OK(tp_archive_open(path, &arc));
    CHECK(!strncmp(tp_archive_entry_at(arc, 0)->spec, "dct2d:", 6));
    static uint8_t back[48 * 64];
    CHECK(tp_archive_decode(arc, 0, back, sizeof back) == sizeof back);
    tp_archive_close(arc);
    double se = 0;
    for (int i = 0; i < 48 * 64; i++) se += (double)(back[i] - img[i]) * (back[i] - img[i]);
    CHECK(se > 0 && 10 * log10(255.0 * 255.0 * 48 * 64 / se) > 30);
    unlink(path);
}
