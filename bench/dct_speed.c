/* Speed of dct2d encode+decode on one u8 image against libjpeg-turbo
 * (compress with optimized Huffman + decompress) in the same process.
 * usage: dct_speed RAW C H W REPS SPEC [JPEG_QUALITY]
 * RAW holds C*H*W bytes, planar (C = 1 or 3). Prints one line per codec:
 * name, bytes, encode s, decode s (minimum over REPS after one warm-up),
 * encode+decode s (median over REPS, wall clock), encode+decode s (median
 * over REPS, CPU time of the thread: on a shared machine the wall clock of
 * a 4 ms run includes time slices given to other jobs, the thread's CPU
 * time does not), then a line "ratio MIN MEDIAN MAX": the speed of dct2d
 * encode+decode over that of libjpeg-turbo encode+decode in thread CPU
 * time, per repetition (the two run milliseconds apart in the same loop,
 * so the ratio survives load changes). */
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "tpress.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t jpeg_enc(const uint8_t *px, int c, int h, int w, int q, unsigned char **out, unsigned long *n)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    *out = NULL;
    *n = 0;
    jpeg_mem_dest(&ci, out, n);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = c;
    ci.in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, q, TRUE);
    ci.optimize_coding = TRUE;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)ci.next_scanline * w * c);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return *n;
}

static void jpeg_dec(const unsigned char *buf, unsigned long n, uint8_t *px)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, n);
    jpeg_read_header(&ci, TRUE);
    jpeg_start_decompress(&ci);
    size_t stride = (size_t)ci.output_width * ci.output_components;
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW row = px + stride * ci.output_scanline;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
}

int main(int argc, char **argv)
{
    if (argc < 7) { fprintf(stderr, "usage: dct_speed RAW C H W REPS SPEC [JPEG_QUALITY]\n"); return 2; }
    int c = atoi(argv[2]), h = atoi(argv[3]), w = atoi(argv[4]), reps = atoi(argv[5]);
    int jq = argc > 7 ? atoi(argv[7]) : 75;
    size_t n = (size_t)c * h * w;
    uint8_t *img = malloc(n), *back = malloc(n), *inter = malloc(n);
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(img, 1, n, f) != n) { fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
    fclose(f);
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (int k = 0; k < c; k++) inter[i * c + k] = img[(size_t)k * h * w + i];
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(argv[6], &p))) { fprintf(stderr, "bad spec: %s\n", tp_last_error_detail()); return 2; }
    tp_tensor t = {TP_U8, c == 3 ? 3u : 2u, {0}, img};
    if (c == 3) { t.shape[0] = 3; t.shape[1] = (uint64_t)h; t.shape[2] = (uint64_t)w; }
    else { t.shape[0] = (uint64_t)h; t.shape[1] = (uint64_t)w; }
    size_t cap = tp_frame_bound(p, &t);
    void *frame = malloc(cap);
    double best_e = 1e9, best_d = 1e9, jbest_e = 1e9, jbest_d = 1e9;
    size_t fsize = 0;
    double *ratio = malloc((size_t)(reps > 0 ? reps : 1) * sizeof(double));
    size_t nr = (size_t)(reps > 0 ? reps : 1);
    double *tot = malloc(nr * sizeof(double)), *jtot = malloc(nr * sizeof(double));
    double *cpu = malloc(nr * sizeof(double)), *jcpu = malloc(nr * sizeof(double));
    unsigned long jsize = 0;
    for (int r = 0; r <= reps; r++) {
        double c0 = tp_clock_seconds(CLOCK_THREAD_CPUTIME_ID), t0 = tp_now_seconds();
        fsize = tp_frame_encode(p, &t, NULL, frame, cap);
        double t1 = tp_now_seconds();
        size_t d = tp_frame_decode(frame, fsize, back, n);
        double t2 = tp_now_seconds(), c2 = tp_clock_seconds(CLOCK_THREAD_CPUTIME_ID);
        if (tp_is_error(fsize) || tp_is_error(d)) { fprintf(stderr, "dct2d failed: %s\n", tp_last_error_detail()); return 2; }
        unsigned char *jb;
        double c3 = tp_clock_seconds(CLOCK_THREAD_CPUTIME_ID), t3 = tp_now_seconds();
        jpeg_enc(inter, c, h, w, jq, &jb, &jsize);
        double t4 = tp_now_seconds();
        jpeg_dec(jb, jsize, back);
        double t5 = tp_now_seconds(), c5 = tp_clock_seconds(CLOCK_THREAD_CPUTIME_ID);
        free(jb);
        if (r == 0) continue; /* warm-up */
        ratio[r - 1] = (c5 - c3) / (c2 - c0); /* CPU times: robust to time slicing */
        tot[r - 1] = t2 - t0;
        jtot[r - 1] = t5 - t3;
        cpu[r - 1] = c2 - c0;
        jcpu[r - 1] = c5 - c3;
        if (t1 - t0 < best_e) best_e = t1 - t0;
        if (t2 - t1 < best_d) best_d = t2 - t1;
        if (t4 - t3 < jbest_e) jbest_e = t4 - t3;
        if (t5 - t4 < jbest_d) jbest_d = t5 - t4;
    }
    if (reps > 0) {
        qsort(tot, (size_t)reps, sizeof(double), cmp_double);
        qsort(jtot, (size_t)reps, sizeof(double), cmp_double);
        qsort(cpu, (size_t)reps, sizeof(double), cmp_double);
        qsort(jcpu, (size_t)reps, sizeof(double), cmp_double);
    }
    printf("dct2d %zu %.6f %.6f %.6f %.6f\n", fsize, best_e, best_d, reps > 0 ? tot[reps / 2] : 0.0, reps > 0 ? cpu[reps / 2] : 0.0);
    printf("jpeg %lu %.6f %.6f %.6f %.6f\n", jsize, jbest_e, jbest_d, reps > 0 ? jtot[reps / 2] : 0.0, reps > 0 ? jcpu[reps / 2] : 0.0);
    if (reps > 0) {
        qsort(ratio, (size_t)reps, sizeof(double), cmp_double);
        printf("ratio %.4f %.4f %.4f\n", ratio[0], ratio[reps / 2], ratio[reps - 1]);
    }
    free(ratio);
    free(tot);
    free(jtot);
    free(cpu);
    free(jcpu);
    tp_pipeline_free(p);
    free(frame); free(img); free(back); free(inter);
    return 0;
}
