/* The int codec: the error bound |x - x^| <= |s|/2 inside each group's
 * clip range, checked against scales, offsets and codes read back from the
 * frame independently of the decoder (layout: src/codecs/quant/int.c), which
 * also pins the packing and the payload size. Plus special inputs, search,
 * quality on Gaussian data, and the SIMD kernel against the reference. */
#include <stdlib.h>
#include <string.h>

#include "codecs/quant/int_kernels.h"
#include "core/bitpack.h"
#include "core/half.h"
#include "harness.h"
#include "core/rng.h"

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Code k of b bits from an LSB-first bit stream, one bit at a time. */
static unsigned code_at(const uint8_t *buf, uint64_t k, unsigned b)
{
    unsigned v = 0;
    for (unsigned j = 0; j < b; j++) {
        uint64_t bit = k * b + j;
        v |= (unsigned)((buf[bit / 8] >> (bit % 8)) & 1) << j;
    }
    return v;
}

enum { G_TENSOR, G_AXIS0, G_AXIS1, G_GROUP };

typedef struct {
    unsigned bits, sym, f32_scales, search;
    int gran;
    unsigned group;
    uint64_t rows, cols;
} config;

static void spec_of(const config *c, char *buf, size_t cap)
{
    const char *g = c->gran == G_TENSOR ? "group=0" : c->gran == G_AXIS0 ? "group=0,axis=0"
                  : c->gran == G_AXIS1 ? "group=0,axis=1" : NULL;
    char gb[32];
    if (!g) { snprintf(gb, sizeof gb, "group=%u", c->group); g = gb; }
    snprintf(buf, cap, "int:bits=%u,sym=%u,%s,scale=%s,search=%u", c->bits, c->sym, g, c->f32_scales ? "f32" : "f16",
             c->search);
}

static uint64_t n_groups_of(const config *c)
{
    switch (c->gran) {
    case G_TENSOR: return 1;
    case G_AXIS0: return c->rows;
    case G_AXIS1: return c->cols;
    default: return c->rows * ((c->cols + c->group - 1) / c->group);
    }
}

static uint64_t gid_of(const config *c, uint64_t i)
{
    uint64_t r = i / c->cols, col = i % c->cols;
    switch (c->gran) {
    case G_TENSOR: return 0;
    case G_AXIS0: return r;
    case G_AXIS1: return col;
    default: return r * ((c->cols + c->group - 1) / c->group) + col / c->group;
    }
}

/* Rows of different scale and offset, columns with a trend. */
static void make_input(float *x, uint64_t rows, uint64_t cols, unsigned seed)
{
    th_gaussian(x, rows * cols, seed);
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < cols; c++)
            x[r * cols + c] = x[r * cols + c] * (0.2f + 0.3f * (float)r) + 0.4f * (float)c / (float)cols +
                              0.7f * (float)((int)(r % 3) - 1);
}

/* Encodes x with config c, decodes, and checks the frame's int payload
 * value by value. Returns 1 if all holds (details printed otherwise). */
