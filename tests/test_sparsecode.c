/* Learned codecs: sparsecode (K-SVD + OMP, src/codecs/structure/sparsecode.c,
 * dictlearn.c) and autoenc (src/codecs/structure/autoenc.c, mlp.c). Synthetic data
 * with known structure: exactness where it must hold, error falling with
 * k / atoms / latent, determinism, degenerate shapes, malformed payloads. */
#include <stdlib.h>
#include <string.h>

#include "codecs/structure/dictlearn.h"
#include "codecs/pipeline.h"
#include "core/half.h"
#include "harness.h"

static size_t rt(const char *spec, const float *x, uint64_t m, uint64_t n, float **back, void **frame_out)
{
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {m, n}, .data = x};
    return th_roundtrip(spec, &t, (void **)back, frame_out);
}

static double snr_of_spec(const char *spec, const float *x, uint64_t m, uint64_t n)
{
    float *back;
    size_t r = rt(spec, x, m, n, &back, NULL);
    if (tp_is_error(r)) return -1e9;
    double s = th_snr(x, back, m * n);
    free(back);
    return s;
}

static size_t raw_decode(const char *spec, const void *src, size_t n, const tp_tensor *sd, const tp_tensor *dd, void *dst)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    r = p->stage[0].codec->decode(&p->stage[0].params, src, n, sd, dd, dst);
    tp_pipeline_free(p);
    return r;
}

/* n signals, each exactly k-sparse in D (K unit-norm Gaussian atoms of d). */
static void sparse_signals(int d, int K, int k, size_t n, unsigned seed, double *D, double *X)
{
    float *g = malloc((size_t)K * d * sizeof *g), *c = malloc(n * k * sizeof *c);
    th_gaussian(g, (size_t)K * d, seed);
    th_gaussian(c, n * k, seed + 1);
    for (int a = 0; a < K; a++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += (double)g[a * d + j] * g[a * d + j];
        for (int j = 0; j < d; j++) D[a * d + j] = g[a * d + j] / sqrt(s);
    }
    memset(X, 0, n * d * sizeof *X);
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < k; s++) {
            int a = (int)((i * 7919 + (size_t)s * 104729 + (size_t)s * s * 31) % (size_t)K); /* distinct for s < k <= 4 */
            double cf = c[i * k + s] + (c[i * k + s] >= 0 ? 0.5 : -0.5);
            for (int j = 0; j < d; j++) X[i * d + j] += cf * D[a * d + j];
        }
    free(g); free(c);
}

TEST(sparsecode_omp_recovers_k_sparse_signals)
{
    enum { d = 64, K = 96, k = 3, n = 300 };
    double *D = malloc(K * d * sizeof *D), *X = malloc(n * d * sizeof *X), *coef = malloc(n * k * sizeof *coef);
    int32_t *idx = malloc(n * k * sizeof *idx);
    sparse_signals(d, K, k, n, 5, D, X);
    CHECK_OK(tp_omp(X, n, d, D, K, k, idx, coef));
    size_t exact = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = 0, xx = 0;
        for (int j = 0; j < d; j++) {
            double v = X[i * d + j];
            for (int s = 0; s < k; s++)
                if (idx[i * k + s] >= 0) v -= coef[i * k + s] * D[idx[i * k + s] * d + j];
            e += v * v;
            xx += X[i * d + j] * X[i * d + j];
        }
        if (e <= 1e-24 * xx) exact++;
        if (e / xx > worst) worst = e / xx;
    }
    /* greedy OMP is exact on every signal of this incoherent dictionary */
    CHECK(exact == n);
    CHECK(worst < 1e-24);
    /* with fewer atoms than the sparsity it cannot be exact */
    CHECK_OK(tp_omp(X, n, d, D, K, 1, idx, coef));
    size_t exact1 = 0;
    for (size_t i = 0; i < n; i++) {
        double e = 0;
        for (int j = 0; j < d; j++) { double v = X[i * d + j] - coef[i] * D[idx[i] * d + j]; e += v * v; }
        exact1 += e < 1e-20;
    }
    CHECK(exact1 == 0);
    free(D); free(X); free(coef); free(idx);
}

