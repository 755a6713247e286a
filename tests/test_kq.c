/* Tests of the ternary (id 10) and kq (id 11) codecs and their kernels.
 * Every test name contains "kq" so that `unit_tests kq` runs them all. */
#include <stdlib.h>
#include <string.h>

#include "codecs/quant/kq_ternary_kernels.h"
#include "codecs/pipeline.h"
#include "core/half.h"
#include "harness.h"

/* ---- helpers ----------------------------------------------------------- */

/* Runs one codec stage directly: payload size (or error) into *payload,
 * decoded values into y. */
static size_t stage_roundtrip(const char *codec, const char *params, const tp_tensor *t, float *y, size_t *payload)
{
    const tp_codec *c = tp_codec_by_name(codec);
    tp_params p;
    size_t r = tp_params_parse(c, params, strlen(params), &p);
    if (tp_is_error(r)) return r;
    tp_tensor out;
    size_t bound = c->bound(&p, t, &out);
    if (tp_is_error(bound)) return bound;
    uint8_t *buf = malloc(bound + 1);
    r = c->encode(&p, t, buf, bound, &out);
    if (!tp_is_error(r)) {
        *payload = r;
        if (r > bound) r = tp_fail(TP_ERR_GENERIC, "encode wrote past its bound");
        else r = c->decode(&p, buf, r, &out, t, y);
    }
    free(buf);
    return r;
}

static double snr_db(const float *x, const float *y, size_t n)
{
    double s = 0, e = 0;
    for (size_t i = 0; i < n; i++) { s += (double)x[i] * x[i]; e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]); }
    return e == 0 ? 1e9 : 10 * log10(s / e);
}

static double sse_of(const float *x, const float *y, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++) e += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    return e;
}

/* Full frame round trip through the public API. */
static size_t frame_roundtrip(const char *spec, const tp_tensor *t, float *y, size_t *fsize)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    void *frame;
    size_t fs = tp_frame_encode_alloc(p, t, NULL, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(fs)) return fs;
    *fsize = fs;
    uint64_t n;
    tp_tensor_numel(t, &n);
    r = tp_frame_decode(frame, fs, y, n * 4);
    free(frame);
    return r;
}

/* ---- ternary ----------------------------------------------------------- */

static float store(float v, int f32) { return f32 ? v : tp_half_to_float(tp_half_from_float(v)); }

static int cmp_desc_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Independent ternary projection of the values idx[0..m) of x. */
static void project(const float *x, const size_t *idx, size_t m, int mse, int f32, float *ref)
{
    double g;
    if (!mse) {
        double s = 0;
        for (size_t k = 0; k < m; k++) s += fabs((double)x[idx[k]]);
        g = m ? s / (double)m : 0;
    } else { /* every threshold: the set {|w| >= t} for each t = |w_i| */
        float *a = malloc(m * sizeof *a);
        for (size_t k = 0; k < m; k++) a[k] = fabsf(x[idx[k]]);
        qsort(a, m, sizeof *a, cmp_desc_f);
        double best = 0, P = 0;
        g = 0;
        for (size_t k = 0; k < m; k++) {
            P += a[k];
            if (P * P / (double)(k + 1) > best) { best = P * P / (double)(k + 1); g = P / (double)(k + 1); }
        }
        free(a);
    }
    float gs = store((float)g, f32);
    for (size_t k = 0; k < m; k++) {
        float q = gs > 0 ? roundf(x[idx[k]] / gs) : 0.0f;
        q = q > 1 ? 1 : (q < -1 ? -1 : q);
        ref[idx[k]] = gs * q;
    }
}

/* 7 x 93: group boundaries split the fused kernel's 32-value blocks (two
 * passes); 9 x 256: whole blocks (fused kernel), with a tail. */