static int check_config(const config *c, const float *x, double *mse_out)
{
    char spec[160];
    spec_of(c, spec, sizeof spec);
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) { printf("  %s: %s\n", spec, tp_last_error_detail()); return 0; }
    uint64_t numel = c->rows * c->cols;
    tp_tensor t = {TP_F32, 2, {c->rows, c->cols}, x};
    void *fv = NULL;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &fv);
    tp_pipeline_free(p);
    if (tp_is_error(n)) { printf("  %s: %s\n", spec, tp_last_error_detail()); return 0; }
    const uint8_t *f = fv;
    float *y = malloc(numel * sizeof *y);
    int ok = tp_frame_decode(f, n, y, numel * sizeof *y) == numel * sizeof *y;

    /* The payload, as documented at the top of src/codecs/quant/int.c. */
    uint32_t hs = rd32(f + 8);
    uint64_t psize = rd64(f + hs - 8);
    const uint8_t *pay = f + hs;
    uint64_t ng = n_groups_of(c);
    size_t sb = c->f32_scales ? 4 : 2;
    uint64_t want = ng * sb * (c->sym ? 1 : 2) + (numel * c->bits + 7) / 8;
    if (psize != want || hs + psize + 8 != n) {
        printf("  %s: payload %llu bytes, want %llu\n", spec, (unsigned long long)psize, (unsigned long long)want);
        ok = 0;
    }
    const uint8_t *codes = pay + ng * sb * (c->sym ? 1 : 2);
    /* Unused bits of the last code byte are zero. */
    if (ok && (numel * c->bits) % 8 && (codes[numel * c->bits / 8] >> ((numel * c->bits) % 8)))
        { printf("  %s: padding bits set\n", spec); ok = 0; }
    unsigned qmax = (1u << c->bits) - 1;
    double sse = 0;
    for (uint64_t i = 0; i < numel && ok; i++) {
        uint64_t g = gid_of(c, i);
        float s, off;
        if (c->f32_scales) memcpy(&s, pay + 4 * g, 4);
        else s = tp_half_to_float((uint16_t)(pay[2 * g] | pay[2 * g + 1] << 8));
        if (c->sym) off = -(float)(1u << (c->bits - 1)) * s;
        else if (c->f32_scales) memcpy(&off, pay + 4 * (ng + g), 4);
        else off = tp_half_to_float((uint16_t)(pay[2 * (ng + g)] | pay[2 * (ng + g) + 1] << 8));
        unsigned q = code_at(codes, i, c->bits);
        double xi = x[i], yi = y[i], as = fabs((double)s);
        double eps = 1e-6 * (as * qmax + fabs((double)off) + fabs(xi)) + 4e-45; /* + f32 subnormal steps */
        /* The decoder computed q * s + off (maybe fused). */
        if (fabs(yi - ((double)q * s + off)) > eps) {
            printf("  %s: value %llu decodes to %g, code %u gives %g\n", spec, (unsigned long long)i, yi, q,
                   (double)q * s + off);
            ok = 0;
            break;
        }
        double lo = fmin(off, off + (double)qmax * s), hi = fmax(off, off + (double)qmax * s);
        if (xi >= lo && xi <= hi) {
            if (fabs(xi - yi) > as / 2 + eps) {
                printf("  %s: value %llu = %.9g -> %.9g, error %g > s/2 = %g\n", spec, (unsigned long long)i, xi, yi,
                       fabs(xi - yi), as / 2);
                ok = 0;
            }
        } else {
            /* Clipped: decodes to the nearest end of the range. */
            double end = xi < lo ? lo : hi;
            if (fabs(yi - end) > eps || (q != 0 && q != qmax)) {
                printf("  %s: clipped value %llu = %g -> %g, range end %g\n", spec, (unsigned long long)i, xi, yi, end);
                ok = 0;
            }
            /* Without search the range spans the group, but for rounding of
             * stored scales and, with sym, one step on the side opposite to
             * the largest magnitude. */
            double slack = (c->f32_scales ? 1e-6 : 1.0 / 1024) * (fabs(xi) + fabs(off) + as * qmax) +
                           (qmax + 1) * 1.5e-45; /* a subnormal f32 scale is coarse */
            double dist = xi < lo ? lo - xi : xi - hi;
            if (!c->search && dist > (c->sym ? as : 0) + slack) {
                printf("  %s: value %llu = %g lies %g outside [%g, %g]\n", spec, (unsigned long long)i, xi, dist, lo, hi);
                ok = 0;
            }
        }
        sse += (xi - yi) * (xi - yi);
    }
    if (mse_out) *mse_out = sse / (double)numel;
    free(y);
    free(fv);
    return ok;
}

