/* vq and seedlm: exact payload layouts (the reconstruction is recomputed
 * here from the bytes, independently of the decoder), determinism, thread
 * independence, LFSR polynomial and period, degenerate tensors, NaN/Inf,
 * corrupt payloads, SIMD against scalar reference. */
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/pipeline.h"
#include "codecs/lowbit/seedlm.h"
#include "codecs/lowbit/vq_kernels.h"
#include "core/half.h"
#include "harness.h"

typedef struct {
    const tp_codec *c;
    tp_params p;
    uint8_t *buf;
    size_t n;
    tp_tensor desc;
} enc_result;

static size_t enc(const char *name, const char *params, const tp_tensor *t, enc_result *e)
{
    memset(e, 0, sizeof *e);
    e->c = tp_codec_by_name(name);
    if (!e->c) return tp_fail(TP_ERR_UNKNOWN_CODEC, "%s", name);
    TP_TRY(tp_params_parse(e->c, params, strlen(params), &e->p));
    size_t b = e->c->bound(&e->p, t, &e->desc);
    if (tp_is_error(b)) return b;
    e->buf = malloc(b + 1);
    size_t r = e->c->encode(&e->p, t, e->buf, b, &e->desc);
    if (tp_is_error(r)) { free(e->buf); e->buf = NULL; return r; }
    if (r != b) return tp_fail(TP_ERR_GENERIC, "encode wrote %zu of bound %zu", r, b);
    e->n = r;
    return r;
}

static size_t dec(const enc_result *e, const tp_tensor *t, float *out)
{
    return e->c->decode(&e->p, e->buf, e->n, &e->desc, t, out);
}

/* Field k*b.. of an LSB-first bit stream, bit by bit (independent of bitio.h). */
static uint32_t getbits(const uint8_t *p, uint64_t bit, unsigned b)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < b; i++) v |= (uint32_t)((p[(bit + i) >> 3] >> ((bit + i) & 7)) & 1u) << i;
    return v;
}