TEST(kq_ternary_projection_exact)
{
    enum { NMAX = 9 * 256 };
    static float x[NMAX], y[NMAX], ref[NMAX];
    static size_t idx[NMAX];
    static const size_t shapes[2][2] = {{7, 93}, {9, 256}};
    const char *modes[] = {"", "group=16", "group=64", "axis=0", "axis=1", "group=32"};
    static const size_t gsize[] = {0, 16, 64, 0, 0, 32};
    for (int sh = 0; sh < 2; sh++) {
        const size_t R = shapes[sh][0], C = shapes[sh][1], N = R * C;
        th_gaussian(x, N, 11);
        for (int method = 0; method < 2; method++)
            for (int f32 = 0; f32 < 2; f32++)
                for (int md = 0; md < 6; md++) {
                    if (method && f32) continue; /* mse sums in another order: f16 storage only */
                    char params[96];
                    snprintf(params, sizeof params, "method=%s,scale=%s%s%s", method ? "mse" : "absmean",
                             f32 ? "f32" : "f16", *modes[md] ? "," : "", modes[md]);
                    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {R, C}, .data = x};
                    size_t payload = 0;
                    CHECK_OK(stage_roundtrip("ternary", params, &t, y, &payload));
                    size_t G = gsize[md], per_row = G ? (C + G - 1) / G : 0;
                    size_t ngroups = md == 0 ? 1 : G ? R * per_row : md == 3 ? R : C;
                    CHECK(payload == ngroups * (f32 ? 4 : 2) + (N + 4) / 5);
                    /* reference, group by group */
                    for (size_t g = 0; g < ngroups; g++) {
                        size_t m = 0;
                        for (size_t i = 0; i < N; i++) {
                            size_t r = i / C, c = i % C, gi;
                            gi = md == 0 ? 0 : G ? r * per_row + c / G : md == 3 ? r : c;
                            if (gi == g) idx[m++] = i;
                        }
                        project(x, idx, m, method, f32, ref);
                    }
                    for (size_t i = 0; i < N; i++) CHECK(y[i] == ref[i]); /* +0 and -0 alike */
                }
    }
}

TEST(kq_ternary_packing_bytes)
{
    /* 7 values -> 2 bytes; scale stored f32 so the bytes are predictable */
    float x[7] = {2, -2, 0, 2, 2, -2, 0};
    float y[7];
    tp_tensor t = {.dtype = TP_F32, .ndim = 1, .shape = {7}, .data = x};
    const tp_codec *c = tp_codec_by_name("ternary");
    tp_params p;
    CHECK_OK(tp_params_parse(c, "scale=f32", 9, &p));
    uint8_t buf[16];
    tp_tensor out;
    CHECK(c->encode(&p, &t, buf, sizeof buf, &out) == 4 + 2);
    float g;
    memcpy(&g, buf, 4);
    CHECK(g == 10.0f / 7.0f);
    /* digits (q+1): 2,0,1,2,2 | 0,1,(pad 1)(pad 1)(pad 1) */
    CHECK(buf[4] == 2 + 0 * 3 + 1 * 9 + 2 * 27 + 2 * 81);
    CHECK(buf[5] == 0 + 1 * 3 + 1 * 9 + 1 * 27 + 1 * 81);
    CHECK(c->decode(&p, buf, 6, &out, &t, y) == sizeof y);
    for (int i = 0; i < 7; i++) CHECK(y[i] == g * (x[i] > 0 ? 1 : x[i] < 0 ? -1 : 0));
    buf[5] = 243; /* not a packing */
    CHECK_ERR(c->decode(&p, buf, 6, &out, &t, y), TP_ERR_CORRUPT);
    buf[5] = 242;
    CHECK_ERR(c->decode(&p, buf, 5, &out, &t, y), TP_ERR_CORRUPT);
    CHECK_ERR(c->decode(&p, buf, 7, &out, &t, y), TP_ERR_CORRUPT);
    g = NAN;
    memcpy(buf, &g, 4);
    CHECK_ERR(c->decode(&p, buf, 6, &out, &t, y), TP_ERR_CORRUPT);
}