TEST(int_error_bound_all_configs)
{
    static const struct { int gran; unsigned group; uint64_t rows, cols; } grans[] = {
        {G_TENSOR, 0, 12, 45}, {G_AXIS0, 0, 12, 45}, {G_AXIS1, 0, 12, 45}, {G_GROUP, 32, 12, 45},
        {G_GROUP, 7, 12, 45},  {G_GROUP, 1, 12, 45}, {G_GROUP, 32, 6, 64}, /* fast decode path */
        {G_GROUP, 8, 5, 16},   {G_GROUP, 256, 3, 512}, {G_GROUP, 24, 4, 48},
    };
    float *x = malloc(3 * 512 * sizeof *x);
    int failures = 0;
    for (unsigned bits = 1; bits <= 8; bits++)
        for (unsigned sym = 0; sym < 2; sym++)
            for (unsigned f32s = 0; f32s < 2; f32s++)
                for (size_t g = 0; g < sizeof grans / sizeof grans[0]; g++)
                    for (unsigned search = 0; search < 2; search++) {
                        config c = {bits, sym, f32s, search, grans[g].gran, grans[g].group, grans[g].rows, grans[g].cols};
                        make_input(x, c.rows, c.cols, bits * 100 + (unsigned)g);
                        if (!check_config(&c, x, NULL) && ++failures > 5) break;
                    }
    free(x);
    CHECK(failures == 0);
}

TEST(int_tiny_values)
{
    /* Values near and below FLT_MIN: with f32 scales the scale is then
     * subnormal and 1/s overflows; the bound must hold all the same. With
     * f16 scales it flushes to 0 and every value decodes to the offset. */
    float x[12 * 45];
    int failures = 0;
    static const float mag[] = {1e-36f, 1e-38f, 3e-39f, 1e-41f, 1e-44f};
    for (unsigned bits = 1; bits <= 8; bits++)
        for (unsigned sym = 0; sym < 2; sym++)
            for (unsigned search = 0; search < 2; search++)
                for (size_t k = 0; k < sizeof mag / sizeof mag[0]; k++) {
                    config c = {bits, sym, 1, search, G_GROUP, 32, 12, 45};
                    th_gaussian(x, 12 * 45, bits + 10 * (unsigned)k);
                    for (int i = 0; i < 12 * 45; i++) x[i] *= mag[k];
                    if (!check_config(&c, x, NULL) && ++failures > 5) break;
                }
    CHECK(failures == 0);
}

TEST(int_constant_and_zero_tensors)
{
    float x[60];
    static const char *const sp[] = {"int:bits=4,group=32", "int:bits=1,sym=0,group=0", "int:bits=8,group=0,axis=1",
                                     "int:bits=3,sym=0,group=7", "int:bits=2,group=0,axis=0,search=1"};
    for (int k = 0; k < 5; k++)
        for (int scale = 0; scale < 2; scale++)
            for (int val = 0; val < 4; val++) {
                static const float v[] = {0.0f, 3.7f, -1234.5f, 1e-3f};
                for (int i = 0; i < 60; i++) x[i] = v[val];
                char spec[128];
                snprintf(spec, sizeof spec, "%s,scale=%s", sp[k], scale ? "f32" : "f16");
                tp_pipeline *p;
                CHECK_OK(tp_pipeline_parse(spec, &p));
                tp_tensor t = {TP_F32, 2, {4, 15}, x};
                void *f;
                size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
                tp_pipeline_free(p);
                CHECK_OK(n);
                float y[60];
                CHECK(tp_frame_decode(f, n, y, sizeof y) == sizeof y);
                free(f);
                for (int i = 0; i < 60; i++) {
                    if (v[val] == 0) CHECK(y[i] == 0); /* zeros stay exactly zero */
                    else if (scale) CHECK(y[i] == v[val]); /* f32 scales hit a constant exactly */
                    else CHECK(fabsf(y[i] - v[val]) <= fabsf(v[val]) / 1024);
                }
            }
}

