/* Structured codecs: svd, pca, sparse (src/codecs/structure/lowrank.c, sparse.c) and
 * the pipeline chooser. Random low-rank / sparse tensors only: exactness
 * where it must be exact, the energy promise, degenerate shapes,
 * determinism, malformed payloads. */
#include <stdlib.h>
#include <string.h>

#include "codecs/pipeline.h"
#include "core/half.h"
#include "harness.h"
#include "core/rng.h"

static tp_tensor mat(const float *x, uint64_t m, uint64_t n)
{
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {m, n}, .data = x};
    return t;
}

/* m x n of rank k (Gaussian factors) plus noise of the given scale. */
static float *lowrank(uint64_t m, uint64_t n, uint64_t k, float noise, unsigned seed)
{
    float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b), *e = malloc(m * n * sizeof *e);
    float *x = calloc(m * n, sizeof *x);
    th_gaussian(a, m * k, seed);
    th_gaussian(b, k * n, seed + 1);
    th_gaussian(e, m * n, seed + 2);
    for (uint64_t i = 0; i < m; i++)
        for (uint64_t j = 0; j < n; j++) {
            double s = 0;
            for (uint64_t l = 0; l < k; l++) s += (double)a[i * k + l] * b[l * n + j] / (double)(l + 1);
            x[i * n + j] = (float)s + noise * e[i * n + j];
        }
    free(a); free(b); free(e);
    return x;
}

/* Kept rank of an svd frame whose last stage is svd:factor=f32 (payload
 * = r * (rows + cols) f32 values). */
static uint64_t svd_rank_of(size_t frame_size, size_t header, uint64_t m, uint64_t n)
{
    return (frame_size - header - 8) / (4 * (m + n));
}

static size_t header_size_of(const void *frame)
{
    const uint8_t *p = frame;
    return (size_t)p[8] | (size_t)p[9] << 8 | (size_t)p[10] << 16 | (size_t)p[11] << 24;
}

TEST(struct_svd_full_rank_is_exact)
{
    float x[20 * 12];
    th_gaussian(x, 240, 7);
    tp_tensor t = mat(x, 20, 12);
    void *back;
    CHECK_OK(th_roundtrip("svd:ratio=1,factor=f32", &t, &back, NULL));
    CHECK(th_snr(x, back, 240) > 110);
    free(back);
    /* wide matrix too, and through the transposed path */
    t = mat(x, 12, 20);
    CHECK_OK(th_roundtrip("svd:rank=12,factor=f32,method=full", &t, &back, NULL));
    CHECK(th_snr(x, back, 240) > 110);
    free(back);
    /* f16 factors: f16 precision, not exact */
    CHECK_OK(th_roundtrip("svd:ratio=1", &t, &back, NULL));
    double s = th_snr(x, back, 240);
    CHECK(s > 55 && s < 90);
    free(back);
}

TEST(struct_svd_energy_keeps_promised_share)
{
    uint64_t m = 64, n = 48;
    float *x = lowrank(m, n, 12, 0.05f, 3);
    tp_tensor t = mat(x, m, n);
    const double energies[] = {0.5, 0.9, 0.99, 0.999};
    for (int e = 0; e < 4; e++) {
        char spec[96];
        snprintf(spec, sizeof spec, "svd:energy=%g,factor=f32", energies[e]);
        void *back, *frame;
        size_t fs = th_roundtrip(spec, &t, &back, &frame);
        CHECK_OK(fs);
        double bound = -10 * log10(1 - energies[e]);
        CHECK(th_snr(x, back, m * n) >= bound - 1e-3);
        uint64_t r = svd_rank_of(fs, header_size_of(frame), m, n);
        free(back);
        free(frame);
        CHECK(r >= 1 && r <= 48);
        /* minimal: one triplet fewer misses the promise */
        snprintf(spec, sizeof spec, "svd:rank=%llu,factor=f32", (unsigned long long)(r - 1));
        if (r > 1) {
            CHECK_OK(th_roundtrip(spec, &t, &back, NULL));
            CHECK(th_snr(x, back, m * n) < bound);
            free(back);
        }
    }
    free(x);
}