static int same_bits(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

/* ---- vq ---------------------------------------------------------------- */

/* Rebuilds a vq tensor from its payload following docs/CODECS.md. */
static int vq_rebuild(const uint8_t *pl, size_t n, uint64_t rows, uint64_t L, unsigned dim, unsigned bits,
                      unsigned stages, int scale_mode, uint64_t group, float *out)
{
    uint64_t vpr = (L + dim - 1) / dim, nvec = rows * vpr;
    uint64_t K = nvec < (1ull << bits) ? nvec : (1ull << bits);
    unsigned ib = 0;
    while ((1ull << ib) < K) ib++;
    uint64_t gpr = scale_mode == 2 ? (L + group - 1) / group : 1;
    uint64_t nsc = scale_mode == 0 ? 0 : rows * gpr;
    size_t cbb = stages * K * dim * 2, scb = nsc * 2, ixb = (stages * nvec * ib + 7) / 8;
    if (n != cbb + scb + ixb) return 0;
    const uint8_t *codes = pl + cbb + scb;
    for (uint64_t r = 0; r < rows; r++)
        for (uint64_t c = 0; c < L; c++) {
            uint64_t v = r * vpr + c / dim;
            unsigned j = (unsigned)(c % dim);
            float s = 1.0f;
            if (scale_mode) {
                uint64_t u = scale_mode == 1 ? r : r * gpr + c / group;
                uint16_t h = (uint16_t)(pl[cbb + 2 * u] | pl[cbb + 2 * u + 1] << 8);
                s = tp_half_to_float(h);
            }
            float acc = 0;
            for (unsigned st = 0; st < stages; st++) {
                uint32_t i = getbits(codes, (st * nvec + v) * ib, ib);
                if (i >= K) return 0;
                size_t o = 2 * ((st * K + i) * dim + j);
                float cv = tp_half_to_float((uint16_t)(pl[o] | pl[o + 1] << 8));
                acc = st == 0 ? cv : acc + cv;
            }
            out[r * L + c] = s * acc;
        }
    return 1;
}

static void vq_layout_case(uint64_t rows, uint64_t L, const char *params, unsigned dim, unsigned bits, unsigned stages,
                           int scale_mode, uint64_t group, double min_snr)
{
    size_t n = rows * L;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = malloc(n * sizeof *z);
    th_gaussian(x, n, 11);
    tp_tensor t = {TP_F32, 2, {rows, L}, x};
    enc_result e;
    CHECK_OK(enc("vq", params, &t, &e));
    CHECK(dec(&e, &t, y) == n * sizeof(float));
    CHECK(vq_rebuild(e.buf, e.n, rows, L, dim, bits, stages, scale_mode, group, z));
    for (size_t i = 0; i < n; i++)
        if (y[i] != z[i]) { fprintf(stderr, "%s: [%zu] %g vs %g\n", params, i, y[i], z[i]); break; }
    CHECK(same_bits(y, z, n));
    tp_metrics m;
    CHECK_OK(tp_metrics_compute(x, TP_F32, y, TP_F32, n, &m));
    CHECK(m.snr_db >= min_snr);
    free(e.buf); free(x); free(y); free(z);
}

TEST(vq_payload_exact)
{
    /* 30 % 4 = 2: partial last vector per row; K = 32 < vectors. */
    vq_layout_case(20, 30, "dim=4,bits=5,stages=2,scale=row", 4, 5, 2, 1, 0, 5.0);
    vq_layout_case(16, 64, "dim=8,bits=8,scale=none", 8, 8, 1, 0, 0, 3.0);
    vq_layout_case(8, 100, "dim=2,bits=3,scale=group,group=24,stages=3", 2, 3, 3, 2, 24, 8.0);
    vq_layout_case(64, 256, "dim=4,bits=8", 4, 8, 1, 1, 0, 9.0);
    vq_layout_case(3, 7, "dim=3,bits=12", 3, 12, 1, 1, 0, 40.0); /* K = 9 vectors: exact up to f16 */
}

TEST(vq_determinism_and_threads)
{
    size_t n = 64 * 96;
    float *x = malloc(n * sizeof *x);
    th_gaussian(x, n, 3);
    tp_tensor t = {TP_F32, 2, {64, 96}, x};
    enc_result a, b, c, d;
    CHECK_OK(enc("vq", "bits=8,seed=5,sample=2000", &t, &a));
    CHECK_OK(enc("vq", "bits=8,seed=5,sample=2000,threads=3", &t, &b));
    CHECK_OK(enc("vq", "bits=8,seed=5,sample=2000", &t, &c));
    CHECK_OK(enc("vq", "bits=8,seed=6,sample=2000", &t, &d));
    CHECK(a.n == b.n && !memcmp(a.buf, b.buf, a.n));
    CHECK(a.n == c.n && !memcmp(a.buf, c.buf, a.n));
    CHECK(a.n == d.n && memcmp(a.buf, d.buf, a.n)); /* another seed, another codebook */
    free(a.buf); free(b.buf); free(c.buf); free(d.buf); free(x);
}

TEST(vq_degenerate)
{
    float x[4 * 6], y[4 * 6];
    /* Constant rows and a zero row; 6 % 4 = 2. */
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 6; c++) x[r * 6 + c] = r == 3 ? 0.0f : 0.5f * (float)(r + 1);
    tp_tensor t = {TP_F32, 2, {4, 6}, x};
    enc_result e;
    CHECK_OK(enc("vq", "dim=4,bits=8", &t, &e));
    CHECK(dec(&e, &t, y) == sizeof y);
    for (int i = 0; i < 24; i++) CHECK(fabsf(y[i] - x[i]) <= 1e-3f * fabsf(x[i]));
    for (int c = 0; c < 6; c++) CHECK(y[18 + c] == 0.0f);
    free(e.buf);
    /* All zeros, no scales. */
    memset(x, 0, sizeof x);
    CHECK_OK(enc("vq", "dim=4,bits=8,scale=none", &t, &e));
    CHECK(dec(&e, &t, y) == sizeof y);
    for (int i = 0; i < 24; i++) CHECK(y[i] == 0.0f);
    free(e.buf);
    /* A scalar, a 1-D tensor shorter than dim, an empty tensor. */
    float s = 3.25f, o;
    tp_tensor ts = {TP_F32, 0, {0}, &s};
    CHECK_OK(enc("vq", "dim=8", &ts, &e));
    CHECK(dec(&e, &ts, &o) == 4 && o == 3.25f);
    free(e.buf);
    float v3[3] = {1, -2, 4}, w3[3];
    tp_tensor t3 = {TP_F32, 1, {3}, v3};
    CHECK_OK(enc("vq", "dim=4,scale=none", &t3, &e));
    CHECK(dec(&e, &t3, w3) == 12 && w3[0] == 1 && w3[1] == -2 && w3[2] == 4);
    free(e.buf);
    tp_tensor t0 = {TP_F32, 2, {0, 5}, v3};
    CHECK_OK(enc("vq", "", &t0, &e));
    CHECK(e.n == 0);
    free(e.buf);
}

