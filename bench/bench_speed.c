/* bench_speed: single-thread encode/decode throughput of frames, next to
 * memory baselines measured in the same run.
 *
 * For each size (64 MiB of f32, far beyond the caches; 256 KiB, inside L2)
 * the cases below run round-robin, one repetition of every case after the
 * other, so a slow phase of a shared machine hits baselines and codecs
 * alike. One warm-up call per case precedes the timed repetitions; a
 * repetition of a small case loops the call until it lasts ~20 ms.
 *
 * GB/s = 1e9 bytes of f32 input (encode) or output (decode) per second.
 * Baselines: memcpy of the f32 buffer, and the two write loops of
 * bench_util.h over the same bytes (ordinary 256-bit stores; streaming
 * stores), the same definitions bench_quant uses. The spine bars compare
 * decode with the plain loop; the streaming loop is the bandwidth a decoder
 * that streams its output (as the int decoder does beyond the last-level
 * cache) can reach, and the stricter baseline.
 *
 * "codec only" decode = median(tp_frame_decode) - median(tp_frame_inspect):
 * inspect parses the header and verifies the checksum, the part of decode
 * that is not the codec, so this reaches the codec through the public frame
 * API alone.
 *
 * Usage: bench_speed [--reps N] [--big-mib M] [--small-kib K]
 * Prints markdown tables on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"


#define MAX_REPS 101
#define MAX_CASES 32
#define SMALL_REP_SECONDS 0.02

enum kind { K_MEMCPY, K_WRITE, K_WRITE_NT, K_ENCODE, K_DECODE, K_INSPECT };

typedef struct {
    const char *spec;  /* pipeline spec, or NULL for a baseline */
    const char *label; /* row label                             */
    enum kind kind;
    tp_pipeline *p;
    void *frame;       /* shared by the encode/decode/inspect cases of a spec */
    size_t frame_cap, frame_size;
    long inner;        /* calls per timed repetition */
    double t[MAX_REPS]; /* seconds per call */
    bench_summary s;   /* of t */
} bench_case;

typedef struct {
    const float *src;
    float *dst;
    size_t numel, bytes;
    tp_tensor tensor;
} bench_data;

static float write_value = 1.0f;

static void run_call(bench_case *c, bench_data *d)
{
    switch (c->kind) {
    case K_MEMCPY:
        memcpy(d->dst, d->src, d->bytes);
        break;
    case K_WRITE:
        bench_write_plain(d->dst, d->numel, write_value);
        write_value += 1.0f; /* a new value each call: nothing to elide */
        break;
    case K_WRITE_NT:
        bench_write_stream(d->dst, d->numel, write_value);
        write_value += 1.0f;
        break;
    case K_ENCODE:
        c->frame_size = bench_check(tp_frame_encode(c->p, &d->tensor, NULL, c->frame, c->frame_cap), c->label);
        break;
    case K_DECODE: {
        size_t r = bench_check(tp_frame_decode(c->frame, c->frame_size, d->dst, d->bytes), c->label);
        if (r != d->bytes) { fprintf(stderr, "bench: %s decoded %zu bytes\n", c->label, r); exit(1); }
        break;
    }
    case K_INSPECT: {
        tp_frame_info info;
        bench_check(tp_frame_inspect(c->frame, c->frame_size, &info), c->label);
        break;
    }
    }
}

static double time_rep(bench_case *c, bench_data *d)
{
    double t0 = tp_now_seconds();
    for (long i = 0; i < c->inner; i++) run_call(c, d);
    return (tp_now_seconds() - t0) / (double)c->inner;
}

static double gbs(size_t bytes, double t) { return t > 0 ? (double)bytes / t / 1e9 : 0.0; }

typedef struct {
    const char *spec, *name;
    int inspect; /* also time header+checksum to derive codec-only decode */
} spec_row;

static const spec_row specs[] = {
    {"int:bits=8,group=32", "int8", 1},
    {"int:bits=4,group=32", "int4", 1},
    {"fp16", "fp16", 0},
    {"zstd:level=3", "zstd-3", 0},
};
#define N_SPECS (sizeof specs / sizeof specs[0])

typedef struct {
    const char *name;
    double enc_gbs, dec_gbs, dec_write, dec_memcpy;
} headline;

static const char *bar(double value, double need) { return value >= need ? "PASS" : "MISS"; }

