/* bench_quant: quality and decode speed of the codebook quantizers.
 *
 *   bench_quant [--values N] [--reps R] [--quick] [--speed-only]
 *               [--scaling] [--threads-list 1,2,4,8]
 *
 * Quality: SNR (dB) against exact bits/value (whole frame bytes * 8 / N) on
 * N standard-normal values (default 16M) for kmeans, nf, log at 2..8 bits,
 * fp8 e4m3/e5m2 and int (reference), next to the Lloyd-Max limit computed
 * here from the normal density.
 * Speed: single-thread tp_frame_decode throughput of a 64 MiB f32 tensor
 * (output bytes / s) next to the write loops of bench_util.h (ordinary and
 * streaming stores, the same definitions bench_speed uses) and memcpy over
 * the same 64 MiB, measured in the same run: 1 warm-up + R repetitions,
 * round-robin over every row, median (min..max). The bars are judged
 * against the streaming write loop, the faster of the two. Run it pinned:
 * taskset -c 1. Prints Markdown.
 * --scaling (or --threads-list): instead, decode and the write loops with
 * each thread count of the list (default 1,2; tp_threads_set), interleaved
 * per repetition, and the speed-ups over the first count. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define MAX_THREADS 64
#define MAX_REPS 101

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
    if (!tp_is_error(r)) { r = tp_frame_encode_alloc(p, t, NULL, frame); tp_pipeline_free(p); }
    if (tp_is_error(r)) { fprintf(stderr, "%s: %s (%s)\n", spec, tp_error_name(r), tp_last_error_detail()); return -1; }
    *n = r;
    return 0;
}

/* Write loop split over T threads in contiguous 64-byte-aligned ranges,
 * threads created per call as tp_parallel_for creates them, so both sides
 * of the ratio pay the same start-up. */
typedef struct { float *dst; size_t n; float v; int stream; } write_part;

static void *write_part_run(void *arg)
{
    write_part *w = arg;
    if (w->stream) bench_write_stream(w->dst, w->n, w->v);
    else bench_write_plain(w->dst, w->n, w->v);
    return NULL;
}

static void write_threads(float *dst, size_t n, float v, int threads, int stream)
{
    write_part part[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (int k = 0; k < threads; k++) {
        size_t lo = n * (size_t)k / (size_t)threads & ~(size_t)15, hi = n * (size_t)(k + 1) / (size_t)threads & ~(size_t)15;
        if (k == threads - 1) hi = n;
        part[k] = (write_part){dst + lo, hi - lo, v, stream};
    }
    int started = 0;
    for (int k = 1; k < threads; k++, started = k - 1)
        if (pthread_create(&tid[k], NULL, write_part_run, &part[k])) break;
    for (int k = started + 1; k < threads; k++) write_part_run(&part[k]); /* threads that did not start */
    write_part_run(&part[0]);
    for (int k = 1; k <= started; k++) pthread_join(tid[k], NULL);
}

static int parse_threads_list(const char *s, int *t, int cap)
{
    int n = 0;
    while (*s && n < cap) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > MAX_THREADS) return 0;
        t[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return 0;
    }
    return n;
}

/* Decode (and the write loops) with each thread count of tl, interleaved
 * per repetition; then the kq encode, 1 rep each. */