TEST(struct_svd_randomized_deterministic)
{
    uint64_t m = 600, n = 300;
    float *x = lowrank(m, n, 10, 1e-3f, 11);
    tp_tensor t = mat(x, m, n);
    void *b1, *b2, *f1, *f2;
    size_t s1 = th_roundtrip("svd:rank=10,method=random,seed=5,factor=f32", &t, &b1, &f1);
    CHECK_OK(s1);
    size_t s2 = th_roundtrip("svd:rank=10,method=random,seed=5,factor=f32", &t, &b2, &f2);
    CHECK_OK(s2);
    CHECK(s1 == s2 && !memcmp(f1, f2, s1));
    CHECK(th_snr(x, b1, m * n) > 40);
    free(b1); free(b2); free(f1); free(f2);
    /* energy with a growing sketch keeps the promise */
    float *y = lowrank(m, n, 40, 0.02f, 12);
    t = mat(y, m, n);
    CHECK_OK(th_roundtrip("svd:energy=0.95,method=random,factor=f32", &t, &b1, NULL));
    CHECK(th_snr(y, b1, m * n) >= -10 * log10(0.05) - 1e-3);
    free(b1);
    free(x);
    free(y);
}

TEST(struct_svd_degenerate_shapes)
{
    float row[17], zero[30] = {0};
    th_gaussian(row, 17, 1);
    void *back;
    const uint64_t shapes[][2] = {{1, 17}, {17, 1}};
    for (int i = 0; i < 2; i++) {
        tp_tensor t = mat(row, shapes[i][0], shapes[i][1]);
        CHECK_OK(th_roundtrip("svd:rank=1,factor=f32", &t, &back, NULL));
        CHECK(th_snr(row, back, 17) > 110);
        free(back);
    }
    tp_tensor v = {.dtype = TP_F32, .ndim = 1, .shape = {17}, .data = row};
    CHECK_OK(th_roundtrip("svd", &v, &back, NULL));
    CHECK(th_snr(row, back, 17) > 55);
    free(back);
    tp_tensor s = {.dtype = TP_F32, .ndim = 0, .data = row};
    CHECK_OK(th_roundtrip("svd:factor=f32", &s, &back, NULL));
    CHECK(fabsf(((float *)back)[0] - row[0]) <= 1e-6f * fabsf(row[0]));
    free(back);
    /* zero matrix: rank 0, no factor bytes, decodes to zeros */
    tp_tensor z = mat(zero, 5, 6);
    void *frame;
    size_t fs = th_roundtrip("svd:rank=3", &z, &back, &frame);
    CHECK_OK(fs);
    CHECK(fs == header_size_of(frame) + 8);
    CHECK(!memcmp(back, zero, sizeof zero));
    free(back);
    free(frame);
    /* empty and 3-D (leading dims x last dim) */
    tp_tensor e = {.dtype = TP_F32, .ndim = 2, .shape = {0, 4}, .data = zero};
    CHECK_OK(th_roundtrip("svd", &e, &back, NULL));
    free(back);
    float *x = lowrank(20, 6, 2, 0, 4);
    tp_tensor t3 = {.dtype = TP_F32, .ndim = 3, .shape = {4, 5, 6}, .data = x};
    CHECK_OK(th_roundtrip("svd:rank=2,factor=f32", &t3, &back, NULL));
    CHECK(th_snr(x, back, 120) > 100);
    free(back);
    free(x);
}

