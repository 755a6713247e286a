/* bench_quant: quality and decode speed of the codebook quantizers.
 *
 *   bench_quant [--values N] [--reps R] [--quick] [--speed-only] [--scaling]
 *
 * Quality: SNR (dB) against exact bits/value (whole frame bytes * 8 / N) on
 * N standard-normal values (default 16M) for kmeans, nf, log at 2..8 bits,
 * fp8 e4m3/e5m2 and int (reference), next to the Lloyd-Max limit computed
 * here from the normal density.
 * Speed: single-thread tp_frame_decode throughput of a 64 MiB f32 tensor
 * (output bytes / s), as a percentage of a plain write loop and memcpy over
 * the same 64 MiB measured in the same run: 1 warm-up + R repetitions,
 * median (min..max). Run it pinned: taskset -c 1. Prints Markdown.
 * --scaling: instead, decode (and kq encode) with 1 and 2 worker threads
 * (tp_threads_set) interleaved per repetition; run it on two cores
 * (taskset -c 0,1) and read the speed-up. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tpress.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void gaussian(float *x, size_t n, unsigned seed)
{
    uint64_t s = 0x9E3779B97F4A7C15ull ^ seed;
    for (size_t i = 0; i < n; i += 2) {
        double u[2];
        for (int j = 0; j < 2; j++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            u[j] = ((s >> 11) + 0.5) * (1.0 / 9007199254740992.0);
        }
        double r = sqrt(-2.0 * log(u[0])), t = 6.283185307179586 * u[1];
        x[i] = (float)(r * cos(t));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(t));
    }
}

/* Lloyd-Max SNR of a 2^b-level quantizer for N(0,1): Lloyd's iteration on
 * the density (cell centroid (phi(a)-phi(b))/(Phi(b)-Phi(a))), then
 * D = 1 - sum P_j c_j^2. */
static double lloyd_max_db(int bits)
{
    int K = 1 << bits;
    double c[256], t[257];
    for (int j = 0; j < K; j++) c[j] = -3.5 + 7.0 * (j + 0.5) / K;
    double D = 1;
    for (int it = 0; it < 20000; it++) {
        t[0] = -INFINITY; t[K] = INFINITY;
        for (int j = 1; j < K; j++) t[j] = 0.5 * (c[j - 1] + c[j]);
        double sum = 0, moved = 0;
        for (int j = 0; j < K; j++) {
            double pa = isinf(t[j]) ? 0 : exp(-0.5 * t[j] * t[j]) / sqrt(2 * M_PI);
            double pb = isinf(t[j + 1]) ? 0 : exp(-0.5 * t[j + 1] * t[j + 1]) / sqrt(2 * M_PI);
            double P = 0.5 * (erfc(-t[j + 1] / sqrt(2.0)) - erfc(-t[j] / sqrt(2.0)));
            double nc = P > 0 ? (pa - pb) / P : c[j];
            moved = fmax(moved, fabs(nc - c[j]));
            c[j] = nc;
            sum += P * nc * nc;
        }
        D = 1 - sum;
        if (moved < 1e-13) break;
    }
    return -10 * log10(D);
}

typedef struct { size_t frame; double snr; } quality;

static int encode(const char *spec, const tp_tensor *t, void **frame, size_t *n)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (!tp_is_error(r)) { r = tp_frame_encode_alloc(p, t, frame); tp_pipeline_free(p); }
    if (tp_is_error(r)) { fprintf(stderr, "%s: %s (%s)\n", spec, tp_error_name(r), tp_last_error_detail()); return -1; }
    *n = r;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct { double med, min, max; } stats;

static stats summarise(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    stats s = {v[n / 2], v[0], v[n - 1]};
    return s;
}

