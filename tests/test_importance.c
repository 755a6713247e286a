/* Per-column importance (tp_encode_options.col_importance): the weighted
 * fits of int (search=1), kq and kmeans lower the error where the
 * importance is, an importance of all ones changes no byte, and bad
 * vectors are refused. Every test name contains "importance". */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

enum { ROWS = 32, COLS = 256 };

/* Emphasised columns: 4 of every 16 (so that every kq sub-block and every
 * int group of 32 mixes both kinds). */
static int emphasised(int c) { return c % 16 < 4; }

/* Rows of N(0,1), whose emphasised columns are 5x smaller: the
 * unweighted fits spend their levels on the large values. */
static void make_matrix(float *x, float *imp)
{
    th_gaussian(x, ROWS * COLS, 41);
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            if (emphasised(c)) x[r * COLS + c] *= 0.2f;
    for (int c = 0; c < COLS; c++) imp[c] = emphasised(c) ? 100.0f : 1.0f;
}

/* Encodes t through spec with opt (may be NULL), decodes into y; returns
 * the frame size or an error; *frame_out (if not NULL) keeps the frame. */
static size_t encode_decode(const char *spec, const tp_tensor *t, const tp_encode_options *opt, float *y,
                            void **frame_out)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    void *frame;
    size_t fs = tp_frame_encode_alloc(p, t, opt, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(fs)) return fs;
    r = tp_frame_decode(frame, fs, y, ROWS * COLS * sizeof(float));
    if (frame_out) *frame_out = frame;
    else free(frame);
    return tp_is_error(r) ? r : fs;
}

/* Squared error over the emphasised columns only. */
static double emphasised_sse(const float *x, const float *y)
{
    double e = 0;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++)
            if (emphasised(c)) {
                double d = (double)x[r * COLS + c] - y[r * COLS + c];
                e += d * d;
            }
    return e;
}

static const char *const weighted_specs[] = {
    "int:bits=3,group=32,search=1",  /* byte-aligned fast path       */
    "int:bits=3,axis=0,search=1",    /* reference path, row scales   */
    "int:bits=4,group=0,search=1",   /* one scale for the tensor     */
    "kq:bits=3",
    "kq:bits=2",
    "kq:bits=4,weight=abs",          /* combined with weight= by product */
    "kmeans:bits=2,axis=0",
    "kmeans:bits=3",
    "kmeans:bits=3,group=64,weight=sq",
};

TEST(importance_lowers_error_on_emphasised_columns)
{
    static float x[ROWS * COLS], y0[ROWS * COLS], y1[ROWS * COLS], imp[COLS];
    make_matrix(x, imp);
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {ROWS, COLS}, .data = x};
    tp_encode_options opt = {.col_importance = imp, .n_cols = COLS};
    for (size_t s = 0; s < sizeof weighted_specs / sizeof *weighted_specs; s++) {
        size_t f0, f1;
        CHECK_OK(f0 = encode_decode(weighted_specs[s], &t, NULL, y0, NULL));
        CHECK_OK(f1 = encode_decode(weighted_specs[s], &t, &opt, y1, NULL));
        CHECK(f0 == f1); /* same layout, other choices */
        double e0 = emphasised_sse(x, y0), e1 = emphasised_sse(x, y1);
        if (!(e1 < 0.8 * e0)) {
            printf("  %s: emphasised SSE %.4g unweighted, %.4g weighted\n", weighted_specs[s], e0, e1);
            CHECK(e1 < 0.8 * e0);
        }
    }
}

TEST(importance_of_ones_changes_no_byte)
{
    static float x[ROWS * COLS], y[ROWS * COLS], imp[COLS];
    make_matrix(x, imp);
    for (int c = 0; c < COLS; c++) imp[c] = 1.0f;
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {ROWS, COLS}, .data = x};
    tp_encode_options opt = {.col_importance = imp, .n_cols = COLS};
    for (size_t s = 0; s < sizeof weighted_specs / sizeof *weighted_specs; s++) {
        void *a = NULL, *b = NULL;
        size_t fa = encode_decode(weighted_specs[s], &t, NULL, y, &a);
        size_t fb = encode_decode(weighted_specs[s], &t, &opt, y, &b);
        int same = !tp_is_error(fa) && fa == fb && !memcmp(a, b, fa);
        free(a);
        free(b);
        CHECK(same);
    }
}

TEST(importance_reaches_the_first_of_several_stages)
{
    /* "kq | zstd": the first stage is encoded before the last one, on
     * another path of the frame encoder; it must get the vector too. */
    static float x[ROWS * COLS], y[ROWS * COLS], imp[COLS];
    make_matrix(x, imp);
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {ROWS, COLS}, .data = x};
    tp_encode_options opt = {.col_importance = imp, .n_cols = COLS};
    CHECK_OK(encode_decode("kq:bits=3|zstd", &t, &opt, y, NULL));
    double e1 = emphasised_sse(x, y);
    CHECK_OK(encode_decode("kq:bits=3|zstd", &t, NULL, y, NULL));
    CHECK(e1 < emphasised_sse(x, y));
}

TEST(importance_bad_vectors_refused)
{
    static float x[ROWS * COLS], imp[COLS + 1];
    make_matrix(x, imp);
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {ROWS, COLS}, .data = x};
    tp_pipeline *p;
    CHECK_OK(tp_pipeline_parse("kq:bits=3", &p));
    void *frame = NULL;
    tp_encode_options opt = {.col_importance = imp, .n_cols = COLS - 1};
    CHECK_ERR(tp_frame_encode_alloc(p, &t, &opt, &frame), TP_ERR_SHAPE);
    opt.n_cols = COLS + 1;
    CHECK_ERR(tp_frame_encode_alloc(p, &t, &opt, &frame), TP_ERR_SHAPE);
    opt.n_cols = COLS;
    imp[7] = -1.0f;
    CHECK_ERR(tp_frame_encode_alloc(p, &t, &opt, &frame), TP_ERR_ARG);
    imp[7] = NAN;
    CHECK_ERR(tp_frame_encode_alloc(p, &t, &opt, &frame), TP_ERR_ARG);
    imp[7] = INFINITY;
    CHECK_ERR(tp_frame_encode_alloc(p, &t, &opt, &frame), TP_ERR_ARG);
    memset(imp, 0, sizeof imp);
    CHECK_ERR(tp_frame_encode_alloc(p, &t, &opt, &frame), TP_ERR_ARG);
    tp_tensor scalar = {.dtype = TP_F32, .ndim = 0, .data = x};
    opt.n_cols = 1;
    imp[0] = 1.0f;
    CHECK_ERR(tp_frame_encode_alloc(p, &scalar, &opt, &frame), TP_ERR_SHAPE);
    CHECK(frame == NULL);
    /* No vector: options are a no-op. */
    opt.col_importance = NULL;
    size_t fs = tp_frame_encode_alloc(p, &t, &opt, &frame);
    CHECK_OK(fs);
    free(frame);
    tp_pipeline_free(p);
}