TEST(struct_svd_pipeline_pass_and_params)
{
    uint64_t m = 96, n = 64;
    float *x = lowrank(m, n, 8, 0.01f, 21);
    tp_tensor t = mat(x, m, n);
    void *back;
    size_t fs = th_roundtrip("svd:energy=0.99,factor=pass | int:bits=8 | zstd", &t, &back, NULL);
    CHECK_OK(fs);
    CHECK(th_snr(x, back, m * n) > 17);
    CHECK(fs < m * n); /* well below 8 bits/value */
    free(back);
    tp_pipeline *p;
    CHECK_ERR(tp_pipeline_parse("svd:rank=3,energy=0.9", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("svd:rank=0", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("svd:ratio=1.5", &p), TP_ERR_PARAM);
    CHECK_OK(tp_pipeline_parse("svd:ratio=0.25", &p));
    char buf[256];
    CHECK_OK(tp_pipeline_to_string(p, buf, sizeof buf));
    CHECK(strstr(buf, "energy=0,") != NULL);
    tp_pipeline_free(p);
    /* f16 overflow is refused with a hint, f32 works */
    x[0] = 1e11f;
    CHECK_ERR(th_roundtrip("svd:rank=2", &t, &back, NULL), TP_ERR_PARAM);
    CHECK_OK(th_roundtrip("svd:rank=2,factor=f32", &t, &back, NULL));
    free(back);
    x[5] = NAN;
    CHECK_ERR(th_roundtrip("svd:rank=2", &t, &back, NULL), TP_ERR_NONFINITE);
    x[5] = INFINITY;
    CHECK_ERR(th_roundtrip("pca:components=2", &t, &back, NULL), TP_ERR_NONFINITE);
    free(x);
}

/* Calls a codec's decode directly with a forged payload. */
static size_t raw_decode(const char *spec, const void *src, size_t n, const tp_tensor *sd, const tp_tensor *dd, void *dst)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    r = p->stage[0].codec->decode(&p->stage[0].params, src, n, sd, dd, dst);
    tp_pipeline_free(p);
    return r;
}

TEST(struct_lowrank_malformed_payloads)
{
    float out[6 * 4];
    uint8_t junk[256];
    for (int i = 0; i < 256; i++) junk[i] = (uint8_t)(i * 37);
    tp_tensor dd = mat(NULL, 6, 4), sd;
    tp_desc_bytes(&sd, 0);
    /* sizes that fit no rank, or a rank above min(rows, cols) */
    const size_t bad[] = {1, 3, 18, 22, 5 * 20 * 2, 4 * 10 * 2 + 2};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd.shape[0] = bad[i];
        CHECK_ERR(raw_decode("svd", junk, bad[i], &sd, &dd, out), TP_ERR_CORRUPT);
    }
    sd.shape[0] = 4 * 10 * 2;
    CHECK_OK(raw_decode("svd", junk, 4 * 10 * 2, &sd, &dd, out)); /* rank 4: any bytes decode */
    /* pca: mean (4) + r*(10) values */
    sd.shape[0] = (4 + 10) * 2;
    CHECK_OK(raw_decode("pca", junk, sd.shape[0], &sd, &dd, out));
    sd.shape[0] = (4 + 10) * 2 - 2;
    CHECK_ERR(raw_decode("pca", junk, sd.shape[0], &sd, &dd, out), TP_ERR_CORRUPT);
    /* pass: the descriptor must match */
    tp_tensor fd = {.dtype = TP_F32, .ndim = 2, .shape = {2, 9}};
    CHECK_ERR(raw_decode("svd:factor=pass", junk, 2 * 9 * 4, &fd, &dd, out), TP_ERR_CORRUPT);
    fd.shape[1] = 10;
    CHECK_OK(raw_decode("svd:factor=pass", junk, 2 * 10 * 4, &fd, &dd, out));
    fd.dtype = TP_U8;
    CHECK_ERR(raw_decode("svd:factor=pass", junk, 2 * 10 * 4, &fd, &dd, out), TP_ERR_CORRUPT);
}

TEST(struct_pca_energy_and_mean)
{
    uint64_t m = 144, n = 60;
    float *x = lowrank(m, n, 6, 0.05f, 31);
    for (uint64_t i = 0; i < m; i++)
        for (uint64_t j = 0; j < n; j++) x[i * n + j] += 10.0f + (float)j; /* a large per-channel mean */
    tp_tensor t = mat(x, m, n);
    void *back;
    CHECK_OK(th_roundtrip("pca:ratio=1,factor=f32", &t, &back, NULL));
    CHECK(th_snr(x, back, m * n) > 100);
    free(back);
    /* energy is a share of the variance around the mean */
    double *mu = calloc(n, sizeof *mu), var = 0, err = 0;
    for (uint64_t i = 0; i < m * n; i++) mu[i % n] += x[i] / (double)m;
    for (uint64_t i = 0; i < m * n; i++) var += (x[i] - mu[i % n]) * (x[i] - mu[i % n]);
    CHECK_OK(th_roundtrip("pca:energy=0.9,factor=f32", &t, &back, NULL));
    for (uint64_t i = 0; i < m * n; i++) err += (x[i] - ((float *)back)[i]) * (double)(x[i] - ((float *)back)[i]);
    CHECK(err <= 0.1 * var * (1 + 1e-4));
    free(back);
    free(mu);
    /* one sample: mean only, exact in f32 */
    tp_tensor one = mat(x, 1, n);
    CHECK_OK(th_roundtrip("pca:components=3,factor=f32", &one, &back, NULL));
    CHECK(!memcmp(back, x, n * sizeof(float)));
    free(back);
    /* pass to a quantizer */
    CHECK_OK(th_roundtrip("pca:energy=0.99,factor=pass | int:bits=8", &t, &back, NULL));
    CHECK(th_snr(x, back, m * n) > 25);
    free(back);
    free(x);
}

