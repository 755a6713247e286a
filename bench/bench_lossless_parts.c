/* Where the decode time of one bf16 lossless chunk goes (in cache):
 * Usage: bench_lossless_parts FILE [CHUNK_KIB] [REPS]
 * Encodes CHUNK_KIB (default 1024, the codec's) of bf16 from the middle of
 * FILE as one chunk, then times, each as a median over REPS (default 200)
 * calls in a row: the whole chunk decode; its symbol plane decoded by rANS
 * (dispatched, AVX2, scalar) and by the Huffman coder with one raw low bit
 * (fast loop, reference, table build, low-bit insertion); the bf16 merge
 * and the checksum, in ns per value; then the whole file: frame decode,
 * codec decode and a hash of the whole frame (what the frame checksum cost
 * before lossless frames left the payload to their chunk checksums). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codecs/lossless/lossless.h"
#include "core/bytes.h"
#include "core/hash.h"
#include "core/huff.h"
#include "core/rans.h"
#include "tpress.h"
#include "bench_util.h"

#define TIME(name, expr)                                                                               \
    do {                                                                                               \
        for (int r_ = 0; r_ < reps; r_++) {                                                            \
            double t0_ = tp_now_seconds();                                                                        \
            if (expr) { fprintf(stderr, "%s failed\n", name); return 1; }                              \
            t[r_] = tp_now_seconds() - t0_;                                                                       \
        }                                                                                              \
        qsort(t, (size_t)reps, sizeof *t, bench_cmp_double);                                                       \
        printf("%-14s %.3f ns/value [%.3f-%.3f]\n", name, t[reps / 2] / m * 1e9, t[0] / m * 1e9,        \
               t[reps - 1] / m * 1e9);                                                                 \
    } while (0)

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: %s FILE [CHUNK_KIB] [REPS]\n", argv[0]); return 2; }
    size_t n = (argc > 2 ? (size_t)atoi(argv[2]) : 1024) << 10;
    int reps = argc > 3 ? atoi(argv[3]) : 200;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    if (size < (long)n) return 1;
    fseek(f, (size / 2 - (long)n / 2) & ~1L, SEEK_SET);
    uint8_t *src = malloc(n), *dst = malloc(n), *chunk = malloc(tp_ll_chunk_bound(n));
    double *t = malloc(sizeof *t * (size_t)reps);
    if (fread(src, 1, n, f) != n) return 1;
    fclose(f);
    size_t m = n / 2;
    tp_ll_scratch s;
    if (tp_ll_scratch_init(&s, n, 2, 1)) return 1;
    size_t len = tp_ll_chunk_encode(&s, src, n, 2, TP_LL_FORM_FLOAT_E8, chunk);
    printf("chunk %zu KiB, kind %u, %.3f bits/value\n", n >> 10, chunk[8], len * 8.0 / m);
    TIME("chunk decode", tp_ll_chunk_decode(&s, chunk, len, n, 2, TP_LL_FORM_FLOAT_E8, dst));
    if (memcmp(src, dst, n)) { fprintf(stderr, "mismatch\n"); return 1; }
    /* the symbol plane alone, coded as the codec does */
    uint8_t *pl[2] = {s.planes, s.planes + m};
    tp_ll_split(src, m, 2, 1, pl);
    unsigned base = tp_ll_em_base(pl[0], m);
    uint8_t *j = malloc(m), *r = malloc(tp_ll_em_packed(m)), *esc = malloc(m), *sym = malloc(m + 64);
    size_t n_esc = tp_ll_em_split(pl[0], pl[1], m, base, j, r, esc);
    tp_rans_model model;
    tp_rans_model_build(j, m, 0, &model);
    uint8_t *stream = malloc(tp_rans_stream_bound(m));
    size_t sl = tp_rans_encode(&model, j, m, stream, tp_rans_stream_bound(m));
    tp_rans_dtable_build(&model, &s.dtable);
    TIME("rans", tp_rans_decode(&model, &s.dtable, stream, sl, sym, m));
    TIME("rans avx2", tp_rans_decode_level(&model, &s.dtable, stream, sl, sym, m, 1));
    TIME("rans scalar", tp_rans_decode_scalar(&model, &s.dtable, stream, sl, sym, m));
    TIME("dtable build", (tp_rans_dtable_build(&model, &s.dtable), 0));
    /* the same plane as the Huffman coder with one raw low bit (plane kind 4) */
    uint8_t *half = malloc(m), *low = malloc(m / 8 + 1);
    tp_ll_extract_low_bits(j, m, half, low);
    uint32_t cnt[256] = {0};
    for (size_t i = 0; i < m; i++) cnt[half[i]]++;
    tp_huff_code hc;
    uint64_t hbits = tp_huff_build(cnt, &hc);
    uint8_t *hs = malloc(tp_huff_stream_bound(hbits));
    size_t hl = tp_huff_encode(&hc, half, m, hs, tp_huff_stream_bound(hbits));
    tp_huff_dtable_build(&hc, &s.hdtable);
    printf("huffman: %.3f bits/symbol + 1 raw bit\n", hbits / (double)m);
    TIME("huffman", tp_huff_decode(&s.hdtable, hs, hl, sym, m, NULL));
    if (memcmp(sym, half, m)) { fprintf(stderr, "huffman mismatch\n"); return 1; }
    TIME("huffman ref", tp_huff_decode_ref(&s.hdtable, hs, hl, sym, m));
    TIME("huff dtable", (tp_huff_dtable_build(&hc, &s.hdtable), 0));
    TIME("low bits", (tp_ll_insert_low_bits(sym, low, m), 0));
    TIME("merge bf16", tp_ll_em_merge_bf16(j, r, esc, n_esc, m, base, dst));
    TIME("checksum", tp_hash64(dst, n) == 0);
    tp_ll_scratch_free(&s);

    f = fopen(argv[1], "rb");
    size_t raw = (size_t)size & ~(size_t)1;
    uint8_t *x = malloc(raw), *y = malloc(raw);
    if (!f || fread(x, 1, raw, f) != raw) return 1;
    fclose(f);
    memset(y, 0, raw);
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse("lossless:threads=1", &p))) return 1;
    tp_tensor tt = {.dtype = TP_BF16, .ndim = 1, .shape = {raw / 2}, .data = x};
    size_t cap = tp_frame_bound(p, &tt);
    uint8_t *fr = malloc(cap);
    size_t fn = tp_frame_encode(p, &tt, NULL, fr, cap);
    if (tp_is_error(fn)) return 1;
    /* the payload: the frame's tail from its lossless header on (docs/LOSSLESS.md) */
    uint8_t hdr[16] = {1, 2, 1, 0};
    tp_put_u32(hdr + 4, 1024u << 10); /* the default chunk */
    tp_put_u64(hdr + 8, raw);
    size_t po = 0;
    while (po + 16 <= fn && memcmp(fr + po, hdr, 16)) po++;
    m = raw / 2;
    reps = reps > 21 ? 21 : reps;
    printf("whole file, %zu values\n", m);
    TIME("frame decode", tp_is_error(tp_frame_decode(fr, fn, y, raw)));
    printf("payload at %zu of %zu: %s\n", po, fn, tp_is_error(tp_ll_decode(fr + po, fn - po - 8, TP_BF16, raw, y, 1)) ? tp_last_error_detail() : "ok");
    TIME("codec decode", tp_is_error(tp_ll_decode(fr + po, fn - po - 8, TP_BF16, raw, y, 1)));
    TIME("whole-frame hash", tp_hash64(fr, fn) == 0);
    if (memcmp(x, y, raw)) return 1;
    tp_pipeline_free(p);
    return 0;
}