TEST(int_nonfinite_rejected)
{
    float x[100];
    static const char *const sp[] = {"int", "int:bits=4,sym=0,group=0", "int:bits=2,group=0,axis=0,search=1"};
    for (int k = 0; k < 3; k++)
        for (int pos = 0; pos < 3; pos++)
            for (int kind = 0; kind < 3; kind++) {
                th_gaussian(x, 100, 1);
                int at = pos == 0 ? 0 : pos == 1 ? 57 : 99;
                x[at] = kind == 0 ? NAN : kind == 1 ? INFINITY : -INFINITY;
                tp_pipeline *p;
                CHECK_OK(tp_pipeline_parse(sp[k], &p));
                tp_tensor t = {TP_F32, 2, {10, 10}, x};
                uint8_t dst[4096];
                CHECK_ERR(tp_frame_encode(p, &t, NULL, dst, sizeof dst), TP_ERR_NONFINITE);
                CHECK(strstr(tp_last_error_detail(), kind ? "Inf" : "NaN"));
                char idx[8];
                snprintf(idx, sizeof idx, "%d", at);
                CHECK(strstr(tp_last_error_detail(), idx));
                /* Same through an f16 input and a chain. */
                uint16_t h[100];
                tp_convert(h, TP_F16, x, TP_F32, 100);
                tp_tensor th = {TP_F16, 1, {100}, h};
                tp_pipeline_free(p);
                CHECK_OK(tp_pipeline_parse("int:bits=4|zstd", &p));
                CHECK_ERR(tp_frame_encode(p, &th, NULL, dst, sizeof dst), TP_ERR_NONFINITE);
                tp_pipeline_free(p);
            }
}

TEST(int_f16_scale_overflow)
{
    /* Scales that do not fit f16 are refused with a hint; f32 scales work. */
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = (float)(i - 32) * 1e7f;
    tp_tensor t = {TP_F32, 1, {64}, x};
    tp_pipeline *p;
    uint8_t dst[1024];
    CHECK_OK(tp_pipeline_parse("int:bits=8,group=0", &p));
    CHECK_ERR(tp_frame_encode(p, &t, NULL, dst, sizeof dst), TP_ERR_PARAM);
    CHECK(strstr(tp_last_error_detail(), "scale=f32"));
    tp_pipeline_free(p);
    CHECK_OK(tp_pipeline_parse("int:bits=8,group=0,scale=f32", &p));
    size_t n = tp_frame_encode(p, &t, NULL, dst, sizeof dst);
    CHECK_OK(n);
    float y[64];
    CHECK(tp_frame_decode(dst, n, y, sizeof y) == sizeof y);
    for (int i = 0; i < 64; i++) CHECK(fabsf(y[i] - x[i]) <= 3.2e8f / 128 / 2 * 1.001f);
    tp_pipeline_free(p);
    /* A range wider than FLT_MAX: no scale can help, and the detail does
     * not send the user to scale=f32 when that is what they asked for. */
    x[0] = -3e38f;
    x[1] = 3e38f;
    CHECK_OK(tp_pipeline_parse("int:bits=8,sym=0,group=0,scale=f32", &p));
    CHECK_ERR(tp_frame_encode(p, &t, NULL, dst, sizeof dst), TP_ERR_PARAM);
    CHECK(strstr(tp_last_error_detail(), "f32 range"));
    tp_pipeline_free(p);
    /* With sym the codes span twice the largest magnitude: refused rather
     * than decoded to -Inf. Half as large is fine. */
    float h[4] = {3e38f, -3e38f, 1e38f, 0};
    tp_tensor th = {TP_F32, 1, {4}, h};
    CHECK_OK(tp_pipeline_parse("int:bits=8,group=0,scale=f32", &p));
    CHECK_ERR(tp_frame_encode(p, &th, NULL, dst, sizeof dst), TP_ERR_PARAM);
    for (int i = 0; i < 4; i++) h[i] /= 2.5f;
    n = tp_frame_encode(p, &th, NULL, dst, sizeof dst);
    CHECK_OK(n);
    CHECK(tp_frame_decode(dst, n, y, sizeof y) == sizeof h);
    for (int i = 0; i < 4; i++) CHECK(isfinite(y[i]) && fabsf(y[i] - h[i]) <= 1.2e38f / 128 * 1.001f); /* -max is one step out */
    tp_pipeline_free(p);
}

static double mse_of(const char *spec, const float *x, uint64_t rows, uint64_t cols)
{
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) return -1;
    tp_tensor t = {TP_F32, 2, {rows, cols}, x};
    void *f;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
    tp_pipeline_free(p);
    if (tp_is_error(n)) return -1;
    float *y = malloc(rows * cols * sizeof *y);
    tp_metrics m;
    size_t r = tp_frame_decode(f, n, y, rows * cols * sizeof *y);
    if (!tp_is_error(r)) r = tp_metrics_compute(x, TP_F32, y, TP_F32, rows * cols, &m);
    free(y);
    free(f);
    return tp_is_error(r) ? -1 : m.mse;
}