/* ---- sparse -------------------------------------------------------------- */

static float *sparse_data(size_t n, double density, unsigned seed)
{
    float *x = malloc(n * sizeof *x), *u = malloc(n * sizeof *u);
    th_gaussian(x, n, seed);
    th_gaussian(u, n, seed + 1);
    double cut = density <= 0 ? 1e9 : 0;
    /* keep where a second Gaussian is above its (1-density) quantile */
    if (density > 0) {
        cut = 0;
        for (; cut < 6; cut += 0.001) {
            double tail = 0.5 * erfc(cut / sqrt(2.0));
            if (tail <= density) break;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (u[i] < cut) x[i] = 0;
    free(u);
    return x;
}

static int payload_format(const void *frame) { return ((const uint8_t *)frame)[header_size_of(frame)]; }

TEST(struct_sparse_exact_roundtrip_far_below_dense)
{
    size_t n = 1000 * 100;
    float *x = sparse_data(n, 0.1, 41); /* ~90 % zeros */
    tp_tensor t = mat(x, 1000, 100);
    void *back, *frame;
    size_t fs = th_roundtrip("sparse", &t, &back, &frame);
    CHECK_OK(fs);
    CHECK(!memcmp(back, x, n * 4));
    CHECK(fs < n * 4 / 4); /* ~12 % of dense: values + a compact index */
    free(back);
    free(frame);
    /* every index format decodes to the same bits */
    const char *fmts[] = {"coo", "csr", "bitmap", "delta"};
    for (int f = 0; f < 4; f++) {
        char spec[64];
        snprintf(spec, sizeof spec, "sparse:index=%s", fmts[f]);
        CHECK_OK(th_roundtrip(spec, &t, &back, &frame));
        CHECK(payload_format(frame) == f);
        CHECK(!memcmp(back, x, n * 4));
        free(back);
        free(frame);
    }
    /* auto: very sparse -> a positional index; half dense -> bitmap */
    float *y = sparse_data(n, 0.001, 43);
    t.data = y;
    CHECK_OK(th_roundtrip("sparse", &t, &back, &frame));
    CHECK(payload_format(frame) == 3 || payload_format(frame) == 0);
    free(back); free(frame); free(y);
    y = sparse_data(n, 0.5, 45);
    t.data = y;
    CHECK_OK(th_roundtrip("sparse", &t, &back, &frame));
    CHECK(payload_format(frame) == 2);
    CHECK(!memcmp(back, y, n * 4));
    free(back); free(frame); free(y);
    free(x);
}

TEST(struct_sparse_exact_bits_every_dtype)
{
    /* -0.0 is not zero (kept), NaN and Inf keep their bits */
    float f[8] = {0.0f, -0.0f, 1.5f, 0.0f, NAN, -INFINITY, 0.0f, 3e-45f};
    tp_tensor t = {.dtype = TP_F32, .ndim = 1, .shape = {8}, .data = f};
    void *back;
    CHECK_OK(th_roundtrip("sparse", &t, &back, NULL));
    CHECK(!memcmp(back, f, sizeof f));
    free(back);
    uint16_t h[6] = {0, 0x8000, 0x3c00, 0, 0x7e01, 1};
    const tp_dtype d16[] = {TP_F16, TP_BF16, TP_U16, TP_I16};
    for (int i = 0; i < 4; i++) {
        tp_tensor th = {.dtype = d16[i], .ndim = 2, .shape = {2, 3}, .data = h};
        CHECK_OK(th_roundtrip("sparse", &th, &back, NULL));
        CHECK(!memcmp(back, h, sizeof h));
        free(back);
    }
    double d[5] = {0, -0.0, 1e300, 0, 5};
    tp_tensor td = {.dtype = TP_F64, .ndim = 1, .shape = {5}, .data = d};
    CHECK_OK(th_roundtrip("sparse", &td, &back, NULL));
    CHECK(!memcmp(back, d, sizeof d));
    free(back);
    int64_t q[4] = {0, -1, 0, 1LL << 40};
    tp_tensor tq = {.dtype = TP_I64, .ndim = 1, .shape = {4}, .data = q};
    CHECK_OK(th_roundtrip("sparse:index=csr", &tq, &back, NULL));
    CHECK(!memcmp(back, q, sizeof q));
    free(back);
    uint8_t b[3] = {0, 1, 0};
    tp_tensor tb = {.dtype = TP_BOOL, .ndim = 0, .data = b};
    CHECK_OK(th_roundtrip("sparse", &tb, &back, NULL));
    CHECK(((uint8_t *)back)[0] == 0);
    free(back);
    /* all zero, empty */
    float z[64] = {0};
    tp_tensor tz = mat(z, 8, 8);
    CHECK_OK(th_roundtrip("sparse", &tz, &back, NULL));
    CHECK(!memcmp(back, z, sizeof z));
    free(back);
    tp_tensor te = mat(z, 0, 8);
    CHECK_OK(th_roundtrip("sparse:index=csr", &te, &back, NULL));
    free(back);
    /* lossy modes need float values */
    CHECK_ERR(th_roundtrip("sparse:keep=0.5", &tq, &back, NULL), TP_ERR_DTYPE);
}

TEST(struct_sparse_threshold_keep_values)
{
    size_t n = 4096;
    float *x = malloc(n * sizeof *x);
    th_gaussian(x, n, 51);
    tp_tensor t = mat(x, 64, 64);
    void *back;
    CHECK_OK(th_roundtrip("sparse:threshold=1.0", &t, &back, NULL));
    float *y = back;
    for (size_t i = 0; i < n; i++) CHECK(fabsf(x[i]) >= 1.0f ? y[i] == x[i] : y[i] == 0.0f);
    free(back);
    CHECK_OK(th_roundtrip("sparse:keep=0.1", &t, &back, NULL));
    y = back;
    size_t kept = 0;
    float minkept = INFINITY, maxdrop = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] != 0) { kept++; CHECK(y[i] == x[i]); if (fabsf(x[i]) < minkept) minkept = fabsf(x[i]); }
        else if (fabsf(x[i]) > maxdrop) maxdrop = fabsf(x[i]);
    }
    CHECK(kept == 410 && minkept >= maxdrop);
    free(back);
    CHECK_OK(th_roundtrip("sparse:threshold=1.0,values=f16", &t, &back, NULL));
    y = back;
    for (size_t i = 0; i < n; i++) CHECK(y[i] == (fabsf(x[i]) >= 1.0f ? tp_half_to_float(tp_half_from_float(x[i])) : 0.0f));
    free(back);
    tp_pipeline *p;
    CHECK_ERR(tp_pipeline_parse("sparse:threshold=1,keep=0.5", &p), TP_ERR_PARAM);
    x[7] = NAN;
    CHECK_ERR(th_roundtrip("sparse:keep=0.5", &t, &back, NULL), TP_ERR_NONFINITE);
    CHECK_OK(th_roundtrip("sparse", &t, &back, NULL)); /* exact mode keeps NaN */
    CHECK(!memcmp(back, x, n * 4));
    free(back);
    free(x);
}