TEST(kq_ternary_quality_and_sizes)
{
    enum { N = 1 << 16 };
    float *x = malloc(N * 4), *y = malloc(N * 4);
    th_gaussian(x, N, 5);
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {256, 256}, .data = x};
    size_t pay = 0;
    CHECK_OK(stage_roundtrip("ternary", "", &t, y, &pay));
    CHECK(pay == 2 + (N + 4) / 5); /* 1.6 bits/value + one scale */
    double e_abs = sse_of(x, y, N), s_abs = snr_db(x, y, N);
    CHECK_OK(stage_roundtrip("ternary", "method=mse", &t, y, &pay));
    double e_mse = sse_of(x, y, N), s_mse = snr_db(x, y, N);
    /* Gaussian: absmean ~5.8 dB, optimal ternary ~7.2 dB */
    CHECK(s_abs > 5.5 && s_abs < 6.2);
    CHECK(s_mse > 7.0 && s_mse < 7.6);
    CHECK(e_mse <= e_abs);
    CHECK_OK(stage_roundtrip("ternary", "group=64,method=mse", &t, y, &pay));
    CHECK(pay == 2 * (N / 64) + (N + 4) / 5);
    CHECK(snr_db(x, y, N) >= s_mse);
    free(x); free(y);
}

TEST(kq_ternary_degenerate)
{
    float x[13], y[13];
    tp_tensor t = {.dtype = TP_F32, .ndim = 1, .shape = {13}, .data = x};
    size_t pay;
    for (int method = 0; method < 2; method++) {
        const char *pm = method ? "method=mse" : "";
        memset(x, 0, sizeof x);
        CHECK_OK(stage_roundtrip("ternary", pm, &t, y, &pay));
        for (int i = 0; i < 13; i++) CHECK(y[i] == 0.0f);
        for (int i = 0; i < 13; i++) x[i] = -0.75f; /* constant: exact */
        CHECK_OK(stage_roundtrip("ternary", pm, &t, y, &pay));
        for (int i = 0; i < 13; i++) CHECK(y[i] == -0.75f);
        x[3] = NAN;
        CHECK_ERR(stage_roundtrip("ternary", pm, &t, y, &pay), TP_ERR_NONFINITE);
        x[3] = -INFINITY;
        CHECK_ERR(stage_roundtrip("ternary", pm, &t, y, &pay), TP_ERR_NONFINITE);
    }
    for (int i = 0; i < 13; i++) x[i] = 1e6f; /* beyond f16 */
    CHECK_ERR(stage_roundtrip("ternary", "", &t, y, &pay), TP_ERR_PARAM);
    CHECK_OK(stage_roundtrip("ternary", "scale=f32", &t, y, &pay));
    CHECK(y[0] == 1e6f);
    /* empty tensor and one value */
    tp_tensor e = {.dtype = TP_F32, .ndim = 1, .shape = {0}, .data = x};
    CHECK_OK(stage_roundtrip("ternary", "", &e, y, &pay));
    CHECK(pay == 2);
    x[0] = 3;
    tp_tensor one = {.dtype = TP_F32, .ndim = 0, .data = x};
    CHECK_OK(stage_roundtrip("ternary", "group=4", &one, y, &pay));
    CHECK(y[0] == 3.0f && pay == 3);
}

/* ---- kq ---------------------------------------------------------------- */

static const size_t kq_block[7] = {0, 0, 84, 110, 144, 176, 210};

