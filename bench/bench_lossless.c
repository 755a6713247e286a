/* Benchmark of the lossless codec against memcpy and zstd on one raw file.
 * Usage: bench_lossless FILE DTYPE THREADS REPS [zstd19]
 * Prints one line per method: name ratio enc dec GB/s (median [min-max] over
 * REPS after one warm-up; GB = 1e9 bytes of uncompressed data), then the
 * exponent-plane statistics of the lossless payload. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "codecs/lossless/lossless.h"
#include "codecs/pipeline.h"
#include "tpress.h"
#include "bench_util.h"

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* name ratio R enc MED [MIN-MAX] dec MED [MIN-MAX] GB/s */
static void report(const char *name, size_t raw, size_t comp, double *te, double *td, int reps)
{
    double me = median(te, reps), md = median(td, reps); /* sorts te, td */
    printf("%-10s ratio %.4f enc %.3f [%.3f-%.3f] dec %.3f [%.3f-%.3f] GB/s\n", name, (double)raw / comp,
           raw / me / 1e9, raw / te[reps - 1] / 1e9, raw / te[0] / 1e9, raw / md / 1e9, raw / td[reps - 1] / 1e9,
           raw / td[0] / 1e9);
    fflush(stdout);
}

static double entropy(const uint64_t *c, uint64_t n)
{
    double h = 0;
    for (int s = 0; s < 256; s++) if (c[s]) h -= (double)c[s] / n * log2((double)c[s] / n);
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: %s FILE DTYPE THREADS REPS [zstd19]\n", argv[0]); return 2; }
    tp_dtype dt = tp_dtype_from_name(argv[2]);
    int threads = atoi(argv[3]), reps = atoi(argv[4]);
    if (reps < 1 || reps > 64) reps = 5;
    FILE *f = fopen(argv[1], "rb");
    if (!f || !dt) { fprintf(stderr, "cannot open %s or bad dtype\n", argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    size_t raw = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    size_t es = tp_dtype_size(dt), numel = raw / es;
    raw = numel * es;
    uint8_t *x = malloc(raw), *y = malloc(raw);
    if (fread(x, 1, raw, f) != raw) return 1;
    fclose(f);
    double te[64], td[64];

    for (int r = 0; r <= reps; r++) { /* baseline: memcpy both ways */
        double t0 = tp_now_seconds();
        memcpy(y, x, raw);
        double t1 = tp_now_seconds();
        memcpy(x, y, raw);
        double t2 = tp_now_seconds();
        if (r) te[r - 1] = t1 - t0, td[r - 1] = t2 - t1;
    }
    report("memcpy", raw, raw, te, td, reps);

    char spec[64];
    snprintf(spec, sizeof spec, "lossless:threads=%d", threads);
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) return 1;
    tp_tensor t = {.dtype = dt, .ndim = 1, .shape = {numel}, .data = x};
    size_t cap = tp_frame_bound(p, &t);
    uint8_t *fr = malloc(cap);
    size_t fn = 0;
    for (int r = 0; r <= reps; r++) {
        double t0 = tp_now_seconds();
        fn = tp_frame_encode(p, &t, NULL, fr, cap);
        double t1 = tp_now_seconds();
        size_t d = tp_frame_decode(fr, fn, y, raw);
        double t2 = tp_now_seconds();
        if (tp_is_error(fn) || tp_is_error(d) || memcmp(x, y, raw)) { fprintf(stderr, "lossless failed: %s\n", tp_last_error_detail()); return 1; }
        if (r) te[r - 1] = t1 - t0, td[r - 1] = t2 - t1;
    }
    report("lossless", raw, fn, te, td, reps);
    tp_pipeline_free(p);
    free(fr);

    int levels[2] = {3, 19};
    for (int li = 0; li < (argc > 5 ? 2 : 1); li++) {
        int lr = levels[li] == 19 ? 1 : reps;
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, levels[li]);
        if (threads > 1) ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, threads);
        size_t zc = ZSTD_compressBound(raw), zn = 0;
        uint8_t *z = malloc(zc);
        for (int r = 0; r <= lr; r++) {
            double t0 = tp_now_seconds();
            zn = ZSTD_compress2(cc, z, zc, x, raw);
            double t1 = tp_now_seconds();
            size_t d = ZSTD_decompress(y, raw, z, zn);
            double t2 = tp_now_seconds();
            if (ZSTD_isError(zn) || d != raw) return 1;
            if (r || lr == 1) te[r ? r - 1 : 0] = t1 - t0, td[r ? r - 1 : 0] = t2 - t1;
            if (lr == 1) break;
        }
        char name[16];
        snprintf(name, sizeof name, "zstd-%d", levels[li]);
        report(name, raw, zn, te, td, lr);
        ZSTD_freeCCtx(cc);
        free(z);
    }

    /* exponent: order-0 entropy (whole input and per chunk of the codec's
     * default size, read from the payload), the
     * per-chunk joint entropy with the two next bits minus those 2 bits
     * (what chunk kind 2 can reach), against the bits the codec spends:
     * plane 0 of kind 2 chunks holds the two mantissa bits too, so they
     * are taken off (2 bits per value of those chunks) */
    if (tp_dtype_is_float(dt)) {
        const tp_codec *c = tp_codec_by_name("lossless");
        tp_params prm;
        tp_params_parse(c, "threads=2", 9, &prm);
        tp_tensor o;
        size_t b = c->bound(&prm, &t, &o);
        uint8_t *pl = malloc(b);
        size_t pn = c->encode(&prm, &t, pl, b, &o);
        uint64_t bytes[TP_LL_MAX_ELEM], em_values = 0;
        tp_ll_plane_bytes(pl, pn, bytes, &em_values);
        static uint64_t cnt[256], cc[256], cj[1024];
        double hchunk = 0, hjoint = 0;
        size_t per = tp_get_u32(pl + 4) / es; /* the payload's chunk size (docs/LOSSLESS.md) */
        for (size_t i = 0; i < numel; i++) {
            uint64_t v = 0;
            memcpy(&v, x + i * es, es);
            unsigned bits = (unsigned)(8 * es);
            v = ((v << 1) | (v >> (bits - 1))) & (bits == 64 ? ~0ull : ((1ull << bits) - 1));
            uint8_t top = (uint8_t)(v >> (bits - 8));
            cnt[top]++;
            cc[top]++;
            cj[(v >> (bits - 10)) & 1023]++;
            if ((i + 1) % per == 0 || i + 1 == numel) {
                uint64_t m = (i % per) + 1;
                hchunk += entropy(cc, m) * m;
                for (int k = 0; k < 4; k++) hjoint += entropy(cj + 256 * k, m) * m; /* the 1024 joint symbols, 256 at a time */
                memset(cc, 0, sizeof cc);
                memset(cj, 0, sizeof cj);
            }
        }
        printf("exponent H0 %.4f bits/value, per-chunk H0 %.4f, per-chunk H(E,M2)-2 %.4f, coded %.4f "
               "(%.0f %% of values in kind-2 chunks); planes bytes/value:",
               entropy(cnt, numel), hchunk / numel, hjoint / numel - 2, (bytes[0] * 8.0 - 2.0 * em_values) / numel,
               100.0 * em_values / numel);
        for (size_t k = 0; k < es; k++) printf(" %.4f", (double)bytes[k] / numel);
        printf("\n");
        free(pl);
    }
    free(x);
    free(y);
    return 0;
}
