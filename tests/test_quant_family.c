/* Tests of the codebook quantizers: kmeans, nf, log, fp8 (and their shared
 * table-lookup kernels). Every test name starts with "quant". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/quant/groups.h"
#include "codecs/pipeline.h"
#include "codecs/quant/lut_kernels.h"
#include "codecs/quant/quant_family.h"
#include "core/bitpack.h"
#include "core/hash.h"
#include "harness.h"
#include "core/rng.h"

/* Encodes x (f32, shape given) with spec, decodes into y; returns the frame
 * size or an error; fills *m when not NULL. */
static size_t roundtrip(const char *spec, const float *x, uint32_t ndim, const uint64_t *shape, float *y,
                        tp_metrics *m)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    tp_tensor t = {0};
    t.dtype = TP_F32;
    t.ndim = ndim;
    uint64_t n = 1;
    for (uint32_t i = 0; i < ndim; i++) { t.shape[i] = shape[i]; n *= shape[i]; }
    t.data = x;
    void *f = NULL;
    r = tp_frame_encode_alloc(p, &t, NULL, &f);
    tp_pipeline_free(p);
    if (tp_is_error(r)) return r;
    size_t d = tp_frame_decode(f, r, y, n * sizeof(float));
    free(f);
    if (tp_is_error(d)) return d;
    if (m) tp_metrics_compute(x, TP_F32, y, TP_F32, n, m);
    return r;
}

static size_t roundtrip1(const char *spec, const float *x, uint64_t n, float *y, tp_metrics *m)
{
    return roundtrip(spec, x, 1, &n, y, m);
}

/* ---- fp8 conversions ---------------------------------------------------- */

static int is_nan_code(int fmt, unsigned c)
{
    return fmt == TP_FP8_E4M3 ? (c & 0x7f) == 0x7f : (c & 0x7f) > 0x7c;
}

/* Nearest finite code by exhaustive search, ties to the even code. */
static uint8_t fp8_brute(int fmt, float f)
{
    int best = -1;
    double bd = INFINITY;
    for (unsigned c = 0; c < 256; c++) {
        float v = tp_fp8_to_f32(fmt, (uint8_t)c);
        if (!isfinite(v) || (signbit(v) != signbit(f) && v != 0)) continue;
        if ((c & 0x80) != (signbit(f) ? 0x80u : 0u)) continue;
        double d = fabs((double)v - (double)f);
        if (d < bd || (d == bd && (c & 1) == 0)) { bd = d; best = (int)c; }
    }
    return (uint8_t)best;
}

