/* Low-bit codecs side by side (bench/lowbit.sh runs it):
 *   bench_lowbit gauss N SPEC...        N standard normal values (shape N/4096 x 4096)
 *   bench_lowbit file PATH MAXW SPEC... the 2-D tensors of a .safetensors file,
 *                                       in file order until MAXW weights (0 = all)
 *   bench_lowbit decode SPEC            decode of a 64 MiB tensor vs a plain write loop
 * Bits/weight come from the frame bytes (header, codebooks, scales, indices);
 * SNR = 10 log10(sum x^2 / sum (x - x_hat)^2) over all weights; encode speed is
 * weights per second of process CPU time (threads=1 unless the spec says). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "tpress.h"
#include "core/rng.h"

static void gaussian(float *x, size_t n, uint64_t seed)
{
    tp_rng rng = {seed};
    uint64_t s;
    for (size_t i = 0; i < n; i += 2) {
        s = tp_rng_next(&rng);
        double u1 = ((double)(s >> 11) + 0.5) / 9007199254740992.0;
        s = tp_rng_next(&rng);
        double u2 = (double)(s >> 11) / 9007199254740992.0, r = sqrt(-2 * log(u1));
        x[i] = (float)(r * cos(2 * M_PI * u2));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(2 * M_PI * u2));
    }
}

typedef struct {
    double bytes, weights, sig, err, cpu;
} acc;

static int run_one(tp_pipeline *p, const float *x, uint64_t rows, uint64_t cols, acc *a)
{
    size_t n = rows * cols;
    tp_tensor t = {TP_F32, 2, {rows, cols}, x};
    void *f;
    double c0 = tp_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    size_t fn = tp_frame_encode_alloc(p, &t, NULL, &f);
    a->cpu += tp_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (tp_is_error(fn)) { fprintf(stderr, "encode: %s\n", tp_last_error_detail()); return 0; }
    float *y = malloc(n * sizeof *y);
    size_t r = tp_frame_decode(f, fn, y, n * sizeof *y);
    free(f);
    if (tp_is_error(r)) { fprintf(stderr, "decode: %s\n", tp_last_error_detail()); free(y); return 0; }
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - y[i];
        a->sig += (double)x[i] * x[i];
        a->err += d * d;
    }
    a->bytes += (double)fn;
    a->weights += (double)n;
    free(y);
    return 1;
}

static void report(const char *spec, const acc *a)
{
    printf("| `%s` | %.4f | %.2f | %.0f |\n", spec, 8 * a->bytes / a->weights, 10 * log10(a->sig / a->err),
           a->weights / a->cpu);
    fflush(stdout);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: see the comment at the top of bench_lowbit.c\n"); return 2; }
    if (!strcmp(argv[1], "gauss")) {
        size_t n = strtoull(argv[2], NULL, 10), cols = 4096, rows = n / cols;
        float *x = malloc(rows * cols * sizeof *x);
        gaussian(x, rows * cols, 88172645463325252ull);
        for (int i = 3; i < argc; i++) {
            tp_pipeline *p;
            if (tp_is_error(tp_pipeline_parse(argv[i], &p))) { fprintf(stderr, "%s\n", tp_last_error_detail()); return 1; }
            acc a = {0};
            if (run_one(p, x, rows, cols, &a)) report(argv[i], &a);
            tp_pipeline_free(p);
        }
        free(x);
        return 0;
    }
    if (!strcmp(argv[1], "file") && argc >= 4) {
        tp_tensor_file *tf;
        if (tp_is_error(tp_tensor_file_open(argv[2], &tf))) { fprintf(stderr, "%s\n", tp_last_error_detail()); return 1; }
        double maxw = atof(argv[3]);
        for (int i = 4; i < argc; i++) {
            tp_pipeline *p;
            if (tp_is_error(tp_pipeline_parse(argv[i], &p))) { fprintf(stderr, "%s\n", tp_last_error_detail()); return 1; }
            acc a = {0};
            for (size_t k = 0; k < tp_tensor_file_count(tf); k++) {
                tp_tensor t;
                if (tp_is_error(tp_tensor_file_get(tf, k, &t)) || t.ndim != 2 || !tp_dtype_is_float(t.dtype)) continue;
                if (maxw > 0 && a.weights >= maxw) break;
                size_t n = t.shape[0] * t.shape[1];
                float *x = malloc(n * sizeof *x);
                tp_convert(x, TP_F32, t.data, t.dtype, n);
                int ok = run_one(p, x, t.shape[0], t.shape[1], &a);
                free(x);
                if (!ok) return 1;
            }
            report(argv[i], &a);
            tp_pipeline_free(p);
        }
        tp_tensor_file_close(tf);
        return 0;
    }
    if (!strcmp(argv[1], "decode")) {
        size_t n = (64u << 20) / sizeof(float), cols = 4096;
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        gaussian(x, n, 7);
        tp_pipeline *p;
        if (tp_is_error(tp_pipeline_parse(argv[2], &p))) { fprintf(stderr, "%s\n", tp_last_error_detail()); return 1; }
        tp_tensor t = {TP_F32, 2, {n / cols, cols}, x};
        void *f;
        size_t fn = tp_frame_encode_alloc(p, &t, NULL, &f);
        if (tp_is_error(fn)) { fprintf(stderr, "%s\n", tp_last_error_detail()); return 1; }
        enum { REPS = 7 };
        double tw[REPS], td[REPS];
        for (int r = 0; r < REPS + 1; r++) { /* first round is the warm-up */
            double t0 = tp_now_seconds();
            for (size_t i = 0; i < n; i++) y[i] = (float)i;
            __asm__ volatile("" ::"r"(y) : "memory");
            double t1 = tp_now_seconds();
            if (tp_is_error(tp_frame_decode(f, fn, y, n * sizeof *y))) return 1;
            double t2 = tp_now_seconds();
            if (r) { tw[r - 1] = t1 - t0; td[r - 1] = t2 - t1; }
        }
        qsort(tw, REPS, sizeof *tw, cmp_d);
        qsort(td, REPS, sizeof *td, cmp_d);
        double mb = (double)(n * sizeof(float)) / 1e6;
        printf("| `%s` | %.0f | %.0f | %.0f %% | %.0f / %.0f / %.0f |\n", argv[2], mb / tw[REPS / 2],
               mb / td[REPS / 2], 100 * tw[REPS / 2] / td[REPS / 2], mb / td[REPS - 1], mb / td[REPS / 2],
               mb / td[0]);
        free(f); free(x); free(y);
        tp_pipeline_free(p);
        return 0;
    }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