/* Decode with 1 and 2 threads, interleaved; the kq encode too. */
static int run_scaling(const tp_tensor *t, float *y, int reps)
{
    static const char *const specs[] = {"kmeans:bits=8", "nf:bits=4", "nf:bits=8", "fp8:format=e4m3",
                                        "int:bits=8,group=32", "kq:bits=4", "kq:bits=5"};
    const size_t ns = sizeof specs / sizeof specs[0], bytes = t->shape[0] * t->shape[1] * 4;
    printf("### Two-thread scaling: %zu MiB f32 output, decode GB/s median (min..max), %d reps\n\n", bytes >> 20, reps);
    printf("| what | 1 thread | 2 threads | speed-up |\n|---|---:|---:|---:|\n");
    double *a = malloc(sizeof(double) * (size_t)reps), *b = malloc(sizeof(double) * (size_t)reps);
    for (size_t k = 0; k < ns; k++) {
        void *fr; size_t fs;
        tp_threads_set(1);
        if (encode(specs[k], t, &fr, &fs)) return 1;
        for (int r = -1; r < reps; r++) {
            for (int th = 1; th <= 2; th++) {
                tp_threads_set(th);
                double t0 = now();
                if (tp_is_error(tp_frame_decode(fr, fs, y, bytes))) return 1;
                double v = bytes / (now() - t0) / 1e9;
                if (r >= 0) (th == 1 ? a : b)[r] = v;
            }
        }
        stats s1 = summarise(a, reps), s2 = summarise(b, reps);
        printf("| decode `%s` | %.2f (%.2f..%.2f) | %.2f (%.2f..%.2f) | %.2fx |\n", specs[k], s1.med, s1.min, s1.max,
               s2.med, s2.min, s2.max, s2.med / s1.med);
        fflush(stdout);
        free(fr);
    }
    /* kq encode: 1 rep each way on a quarter of the tensor (it is slow). */
    tp_tensor q = *t;
    q.shape[0] /= 4;
    double e[2];
    for (int th = 1; th <= 2; th++) {
        void *fr; size_t fs;
        tp_threads_set(th);
        double t0 = now();
        if (encode("kq:bits=4", &q, &fr, &fs)) return 1;
        e[th - 1] = q.shape[0] * q.shape[1] / (now() - t0) / 1e6;
        free(fr);
    }
    printf("| encode `kq:bits=4` (Mvalues/s, 1 rep) | %.2f | %.2f | %.2fx |\n", e[0], e[1], e[1] / e[0]);
    tp_threads_set(1);
    free(a); free(b);
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = (size_t)1 << 24;
    int reps = 5, quick = 0, speed_only = 0, scaling = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--values") && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--speed-only")) speed_only = 1;
        else if (!strcmp(argv[i], "--scaling")) scaling = 1;
    }
    n &= ~(size_t)1023;
    /* 64-byte aligned, like numpy arrays (and what streaming stores need) */
    float *x = aligned_alloc(64, n * 4), *y = aligned_alloc(64, n * 4), *z = aligned_alloc(64, n * 4);
    if (!x || !y || !z) return 1;
    gaussian(x, n, 1);
    memset(y, 0, n * 4);
    memset(z, 0, n * 4);
    tp_tensor t = {0};
    t.dtype = TP_F32; t.ndim = 2; t.shape[0] = n / 1024; t.shape[1] = 1024; t.data = x;

    if (scaling) return run_scaling(&t, y, reps);
    if (speed_only) goto speed;
    printf("### Quality: SNR on %zu N(0,1) values\n\n", n);
    printf("| codec spec | bits/value | SNR dB | Lloyd-Max dB (same bits) | gap dB |\n|---|---:|---:|---:|---:|\n");
    double lm[9];
    for (int b = 1; b <= 8; b++) lm[b] = lloyd_max_db(b);
    static const char *const fams[] = {"kmeans:bits=%d", "nf:bits=%d", "log:bits=%d", "int:bits=%d,group=32"};
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        for (int b = 2; b <= 8; b++) {
            if (quick && b != 2 && b != 4 && b != 8) continue;
            char spec[64];
            snprintf(spec, sizeof spec, fams[f], b);
            void *fr; size_t fs;
            if (encode(spec, &t, &fr, &fs)) return 1;
            tp_metrics m;
            size_t d = tp_frame_decode(fr, fs, y, n * 4);
            free(fr);
            if (tp_is_error(d)) return 1;
            tp_metrics_compute(x, TP_F32, y, TP_F32, n, &m);
            printf("| `%s` | %.4f | %.2f | %.2f | %.2f |\n", spec, fs * 8.0 / n, m.snr_db, lm[b], lm[b] - m.snr_db);
        }
    }
    static const char *const fp8s[] = {"fp8:format=e4m3", "fp8:format=e5m2", "fp8:format=e4m3,group=32,scale=f16"};
    for (size_t f = 0; f < 3; f++) {
        void *fr; size_t fs;
        if (encode(fp8s[f], &t, &fr, &fs)) return 1;
        tp_metrics m;
        tp_frame_decode(fr, fs, y, n * 4);
        free(fr);
        tp_metrics_compute(x, TP_F32, y, TP_F32, n, &m);
        printf("| `%s` | %.4f | %.2f | %.2f | %.2f |\n", fp8s[f], fs * 8.0 / n, m.snr_db, lm[8], lm[8] - m.snr_db);
    }
    fflush(stdout);

    /* Speed. */