TEST(kq_roundtrip_bounds_and_sizes)
{
    enum { N = 1 << 16 };
    float *x = malloc(N * 4), *y = malloc(N * 4);
    th_gaussian(x, N, 7);
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {64, 1024}, .data = x};
    /* ggml-style bounds that depend on the bit width (Gaussian SNR, dB) */
    static const double lo[7] = {0, 0, 11.3, 16.5, 22.8, 28.8, 34.9};
    for (int b = 2; b <= 6; b++) {
        char prm[64];
        size_t pay = 0;
        snprintf(prm, sizeof prm, "bits=%d", b);
        CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
        CHECK(pay == 4 + (N / 256) * kq_block[b]);
        double s = snr_db(x, y, N);
        CHECK(s >= lo[b] && s <= lo[b] + 2.5);
        /* no search: plain min/max, never better */
        snprintf(prm, sizeof prm, "bits=%d,search=0", b);
        CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
        double s0 = snr_db(x, y, N);
        CHECK(s0 <= s && s0 >= lo[b] - 2.5);
        /* importance weights: the weighted error is what gets minimised */
        snprintf(prm, sizeof prm, "bits=%d,weight=abs", b);
        CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
        CHECK(snr_db(x, y, N) >= lo[b] - 1.5);
        snprintf(prm, sizeof prm, "bits=%d,weight=sq", b);
        CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
        CHECK(snr_db(x, y, N) >= lo[b] - 2.0);
    }
    /* explicit layouts: sizes follow the documented formula */
    size_t pay = 0;
    CHECK_OK(stage_roundtrip("kq", "bits=3,sym=0,sub=32,sbits=4", &t, y, &pay));
    CHECK(pay == 4 + (N / 256) * (2 + 2 + 2 * 4 + 96));
    CHECK_OK(stage_roundtrip("kq", "bits=5,sym=1,sub=16,sbits=7", &t, y, &pay));
    CHECK(pay == 4 + (N / 256) * (2 + 14 + 160));
    free(x); free(y);
}

TEST(kq_weighted_error_drops)
{
    /* With weight=sq the large values are fitted better than unweighted. */
    enum { N = 4096 };
    float x[N], y0[N], y1[N];
    th_gaussian(x, N, 9);
    tp_tensor t = {.dtype = TP_F32, .ndim = 1, .shape = {N}, .data = x};
    size_t pay;
    CHECK_OK(stage_roundtrip("kq", "bits=3", &t, y0, &pay));
    CHECK_OK(stage_roundtrip("kq", "bits=3,weight=sq", &t, y1, &pay));
    double w0 = 0, w1 = 0;
    for (int i = 0; i < N; i++) {
        double w = (double)x[i] * x[i];
        w0 += w * (x[i] - y0[i]) * (x[i] - y0[i]);
        w1 += w * (x[i] - y1[i]) * (x[i] - y1[i]);
    }
    CHECK(w1 < w0);
}

TEST(kq_tail_rule)
{
    /* Super-blocks run over the flat tensor; the last one is padded with
     * weight-0 zeros that are encoded but never decoded. Its stored size is
     * a whole block. The real values of a tail block are unaffected by what
     * follows them: an 1000-value tensor decodes like its prefix of a longer
     * tensor whose extra values are zeros only in weight, so we check size,
     * quality and that nothing past numel is written. */
    static const size_t ns[] = {1, 5, 255, 256, 257, 1000, 4097};
    float *x = malloc(4200 * 4), *y = malloc(4200 * 4);
    th_gaussian(x, 4200, 3);
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
        size_t n = ns[k], pay = 0;
        for (size_t i = 0; i < 4200; i++) y[i] = 12345.0f;
        tp_tensor t = {.dtype = TP_F32, .ndim = 1, .shape = {n}, .data = x};
        CHECK_OK(stage_roundtrip("kq", "bits=4", &t, y, &pay));
        CHECK(pay == 4 + (n + 255) / 256 * 144);
        CHECK(y[n] == 12345.0f);
        if (n >= 255) CHECK(snr_db(x, y, n) > 21.0);
        else {
            float amax = 0;
            for (size_t i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
            for (size_t i = 0; i < n; i++) CHECK(fabsf(x[i] - y[i]) <= amax / 15);
        }
    }
    /* the tail block alone equals the same values encoded on their own */
    float *z = malloc(4200 * 4);
    size_t pay;
    tp_tensor a = {.dtype = TP_F32, .ndim = 1, .shape = {300}, .data = x};
    CHECK_OK(stage_roundtrip("kq", "bits=4,search=0", &a, y, &pay));
    tp_tensor b = {.dtype = TP_F32, .ndim = 1, .shape = {44}, .data = x + 256};
    CHECK_OK(stage_roundtrip("kq", "bits=4,search=0", &b, z, &pay));
    /* same block content; only the tensor scale G may differ */
    double e1 = sse_of(x + 256, y + 256, 44), e2 = sse_of(x + 256, z, 44);
    CHECK(e1 > 0 && e2 > 0 && e1 < 2 * e2 + 1e-9 && e2 < 2 * e1 + 1e-9);
    free(x); free(y); free(z);
}