TEST(int_search_never_worse)
{
    enum { R = 64, C = 256 };
    float *x = malloc(R * C * sizeof *x);
    th_gaussian(x, R * C, 11);
    static const char *const base[] = {"group=32", "group=0", "group=0,axis=0", "group=0,axis=1", "group=7"};
    for (unsigned bits = 2; bits <= 5; bits++)
        for (int sym = 0; sym < 2; sym++)
            for (int g = 0; g < 5; g++) {
                char s0[128], s1[160];
                snprintf(s0, sizeof s0, "int:bits=%u,sym=%d,%s", bits, sym, base[g]);
                snprintf(s1, sizeof s1, "%s,search=1", s0);
                double m0 = mse_of(s0, x, R, C), m1 = mse_of(s1, x, R, C);
                CHECK(m0 > 0 && m1 > 0);
                if (!(m1 <= m0 * (1 + 1e-6))) printf("  %s: mse %g, with search %g\n", s0, m0, m1);
                CHECK(m1 <= m0 * (1 + 1e-6));
            }
    /* On Gaussian data per-tensor clipping pays off clearly. */
    double m0 = mse_of("int:bits=3,group=0", x, R, C), m1 = mse_of("int:bits=3,group=0,search=1", x, R, C);
    CHECK(m1 < 0.8 * m0);
    free(x);
}

TEST(int_gaussian_snr)
{
    enum { N = 1 << 16 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    th_gaussian(x, N, 2);
    static const struct { const char *spec; double lo, hi; } cases[] = {
        {"int:bits=4,group=32", 19, 23},       {"int:bits=4,sym=0,group=32", 19, 23},
        {"int:bits=8,group=32", 43, 47.5},     {"int:bits=2,sym=0,group=32", 7, 11},
        {"int:bits=4,group=32,search=1", 19.5, 23.5},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(cases[k].spec, &p));
        tp_tensor t = {TP_F32, 2, {N / 256, 256}, x};
        void *f;
        size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
        tp_pipeline_free(p);
        CHECK_OK(n);
        CHECK(tp_frame_decode(f, n, y, N * sizeof *y) == N * sizeof *y);
        free(f);
        tp_metrics m;
        CHECK_OK(tp_metrics_compute(x, TP_F32, y, TP_F32, N, &m));
        if (m.snr_db < cases[k].lo || m.snr_db > cases[k].hi)
            printf("  %s: %.2f dB, expected %g..%g\n", cases[k].spec, m.snr_db, cases[k].lo, cases[k].hi);
        CHECK(m.snr_db >= cases[k].lo && m.snr_db <= cases[k].hi);
    }
    free(x);
    free(y);
}

TEST(int_dequant_kernel_matches_reference)
{
    tp_dequant_fn best = tp_dequant_best();
    tp_rng st = {5};
    uint8_t *codes = malloc(64 * 256);
    float s[8], off[8], *a = malloc(8 * 256 * sizeof *a), *b = malloc(8 * 256 * sizeof *b);
    for (unsigned bits = 1; bits <= 8; bits++)
        for (size_t group = 8; group <= 256; group += 8) {
            size_t ng = 1 + (size_t)(tp_rng_next(&st) % 8);
            size_t nbytes = ng * group * bits / 8;
            for (size_t i = 0; i < nbytes; i++) codes[i] = (uint8_t)tp_rng_next(&st);
            th_gaussian(s, ng, (unsigned)(bits * 1000 + group));
            th_gaussian(off, ng, (unsigned)(bits * 1000 + group + 1));
            best(codes, ng, group, bits, s, off, a);
            tp_dequant_ref(codes, ng, group, bits, s, off, b);
            for (size_t g = 0; g < ng; g++)
                for (size_t i = 0; i < group; i++) {
                    size_t k = g * group + i;
                    unsigned q = code_at(codes, k, bits);
                    float want = (float)q * s[g] + off[g]; /* unfused: this file is ISO C */
                    CHECK(b[k] == want);
                    double tol = 1e-6 * (fabs((double)q * s[g]) + fabs((double)off[g]));
                    if (fabs((double)a[k] - b[k]) > tol)
                        printf("  bits %u group %zu value %zu: %g vs %g\n", bits, group, k, a[k], b[k]);
                    CHECK(fabs((double)a[k] - b[k]) <= tol);
                }
        }
    free(codes); free(a); free(b);
}