TEST(quant_fp8_all_codes)
{
    for (int fmt = 0; fmt < 2; fmt++) {
        for (unsigned c = 0; c < 256; c++) {
            float v = tp_fp8_to_f32(fmt, (uint8_t)c);
            if (is_nan_code(fmt, c)) { CHECK(isnan(v)); CHECK((tp_fp8_from_f32(fmt, v, 0) & 0x7f) == 0x7f); continue; }
            if (isinf(v)) { CHECK(fmt == TP_FP8_E5M2 && (c & 0x7f) == 0x7c); continue; }
            CHECK(tp_fp8_from_f32(fmt, v, 0) == c);
            CHECK(tp_fp8_from_f32(fmt, v, 1) == c);
            /* Midpoint to the next larger magnitude rounds to the even code;
             * just off it goes to the nearer one. */
            unsigned up = c + 1;
            if ((c & 0x7f) == (fmt ? 0x7bu : 0x7eu)) continue;
            float w = tp_fp8_to_f32(fmt, (uint8_t)up);
            float mid = (float)(((double)v + (double)w) / 2);
            CHECK((double)mid == ((double)v + (double)w) / 2); /* exact in f32 */
            CHECK(tp_fp8_from_f32(fmt, mid, 1) == ((c & 1) ? up : c));
            CHECK(tp_fp8_from_f32(fmt, nextafterf(mid, v), 1) == c);
            CHECK(tp_fp8_from_f32(fmt, nextafterf(mid, w), 1) == up);
        }
    }
    CHECK(tp_fp8_to_f32(TP_FP8_E4M3, 0x7e) == 448.0f);
    CHECK(tp_fp8_to_f32(TP_FP8_E4M3, 0x01) == ldexpf(1, -9));
    CHECK(tp_fp8_to_f32(TP_FP8_E4M3, 0x08) == ldexpf(1, -6));
    CHECK(tp_fp8_to_f32(TP_FP8_E5M2, 0x7b) == 57344.0f);
    CHECK(tp_fp8_to_f32(TP_FP8_E5M2, 0x01) == ldexpf(1, -16));
    CHECK(isinf(tp_fp8_to_f32(TP_FP8_E5M2, 0xfc)) && tp_fp8_to_f32(TP_FP8_E5M2, 0xfc) < 0);
    CHECK(isnan(tp_fp8_to_f32(TP_FP8_E4M3, 0xff)));
    /* Overflow: saturation, or NaN (E4M3) / Inf (E5M2). 464 is the E4M3 tie
     * 448|480 (480 does not exist): it saturates. */
    CHECK(tp_fp8_from_f32(TP_FP8_E4M3, 464.0f, 1) == 0x7e);
    CHECK(tp_fp8_from_f32(TP_FP8_E4M3, 1e30f, 1) == 0x7e);
    CHECK(tp_fp8_from_f32(TP_FP8_E4M3, -INFINITY, 1) == 0xfe);
    CHECK(tp_fp8_from_f32(TP_FP8_E4M3, 1e30f, 0) == 0x7f);
    CHECK(tp_fp8_from_f32(TP_FP8_E5M2, 61440.0f, 0) == 0x7c); /* tie to even = Inf */
    CHECK(tp_fp8_from_f32(TP_FP8_E5M2, 61440.0f, 1) == 0x7b);
    CHECK(tp_fp8_from_f32(TP_FP8_E5M2, INFINITY, 0) == 0x7c);
    CHECK(tp_fp8_from_f32(TP_FP8_E5M2, -0.0f, 1) == 0x80);
    CHECK(tp_fp8_from_f32(TP_FP8_E4M3, ldexpf(1, -11), 1) == 0x00); /* quarter of the smallest: 0 */
    CHECK(tp_fp8_from_f32(TP_FP8_E4M3, ldexpf(1, -10), 1) == 0x00); /* half: tie to even 0 */
    CHECK(tp_fp8_from_f32(TP_FP8_E4M3, ldexpf(3, -11), 1) == 0x01);
}

TEST(quant_fp8_random_vs_brute_force)
{
    tp_rng rng = {99};
    uint64_t s;
    for (int i = 0; i < 20000; i++) {
        s = tp_rng_next(&rng);
        int fmt = (int)(s & 1);
        /* Log-uniform magnitudes across subnormal, normal and overflow ranges. */
        float f = ldexpf(1.0f + (float)((s >> 8) & 0xffffff) / 16777216.0f, (int)((s >> 40) % 48) - (fmt ? 24 : 16));
        if ((s >> 63) & 1) f = -f;
        uint8_t got = tp_fp8_from_f32(fmt, f, 1);
        CHECK(got == fp8_brute(fmt, f));
    }
}

/* ---- tables -------------------------------------------------------------- */

TEST(quant_nf_levels)
{
    static const double nf4[16] = {-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
                                   -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
                                   0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
                                   0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};
    double lv[256];
    tp_nf_levels(4, lv);
    for (int i = 0; i < 16; i++) { if (fabs(lv[i] - nf4[i]) >= 1e-6) printf("    nf4[%d] %.9f vs %.9f\n", i, lv[i], nf4[i]); }
    for (int i = 0; i < 16; i++) CHECK(fabs(lv[i] - nf4[i]) < 1e-6);
    for (unsigned b = 2; b <= 8; b++) {
        unsigned K = 1u << b;
        tp_nf_levels(b, lv);
        CHECK(lv[0] == -1.0 && lv[K - 1] == 1.0);
        CHECK(lv[K / 2 - 1] == 0.0); /* 0 exactly representable */
        for (unsigned i = 1; i < K; i++) CHECK(lv[i] > lv[i - 1]);
    }
}

TEST(quant_log_levels)
{
    float lut[256];
    tp_log_levels(2, 0.5f, lut); /* 2 bits: four levels, no zero */
    CHECK(lut[1] == 1.0f && lut[3] == -1.0f && lut[0] == -lut[2] && fabsf(lut[0] - sqrtf(0.5f)) < 1e-6f);
    for (unsigned b = 3; b <= 8; b++) {
        unsigned L = (1u << (b - 1)) - 1;
        tp_log_levels(b, 0.5f, lut);
        CHECK(lut[0] == 0.0f && lut[1u << (b - 1)] == 0.0f);
        CHECK(lut[L] == 1.0f && lut[(1u << (b - 1)) | L] == -1.0f);
        for (unsigned m = 2; m <= L; m++) CHECK(fabsf(lut[m] / lut[m - 1] - sqrtf(2.0f)) < 1e-5f);
    }
}