TEST(sparsecode_fewer_signals_than_atoms_is_exact)
{
    /* K = min(atoms, rows) = rows: each row is its own atom, k = 1 suffices */
    enum { m = 12, n = 40 };
    float x[m * n];
    th_gaussian(x, m * n, 3);
    CHECK(snr_of_spec("sparsecode:atoms=64,k=1,iterations=0,codes=pass", x, m, n) > 120);
    CHECK(snr_of_spec("sparsecode:atoms=64,k=1,iterations=5,dict=f32,codes=pass", x, m, n) > 120);
    double s16 = snr_of_spec("sparsecode:atoms=64,k=1,iterations=0", x, m, n); /* f16 atoms and coefficients */
    CHECK(s16 > 55 && s16 < 100);
}

TEST(sparsecode_error_falls_with_k_and_atoms)
{
    enum { m = 256, n = 64 };
    float *x = malloc(m * n * sizeof *x);
    th_gaussian(x, m * n, 9);
    for (size_t i = 0; i < m * n; i++) x[i] += (i % n) * 0.05f * x[i - i % n]; /* some shared structure */
    double prev = -1e9;
    const char *ks[] = {"1", "2", "4", "8"};
    for (int i = 0; i < 4; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "sparsecode:atoms=64,k=%s,patch=16,iterations=5,codes=pass", ks[i]);
        double s = snr_of_spec(spec, x, m, n);
        CHECK(s > prev + 0.5);
        prev = s;
    }
    prev = -1e9;
    const char *as[] = {"8", "32", "128", "512"};
    for (int i = 0; i < 4; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "sparsecode:atoms=%s,k=2,patch=16,iterations=5", as[i]);
        double s = snr_of_spec(spec, x, m, n);
        CHECK(s > prev + 0.2);
        prev = s;
    }
    /* a dense code matrix far larger than the tensor is refused */
    float *back;
    CHECK_ERR(rt("sparsecode:atoms=512,k=2,patch=16,codes=pass", x, m, n, &back, NULL), TP_ERR_PARAM);
    free(x);
}

TEST(sparsecode_learns_a_planted_dictionary)
{
    /* 2000 signals, 3-sparse in 64 atoms of 32: K-SVD beats the atoms it
     * starts from (sampled signals) by a wide margin */
    enum { d = 32, K = 64, k = 3, n = 2000 };
    double *D = malloc(K * d * sizeof *D), *X = malloc(n * d * sizeof *X);
    sparse_signals(d, K, k, n, 21, D, X);
    float *x = malloc(n * d * sizeof *x);
    for (size_t i = 0; i < n * d; i++) x[i] = (float)X[i];
    double s0 = snr_of_spec("sparsecode:atoms=64,k=3,iterations=0,codes=pass", x, n, d);
    double s30 = snr_of_spec("sparsecode:atoms=64,k=3,iterations=30,codes=pass", x, n, d);
    CHECK(s30 > s0 + 8);
    CHECK(s30 > 15);
    free(D); free(X); free(x);
}

TEST(sparsecode_deterministic_for_a_seed)
{
    enum { m = 64, n = 48 };
    float x[m * n];
    th_gaussian(x, m * n, 4);
    float *b1, *b2, *b3;
    void *f1, *f2, *f3;
    size_t s1 = rt("sparsecode:atoms=32,k=3,patch=8,seed=7", x, m, n, &b1, &f1);
    size_t s2 = rt("sparsecode:atoms=32,k=3,patch=8,seed=7", x, m, n, &b2, &f2);
    size_t s3 = rt("sparsecode:atoms=32,k=3,patch=8,seed=8", x, m, n, &b3, &f3);
    CHECK_OK(s1); CHECK_OK(s2); CHECK_OK(s3);
    CHECK(s1 == s2 && !memcmp(f1, f2, s1));
    CHECK(s1 == s3 && memcmp(f1, f3, s1)); /* the seed matters */
    tp_train_report rep;
    CHECK_OK(tp_train_report_last(&rep));
    CHECK(!strcmp(rep.codec, "sparsecode") && rep.steps_done == 10 && rep.steps_asked == 10 && !rep.stopped_by_time);
    CHECK(rep.rel_error > 0 && rep.rel_error < 1 && rep.seconds >= 0);
    free(b1); free(b2); free(b3); free(f1); free(f2); free(f3);
}