TEST(vq_nonfinite_and_params)
{
    float x[16];
    th_gaussian(x, 16, 1);
    x[5] = NAN;
    tp_tensor t = {TP_F32, 1, {16}, x};
    enc_result e;
    CHECK_ERR(enc("vq", "", &t, &e), TP_ERR_NONFINITE);
    x[5] = INFINITY;
    CHECK_ERR(enc("vq", "", &t, &e), TP_ERR_NONFINITE);
    tp_pipeline *p;
    CHECK_ERR(tp_pipeline_parse("vq:dim=3,scale=group,group=32", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("vq:dim=9", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("vq:bits=17", &p), TP_ERR_PARAM);
}

TEST(vq_corrupt_rejected)
{
    float x[10 * 12], y[10 * 12];
    th_gaussian(x, 120, 9);
    tp_tensor t = {TP_F32, 2, {10, 12}, x};
    enc_result e;
    /* 30 vectors, K = 30 (not a power of two): 5-bit indices, 30 and 31 invalid. */
    CHECK_OK(enc("vq", "dim=4,bits=8,scale=none", &t, &e));
    CHECK(e.n == 30 * 4 * 2 + (30 * 5 + 7) / 8);
    uint8_t *codes = e.buf + 240;
    uint8_t saved = codes[0];
    codes[0] = (uint8_t)((codes[0] & ~31u) | 31u);
    CHECK_ERR(dec(&e, &t, y), TP_ERR_CORRUPT);
    codes[0] = saved;
    CHECK(dec(&e, &t, y) == sizeof y);
    e.buf[e.n - 1] |= 0x80; /* 150 bits used of 152: padding bit set */
    CHECK_ERR(dec(&e, &t, y), TP_ERR_CORRUPT);
    e.n--;
    CHECK_ERR(dec(&e, &t, y), TP_ERR_CORRUPT);
    free(e.buf);
}

TEST(vq_simd_matches_reference)
{
    for (unsigned dim = 1; dim <= 8; dim++)
        for (uint32_t K = 1; K <= 40; K += 13) {
            uint32_t kpad = (K + 7) & ~7u;
            float cb[40 * 8], cbT[48 * 8] = {0}, cn[48], y[100 * 8];
            th_gaussian(cb, K * dim, dim * 100 + K);
            th_gaussian(y, 100 * dim, dim + K);
            memcpy(y, cb, dim * sizeof *y); /* exact hit */
            for (uint32_t k = 0; k < kpad; k++) {
                float n = 0;
                for (unsigned j = 0; j < dim; j++) {
                    float v = k < K ? cb[k * dim + j] : 0.0f;
                    cbT[j * kpad + k] = v;
                    n = n + v * v;
                }
                cn[k] = k < K ? n : INFINITY;
            }
            if (K > 2) { /* a tie: entry 2 duplicates entry 1 */
                for (unsigned j = 0; j < dim; j++) cbT[j * kpad + 2] = cbT[j * kpad + 1];
                cn[2] = cn[1];
            }
            uint32_t a[100], b[100];
            tp_vq_assign_ref(y, 100, dim, cbT, cn, kpad, a);
            tp_vq_assign_best()(y, 100, dim, cbT, cn, kpad, b);
            CHECK(!memcmp(a, b, sizeof a));
            CHECK(a[0] == 0 || cn[a[0]] == cn[0]);
            for (int i = 0; i < 100; i++) CHECK(a[i] != 2 || K <= 2);
            float g1[99 * 8], g2[99 * 8];
            tp_vq_gather_ref(a, 99, dim, cb, 0.75f, g1);
            tp_vq_gather_best()(a, 99, dim, cb, 0.75f, g2);
            CHECK(same_bits(g1, g2, 99 * dim));
        }
}

TEST(vq_chains_with_zstd)
{
    size_t n = 32 * 64;
    float *x = malloc(n * 4), *y1 = malloc(n * 4), *y2 = malloc(n * 4);
    th_gaussian(x, n, 4);
    tp_tensor t = {TP_F32, 2, {32, 64}, x};
    tp_pipeline *p1, *p2;
    CHECK_OK(tp_pipeline_parse("vq:bits=6", &p1));
    CHECK_OK(tp_pipeline_parse("vq:bits=6 | zstd", &p2));
    void *f1, *f2;
    size_t n1 = tp_frame_encode_alloc(p1, &t, NULL, &f1), n2 = tp_frame_encode_alloc(p2, &t, NULL, &f2);
    CHECK_OK(n1);
    CHECK_OK(n2);
    CHECK(tp_frame_decode(f1, n1, y1, n * 4) == n * 4);
    CHECK(tp_frame_decode(f2, n2, y2, n * 4) == n * 4);
    CHECK(same_bits(y1, y2, n));
    tp_pipeline_free(p1); tp_pipeline_free(p2);
    free(f1); free(f2); free(x); free(y1); free(y2);
}

/* ---- seedlm ---------------------------------------------------------- */

TEST(seedlm_lfsr_polynomial_and_period)
{
    /* S = 16 is the Fibonacci LFSR of x^16 + x^14 + x^13 + x^11 + 1,
     * written out independently here. */
    uint32_t a = 0xACE1u, b = 0xACE1u;
    for (int i = 0; i < 100000; i++) {
        uint32_t bit = ((b >> 0) ^ (b >> 2) ^ (b >> 3) ^ (b >> 5)) & 1u;
        b = (b >> 1) | (bit << 15);
        a = tp_seedlm_step(a, 16);
        CHECK(a == b);
    }
    /* Full period 2^S - 1 for every supported S: from state 1 the LFSR
     * comes back to 1 after exactly 2^S - 1 steps, never through 0. */
    for (unsigned S = TP_SEEDLM_MIN_S; S <= TP_SEEDLM_MAX_S; S++) {
        uint32_t x = 1, steps = 0;
        do {
            x = tp_seedlm_step(x, S);
            steps++;
            CHECK(x != 0 && x < (1u << S));
        } while (x != 1 && steps <= (1u << S));
        CHECK(steps == (1u << S) - 1);
    }
    CHECK(tp_seedlm_value(1u << 15, 16) == 0.0f);
    CHECK(tp_seedlm_value(1, 16) == -32767.0f / 32768.0f);
}

/* Rebuilds a seedlm tensor from the payload, regenerating each U by
 * stepping the LFSR from the stored seed. */
static int seedlm_rebuild(const uint8_t *pl, size_t n, uint64_t numel, unsigned C, unsigned P, unsigned S, unsigned Q,
                          float *out)
{
    uint64_t nb = numel / C, tail = numel % C;
    unsigned rb = S + 4 + P * Q;
    size_t recb = (nb * rb + 7) / 8;
    if (n != 1 + recb + tail * 4) return 0;
    int ebase = (int8_t)pl[0];
    const uint8_t *rec = pl + 1;
    for (uint64_t b = 0; b < nb; b++) {
        uint64_t bit = b * rb;
        uint32_t seed = getbits(rec, bit, S), e = getbits(rec, bit + S, 4);
        if (!seed) return 0;
        float t[8], U[32][8];
        for (unsigned j = 0; j < P; j++) {
            int32_t q = (int32_t)getbits(rec, bit + S + 4 + j * Q, Q);
            if (q >= 1 << (Q - 1)) q -= 1 << Q;
            t[j] = (float)q * ldexpf(1.0f, ebase + (int)e);
        }
        uint32_t x = seed;
        for (unsigned j = 0; j < P; j++)
            for (unsigned i = 0; i < C; i++) {
                U[i][j] = ((float)x - (float)(1u << (S - 1))) / (float)(1u << (S - 1));
                for (unsigned k = 0; k < S; k++) x = tp_seedlm_step(x, S);
            }
        for (unsigned i = 0; i < C; i++) {
            float a = U[i][0] * t[0];
            for (unsigned j = 1; j < P; j++) a = a + U[i][j] * t[j];
            out[b * C + i] = a;
        }
    }
    memcpy(out + nb * C, pl + 1 + recb, tail * 4);
    return 1;
}

static void seedlm_case(uint64_t rows, uint64_t cols, const char *params, unsigned C, unsigned P, unsigned S,
                        unsigned Q, double min_snr)
{
    size_t n = rows * cols;
    float *x = malloc(n * 4), *y = malloc(n * 4), *z = malloc(n * 4);
    th_gaussian(x, n, 21);
    for (size_t i = 0; i < n; i++) x[i] *= 0.02f; /* weight-like scale */
    tp_tensor t = {TP_F32, 2, {rows, cols}, x};
    enc_result e;
    CHECK_OK(enc("seedlm", params, &t, &e));
    CHECK(dec(&e, &t, y) == n * 4);
    CHECK(seedlm_rebuild(e.buf, e.n, n, C, P, S, Q, z));
    CHECK(same_bits(y, z, n));
    for (size_t i = n / C * C; i < n; i++) CHECK(y[i] == x[i]); /* tail kept as f32 */
    tp_metrics m;
    CHECK_OK(tp_metrics_compute(x, TP_F32, y, TP_F32, n, &m));
    CHECK(m.snr_db >= min_snr);
    free(e.buf); free(x); free(y); free(z);
}

TEST(seedlm_payload_exact)
{
    seedlm_case(3, 37, "block=8,coefs=3,seed_bits=10", 8, 3, 10, 4, 10.0);   /* 111 = 13*8 + 7 */
    seedlm_case(4, 24, "block=12,coefs=4,seed_bits=12", 12, 4, 12, 4, 8.0);
    seedlm_case(2, 21, "block=5,coefs=2,seed_bits=8,qbits=3", 5, 2, 8, 3, 3.0);
    seedlm_case(2, 64, "block=16,coefs=8,seed_bits=9,qbits=8", 16, 8, 9, 8, 10.0);
}

TEST(seedlm_determinism_threads_and_simd)
{
    size_t nb = 37, C = 8;
    float *w = malloc(nb * C * 4);
    th_gaussian(w, nb * C, 5);
    tp_seedlm_pick a[37], b[37], c[37];
    CHECK_OK(tp_seedlm_search(w, nb, 8, 3, 11, 4, -14, 1, 1, a));
    CHECK_OK(tp_seedlm_search(w, nb, 8, 3, 11, 4, -14, 1, 0, b));
    CHECK_OK(tp_seedlm_search(w, nb, 8, 3, 11, 4, -14, 3, 0, c));
    for (size_t i = 0; i < nb; i++) {
        CHECK(a[i].seed == b[i].seed && a[i].e == b[i].e && !memcmp(a[i].q, b[i].q, sizeof a[i].q));
        CHECK(a[i].seed == c[i].seed && a[i].err == c[i].err);
    }
    /* Generic kernel (C, P without a specialised version), too. */
    CHECK_OK(tp_seedlm_search(w, 14, 20, 5, 9, 3, -14, 1, 1, a));
    CHECK_OK(tp_seedlm_search(w, 14, 20, 5, 9, 3, -14, 2, 0, b));
    for (size_t i = 0; i < 14; i++) CHECK(a[i].seed == b[i].seed && a[i].e == b[i].e);
    free(w);
    float x[200];
    th_gaussian(x, 200, 8);
    tp_tensor t = {TP_F32, 1, {200}, x};
    enc_result e1, e2;
    CHECK_OK(enc("seedlm", "seed_bits=10", &t, &e1));
    CHECK_OK(enc("seedlm", "seed_bits=10,threads=4", &t, &e2));
    CHECK(e1.n == e2.n && !memcmp(e1.buf, e2.buf, e1.n));
    free(e1.buf); free(e2.buf);
}

TEST(seedlm_degenerate_and_errors)
{
    float x[50], y[50];
    memset(x, 0, sizeof x);
    tp_tensor t = {TP_F32, 1, {50}, x};
    enc_result e;
    CHECK_OK(enc("seedlm", "seed_bits=8", &t, &e));
    CHECK(dec(&e, &t, y) == sizeof y);
    for (int i = 0; i < 50; i++) CHECK(y[i] == 0.0f);
    free(e.buf);
    for (int i = 0; i < 50; i++) x[i] = 0.25f; /* constant */
    CHECK_OK(enc("seedlm", "seed_bits=12", &t, &e));
    CHECK(dec(&e, &t, y) == sizeof y);
    tp_metrics m;
    CHECK_OK(tp_metrics_compute(x, TP_F32, y, TP_F32, 50, &m));
    CHECK(m.snr_db > 10);
    /* Corrupt: seed 0, bad exponent base, padding, truncation. */
    uint8_t b0 = e.buf[0];
    e.buf[0] = 120;
    CHECK_ERR(dec(&e, &t, y), TP_ERR_CORRUPT);
    e.buf[0] = b0;
    uint8_t r1 = e.buf[1], r2 = e.buf[2];
    e.buf[1] = 0; e.buf[2] &= 0xf0; /* seed of block 0 (12 bits) = 0 */
    CHECK_ERR(dec(&e, &t, y), TP_ERR_CORRUPT);
    e.buf[1] = r1; e.buf[2] = r2;
    e.n--;
    CHECK_ERR(dec(&e, &t, y), TP_ERR_CORRUPT);
    free(e.buf);
    /* Fewer values than a block: all tail, exact. */
    float s[5] = {1, 2, 3, -4, 5e30f}, o[5];
    tp_tensor t5 = {TP_F32, 1, {5}, s};
    CHECK_OK(enc("seedlm", "", &t5, &e));
    CHECK(dec(&e, &t5, o) == sizeof o && !memcmp(s, o, sizeof s));
    free(e.buf);
    x[7] = NAN;
    CHECK_ERR(enc("seedlm", "", &t, &e), TP_ERR_NONFINITE);
    x[7] = -INFINITY;
    CHECK_ERR(enc("seedlm", "", &t, &e), TP_ERR_NONFINITE);
    tp_pipeline *p;
    CHECK_ERR(tp_pipeline_parse("seedlm:block=4,coefs=5", &p), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("seedlm:seed_bits=21", &p), TP_ERR_PARAM);
}

TEST(seedlm_chains_with_zstd)
{
    float x[300], y1[300], y2[300];
    th_gaussian(x, 300, 6);
    tp_tensor t = {TP_F32, 2, {10, 30}, x};
    tp_pipeline *p1, *p2;
    CHECK_OK(tp_pipeline_parse("seedlm:seed_bits=10", &p1));
    CHECK_OK(tp_pipeline_parse("seedlm:seed_bits=10 | zstd:level=3", &p2));
    void *f1, *f2;
    size_t n1 = tp_frame_encode_alloc(p1, &t, NULL, &f1), n2 = tp_frame_encode_alloc(p2, &t, NULL, &f2);
    CHECK_OK(n1);
    CHECK_OK(n2);
    CHECK(tp_frame_decode(f1, n1, y1, sizeof y1) == sizeof y1);
    CHECK(tp_frame_decode(f2, n2, y2, sizeof y2) == sizeof y2);
    CHECK(same_bits(y1, y2, 300));
    tp_pipeline_free(p1); tp_pipeline_free(p2);
    free(f1); free(f2);
}