static int run_scaling(const tp_tensor *t, float *y, int reps, const int *tl, int nt)
{
    static const char *const specs[] = {"kmeans:bits=4", "kmeans:bits=8", "nf:bits=4",          "nf:bits=8",
                                        "log:bits=4",    "fp8:format=e4m3", "int:bits=4,group=32", "int:bits=8,group=32",
                                        "kq:bits=4",     "kq:bits=5",       "ternary"};
    enum { N_SPECS = sizeof specs / sizeof specs[0], N_ROWS = N_SPECS + 2 };
    const size_t bytes = t->shape[0] * t->shape[1] * 4, n = bytes / 4;
    void *fr[N_SPECS];
    size_t fs[N_SPECS];
    tp_threads_set(1);
    for (int k = 0; k < N_SPECS; k++)
        if (encode(specs[k], t, &fr[k], &fs[k])) return 1;
    double *v = malloc(sizeof(double) * (size_t)(N_ROWS * nt * reps)), tmp[MAX_REPS];
    float fill = 1.0f;
    for (int r = -1; r < reps; r++)
        for (int row = 0; row < N_ROWS; row++)
            for (int j = 0; j < nt; j++) {
                double t0 = tp_now_seconds();
                if (row < 2) write_threads(y, n, fill += 1.0f, tl[j], row == 1);
                else {
                    tp_threads_set(tl[j]);
                    if (tp_is_error(tp_frame_decode(fr[row - 2], fs[row - 2], y, bytes))) return 1;
                }
                double g = bytes / (tp_now_seconds() - t0) / 1e9;
                if (r >= 0) v[(row * nt + j) * reps + r] = g;
            }
    tp_threads_set(1);
    /* Thread start + join per call: a parallel write of 4 KiB is nothing else. */
    double spawn[MAX_THREADS + 1] = {0};
    for (int j = 0; j < nt; j++) {
        for (int r = 0; r < reps; r++) {
            double t0 = tp_now_seconds();
            for (int i = 0; i < 100; i++) write_threads(y, 1024, fill, tl[j], 0);
            tmp[r] = (tp_now_seconds() - t0) / 100;
        }
        spawn[j] = bench_summarize(tmp, (size_t)reps).med;
    }

    printf("### Thread scaling: %zu MiB f32 output, GB/s median (min..max), %d reps\n\n", bytes >> 20, reps);
    printf("Speed-up = median at T threads / median at %d; in brackets, that speed-up divided by the streaming "
           "write loop's own speed-up at T threads (1.00 = the decoder scales as far as the memory does).\n\n", tl[0]);
    printf("| what |");
    for (int j = 0; j < nt; j++) printf(" %d thread%s |", tl[j], tl[j] > 1 ? "s" : "");
    for (int j = 1; j < nt; j++) printf(" speed-up %d/%d |", tl[j], tl[0]);
    printf("\n|---|");
    for (int j = 0; j < 2 * nt - 1; j++) printf("---:|");
    printf("\n");
    double base_up[MAX_THREADS] = {0}, decode_ms = 0;
    for (int row = 0; row < N_ROWS; row++) {
        bench_summary s[MAX_THREADS];
        for (int j = 0; j < nt; j++) {
            memcpy(tmp, v + (row * nt + j) * reps, sizeof(double) * (size_t)reps);
            s[j] = bench_summarize(tmp, (size_t)reps);
        }
        if (row == 2) decode_ms = (double)bytes / (s[0].med * 1e9) * 1e3;
        if (row < 2) printf("| write loop, %s stores |", row ? "streaming" : "plain");
        else printf("| decode `%s` |", specs[row - 2]);
        for (int j = 0; j < nt; j++) printf(" %.2f (%.2f..%.2f) |", s[j].med, s[j].min, s[j].max);
        for (int j = 1; j < nt; j++) {
            double up = s[j].med / s[0].med;
            if (row == 1) base_up[j] = up;
            if (row < 2) printf(" %.2fx |", up);
            else printf(" %.2fx (%.2f) |", up, up / base_up[j]);
        }
        printf("\n");
    }
    printf("| encode `kq:bits=4`, quarter tensor (Mvalues/s, 1 rep) |");
    tp_tensor q = *t;
    q.shape[0] /= 4;
    double e[MAX_THREADS];
    for (int j = 0; j < nt; j++) {
        void *f; size_t fsz;
        tp_threads_set(tl[j]);
        double t0 = tp_now_seconds();
        if (encode("kq:bits=4", &q, &f, &fsz)) return 1;
        e[j] = (double)(q.shape[0] * q.shape[1]) / (tp_now_seconds() - t0) / 1e6;
        free(f);
        printf(" %.2f |", e[j]);
    }
    tp_threads_set(1);
    for (int j = 1; j < nt; j++) printf(" %.2fx |", e[j] / e[0]);
    printf("\n\nThreads are created per call, by the library (tp_parallel_for) and by the write loops alike; "
           "start + join alone, median per call:");
    for (int j = 0; j < nt; j++) printf("%s %d: %.1f us", j ? "," : "", tl[j], spawn[j] * 1e6);
    printf(" (one decode of `%s` at %d thread%s: %.1f ms).\n", specs[0], tl[0], tl[0] > 1 ? "s" : "", decode_ms);
    for (int k = 0; k < N_SPECS; k++) free(fr[k]);
    free(v);
    return 0;
}

static int run_quality(const tp_tensor *t, float *y, int quick)
{
    const size_t nn = t->shape[0] * t->shape[1];
    const float *x = t->data;
    printf("### Quality: SNR on %zu N(0,1) values\n\n", nn);
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
            if (encode(spec, t, &fr, &fs)) return 1;
            tp_metrics m;
            size_t d = tp_frame_decode(fr, fs, y, nn * 4);
            free(fr);
            if (tp_is_error(d)) return 1;
            tp_metrics_compute(x, TP_F32, y, TP_F32, nn, &m);
            printf("| `%s` | %.4f | %.2f | %.2f | %.2f |\n", spec, fs * 8.0 / nn, m.snr_db, lm[b], lm[b] - m.snr_db);
        }
    }
    static const char *const fp8s[] = {"fp8:format=e4m3", "fp8:format=e5m2", "fp8:format=e4m3,group=32,scale=f16"};
    for (size_t f = 0; f < 3; f++) {
        void *fr; size_t fs;
        if (encode(fp8s[f], t, &fr, &fs)) return 1;
        tp_metrics m;
        tp_frame_decode(fr, fs, y, nn * 4);
        free(fr);
        tp_metrics_compute(x, TP_F32, y, TP_F32, nn, &m);
        printf("| `%s` | %.4f | %.2f | %.2f | %.2f |\n", fp8s[f], fs * 8.0 / nn, m.snr_db, lm[8], lm[8] - m.snr_db);
    }
    fflush(stdout);
    return 0;
}

/* The bar for a decode spec, % of the streaming write loop. */
static int bar_pct(const char *spec)
{
    if (!strncmp(spec, "kq", 2) || !strncmp(spec, "ternary", 7)) return 60;
    return 70;
}