TEST(kq_degenerate_inputs)
{
    enum { N = 600 };
    float x[N], y[N];
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {20, 30}, .data = x};
    size_t pay;
    for (int b = 2; b <= 6; b++) {
        char prm[32];
        snprintf(prm, sizeof prm, "bits=%d", b);
        memset(x, 0, sizeof x);
        CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
        for (int i = 0; i < N; i++) CHECK(y[i] == 0.0f);
        static const float consts[] = {0.37f, -2.5f, 1000.0f, -3e-7f, 1e30f, -1e-30f};
        for (size_t c = 0; c < sizeof consts / sizeof *consts; c++) {
            for (int i = 0; i < N; i++) x[i] = consts[c];
            CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
            for (int i = 0; i < N; i++) CHECK(fabsf(y[i] - consts[c]) <= 2e-3f * fabsf(consts[c]));
        }
        /* tiny and huge magnitudes keep their relative precision (tensor scale G) */
        th_gaussian(x, N, 2);
        for (int i = 0; i < N; i++) x[i] *= 1e-12f;
        CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
        CHECK(snr_db(x, y, N) > 3.0 * b);
        for (int i = 0; i < N; i++) x[i] = x[i] * 1e20f * 1e20f; /* ~1e28 */
        CHECK_OK(stage_roundtrip("kq", prm, &t, y, &pay));
        CHECK(snr_db(x, y, N) > 3.0 * b);
        x[17] = NAN;
        CHECK_ERR(stage_roundtrip("kq", prm, &t, y, &pay), TP_ERR_NONFINITE);
        x[17] = INFINITY;
        CHECK_ERR(stage_roundtrip("kq", prm, &t, y, &pay), TP_ERR_NONFINITE);
    }
    tp_tensor e = {.dtype = TP_F32, .ndim = 1, .shape = {0}, .data = x};
    CHECK_OK(stage_roundtrip("kq", "", &e, y, &pay));
    CHECK(pay == 4);
}

