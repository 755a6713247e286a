/* Golden lossless frames: tests/data/golden/lossless_NAME.tpf were written
 * by the encoder of the commit that introduced them from the deterministic
 * input below; they must keep decoding bit-exactly to it, whatever the
 * encoder writes today (docs/LOSSLESS.md lists the chunk kinds each file
 * holds). Regenerating them would hide a broken reader: add new files
 * instead (TP_REGEN_GOLDEN=1 ./build/unit_tests lossless_golden_write
 * writes the cases marked regen and prints their table rows). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "harness.h"

#define N 32768

typedef struct {
    const char *name, *spec;
    tp_dtype dtype;
    size_t frame_size;
    uint64_t frame_xxh3;
    int regen; /* written by lossless_golden_write */
} ll_golden;

static const ll_golden cases[] = {
    /* format version 1, chunk kind 1 (byte planes), written before kind 2 existed */
    {"v1_bf16", "lossless:chunk=16", TP_BF16, 46815, 0x8ec0223e62d3f231ull, 0},
    {"v1_f32", "lossless:chunk=16", TP_F32, 67506, 0xcc4a68014d428f74ull, 0},
    {"v1_f16", "lossless:chunk=16", TP_F16, 58640, 0xacd6ef04e17ab283ull, 0},
    /* chunk kind 2 (exponent with two mantissa bits): symbol plane rANS-coded,
     * and (plane kind 4) Huffman-coded with one raw low bit */
    {"v1_em_rans_bf16", "lossless:chunk=64,coder=rans", TP_BF16, 45876, 0x330e3454a432b8e0ull, 0},
    {"v1_em_huff_bf16", "lossless:chunk=64", TP_BF16, 45808, 0x33c4f22f5c34fd3aull, 0},
    {"v1_em_huff_f32", "lossless:chunk=128", TP_F32, 62132, 0x2bc5ecff8dd4436eull, 0},
    /* frame flag 1: the frame checksum covers the header, the chunks check themselves */
    {"v1_em_huff_bf16_hdrsum", "lossless:chunk=64", TP_BF16, 45808, 0x1ab434b7af569de7ull, 0},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* Bell-shaped values from integer arithmetic only (sum of four 12-bit
 * uniforms, scaled by a power of two per block of 1024), plus zeros, a
 * negative zero, an Inf, a NaN with payload and a denormal: the same bits
 * on every machine. Returns the element size. */
static size_t golden_values(tp_dtype dt, uint8_t *out)
{
    uint32_t s = 0x9e3779b9u;
    for (size_t i = 0; i < N; i++) {
        int sum = 0;
        for (int k = 0; k < 4; k++) {
            s = s * 1664525u + 1013904223u;
            sum += (int)(s >> 20);
        }
        float v = (float)(sum - 8190) / (float)(1 << (12 + (int)(i / 1024) % 5));
        if (i % 97 == 0) v = 0.0f;
        uint32_t b;
        memcpy(&b, &v, 4);
        if (i == 5) b = 0x80000000u;               /* -0 */
        if (i == 6) b = 0x7f800000u;               /* +Inf */
        if (i == 7) b = 0x7fc01234u;               /* NaN with payload */
        if (i == 8) b = 0x00012345u;               /* denormal */
        if (dt == TP_F32) memcpy(out + 4 * i, &b, 4);
        else if (dt == TP_BF16) {
            uint16_t h = (uint16_t)(b >> 16);
            memcpy(out + 2 * i, &h, 2);
        } else { /* f16 bits from the value's sign, exponent and top mantissa */
            uint32_t sign = b >> 31, e = (b >> 23) & 255, m = (b >> 13) & 1023;
            int e16 = (int)e - 127 + 15;
            uint16_t h = e == 255 ? (uint16_t)(0x7c00 | m) : e16 <= 0 || e16 >= 31 ? 0 : (uint16_t)(e16 << 10 | m);
            h = (uint16_t)(h | sign << 15);
            memcpy(out + 2 * i, &h, 2);
        }
    }
    return tp_dtype_size(dt);
}

static const char *golden_file(const char *name)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s/golden/lossless_%s.tpf", th_data_dir(), name);
    return buf;
}

TEST(lossless_golden_write)
{
    const char *env = getenv("TP_REGEN_GOLDEN");
    if (!env || strcmp(env, "1")) return;
    static uint8_t x[N * 4];
    for (size_t i = 0; i < N_CASES; i++) {
        if (!cases[i].regen) continue;
        golden_values(cases[i].dtype, x);
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(cases[i].spec, &p));
        tp_tensor t = {.dtype = cases[i].dtype, .ndim = 1, .shape = {N}, .data = x};
        void *f = NULL;
        size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
        tp_pipeline_free(p);
        CHECK_OK(n);
        FILE *o = fopen(golden_file(cases[i].name), "wb");
        CHECK(o && fwrite(f, 1, n, o) == n && fclose(o) == 0);
        printf("    {\"%s\", \"%s\", dtype %s, %zu, 0x%016llxull, 0},\n", cases[i].name, cases[i].spec,
               tp_dtype_name(cases[i].dtype), n, (unsigned long long)XXH3_64bits(f, n));
        free(f);
    }
}

TEST(lossless_golden_frames_decode)
{
    static uint8_t x[N * 4], y[N * 4];
    for (size_t i = 0; i < N_CASES; i++) {
        const ll_golden *g = &cases[i];
        size_t es = golden_values(g->dtype, x);
        FILE *f = fopen(golden_file(g->name), "rb");
        if (!f) printf("  missing %s (run from the repository root)\n", golden_file(g->name));
        CHECK(f);
        static uint8_t frame[N * 4 + 4096];
        size_t n = fread(frame, 1, sizeof frame, f);
        fclose(f);
        CHECK(n == g->frame_size && XXH3_64bits(frame, n) == g->frame_xxh3);
        memset(y, 0xa5, sizeof y);
        CHECK(tp_frame_decode(frame, n, y, N * es) == N * es);
        CHECK(!memcmp(x, y, N * es));
    }
}