static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

TEST(struct_sparse_malformed_payloads)
{
    float out[16];
    tp_tensor dd = {.dtype = TP_F32, .ndim = 2, .shape = {4, 4}}, sd;
    uint8_t b[64] = {0};
    /* COO with 2 values: indices 3, 9 */
    b[0] = 0; b[1] = TP_F32; put64(b + 4, 2); put64(b + 12, 2); b[20] = 3; b[21] = 9;
    float v[2] = {1, 2};
    memcpy(b + 22, v, 8);
    tp_desc_bytes(&sd, 30);
    CHECK_OK(raw_decode("sparse", b, 30, &sd, &dd, out));
    CHECK(out[3] == 1 && out[9] == 2 && out[0] == 0);
    b[21] = 3; /* duplicate */
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT);
    b[21] = 16; /* out of range */
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT);
    b[21] = 9;
    CHECK_ERR(raw_decode("sparse", b, 29, &sd, &dd, out), TP_ERR_CORRUPT); /* truncated */
    b[1] = TP_F16;
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT); /* wrong value dtype */
    b[1] = TP_F32; b[0] = 7;
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT); /* unknown format */
    b[0] = 0; put64(b + 4, 1ull << 62);
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT); /* nnz overflow */
    put64(b + 4, 2); put64(b + 12, ~0ull);
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT);
    /* delta: varint running past the index */
    b[0] = 3; put64(b + 12, 2); b[20] = 0x83; b[21] = 0x80;
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT);
    /* bitmap with an extra bit set */
    b[0] = 2; b[20] = 0x09; b[21] = 0x03;
    CHECK_ERR(raw_decode("sparse", b, 30, &sd, &dd, out), TP_ERR_CORRUPT);
    b[21] = 0x00;
    CHECK_OK(raw_decode("sparse", b, 30, &sd, &dd, out));
    CHECK(out[0] == 1 && out[3] == 2);
    /* random mutations of a real frame's payload never crash */
    float *x = sparse_data(256, 0.2, 61);
    tp_tensor t = mat(x, 16, 16);
    for (int f = 0; f < 4; f++) {
        char spec[40];
        static const char *names[] = {"coo", "csr", "bitmap", "delta"};
        snprintf(spec, sizeof spec, "sparse:index=%s", names[f]);
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(spec, &p));
        void *frame;
        size_t fs = tp_frame_encode_alloc(p, &t, NULL, &frame);
        tp_pipeline_free(p);
        CHECK_OK(fs);
        size_t h = header_size_of(frame), pn = fs - h - 8;
        uint8_t *pl = malloc(pn);
        float big[256];
        tp_tensor dd2 = mat(NULL, 16, 16);
        tp_rng rng = {99 + f};
        uint64_t s;
        for (int it = 0; it < 3000; it++) {
            memcpy(pl, (uint8_t *)frame + h, pn);
            for (int k = 0; k < 3; k++) {
                s = tp_rng_next(&rng);
                pl[s % pn] ^= (uint8_t)(1u << (s >> 40) % 8);
            }
            tp_desc_bytes(&sd, pn);
            (void)raw_decode(spec, pl, pn - (it % 7 == 0), &sd, &dd2, big);
        }
        free(pl);
        free(frame);
    }
    free(x);
}

