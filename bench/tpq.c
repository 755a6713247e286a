/* tpq: tiny helper for bench/quant_vs_llama.py.
 *   tpq quant IN.f32 OUT.f32 SPEC D0 [D1 ...]
 *       encodes the raw little-endian f32 tensor of that shape through SPEC,
 *       decodes it to OUT.f32 and prints the frame byte count (with
 *       tp_threads_set(0): all cores; the bytes are the same for any count).
 *   tpq speed SPEC NVALUES REPS
 *       single-thread decode of NVALUES Gaussian values (after one warm-up),
 *       next to a plain write loop over the same output bytes; prints
 *       "write_gbs=.. decode_gbs=.. ratio=.." (medians; output bytes/s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "tpress.h"
#include "core/rng.h"

static int die(const char *what, size_t r)
{
    fprintf(stderr, "tpq: %s: %s (%s)\n", what, tp_error_name(r), tp_last_error_detail());
    return 1;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int quant(int argc, char **argv)
{
    tp_tensor t = {.dtype = TP_F32, .ndim = (uint32_t)(argc - 5)};
    if (argc < 6 || t.ndim > TP_MAX_DIMS) { fprintf(stderr, "tpq quant IN OUT SPEC D0 [D1...]\n"); return 2; }
    size_t n = 1;
    for (uint32_t i = 0; i < t.ndim; i++) { t.shape[i] = strtoull(argv[5 + i], NULL, 10); n *= t.shape[i]; }
    float *x = malloc(n * 4 + 1), *y = malloc(n * 4 + 1);
    FILE *f = fopen(argv[2], "rb");
    if (!x || !y || !f || fread(x, 4, n, f) != n) { fprintf(stderr, "tpq: cannot read %s\n", argv[2]); return 1; }
    fclose(f);
    t.data = x;
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(argv[4], &p);
    if (tp_is_error(r)) return die("spec", r);
    void *frame;
    size_t fs = tp_frame_encode_alloc(p, &t, NULL, &frame);
    if (tp_is_error(fs)) return die("encode", fs);
    r = tp_frame_decode(frame, fs, y, n * 4);
    if (tp_is_error(r)) return die("decode", r);
    f = fopen(argv[3], "wb");
    if (!f || fwrite(y, 4, n, f) != n || fclose(f)) { fprintf(stderr, "tpq: cannot write %s\n", argv[3]); return 1; }
    printf("%zu\n", fs);
    free(frame); free(x); free(y); tp_pipeline_free(p);
    return 0;
}

static int speed(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "tpq speed SPEC NVALUES REPS\n"); return 2; }
    size_t n = strtoull(argv[3], NULL, 10);
    int reps = atoi(argv[4]);
    if (reps < 1 || reps > 100) reps = 5;
    float *x = malloc(n * 4), *y = malloc(n * 4);
    if (!x || !y) return 1;
    tp_rng rng = {88172645463325252ull};
    uint64_t s;
    for (size_t i = 0; i < n; i++) { /* cheap approx. Gaussian: sum of 4 uniforms */
        float acc = 0;
        for (int k = 0; k < 4; k++) { s = tp_rng_next(&rng); acc += (float)(s >> 40) * 0x1p-24f; }
        x[i] = (acc - 2.0f) * 1.7320508f;
    }
    tp_tensor t = {.dtype = TP_F32, .ndim = 1, .shape = {n}, .data = x};
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(argv[2], &p);
    if (tp_is_error(r)) return die("spec", r);
    void *frame;
    size_t fs = tp_frame_encode_alloc(p, &t, NULL, &frame);
    if (tp_is_error(fs)) return die("encode", fs);
    double tw[100], td[100];
    memset(y, 1, n * 4);
    for (int k = -1; k < reps; k++) {
        double t0 = tp_now_seconds();
        volatile float v = (float)k;
        float fv = v;
        for (size_t i = 0; i < n; i++) y[i] = fv; /* plain write loop */
        __asm__ volatile("" ::"r"(y) : "memory");
        double t1 = tp_now_seconds();
        r = tp_frame_decode(frame, fs, y, n * 4);
        if (tp_is_error(r)) return die("decode", r);
        double t2 = tp_now_seconds();
        if (k >= 0) { tw[k] = t1 - t0; td[k] = t2 - t1; }
    }
    qsort(tw, (size_t)reps, sizeof *tw, cmpd);
    qsort(td, (size_t)reps, sizeof *td, cmpd);
    double w = (double)n * 4 / tw[reps / 2] / 1e9, d = (double)n * 4 / td[reps / 2] / 1e9;
    printf("write_gbs=%.3f decode_gbs=%.3f ratio=%.3f write_min_s=%.4f decode_min_s=%.4f frame=%zu\n", w, d, d / w,
           tw[0], td[0], fs);
    free(frame); free(x); free(y); tp_pipeline_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "quant")) {
        tp_threads_set(0); /* all cores for the quality runs: the bytes do not depend on it */
        return quant(argc, argv);
    }
    if (argc > 1 && !strcmp(argv[1], "speed")) return speed(argc, argv);
    fprintf(stderr, "usage: tpq quant IN.f32 OUT.f32 SPEC D0 [D1 ...] | tpq speed SPEC NVALUES REPS\n");
    return 2;
}