TEST(sparsecode_degenerate_shapes)
{
    float row[50], col[50], zero[6 * 8] = {0};
    th_gaussian(row, 50, 1);
    th_gaussian(col, 50, 2);
    CHECK(snr_of_spec("sparsecode", row, 1, 50) > 60);  /* one signal: one atom */
    CHECK(snr_of_spec("sparsecode", col, 50, 1) > 60);  /* d = 1: atoms are +-1 */
    float *back;
    CHECK_OK(rt("sparsecode:atoms=4,k=2", zero, 6, 8, &back, NULL));
    for (int i = 0; i < 48; i++) CHECK(back[i] == 0);
    free(back);
    CHECK_OK(rt("sparsecode:codes=pass", zero, 6, 8, &back, NULL));
    for (int i = 0; i < 48; i++) CHECK(back[i] == 0);
    free(back);
    CHECK_OK(rt("sparsecode", zero, 0, 8, &back, NULL)); /* empty */
    free(back);
    CHECK_ERR(rt("sparsecode:patch=3", zero, 6, 8, &back, NULL), TP_ERR_SHAPE);
    CHECK_ERR(tp_pipeline_parse("sparsecode:k=0", &(tp_pipeline *){0}), TP_ERR_PARAM);
    CHECK_ERR(tp_pipeline_parse("sparsecode:atoms=70000", &(tp_pipeline *){0}), TP_ERR_PARAM);
}

TEST(sparsecode_pass_to_int_and_zstd)
{
    enum { m = 128, n = 64 };
    float *x = malloc(m * n * sizeof *x);
    th_gaussian(x, m * n, 12);
    float *b1, *b2;
    size_t s1 = rt("sparsecode:atoms=64,k=4,patch=16", x, m, n, &b1, NULL);
    size_t s2 = rt("sparsecode:atoms=64,k=4,patch=16,codes=pass | int:bits=8 | zstd", x, m, n, &b2, NULL);
    CHECK_OK(s1); CHECK_OK(s2);
    double q1 = th_snr(x, b1, m * n), q2 = th_snr(x, b2, m * n);
    CHECK(q2 > q1 - 1.0);
    CHECK(s2 < 4 * m * n / 4); /* under 8 bits per value */
    free(b1); free(b2); free(x);
}

TEST(sparsecode_rejects_nonfinite_and_malformed)
{
    enum { m = 10, n = 8 };
    float x[m * n], out[m * n];
    th_gaussian(x, m * n, 6);
    float *back;
    x[7] = NAN;
    CHECK_ERR(rt("sparsecode", x, m, n, &back, NULL), TP_ERR_NONFINITE);
    x[7] = -INFINITY;
    CHECK_ERR(rt("sparsecode:codes=pass", x, m, n, &back, NULL), TP_ERR_NONFINITE);
    /* atoms=5, k=2 on 10 rows of 8: D 5*8 f16, 20 f16 coefs, 20 x 3-bit indices */
    size_t want = 5 * 8 * 2 + 20 * 2 + (20 * 3 + 7) / 8;
    uint8_t *buf = calloc(want + 8, 1);
    tp_tensor dd = {.dtype = TP_F32, .ndim = 2, .shape = {m, n}}, sd;
    tp_desc_bytes(&sd, want);
    CHECK_OK(raw_decode("sparsecode:atoms=5,k=2", buf, want, &sd, &dd, out));
    tp_desc_bytes(&sd, want - 1);
    CHECK_ERR(raw_decode("sparsecode:atoms=5,k=2", buf, want - 1, &sd, &dd, out), TP_ERR_CORRUPT);
    tp_desc_bytes(&sd, want + 1);
    CHECK_ERR(raw_decode("sparsecode:atoms=5,k=2", buf, want + 1, &sd, &dd, out), TP_ERR_CORRUPT);
    tp_desc_bytes(&sd, want);
    buf[want - 1] = 0x0e; /* bits 57-59: last index 7 >= 5 atoms */
    CHECK_ERR(raw_decode("sparsecode:atoms=5,k=2", buf, want, &sd, &dd, out), TP_ERR_CORRUPT);
    buf[want - 1] = 0;
    uint16_t inf = 0x7c00;
    memcpy(buf + 5 * 8 * 2, &inf, 2); /* coefficient Inf */
    CHECK_ERR(raw_decode("sparsecode:atoms=5,k=2", buf, want, &sd, &dd, out), TP_ERR_CORRUPT);
    /* pass: descriptor must be f32 [K*d + n*K] */
    float *fv = calloc(5 * 8 + 10 * 5, sizeof *fv);
    tp_tensor fd = {.dtype = TP_F32, .ndim = 1, .shape = {5 * 8 + 10 * 5}};
    CHECK_OK(raw_decode("sparsecode:atoms=5,k=2,codes=pass", fv, 90 * 4, &fd, &dd, out));
    fd.shape[0] = 89;
    CHECK_ERR(raw_decode("sparsecode:atoms=5,k=2,codes=pass", fv, 89 * 4, &fd, &dd, out), TP_ERR_CORRUPT);
    fd.shape[0] = 90;
    fv[3] = NAN;
    CHECK_ERR(raw_decode("sparsecode:atoms=5,k=2,codes=pass", fv, 90 * 4, &fd, &dd, out), TP_ERR_CORRUPT);
    free(buf); free(fv);
}