static int run_speed(const tp_tensor *t, float *y, float *z, int reps)
{
    static const char *const speed[] = {"kmeans:bits=4", "kmeans:bits=8", "nf:bits=4", "nf:bits=8", "log:bits=4",
                                        "log:bits=8", "fp8:format=e4m3", "fp8:format=e5m2,group=32",
                                        "int:bits=4,group=32", "int:bits=8,group=32", "kq:bits=2", "kq:bits=3",
                                        "kq:bits=4", "kq:bits=5", "kq:bits=6", "ternary", "ternary:method=mse,group=256"};
    enum { NS = sizeof speed / sizeof speed[0], NB = 3 /* plain write, streaming write, memcpy */ };
    const size_t n = t->shape[0] * t->shape[1], bytes = n * 4;
    void *frames[NS];
    size_t fsz[NS];
    for (size_t k = 0; k < NS; k++)
        if (encode(speed[k], t, &frames[k], &fsz[k])) return 1;
    static double v[NB + NS][MAX_REPS];
    float fill = 0.5f;
    /* Baselines and decoders round-robin per repetition so drift hits all alike. */
    for (int r = -1; r < reps; r++) {
        for (int row = 0; row < NB + NS; row++) {
            double t0 = tp_now_seconds();
            if (row == 0) bench_write_plain(y, n, fill += 1.0f);
            else if (row == 1) bench_write_stream(y, n, fill += 1.0f);
            else if (row == 2) memcpy(z, y, bytes);
            else if (tp_is_error(tp_frame_decode(frames[row - NB], fsz[row - NB], y, bytes))) return 1;
            double g = bytes / (tp_now_seconds() - t0) / 1e9;
            if (r >= 0) v[row][r] = g;
        }
    }
    bench_summary s[NB + NS];
    for (int row = 0; row < NB + NS; row++) s[row] = bench_summarize(v[row], (size_t)reps);
    printf("\n### Decode speed: %zu MiB f32 output (%zu values), single thread, %d reps\n\n", bytes >> 20, n, reps);
    printf("| what | GB/s median (min..max) | %% of write loop, plain stores | %% of write loop, streaming stores "
           "| %% of memcpy | bar (of streaming) |\n|---|---:|---:|---:|---:|---|\n");
    printf("| write loop, plain 256-bit stores | %.2f (%.2f..%.2f) | 100 | %.0f | | |\n", s[0].med, s[0].min, s[0].max,
           100 * s[0].med / s[1].med);
    printf("| write loop, streaming 256-bit stores | %.2f (%.2f..%.2f) | %.0f | 100 | | |\n", s[1].med, s[1].min,
           s[1].max, 100 * s[1].med / s[0].med);
    printf("| memcpy (read+write) | %.2f (%.2f..%.2f) | | | 100 | |\n", s[2].med, s[2].min, s[2].max);
    for (size_t k = 0; k < NS; k++) {
        const bench_summary *d = &s[NB + k];
        double pct = 100 * d->med / s[1].med;
        printf("| decode `%s` | %.2f (%.2f..%.2f) | %.0f | %.0f | %.0f | %s (>= %d %%) |\n", speed[k], d->med, d->min,
               d->max, 100 * d->med / s[0].med, pct, 100 * d->med / s[2].med, pct >= bar_pct(speed[k]) ? "PASS" : "MISS",
               bar_pct(speed[k]));
        free(frames[k]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = (size_t)1 << 24;
    int reps = 5, quick = 0, speed_only = 0, scaling = 0, tl[MAX_THREADS] = {1, 2}, nt = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--values") && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--speed-only")) speed_only = 1;
        else if (!strcmp(argv[i], "--scaling")) scaling = 1;
        else if (!strcmp(argv[i], "--threads-list") && i + 1 < argc) {
            scaling = 1;
            if (!(nt = parse_threads_list(argv[++i], tl, MAX_THREADS))) {
                fprintf(stderr, "bench_quant: --threads-list wants counts in 1..%d, e.g. 1,2,4,8\n", MAX_THREADS);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: %s [--values N] [--reps R] [--quick] [--speed-only] [--scaling] "
                            "[--threads-list 1,2,4,8]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS) { fprintf(stderr, "bench_quant: reps in 1..%d\n", MAX_REPS); return 2; }
    n &= ~(size_t)4095;
    /* 64-byte aligned, like numpy arrays (and what streaming stores need); rows of 4096 as in bench_speed */
    float *x = bench_alloc(n * 4), *y = bench_alloc(n * 4), *z = bench_alloc(n * 4);
    bench_gaussian(x, n, 1);
    tp_tensor t = {0};
    t.dtype = TP_F32; t.ndim = 2; t.shape[0] = n / 4096; t.shape[1] = 4096; t.data = x;

    int rc;
    if (scaling) rc = run_scaling(&t, y, reps, tl, nt);
    else rc = (speed_only ? 0 : run_quality(&t, y, quick)) || run_speed(&t, y, z, reps);
    free(x); free(y); free(z);
    return rc;
}
