/* Compresses a tensor to 4 bits and back, printing size and error.
 * Build against the shared library: cc -Iinclude examples/roundtrip.c -Lbuild -ltpress -lm -Wl,-rpath,build */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <tpress.h>

int main(void)
{
    enum { ROWS = 256, COLS = 512 };
    float *w = malloc(sizeof(float) * ROWS * COLS), *back = malloc(sizeof(float) * ROWS * COLS);
    for (int i = 0; i < ROWS * COLS; i++) w[i] = sinf(0.01f * (float)i) * cosf(0.37f * (float)i);

    tp_pipeline *p;
    size_t r = tp_pipeline_parse("int:bits=4,group=32,search=1 | zstd", &p);
    if (tp_is_error(r)) { fprintf(stderr, "%s: %s\n", tp_error_name(r), tp_last_error_detail()); return 1; }
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {ROWS, COLS}, .data = w};
    void *frame;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &frame);
    if (tp_is_error(n)) { fprintf(stderr, "encode: %s\n", tp_last_error_detail()); return 1; }
    r = tp_frame_decode(frame, n, back, sizeof(float) * ROWS * COLS);
    if (tp_is_error(r)) { fprintf(stderr, "decode: %s\n", tp_last_error_detail()); return 1; }
    tp_metrics m;
    tp_metrics_compute(w, TP_F32, back, TP_F32, ROWS * COLS, &m);
    printf("%zu bytes -> %zu bytes (%.2f bits/value), SNR %.2f dB\n", sizeof(float) * ROWS * COLS, n,
           8.0 * (double)n / (ROWS * COLS), m.snr_db);
    free(frame);
    tp_pipeline_free(p);
    free(w);
    free(back);
    return 0;
}