/* ---- autoenc ------------------------------------------------------------ */

/* m x n of rank r plus a per-column offset. */
static float *lowrank_rows(uint64_t m, uint64_t n, uint64_t r, unsigned seed)
{
    float *a = malloc(m * r * sizeof *a), *b = malloc(r * n * sizeof *b), *x = malloc(m * n * sizeof *x);
    th_gaussian(a, m * r, seed);
    th_gaussian(b, r * n, seed + 1);
    for (uint64_t i = 0; i < m; i++)
        for (uint64_t j = 0; j < n; j++) {
            double s = 3.0 + 0.1 * (double)j;
            for (uint64_t l = 0; l < r; l++) s += (double)a[i * r + l] * b[l * n + j];
            x[i * n + j] = (float)s;
        }
    free(a); free(b);
    return x;
}

TEST(autoenc_linear_recovers_low_rank)
{
    uint64_t m = 300, n = 40;
    float *x = lowrank_rows(m, n, 4, 2);
    /* latent = rank: the least-squares codes make it exact up to training */
    CHECK(snr_of_spec("autoenc:hidden=0,latent=4,epochs=60,weights=f32,codes=f32", x, m, n) > 50);
    /* untrained decoder: far worse */
    CHECK(snr_of_spec("autoenc:hidden=0,latent=4,epochs=0,weights=f32,codes=f32", x, m, n) < 40);
    /* latent below the rank cannot be exact */
    CHECK(snr_of_spec("autoenc:hidden=0,latent=2,epochs=60,weights=f32,codes=f32", x, m, n) < 40);
    free(x);
}

TEST(autoenc_nonlinear_trains_for_each_activation)
{
    uint64_t m = 256, n = 24;
    float *x = lowrank_rows(m, n, 3, 7);
    for (uint64_t i = 0; i < m * n; i++) x[i] = tanhf(0.5f * x[i]); /* a curved manifold */
    const char *acts[] = {"relu", "tanh", "gelu"};
    for (int a = 0; a < 3; a++) {
        char s0[160], s1[160];
        snprintf(s0, sizeof s0, "autoenc:hidden=32,latent=3,activation=%s,epochs=0", acts[a]);
        snprintf(s1, sizeof s1, "autoenc:hidden=32,latent=3,activation=%s,epochs=80", acts[a]);
        double q0 = snr_of_spec(s0, x, m, n), q1 = snr_of_spec(s1, x, m, n);
        CHECK(q1 > q0 + 5);
        CHECK(q1 > 12);
    }
    /* more latent values: less error */
    double l1 = snr_of_spec("autoenc:hidden=32,latent=1,epochs=80", x, m, n);
    double l3 = snr_of_spec("autoenc:hidden=32,latent=3,epochs=80", x, m, n);
    CHECK(l3 > l1 + 2);
    free(x);
}