TEST(struct_choose_pipeline)
{
    char spec[160];
    tp_choice_report w;
    float *x = lowrank(144, 300, 5, 0, 71);
    tp_tensor t = mat(x, 144, 300);
    CHECK_OK(tp_choose_pipeline(&t, 30, spec, sizeof spec, &w));
    CHECK(!strncmp(spec, "svd", 3) || !strncmp(spec, "pca", 3));
    CHECK(w.chosen >= 0 && w.n_candidates > 7 && w.spectrum_exact == 1);
    CHECK(w.rank99 > 0 && w.rank99 <= 5.0 / 144 + 1e-9);
    void *back;
    CHECK_OK(th_roundtrip(spec, &t, &back, NULL));
    CHECK(th_snr(x, back, 144 * 300) >= 30);
    free(back);
    /* Gaussian noise: quantization */
    th_gaussian(x, 144 * 300, 72);
    CHECK_OK(tp_choose_pipeline(&t, 30, spec, sizeof spec, NULL));
    CHECK(!strncmp(spec, "int:", 4));
    CHECK_ERR(tp_choose_pipeline(&t, 30, spec, 4, NULL), TP_ERR_DST_TOO_SMALL);
    x[3] = NAN;
    CHECK_OK(tp_choose_pipeline(&t, 30, spec, sizeof spec, &w));
    CHECK(!strcmp(spec, TP_LOSSLESS_SPEC) && w.chosen == -1);
    int32_t ids[4] = {1, 2, 3, 4};
    tp_tensor ti = {.dtype = TP_I32, .ndim = 1, .shape = {4}, .data = ids};
    CHECK_OK(tp_choose_pipeline(&ti, 30, spec, sizeof spec, NULL));
    CHECK(!strcmp(spec, TP_LOSSLESS_SPEC));
    free(x);
}