speed:;
    const size_t bytes = n * 4;
    volatile float fill_src = 0.5f;
    const float fill = fill_src;
    double *tw = malloc(sizeof(double) * (size_t)reps), *tc = malloc(sizeof(double) * (size_t)reps);
    double *td = malloc(sizeof(double) * (size_t)reps);
    static const char *const speed[] = {"kmeans:bits=4", "kmeans:bits=8", "nf:bits=4", "nf:bits=8", "log:bits=4",
                                        "log:bits=8", "fp8:format=e4m3", "fp8:format=e5m2,group=32",
                                        "int:bits=4,group=32", "int:bits=8,group=32", "kq:bits=2", "kq:bits=3",
                                        "kq:bits=4", "kq:bits=5", "kq:bits=6", "ternary", "ternary:method=mse,group=256"};
    size_t ns = sizeof speed / sizeof speed[0];
    void *frames[32];
    size_t fsz[32];
    for (size_t s = 0; s < ns; s++) if (encode(speed[s], &t, &frames[s], &fsz[s])) return 1;
    printf("\n### Decode speed: %zu MiB f32 output (%zu values), single thread, %d reps\n\n", bytes >> 20, n, reps);
    printf("| what | GB/s median (min..max) | %% of write loop | %% of memcpy |\n|---|---:|---:|---:|\n");
    /* Baselines and decoders interleaved per repetition so drift hits all alike. */
    double **dec = malloc(ns * sizeof *dec);
    for (size_t s = 0; s < ns; s++) dec[s] = malloc(sizeof(double) * (size_t)reps);
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        for (size_t i = 0; i < n; i++) y[i] = fill; /* vectorised stores, no memset call */
        double t1 = now();
        memcpy(z, y, bytes);
        double t2 = now();
        if (r >= 0) { tw[r] = bytes / (t1 - t0) / 1e9; tc[r] = bytes / (t2 - t1) / 1e9; }
        for (size_t s = 0; s < ns; s++) {
            double a = now();
            size_t d = tp_frame_decode(frames[s], fsz[s], y, bytes);
            double b = now();
            if (tp_is_error(d)) return 1;
            if (r >= 0) dec[s][r] = bytes / (b - a) / 1e9;
        }
    }
    stats sw = summarise(tw, reps), sc = summarise(tc, reps);
    printf("| plain write loop | %.2f (%.2f..%.2f) | 100 | |\n", sw.med, sw.min, sw.max);
    printf("| memcpy (read+write) | %.2f (%.2f..%.2f) | | 100 |\n", sc.med, sc.min, sc.max);
    for (size_t s = 0; s < ns; s++) {
        memcpy(td, dec[s], sizeof(double) * (size_t)reps);
        stats sd = summarise(td, reps);
        printf("| decode `%s` | %.2f (%.2f..%.2f) | %.0f | %.0f |\n", speed[s], sd.med, sd.min, sd.max,
               100 * sd.med / sw.med, 100 * sd.med / sc.med);
        free(frames[s]);
        free(dec[s]);
    }
    free(dec); free(tw); free(tc); free(td); free(x); free(y); free(z);
    return 0;
}