TEST(autoenc_deterministic_and_reports)
{
    uint64_t m = 100, n = 16;
    float *x = lowrank_rows(m, n, 3, 4);
    float *b1, *b2, *b3;
    void *f1, *f2, *f3;
    size_t s1 = rt("autoenc:hidden=16,latent=4,epochs=10,seed=3", x, m, n, &b1, &f1);
    size_t s2 = rt("autoenc:hidden=16,latent=4,epochs=10,seed=3", x, m, n, &b2, &f2);
    size_t s3 = rt("autoenc:hidden=16,latent=4,epochs=10,seed=4", x, m, n, &b3, &f3);
    CHECK_OK(s1); CHECK_OK(s2); CHECK_OK(s3);
    CHECK(s1 == s2 && !memcmp(f1, f2, s1));
    CHECK(memcmp(f1, f3, s1));
    tp_train_report rep;
    CHECK_OK(tp_train_report_last(&rep));
    CHECK(!strcmp(rep.codec, "autoenc") && rep.steps_done == 10 && rep.steps_asked == 10 && !rep.stopped_by_time);
    /* the time bound stops training */
    free(b1); free(b2); free(b3); free(f1); free(f2); free(f3);
    CHECK_OK(rt("autoenc:hidden=64,latent=4,epochs=1000000,max_seconds=0.05", x, m, n, &b1, NULL));
    CHECK_OK(tp_train_report_last(&rep));
    CHECK(rep.stopped_by_time && rep.steps_done < 1000000 && rep.seconds < 5);
    free(b1);
    /* payload size: decoder (16*4+16 + 16*16+16) f16 + 100*4 f16 codes */
    CHECK_OK(rt("autoenc:hidden=16,latent=4,epochs=1,codes=pass | int:bits=8 | zstd", x, m, n, &b1, NULL));
    free(b1);
    free(x);
}

TEST(autoenc_degenerate_and_malformed)
{
    float row[30], col[30], zero[5 * 6] = {0}, out[5 * 6];
    th_gaussian(row, 30, 1);
    th_gaussian(col, 30, 2);
    float *back;
    CHECK(snr_of_spec("autoenc:hidden=0,latent=1,epochs=5", row, 1, 30) > 40); /* one row: the mean */
    CHECK(snr_of_spec("autoenc:hidden=0,latent=1,epochs=20", col, 30, 1) > 40); /* d = 1 */
    CHECK_OK(rt("autoenc:epochs=5", zero, 5, 6, &back, NULL));
    for (int i = 0; i < 30; i++) CHECK(fabsf(back[i]) < 1e-6f);
    free(back);
    CHECK_OK(rt("autoenc", zero, 0, 6, &back, NULL));
    free(back);
    row[3] = NAN;
    CHECK_ERR(rt("autoenc", row, 1, 30, &back, NULL), TP_ERR_NONFINITE);
    /* hidden=0, latent=2 on 5 x 6: decoder 6*2+6, codes 5*2, f16 */
    size_t want = (6 * 2 + 6 + 5 * 2) * 2;
    uint8_t buf[64] = {0};
    tp_tensor dd = {.dtype = TP_F32, .ndim = 2, .shape = {5, 6}}, sd;
    tp_desc_bytes(&sd, want);
    CHECK_OK(raw_decode("autoenc:hidden=0,latent=2", buf, want, &sd, &dd, out));
    tp_desc_bytes(&sd, want - 2);
    CHECK_ERR(raw_decode("autoenc:hidden=0,latent=2", buf, want - 2, &sd, &dd, out), TP_ERR_CORRUPT);
    tp_desc_bytes(&sd, want);
    buf[1] = 0x7e; /* NaN weight */
    CHECK_ERR(raw_decode("autoenc:hidden=0,latent=2", buf, want, &sd, &dd, out), TP_ERR_CORRUPT);
    tp_tensor fd = {.dtype = TP_F32, .ndim = 1, .shape = {want / 2}};
    float fv[64] = {0};
    CHECK_OK(raw_decode("autoenc:hidden=0,latent=2,codes=pass", fv, want * 2, &fd, &dd, out));
    fd.ndim = 2; fd.shape[1] = 1;
    CHECK_ERR(raw_decode("autoenc:hidden=0,latent=2,codes=pass", fv, want * 2, &fd, &dd, out), TP_ERR_CORRUPT);
}