/* A 2-bit log frame of the older three-level table ({0, ±M}, stored with
 * a positive step field) still decodes as such: the frame of today's
 * encoder with its step field (-0.5f) set back to +1.0f and re-hashed. */
TEST(quant_log_2bit_three_level_frames_decode)
{
    enum { N = 64 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = i % 3 == 0 ? 0.0f : (i % 3 == 1 ? 2.0f : -2.0f);
    tp_pipeline *p;
    CHECK_OK(tp_pipeline_parse("log:bits=2,group=0,step=0.5,search=0", &p));
    tp_tensor t = {0};
    t.dtype = TP_F32; t.ndim = 1; t.shape[0] = N; t.data = x;
    void *f = NULL;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
    tp_pipeline_free(p);
    CHECK_OK(n);
    uint8_t *b = f;
    const float neg = -0.5f, one = 1.0f;
    size_t at = 0, hits = 0;
    for (size_t i = 0; i + 4 <= n - 8; i++)
        if (!memcmp(b + i, &neg, 4)) { at = i; hits++; }
    CHECK(hits == 1);
    CHECK_OK(tp_frame_decode(f, n, y, sizeof y));
    for (int i = 0; i < N; i++) CHECK(y[i] != 0.0f); /* four levels: no zero */
    memcpy(b + at, &one, 4);
    uint64_t h = tp_hash64(b, n - 8);
    memcpy(b + n - 8, &h, 8); /* little-endian host */
    CHECK_OK(tp_frame_decode(f, n, y, sizeof y));
    for (int i = 0; i < N; i++) CHECK(y[i] == x[i]);
    free(f);
}

/* ---- SIMD vs reference --------------------------------------------------- */

TEST(quant_lut_kernel_matches_reference)
{
    for (int v = 1; v < 5; v++) { /* AVX2, AVX-512, AVX-512 VBMI (plain, streaming) where present */
    tp_lut_fn best = tp_lut_variant(v);
    if (!best) continue;
    const size_t groups[] = {8, 16, 24, 32, 48, 64, 80, 264, 2048};
    tp_rng rng = {7};
    uint64_t s;
    for (unsigned bits = 1; bits <= 8; bits++) {
        unsigned K = 1u << bits;
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
            size_t group = groups[gi], ng = 5, n = group * ng;
            uint8_t *codes = malloc(n * bits / 8 + 16);
            float *lut = malloc(ng * K * sizeof *lut), sc[5], *a = malloc(n * 4), *b = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
            CHECK(codes && lut && a && b);
            for (size_t i = 0; i < n * bits / 8 + 16; i++) { s = tp_rng_next(&rng); codes[i] = (uint8_t)s; }
            for (size_t i = 0; i < ng * K; i++) lut[i] = (float)((int)(i * 7919 % 1001) - 500) / 37.0f;
            for (int g = 0; g < 5; g++) sc[g] = 0.1f + 0.37f * (float)g;
            for (int variant = 0; variant < 3; variant++) {
                size_t stride = variant == 1 ? K : 0;
                const float *sp = variant == 2 ? NULL : sc;
                tp_lut_ref(codes, ng, group, bits, lut, stride, sp, a);
                best(codes, ng, group, bits, lut, stride, sp, b);
                CHECK(!memcmp(a, b, n * 4));
                /* and the reference is what the bit reader says */
                for (size_t i = 0; i < n; i += 13) {
                    size_t g = i / group;
                    CHECK(a[i] == lut[g * stride + tp_bits_get(codes, i, bits)] * (sp ? sp[g] : 1.0f));
                }
            }
            free(codes); free(lut); free(a); free(b);
        }
    }
    }
}

/* The F16C and AVX-512 fp8 kernels against the table reference: all 256
 * codes (NaN, Inf, subnormals, zeros), under scales that are normal, tiny,
 * subnormal, zero, negative and large enough that 2^8 * s overflows; groups
 * of 264 (an 8-value tail) and 256 (streaming stores on AVX-512). */