TEST(kq_frames_and_params)
{
    enum { N = 384 * 2 };
    float x[N], y[N];
    th_gaussian(x, N, 4);
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {2, 384}, .data = x};
    size_t fs;
    CHECK_OK(frame_roundtrip("kq:bits=5", &t, y, &fs));
    CHECK(snr_db(x, y, N) > 28);
    CHECK_OK(frame_roundtrip("ternary:method=mse,group=128", &t, y, &fs));
    CHECK_OK(frame_roundtrip("kq:bits=2 | zstd", &t, y, &fs));
    tp_pipeline *p = NULL;
    CHECK_ERR(tp_pipeline_parse("kq:sub=20", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("kq:sbits=3", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("kq:bits=7", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("kq:weight=cube", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("ternary:group=8,axis=0", &p), TP_ERR_PARAM);
    CHECK(tp_codec_find("10") && !strcmp(tp_codec_find("10")->name, "ternary"));
    CHECK(tp_codec_find("11") && !strcmp(tp_codec_find("11")->name, "kq"));
    CHECK_OK(tp_pipeline_parse("kq", &p));
    char s[256];
    CHECK_OK(tp_pipeline_to_string(p, s, sizeof s));
    CHECK(!strcmp(s, "kq:bits=4,sub=0,sbits=0,sym=-1,search=1,weight=none"));
    tp_pipeline_free(p);
}

TEST(kq_decoder_rejects_corruption)
{
    enum { N = 512 };
    float x[N], y[N];
    th_gaussian(x, N, 8);
    tp_tensor t = {.dtype = TP_F32, .ndim = 1, .shape = {N}, .data = x};
    const tp_codec *c = tp_codec_by_name("kq");
    tp_params p;
    CHECK_OK(tp_params_parse(c, "bits=4", 6, &p));
    uint8_t buf[4 + 2 * 144];
    tp_tensor out;
    CHECK(c->encode(&p, &t, buf, sizeof buf, &out) == sizeof buf);
    CHECK(c->decode(&p, buf, sizeof buf, &out, &t, y) == sizeof y);
    CHECK_ERR(c->decode(&p, buf, sizeof buf - 1, &out, &t, y), TP_ERR_CORRUPT);
    uint8_t bad[sizeof buf];
    memcpy(bad, buf, sizeof bad);
    bad[3] = 0x7f; bad[2] = 0xc0; /* G = NaN */
    CHECK_ERR(c->decode(&p, bad, sizeof bad, &out, &t, y), TP_ERR_CORRUPT);
    memcpy(bad, buf, sizeof bad);
    bad[4] = 0x00; bad[5] = 0x7c; /* d = +Inf (f16) */
    CHECK_ERR(c->decode(&p, bad, sizeof bad, &out, &t, y), TP_ERR_CORRUPT);
    /* any other bytes decode to finite values */
    uint64_t s = 1;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 4; i < sizeof bad; i++) { s = s * 6364136223846793005ull + 1442695040888963407ull; bad[i] = (uint8_t)(s >> 56); }
        size_t r = c->decode(&p, bad, sizeof bad, &out, &t, y);
        if (!tp_is_error(r)) for (int i = 0; i < N; i++) CHECK(isfinite(y[i]));
    }
}

/* ---- kernels: SIMD against the scalar reference ------------------------ */

TEST(kq_kernels_simd_vs_ref)
{
    uint8_t codes[16 * 32];
    float s[16], off[16], a[16 * 32];
    _Alignas(64) float b[16 * 32 + 1];
    uint64_t r = 42;
    for (size_t i = 0; i < sizeof codes; i++) { r = r * 6364136223846793005ull + 1; codes[i] = (uint8_t)(r >> 56); }
    for (int j = 0; j < 16; j++) { s[j] = 0.01f * (float)(j + 1) * (j & 1 ? -1 : 1); off[j] = -0.3f + 0.05f * (float)j; }
    for (int var = 1; var <= 3; var++) {
        tp_kq_dequant_fn best = tp_kq_dequant_variant(var);
        if (!best) continue;
        for (unsigned bits = 2; bits <= 8; bits++)
            for (size_t sub = 8; sub <= 32; sub += 8) {
                size_t nsub = 256 / sub < 16 ? 256 / sub : 16;
                tp_kq_dequant_ref(codes, nsub, sub, bits, s, off, a, nsub * sub * bits / 8);
                best(codes, nsub, sub, bits, s, off, b, nsub * sub * bits / 8); /* exact end */
                CHECK(memcmp(a, b, nsub * sub * sizeof(float)) == 0);
                best(codes, nsub, sub, bits, s, off, b, sizeof codes); /* 64-byte aligned: streaming */
                CHECK(memcmp(a, b, nsub * sub * sizeof(float)) == 0);
                best(codes, nsub, sub, bits, s, off, b + 1, sizeof codes);
                CHECK(memcmp(a, b + 1, nsub * sub * sizeof(float)) == 0);
            }
    }
    CHECK(!tp_kq_dequant_variant(1) || tp_kq_dequant_for(1) != tp_kq_dequant_ref);
    /* trits: every byte value, valid or not */
    tp_trit_unpack_fn up = tp_trit_unpack_best();
    int8_t ta[8], tb[8];
    for (unsigned v = 0; v < 256; v++) {
        uint8_t byte = (uint8_t)v;
        memset(ta, 0, sizeof ta); memset(tb, 0, sizeof tb);
        int ra = tp_trit_unpack_ref(&byte, 1, ta), rb = up(&byte, 1, tb);
        CHECK(ra == rb && ra == (v > 242 ? -1 : 0));
        if (!ra) CHECK(memcmp(ta, tb, 5) == 0);
    }
    int8_t q[100];
    for (int i = 0; i < 100; i++) q[i] = (int8_t)(i % 3 - 1);
    tp_scale_i8_fn sc = tp_scale_i8_best();
    for (size_t n = 0; n <= 100; n += 7) {
        float fa[100], fb[100];
        tp_scale_i8_ref(q, n, 0.3712f, fa);
        sc(q, n, 0.3712f, fb);
        CHECK(memcmp(fa, fb, n * sizeof(float)) == 0);
    }
}

/* Fused ternary decode: every variant this CPU has against the scalar
 * reference (which the test checks against the digits), on random bytes
 * and on all 243 packings, mixed scales (negative, zero, tiny) and an
 * invalid byte at each position class. */
TEST(kq_ternary_fused_variants)
{
    enum { NS = 12, NB = NS * 32, NV = NS * 160 };
    static uint8_t src[NB];
    static float s[NS * 5], a[NV + 16];
    _Alignas(64) static float b[NV + 16];
    uint64_t r = 7;
    for (size_t i = 0; i < NB; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        src[i] = i < 243 ? (uint8_t)i : (uint8_t)((r >> 33) % 243);
    }
    for (size_t j = 0; j < NS * 5; j++) s[j] = (j % 7 == 3) ? 0.0f : (j % 5 == 1 ? -1e-30f : 0.37f * (float)(j + 1) * (j & 1 ? -1 : 1));
    CHECK(tp_trit_decode_ref(src, NS, s, a) == 0);
    for (size_t j = 0; j < NV; j++) {
        int digit = (int)(src[j / 5] / (unsigned[]){1, 3, 9, 27, 81}[j % 5] % 3);
        CHECK(memcmp(&a[j], &(float){(float)(digit - 1) * s[j / 32]}, sizeof(float)) == 0);
    }
    int tried = 0;
    for (int v = 1; v <= 4; v++) {
        tp_trit_decode_fn f = tp_trit_decode_variant(v);
        if (!f) continue;
        tried++;
        for (size_t ns = 0; ns <= NS; ns += 3) { /* 64-byte aligned output: streaming stores */
            memset(b, 0xff, sizeof b);
            CHECK(f(src, ns, s, b) == 0);
            CHECK(memcmp(a, b, ns * 160 * sizeof(float)) == 0);
            CHECK(b[ns * 160] != b[ns * 160]); /* nothing written past the end (NaN fill) */
        }
        CHECK(f(src, NS - 1, s, b + 1) == 0); /* unaligned output */
        CHECK(memcmp(a, b + 1, (NS - 1) * 160 * sizeof(float)) == 0);
        for (size_t pos = 0; pos < 32; pos += 5) {
            uint8_t save = src[64 + pos];
            for (unsigned bad = 243; bad < 256; bad += 6) {
                src[64 + pos] = (uint8_t)bad;
                CHECK(f(src, 3, s, b) == -1);
                CHECK(tp_trit_decode_ref(src, 3, s, b) == -1);
            }
            src[64 + pos] = save;
        }
    }
    CHECK(tried == 0 || tp_trit_decode_for(1) != tp_trit_decode_ref);
}
