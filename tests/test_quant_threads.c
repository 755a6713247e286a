/* Worker threads of the quantizers (tp_threads_set): frames and decoded
 * values must not depend on the thread count. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int encode(const char *spec, const tp_tensor *t, void **fr, size_t *n)
{
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) return -1;
    size_t r = tp_frame_encode_alloc(p, t, NULL, fr);
    tp_pipeline_free(p);
    if (tp_is_error(r)) return -1;
    *n = r;
    return 0;
}

TEST(quant_threads_do_not_change_bytes)
{
    /* 300 x 1000: not a multiple of the parallel ranges, kq tail block. */
    const size_t rows = 300, cols = 1000, n = rows * cols;
    float *x = malloc(n * 4), *a = malloc(n * 4), *b = malloc(n * 4);
    CHECK(x && a && b);
    th_gaussian(x, n, 11);
    tp_tensor t = {0};
    t.dtype = TP_F32; t.ndim = 2; t.shape[0] = rows; t.shape[1] = cols; t.data = x;
    static const char *const specs[] = {"kmeans:bits=8,iters=5", "kmeans:bits=4,group=200,iters=5", "nf:bits=4",
                                        "nf:bits=8", "log:bits=8", "fp8:format=e4m3", "fp8:format=e5m2,group=40",
                                        "int:bits=8,group=40", "int:bits=4,group=1000", "kq:bits=3", "kq:bits=5"};
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        void *f1, *f2;
        size_t n1, n2;
        tp_threads_set(1);
        CHECK(encode(specs[k], &t, &f1, &n1) == 0);
        CHECK_OK(tp_frame_decode(f1, n1, a, n * 4));
        for (int th = 0; th <= 3; th++) {
            tp_threads_set(th);
            CHECK(encode(specs[k], &t, &f2, &n2) == 0);
            CHECK(n1 == n2 && !memcmp(f1, f2, n1));
            free(f2);
            memset(b, 0xff, n * 4);
            CHECK_OK(tp_frame_decode(f1, n1, b, n * 4));
            CHECK(!memcmp(a, b, n * 4));
        }
        free(f1);
    }
    CHECK(tp_threads_set(1) == 3);
    free(x); free(a); free(b);
}