TEST(quant_fp8_kernel_all_codes)
{
    const float scales[] = {1.0f, 0.37f, -2.5f, 0.0f, 1e-30f, 1e-40f, 3e38f, 1.5e36f, 7.7e35f, 1.0f / 448};
    const size_t ns = sizeof scales / sizeof scales[0];
    uint8_t codes[264];
    for (size_t i = 0; i < 264; i++) codes[i] = (uint8_t)(i * 97 + 13);
    for (int fmt = 0; fmt < 4; fmt++) {
        const size_t group = fmt < 2 ? 264 : 256;
        float lut[256];
        for (unsigned c = 0; c < 256; c++) lut[c] = tp_fp8_to_f32(fmt % 2, (uint8_t)c);
        CHECK(tp_fp8_kernel_variant(fmt % 2, 0) == tp_lut_ref);
        for (int v = 1; v <= 4; v++) {
            tp_lut_fn k = tp_fp8_kernel_variant(fmt % 2, v);
            if (!k) continue;
            uint8_t *cs = malloc(group * ns);
            float *a = malloc(group * ns * 4), *b = aligned_alloc(64, group * ns * 4); /* aligned: the streaming path */
            CHECK(cs && a && b);
            for (size_t g = 0; g < ns; g++) memcpy(cs + g * group, codes, group);
            tp_lut_ref(cs, ns, group, 8, lut, 0, scales, a);
            k(cs, ns, group, 8, lut, 0, scales, b);
            for (size_t i = 0; i < group * ns; i++) {
                uint32_t x, y;
                memcpy(&x, a + i, 4);
                memcpy(&y, b + i, 4);
                if (x != y) fprintf(stderr, "fp8 %d code 0x%02x scale %g: ref %08x f16c %08x\n", fmt, cs[i], scales[i / group], x, y);
                CHECK(x == y);
            }
            /* and misaligned output (streaming variant falls back to plain stores) */
            float *c = malloc(group * ns * 4 + 4);
            CHECK(c);
            k(cs, ns, group, 8, lut, 0, scales, c + 1);
            CHECK(!memcmp(a, c + 1, group * ns * 4));
            free(cs); free(a); free(b); free(c);
        }
    }
}

/* ---- quality ------------------------------------------------------------- */

TEST(quant_kmeans_near_lloyd_max)
{
    const size_t n = 1 << 18;
    static const double lloyd_max[] = {0, 4.40, 9.30, 14.62, 20.22};
    float *x = malloc(n * 4), *y = malloc(n * 4);
    CHECK(x && y);
    th_gaussian(x, n, 1);
    for (int b = 2; b <= 4; b++) {
        char spec[64];
        snprintf(spec, sizeof spec, "kmeans:bits=%d", b);
        tp_metrics m;
        CHECK_OK(roundtrip1(spec, x, n, y, &m));
        printf("    %s: %.3f dB (Lloyd-Max %.2f)\n", spec, m.snr_db, lloyd_max[b]);
        CHECK(m.snr_db >= lloyd_max[b] - 1.5);
        CHECK(m.snr_db <= lloyd_max[b] + 0.1);
    }
    free(x); free(y);
}

TEST(quant_nf4_gaussian_group64)
{
    const size_t n = 1 << 20;
    float *x = malloc(n * 4), *y = malloc(n * 4);
    CHECK(x && y);
    th_gaussian(x, n, 1);
    uint64_t shape[2] = {n / 1024, 1024};
    tp_metrics m;
    size_t fs = roundtrip("nf:bits=4,group=64", x, 2, shape, y, &m);
    CHECK_OK(fs);
    printf("    nf4 g64: %.3f dB at %.4f bits/value\n", m.snr_db, fs * 8.0 / n);
    CHECK(m.snr_db >= 20.0);
    CHECK_OK(roundtrip("nf:bits=4,group=64,search=0", x, 2, shape, y, &m)); /* QLoRA's plain absmax */
    printf("    nf4 g64 search=0: %.3f dB\n", m.snr_db);
    CHECK(m.snr_db >= 20.0);
    free(x); free(y);
}

/* SNR floors on Gaussian data per codec and bit width (ggml-style limits
 * that grow with the bit width; measured values sit 0.3-1 dB above). */