/* "t_base / t %", or "-" without a baseline. */
static const char *pct(double t_base, double t)
{
    static char buf[4][16];
    static int k;
    k = (k + 1) % 4;
    if (t_base > 0 && t > 0) snprintf(buf[k], sizeof buf[k], "%.0f %%", 100.0 * t_base / t);
    else snprintf(buf[k], sizeof buf[k], "-");
    return buf[k];
}

static void bench_size(size_t numel, int reps, const float *all_src, const char *size_label)
{
    bench_data d;
    d.numel = numel;
    d.bytes = numel * sizeof(float);
    d.src = all_src;
    d.dst = bench_alloc(d.bytes);
    memset(&d.tensor, 0, sizeof d.tensor);
    d.tensor.dtype = TP_F32;
    d.tensor.ndim = 2;
    d.tensor.shape[0] = numel / 4096 ? numel / 4096 : 1;
    d.tensor.shape[1] = numel / d.tensor.shape[0];
    d.tensor.data = d.src;

    bench_case cases[MAX_CASES];
    size_t n = 0;
    memset(cases, 0, sizeof cases);
    cases[n++] = (bench_case){.label = "memcpy (baseline)", .kind = K_MEMCPY};
    cases[n++] = (bench_case){.label = "write loop (baseline)", .kind = K_WRITE};
    const int big = d.bytes >= (16u << 20);
    if (big) /* streaming stores bypass the caches: no in-cache baseline */
        cases[n++] = (bench_case){.label = "write loop, streaming stores (baseline)", .kind = K_WRITE_NT};
    for (size_t i = 0; i < N_SPECS; i++) {
        tp_pipeline *p;
        bench_check(tp_pipeline_parse(specs[i].spec, &p), specs[i].spec);
        size_t cap = bench_check(tp_frame_bound(p, &d.tensor), "tp_frame_bound");
        void *frame = bench_alloc(cap);
        enum kind kinds[3] = {K_ENCODE, K_DECODE, K_INSPECT};
        for (int k = 0; k < (specs[i].inspect ? 3 : 2); k++)
            cases[n++] = (bench_case){.spec = specs[i].spec, .label = specs[i].name, .kind = kinds[k], .p = p,
                                      .frame = frame, .frame_cap = cap};
    }

    /* Warm-up: one call each (encode first, it fills the frame the decode
     * and inspect cases read), then size the inner loop. */
    for (size_t i = 0; i < n; i++) {
        if (cases[i].kind == K_DECODE || cases[i].kind == K_INSPECT)
            cases[i].frame_size = cases[i - (cases[i].kind == K_DECODE ? 1 : 2)].frame_size; /* its encode row */
        cases[i].inner = 1;
        double t = time_rep(&cases[i], &d);
        if (d.bytes < (16u << 20)) {
            long inner = (long)(SMALL_REP_SECONDS / (t > 1e-9 ? t : 1e-9)) + 1;
            cases[i].inner = inner > 1000000 ? 1000000 : inner;
        }
    }
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < n; i++) cases[i].t[r] = time_rep(&cases[i], &d);
    for (size_t i = 0; i < n; i++) cases[i].s = bench_summarize(cases[i].t, (size_t)reps);

    const double t_memcpy = cases[0].s.med, t_write = cases[1].s.med, t_stream = big ? cases[2].s.med : 0.0;
    printf("\n#### %s f32 (%zu values, %s)\n\n", size_label, numel,
           d.bytes >= (16u << 20) ? "beyond the caches" : "inside the caches");
    printf("| operation | frame bytes | bits/value | min GB/s | median GB/s | max GB/s | median / write loop | "
           "median / streaming write | median / memcpy | bar |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    headline heads[N_SPECS];
    memset(heads, 0, sizeof heads);
    for (size_t i = 0; i < n; i++) {
        bench_case *c = &cases[i];
        /* min GB/s comes from the slowest repetition */
        double lo = gbs(d.bytes, c->s.max), med = gbs(d.bytes, c->s.med), hi = gbs(d.bytes, c->s.min);
        char what[96], fbytes[32] = "", bpv[32] = "", barbuf[64] = "";
        size_t spec_i = 0;
        for (; c->spec && spec_i < N_SPECS && strcmp(specs[spec_i].spec, c->spec); spec_i++) {}
        headline *h = c->spec ? &heads[spec_i] : NULL;
        if (c->spec) {
            snprintf(fbytes, sizeof fbytes, "%zu", c->frame_size);
            snprintf(bpv, sizeof bpv, "%.3f", (double)c->frame_size * 8.0 / (double)numel);
            h->name = specs[spec_i].name;
        }
        switch (c->kind) {
        case K_MEMCPY: case K_WRITE: case K_WRITE_NT: snprintf(what, sizeof what, "%s", c->label); break;
        case K_ENCODE:
            snprintf(what, sizeof what, "%s encode `%s`", c->label, c->spec);
            h->enc_gbs = med;
            if (!strcmp(c->label, "int8")) snprintf(barbuf, sizeof barbuf, "%s (encode >= 1 GB/s)", bar(med, 1.0));
            break;
        case K_DECODE:
            snprintf(what, sizeof what, "%s decode", c->label);
            h->dec_gbs = med;
            h->dec_write = t_write / c->s.med;
            h->dec_memcpy = t_memcpy / c->s.med;
            if (!strcmp(c->label, "int8"))
                snprintf(barbuf, sizeof barbuf, "%s (>= 60 %% of write)", bar(h->dec_write, 0.60));
            if (!strcmp(c->label, "int4"))
                snprintf(barbuf, sizeof barbuf, "%s (>= 50 %% of write)", bar(h->dec_write, 0.50));
            break;
        case K_INSPECT:
            snprintf(what, sizeof what, "%s header + checksum (`tp_frame_inspect`)", c->label);
            break;
        }
        printf("| %s | %s | %s | %.2f | %.2f | %.2f | %.0f %% | %s | %.0f %% | %s |\n", what, fbytes, bpv, lo, med, hi,
               100.0 * t_write / c->s.med, pct(t_stream, c->s.med), 100.0 * t_memcpy / c->s.med, barbuf);
        if (c->kind == K_INSPECT) {
            /* codec-only decode, derived from the medians of the two rows above */
            double t_codec = cases[i - 1].s.med - c->s.med;
            if (t_codec > 0)
                printf("| %s decode, codec only (decode - inspect, medians) | | | | %.2f | | %.0f %% | %s | %.0f %% | |\n",
                       c->label, gbs(d.bytes, t_codec), 100.0 * t_write / t_codec, pct(t_stream, t_codec),
                       100.0 * t_memcpy / t_codec);
        }
    }
    printf("\nBaselines, median: memcpy %.2f GB/s, write loop %.2f GB/s (%s stores)", gbs(d.bytes, t_memcpy),
           gbs(d.bytes, t_write), bench_write_wide() ? "256-bit" : "scalar");
    if (big)
        printf(", streaming write loop %.2f GB/s%s", gbs(d.bytes, t_stream),
               bench_write_wide() ? "" : " (no streaming stores on this CPU: plain loop)");
    printf(". %d repetitions after a warm-up, round-robin over the rows; %s.\n", reps,
           big ? "one call per repetition"
               : "each repetition loops the call for ~20 ms. Inside the caches the write loop measures L2, not "
                 "memory, bandwidth: the bars are defined on the out-of-cache table, these verdicts are for information");

    for (size_t i = 0; i < n; i++)
        if (cases[i].kind == K_ENCODE) { free(cases[i].frame); tp_pipeline_free(cases[i].p); }
    free(d.dst);
}

int main(int argc, char **argv)
{
    int reps = 7;
    size_t big_mib = 64, small_kib = 256;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--big-mib") && i + 1 < argc) big_mib = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--small-kib") && i + 1 < argc) small_kib = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--reps N (5..%d)] [--big-mib M] [--small-kib K]\n", argv[0], MAX_REPS);
            return 2;
        }
    }
    if (reps < 5 || reps > MAX_REPS || !big_mib || !small_kib) {
        fprintf(stderr, "bench_speed: need 5 <= reps <= %d and non-zero sizes\n", MAX_REPS);
        return 2;
    }
    size_t big = big_mib << 20 >> 2, small = small_kib << 10 >> 2;
    float *src = bench_alloc(big * sizeof(float));
    bench_gaussian(src, big, 1);

    char label[64];
    snprintf(label, sizeof label, "%zu MiB", big_mib);
    bench_size(big, reps, src, label);
    /* the small tensor has its own buffer so that nothing else shares its lines */
    float *src_small = bench_alloc(small * sizeof(float));
    memcpy(src_small, src, small * sizeof(float));
    snprintf(label, sizeof label, "%zu KiB", small_kib);
    bench_size(small, reps, src_small, label);
    free(src_small);
    free(src);
    return 0;
}