TEST(int_bitpack)
{
    tp_rng st = {3};
    for (unsigned b = 1; b <= 8; b++)
        for (size_t n = 0; n <= 72; n += 8) {
            uint8_t q[72], q2[72], p1[80] = {0}, p2[80], p3[80] = {0};
            for (size_t i = 0; i < n; i++) q[i] = (uint8_t)(tp_rng_next(&st) & ((1u << b) - 1));
            size_t nb = (size_t)tp_packed_bytes(n, b);
            CHECK(nb == (n * b + 7) / 8);
            memset(p2, 0xcc, sizeof p2);
            tp_pack8(p2, q, n, b);
            for (size_t i = 0; i < n; i++) tp_bits_or(p1, i, b, q[i]);
            /* Independent writer: bit j of code i goes to stream bit i*b+j. */
            for (size_t i = 0; i < n; i++)
                for (unsigned j = 0; j < b; j++)
                    if (q[i] >> j & 1) p3[(i * b + j) / 8] |= (uint8_t)(1u << ((i * b + j) % 8));
            CHECK(!memcmp(p1, p3, nb) && !memcmp(p2, p3, nb));
            CHECK(n == 0 || p2[nb] == 0xcc); /* pack8 writes exactly n*b/8 bytes */
            tp_unpack8(q2, p3, n, b);
            CHECK(!memcmp(q, q2, n));
            for (size_t i = 0; i < n; i++) CHECK(tp_bits_get(p3, i, b) == q[i] && code_at(p3, i, b) == q[i]);
        }
    /* Unaligned starts through tp_bits_or / tp_bits_get. */
    for (unsigned b = 1; b <= 8; b++) {
        uint8_t buf[16] = {0};
        unsigned vals[13];
        for (int i = 0; i < 13; i++) { vals[i] = (unsigned)(tp_rng_next(&st) & ((1u << b) - 1)); tp_bits_or(buf, (uint64_t)i, b, vals[i]); }
        for (int i = 0; i < 13; i++) CHECK(tp_bits_get(buf, (uint64_t)i, b) == vals[i]);
        for (size_t i = (13 * b + 7) / 8; i < 16; i++) CHECK(buf[i] == 0);
    }
}

TEST(int_empty_and_tiny)
{
    static const char *const sp[] = {"int:sym=0,group=0", "int:sym=0,group=0,axis=0", "int:sym=0,group=0,axis=1",
                                     "int:bits=3,group=7", "int:bits=1,sym=0,group=32,search=1"};
    static const uint64_t shapes[][2] = {{0, 5}, {5, 0}, {1, 1}, {1, 3}, {3, 1}};
    for (int k = 0; k < 5; k++)
        for (int s = 0; s < 5; s++) {
            float x[16];
            th_gaussian(x, 16, (unsigned)s);
            tp_tensor t = {TP_F32, 2, {shapes[s][0], shapes[s][1]}, x};
            tp_pipeline *p;
            CHECK_OK(tp_pipeline_parse(sp[k], &p));
            void *f;
            size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
            tp_pipeline_free(p);
            CHECK_OK(n);
            float y[16];
            size_t want = shapes[s][0] * shapes[s][1] * 4;
            CHECK(tp_frame_decode(f, n, y, sizeof y) == want);
            for (size_t i = 0; i < want / 4; i++) CHECK(isfinite(y[i]));
            /* One value alone in its group with sym: exact up to its f16 scale. */
            if (want == 4 && strstr(sp[k], "sym=") == NULL) CHECK(fabsf(y[0] - x[0]) <= fabsf(x[0]) / 1024);
            free(f);
        }
}