TEST(quant_snr_by_bits)
{
    const size_t n = 1 << 16;
    float *x = malloc(n * 4), *y = malloc(n * 4);
    CHECK(x && y);
    th_gaussian(x, n, 3);
    uint64_t shape[2] = {n / 256, 256};
    static const struct { const char *codec; int bits; double min_db; } rows[] = {
        {"kmeans", 1, 4.0},  {"kmeans", 2, 9.0},  {"kmeans", 3, 14.2}, {"kmeans", 4, 19.8}, {"kmeans", 5, 25.5},
        {"kmeans", 6, 31.0}, {"kmeans", 8, 41.0}, {"nf", 2, 8.0},     {"nf", 3, 14.5},     {"nf", 4, 20.5},
        {"nf", 5, 25.0},     {"nf", 6, 30.5},     {"nf", 8, 37.0},     {"log", 2, 6.5},     {"log", 3, 13.5},
        {"log", 4, 19.5},    {"log", 5, 25.0},    {"log", 6, 30.0},    {"log", 8, 38.0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s:bits=%d", rows[i].codec, rows[i].bits);
        tp_metrics m;
        CHECK_OK(roundtrip(spec, x, 2, shape, y, &m));
        if (m.snr_db < rows[i].min_db) printf("    %s: %.2f dB < %.2f\n", spec, m.snr_db, rows[i].min_db);
        CHECK(m.snr_db >= rows[i].min_db);
    }
    tp_metrics m;
    CHECK_OK(roundtrip("fp8:format=e4m3", x, 2, shape, y, &m));
    CHECK(m.snr_db >= 30.0);
    CHECK_OK(roundtrip("fp8:format=e5m2", x, 2, shape, y, &m));
    CHECK(m.snr_db >= 24.0);
    free(x); free(y);
}

/* Absolute error bounds without the scale search: half the widest gap of
 * the table times the group scale. */
TEST(quant_error_bounds)
{
    const size_t n = 4096;
    float *x = malloc(n * 4), *y = malloc(n * 4);
    CHECK(x && y);
    th_gaussian(x, n, 5);
    for (unsigned b = 2; b <= 8; b++) {
        double lv[256], gap = 0;
        tp_nf_levels(b, lv);
        for (unsigned i = 1; i < (1u << b); i++) gap = fmax(gap, lv[i] - lv[i - 1]);
        char spec[64];
        snprintf(spec, sizeof spec, "nf:bits=%u,group=32,search=0,scale=f32", b);
        CHECK_OK(roundtrip1(spec, x, n, y, NULL));
        for (size_t g = 0; g < n / 32; g++) {
            float amax = 0;
            for (size_t i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[g * 32 + i]));
            for (size_t i = 0; i < 32; i++) CHECK(fabs(x[g * 32 + i] - y[g * 32 + i]) <= gap / 2 * amax * 1.0001 + 1e-7);
        }
    }
    /* fp8 e4m3 per group of 16: relative error <= 2^-4 in the normal range,
     * absolute <= 2^-10 * s below it. */
    CHECK_OK(roundtrip1("fp8:format=e4m3,group=16", x, n, y, NULL));
    for (size_t g = 0; g < n / 16; g++) {
        float amax = 0;
        for (size_t i = 0; i < 16; i++) amax = fmaxf(amax, fabsf(x[g * 16 + i]));
        float s = amax / 448.0f;
        for (size_t i = 0; i < 16; i++) {
            double e = fabs(x[g * 16 + i] - y[g * 16 + i]), a = fabs(x[g * 16 + i]);
            CHECK(e <= fmax(a * 0.0625, ldexp(s, -10)) * 1.0001);
        }
    }
    free(x); free(y);
}

/* ---- exactness ----------------------------------------------------------- */

