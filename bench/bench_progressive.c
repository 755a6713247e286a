/* The cost of layering (bench/progressive.sh runs it): each configuration
 * ("S0;S1;..." or one spec) goes through tp_compress_progressive into a
 * real streaming archive, which is read back with 1..L layers.
 *   bench_progressive gauss N CONFIG...   N standard normal values, N/4096 x 4096, f32
 *   bench_progressive file PATH CONFIG... every tensor of a .safetensors file
 * One markdown row per configuration and layer count K: bits/value of the
 * frames of layers 0..K-1 (headers, scales and codes; 2-D float tensors,
 * which are the ones layered), pooled SNR = 10 log10(sum x^2 / sum (x -
 * x_hat)^2) over those tensors, the whole file's bytes, and encode
 * seconds (wall clock, threads=1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

static const char *write_gaussian(size_t n, const char *path)
{
    float *x = malloc(n * sizeof *x);
    if (!x) exit(1);
    bench_gaussian(x, n, 1);
    const char *name = "x";
    tp_tensor d = {TP_F32, 2, {n / 4096, 4096}, x};
    tp_tensor_writer *w;
    bench_check(tp_tensor_writer_open(path, &name, &d, 1, &w), "write input");
    bench_check(tp_tensor_writer_put(w, 0, x, n / 4096 * 4096 * sizeof *x), "write input");
    bench_check(tp_tensor_writer_finish(w), "write input");
    free(x);
    return path;
}

/* The pooled figures of one archive read back with k layers. */
static void measure(const char *tpz, const tp_tensor_file *src, unsigned k, double *bits, double *snr)
{
    tp_archive *a;
    bench_check(tp_archive_open(tpz, &a), "open");
    double bytes = 0, values = 0, sig = 0, err = 0;
    for (size_t i = 0; i < tp_archive_count(a); i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        if (e->ndim < 2 || !tp_dtype_is_float(e->dtype)) continue;
        tp_tensor t;
        size_t j = 0;
        while (j < tp_tensor_file_count(src) && strcmp(tp_tensor_file_name(src, j), e->name)) j++;
        bench_check(tp_tensor_file_get(src, j, &t), "source tensor");
        size_t n = (size_t)(e->raw_size / tp_dtype_size(e->dtype));
        void *y = malloc(e->raw_size), *xr = malloc(e->raw_size);
        float *yf = malloc(n * sizeof *yf), *xf = malloc(n * sizeof *xf);
        if (!y || !xr || !yf || !xf) exit(1);
        bench_check(tp_archive_decode_layers(a, i, k, y, e->raw_size), "decode");
        memcpy(xr, t.data, e->raw_size);
        bench_check(tp_convert(yf, TP_F32, y, e->dtype, n), "convert");
        bench_check(tp_convert(xf, TP_F32, xr, e->dtype, n), "convert");
        for (size_t q = 0; q < n; q++) {
            double d = (double)xf[q] - yf[q];
            sig += (double)xf[q] * xf[q];
            err += d * d;
        }
        unsigned have = tp_archive_layer_count(a, i);
        for (unsigned l = 0; l < (k < have ? k : have); l++) bytes += (double)tp_archive_layer_at(a, i, l)->frame_size;
        values += (double)n;
        free(y);
        free(xr);
        free(yf);
        free(xf);
    }
    tp_archive_close(a);
    *bits = 8 * bytes / values;
    *snr = 10 * log10(sig / err);
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: bench_progressive gauss N CONFIG... | file PATH CONFIG...\n"); return 2; }
    char in_buf[64] = "/tmp/tp_bench_progressive_XXXXXX.safetensors";
    const char *in = argv[2];
    int made = 0;
    if (!strcmp(argv[1], "gauss")) {
        int fd = mkstemps(in_buf, 12);
        if (fd < 0) return 1;
        close(fd);
        in = write_gaussian((size_t)strtoull(argv[2], NULL, 10), in_buf);
        made = 1;
    }
    tp_tensor_file *src;
    bench_check(tp_tensor_file_open(in, &src), "open input");
    char out[80];
    snprintf(out, sizeof out, "/tmp/tp_bench_progressive_%d.tpz", (int)getpid());
    printf("| configuration | layers read | bits/value | SNR dB | file bytes | encode s |\n|---|---:|---:|---:|---:|---:|\n");
    for (int c = 3; c < argc; c++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", argv[c]);
        const char *specs[TP_ARCHIVE_MAX_LAYERS];
        size_t n = 0;
        for (char *p = strtok(buf, ";"); p && n < TP_ARCHIVE_MAX_LAYERS; p = strtok(NULL, ";")) specs[n++] = p;
        tp_compress_options opt = {.threads = 1};
        tp_compress_summary sum;
        double t0 = tp_now_seconds();
        bench_check(tp_compress_progressive(in, out, specs, n, &opt, NULL, NULL, &sum), argv[c]);
        double secs = tp_now_seconds() - t0;
        for (unsigned k = 1; k <= n; k++) {
            double bits, snr;
            measure(out, src, k, &bits, &snr);
            printf("| `%s` | %u of %zu | %.4f | %.2f | %llu | %.2f |\n", argv[c], k, n, bits, snr,
                   (unsigned long long)sum.file_bytes, secs);
        }
    }
    tp_tensor_file_close(src);
    unlink(out);
    if (made) unlink(in);
    return 0;
}