TEST(quant_exact_on_representable_values)
{
    enum { N = 1001 }; /* odd: exercises the bit-by-bit tail */
    float x[N], y[N];
    double lv[256];
    /* nf: levels times a power of two, every group holding a +-1 level. */
    for (unsigned b = 2; b <= 8; b++) {
        tp_nf_levels(b, lv);
        unsigned K = 1u << b;
        for (size_t i = 0; i < N; i++) x[i] = (float)lv[i % 8 == 0 ? K - 1 : (i * 31 + b) % K] * 4.0f;
        char spec[64];
        snprintf(spec, sizeof spec, "nf:bits=%u,group=8,search=0", b);
        CHECK_OK(roundtrip1(spec, x, N, y, NULL));
        for (size_t i = 0; i < N; i++) {
            float want = (float)lv[i % 8 == 0 ? K - 1 : (i * 31 + b) % K] * 4.0f;
            CHECK(fabsf(y[i] - want) <= 1e-6f * 4); /* level stored as float, product exact up to rounding */
        }
    }
    /* log with a given step: +-2^(-k step) * 8 values, each group has 8. */
    float lut[256];
    for (unsigned b = 2; b <= 8; b++) {
        tp_log_levels(b, 0.5f, lut);
        for (size_t i = 0; i < N; i++) x[i] = (i % 8 == 0 ? 1.0f : lut[(i * 17 + b) % (1u << b)]) * 8.0f;
        if (b == 2) CHECK(lut[0] != 0.0f); /* the 2-bit table has no zero, the others do */
        char spec[64];
        snprintf(spec, sizeof spec, "log:bits=%u,group=8,step=0.5,search=0", b);
        CHECK_OK(roundtrip1(spec, x, N, y, NULL));
        for (size_t i = 0; i < N; i++) CHECK(y[i] == x[i]);
    }
    /* fp8: every finite code times a power of two, f32 scale. */
    for (int fmt = 0; fmt < 2; fmt++) {
        size_t k = 0;
        for (unsigned c = 0; c < 256 && k < N; c++) {
            float v = tp_fp8_to_f32(fmt, (uint8_t)c);
            if (isfinite(v)) x[k++] = v * 0.25f;
        }
        for (size_t i = k; i < N; i++) x[i] = x[i % k];
        CHECK_OK(roundtrip1(fmt ? "fp8:format=e5m2" : "fp8:format=e4m3", x, N, y, NULL));
        for (size_t i = 0; i < N; i++) CHECK(y[i] == x[i]);
    }
    /* kmeans: at most K distinct values (f16-exact) are kept exactly. */
    for (unsigned b = 1; b <= 8; b++) {
        unsigned K = 1u << b;
        for (size_t i = 0; i < N; i++) x[i] = (float)((int)((i * 7) % K) - (int)K / 2) * 0.125f;
        char spec[64];
        snprintf(spec, sizeof spec, "kmeans:bits=%u", b);
        CHECK_OK(roundtrip1(spec, x, N, y, NULL));
        CHECK(!memcmp(x, y, sizeof x));
    }
}

/* ---- degenerate inputs --------------------------------------------------- */

static const char *const all_specs[] = {
    "kmeans", "kmeans:bits=1", "kmeans:bits=8,group=16", "kmeans:bits=3,group=0,axis=0,weight=abs",
    "kmeans:bits=2,group=5,weight=sq", "nf", "nf:bits=2,group=3", "nf:bits=8,group=0,axis=1,scale=f32",
    "log", "log:bits=2,group=1", "log:bits=8,group=0,step=0.25", "fp8", "fp8:format=e5m2,group=7,scale=f16",
    "fp8:group=0,axis=0",
};
#define N_SPECS (sizeof all_specs / sizeof all_specs[0])

TEST(quant_degenerate_inputs)
{
    enum { R = 7, C = 13 };
    uint64_t shape[2] = {R, C};
    float x[R * C], y[R * C];
    for (size_t s = 0; s < N_SPECS; s++) {
        /* all zero: exact */
        memset(x, 0, sizeof x);
        CHECK_OK(roundtrip(all_specs[s], x, 2, shape, y, NULL));
        for (int i = 0; i < R * C; i++) CHECK(y[i] == 0.0f);
        /* constant: within the scale's f16 rounding */
        for (int i = 0; i < R * C; i++) x[i] = -0.3f;
        CHECK_OK(roundtrip(all_specs[s], x, 2, shape, y, NULL));
        /* fp8 places the constant anywhere in a binade: its own rounding */
        float tol = strstr(all_specs[s], "e5m2") ? 0.0625f : strstr(all_specs[s], "fp8") ? 0.03125f : 2e-3f;
        for (int i = 0; i < R * C; i++) CHECK(fabsf(y[i] + 0.3f) <= 0.3f * tol);
        /* odd sizes: 1 and 3 values */
        for (uint64_t n = 1; n <= 3; n += 2) {
            uint64_t sh[2] = {1, n};
            float a[3] = {0.5f, -2.0f, 1.25f}, b[3];
            CHECK_OK(roundtrip(all_specs[s], a, 2, sh, b, NULL));
            for (uint64_t i = 0; i < n; i++) CHECK(fabsf(a[i] - b[i]) <= 0.55f);
        }
        /* empty tensor */
        uint64_t sh0[2] = {0, 4};
        CHECK_OK(roundtrip(all_specs[s], x, 2, sh0, y, NULL));
        /* NaN and Inf are refused */
        th_gaussian(x, R * C, 9);
        x[40] = NAN;
        CHECK_ERR(roundtrip(all_specs[s], x, 2, shape, y, NULL), TP_ERR_NONFINITE);
        x[40] = -INFINITY;
        CHECK_ERR(roundtrip(all_specs[s], x, 2, shape, y, NULL), TP_ERR_NONFINITE);
    }
}

TEST(quant_kmeans_fewer_values_than_centroids)
{
    float x[5] = {3.0f, -1.0f, 3.0f, 0.5f, 2.0f}, y[5];
    CHECK_OK(roundtrip1("kmeans:bits=4", x, 5, y, NULL));
    CHECK(!memcmp(x, y, sizeof x));
    CHECK_OK(roundtrip1("kmeans:bits=8,group=2", x, 5, y, NULL));
    CHECK(!memcmp(x, y, sizeof x));
    /* 2 centroids for 3 distinct values: the pair closest shares one */
    float z[4] = {0.0f, 0.1f, 5.0f, 0.05f}, w[4];
    CHECK_OK(roundtrip1("kmeans:bits=1,scale=f32", z, 4, w, NULL));
    CHECK(w[2] == 5.0f);
    CHECK(fabsf(w[0] - 0.05f) < 1e-6f && w[0] == w[1] && w[1] == w[3]);
}

TEST(quant_groups_and_channels)
{
    enum { A = 6, B = 10, Cc = 12 };
    uint64_t shape[3] = {A, B, Cc};
    const size_t n = A * B * Cc;
    float *x = malloc(n * 4), *y = malloc(n * 4);
    CHECK(x && y);
    th_gaussian(x, n, 11);
    /* channel c along axis 1 gets a very different scale: per-channel
     * codebooks must follow it */
    for (size_t i = 0; i < n; i++) x[i] *= (float)(1 + (i / Cc) % B * 10);
    const char *specs[] = {"kmeans:bits=4,axis=1", "kmeans:bits=4,group=5", "nf:bits=4,axis=1,group=0",
                           "log:bits=5,axis=1,group=0", "fp8:axis=1", "fp8:group=8", "nf:group=24"};
    for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
        tp_metrics m;
        CHECK_OK(roundtrip(specs[s], x, 3, shape, y, &m));
        if (m.snr_db < 17.0) printf("    %s: %.2f dB\n", specs[s], m.snr_db);
        CHECK(m.snr_db >= 17.0);
    }
    free(x); free(y);
}

TEST(quant_kmeans_weights_and_seed)
{
    const size_t n = 1 << 14;
    float *x = malloc(n * 4), *y = malloc(n * 4);
    CHECK(x && y);
    th_gaussian(x, n, 4);
    tp_metrics none, sq;
    CHECK_OK(roundtrip1("kmeans:bits=3", x, n, y, &none));
    CHECK_OK(roundtrip1("kmeans:bits=3,weight=sq", x, n, y, &sq));
    /* x^2 weighting trades small-value error for large-value error: the
     * error of the largest tenth of values must drop. */
    double e_none = 0, e_sq = 0;
    float *y2 = malloc(n * 4);
    CHECK(y2);
    CHECK_OK(roundtrip1("kmeans:bits=3", x, n, y2, NULL));
    for (size_t i = 0; i < n; i++)
        if (fabsf(x[i]) > 1.65f) { e_none += (x[i] - y2[i]) * (x[i] - y2[i]); e_sq += (x[i] - y[i]) * (x[i] - y[i]); }
    CHECK(e_sq < e_none);
    printf("    kmeans 3 bits: %.2f dB, weight=sq %.2f dB\n", none.snr_db, sq.snr_db);
    CHECK(sq.snr_db > 7.0);
    /* deterministic for a seed */
    tp_pipeline *p;
    CHECK_OK(tp_pipeline_parse("kmeans:bits=4,seed=5,iters=3", &p));
    tp_tensor t = {0};
    t.dtype = TP_F32; t.ndim = 1; t.shape[0] = n; t.data = x;
    void *f1, *f2;
    size_t n1 = tp_frame_encode_alloc(p, &t, NULL, &f1), n2 = tp_frame_encode_alloc(p, &t, NULL, &f2);
    CHECK_OK(n1);
    CHECK(n1 == n2 && !memcmp(f1, f2, n1));
    free(f1); free(f2); free(y2);
    tp_pipeline_free(p);
    free(x); free(y);
}

TEST(quant_sizes_and_params)
{
    float x[1000], y[1000];
    uint64_t shape[2] = {10, 100};
    tp_pipeline *p;
    CHECK_ERR(tp_pipeline_parse("nf:bits=1", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("log:bits=9", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("kmeans:group=8,axis=0", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("fp8:format=e3m4", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("kmeans:weight=cube", &p), TP_ERR_PARAM);
    static const char *names[] = {"kmeans", "nf", "log", "fp8"};
    for (int i = 0; i < 4; i++) {
        const tp_codec_info *ci = tp_codec_find(names[i]);
        CHECK(ci && ci->id == 6 + i && (ci->flags & TP_CODEC_LOSSY));
    }
    /* f16 scales overflow on huge values: a clear error, f32 works */
    for (int i = 0; i < 1000; i++) x[i] = 1e7f * (float)(i % 3);
    CHECK_ERR(roundtrip("nf", x, 2, shape, y, NULL), TP_ERR_PARAM);
    CHECK_OK(roundtrip("nf:scale=f32", x, 2, shape, y, NULL));
    CHECK_ERR(roundtrip("kmeans", x, 2, shape, y, NULL), TP_ERR_PARAM);
}

/* The payload size of each codec follows its documented layout. */
TEST(quant_payload_layout)
{
    tp_tensor t = {0};
    t.dtype = TP_F32; t.ndim = 2; t.shape[0] = 10; t.shape[1] = 100;
    static const struct { const char *spec; size_t payload; } rows[] = {
        {"nf:bits=3,group=64", 10 * 2 * 2 + 375},
        {"nf:bits=4,group=0,scale=f32", 4 + 500},
        {"log:bits=5,group=32", 4 + 10 * 4 * 2 + 625},
        {"fp8", 4 + 1000},
        {"fp8:group=100,scale=f16", 10 * 2 + 1000},
        {"kmeans:bits=2", 4 * 2 + 250},
        {"kmeans:bits=3,axis=0,scale=f32", 10 * 8 * 4 + 375},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(rows[i].spec, &p));
        tp_tensor out;
        size_t b = p->stage[0].codec->bound(&p->stage[0].params, &t, &out);
        tp_pipeline_free(p);
        CHECK(b == rows[i].payload);
    }
}

TEST(quant_other_input_dtypes)
{
    uint16_t h[256];
    float x[256], y[256];
    th_gaussian(x, 256, 8);
    for (int i = 0; i < 256; i++) h[i] = tp_f32_to_bf16(x[i]);
    tp_pipeline *p;
    CHECK_OK(tp_pipeline_parse("nf:bits=8", &p));
    tp_tensor t = {0};
    t.dtype = TP_BF16; t.ndim = 1; t.shape[0] = 256; t.data = h;
    void *f;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
    CHECK_OK(n);
    uint16_t back[256];
    CHECK_OK(tp_frame_decode(f, n, back, sizeof back));
    for (int i = 0; i < 256; i++) y[i] = tp_bf16_to_f32(back[i]);
    tp_metrics m;
    tp_metrics_compute(x, TP_F32, y, TP_F32, 256, &m);
    CHECK(m.snr_db > 30);
    free(f);
    tp_pipeline_free(p);
}

TEST(quant_corrupt_frames)
{
    float x[300], y[300];
    th_gaussian(x, 300, 6);
    for (size_t s = 0; s < N_SPECS; s++) {
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(all_specs[s], &p));
        tp_tensor t = {0};
        t.dtype = TP_F32; t.ndim = 2; t.shape[0] = 3; t.shape[1] = 100; t.data = x;
        void *f;
        size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
        tp_pipeline_free(p);
        CHECK_OK(n);
        for (size_t cut = 1; cut < n; cut += 1 + n / 16) CHECK(tp_is_error(tp_frame_decode(f, n - cut, y, sizeof y)));
        uint8_t *b = f;
        b[n - 9] ^= 0x40; /* last payload byte: the checksum catches it */
        CHECK_ERR(tp_frame_decode(f, n, y, sizeof y), TP_ERR_CHECKSUM);
        free(f);
    }
}
