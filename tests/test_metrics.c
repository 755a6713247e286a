/* Metrics: hand-computed examples, exact reconstruction, and the NaN/Inf
 * rule of include/tpress.h: non-finite positions are counted in nonfinite
 * and left out of the sums; equal non-finite values are exact, unequal ones
 * make the error infinite. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int near(double a, double b) { return fabs(a - b) <= 1e-12 * fmax(1.0, fabs(b)); }

static size_t metrics_f64(const double *x, const double *y, size_t n, tp_metrics *m)
{
    return tp_metrics_compute(x, TP_F64, y, TP_F64, n, m);
}

TEST(metrics_hand_computed)
{
    /* x = 1 2 3 4, y = 1 2 3 5: one error of 1. */
    double x[] = {1, 2, 3, 4}, y[] = {1, 2, 3, 5};
    tp_metrics m;
    CHECK_OK(metrics_f64(x, y, 4, &m));
    CHECK(m.count == 4 && m.nonfinite == 0);
    CHECK(near(m.mse, 0.25));
    CHECK(near(m.rmse, 0.5));
    CHECK(near(m.max_abs, 1));
    CHECK(near(m.snr_db, 10 * log10(30.0)));          /* 14.7712 dB */
    CHECK(near(m.psnr_db, 10 * log10(16 / 0.25)));    /* 18.0618 dB */
    CHECK(near(m.cosine, 34 / sqrt(30.0 * 39.0)));   /* 0.99399   */
    CHECK(near(m.rel_l2, sqrt(1 / 30.0)));
    CHECK(near(m.snr_db, 14.771212547196624));

    /* Reconstruction all zero: SNR 0 dB, cosine 0, relative error 1. */
    double a[] = {3, -4}, z[] = {0, 0};
    CHECK_OK(metrics_f64(a, z, 2, &m));
    CHECK(near(m.mse, 12.5) && near(m.max_abs, 4));
    CHECK(near(m.snr_db, 0) && near(m.cosine, 0) && near(m.rel_l2, 1));
    CHECK(near(m.psnr_db, 10 * log10(16 / 12.5)));

    /* Opposite sign: cosine -1, relative error 2. */
    double b[] = {-3, 4};
    CHECK_OK(metrics_f64(a, b, 2, &m));
    CHECK(near(m.cosine, -1) && near(m.rel_l2, 2) && near(m.max_abs, 8) && near(m.mse, 50));
    CHECK(near(m.snr_db, 10 * log10(25.0 / 100.0)));

    /* Scaled copy: cosine 1 but an error. */
    double c[] = {6, -8};
    CHECK_OK(metrics_f64(a, c, 2, &m));
    CHECK(near(m.cosine, 1) && near(m.rel_l2, 1) && near(m.snr_db, 0));
}

TEST(metrics_exact_and_degenerate)
{
    double x[] = {1.5, -2, 0, 7};
    tp_metrics m;
    CHECK_OK(metrics_f64(x, x, 4, &m));
    CHECK(m.mse == 0 && m.rmse == 0 && m.max_abs == 0 && m.rel_l2 == 0);
    CHECK(isinf(m.snr_db) && m.snr_db > 0);
    CHECK(isinf(m.psnr_db) && m.psnr_db > 0);
    CHECK(m.cosine == 1);
    /* Both all zero: exact. */
    double z[] = {0, 0, 0}, nz[] = {0, 1, 0};
    CHECK_OK(metrics_f64(z, z, 3, &m));
    CHECK(isinf(m.snr_db) && m.snr_db > 0 && m.cosine == 1 && m.rel_l2 == 0);
    /* Zero reference, nonzero reconstruction: as bad as it gets. */
    CHECK_OK(metrics_f64(z, nz, 3, &m));
    CHECK(isinf(m.snr_db) && m.snr_db < 0);
    CHECK(isinf(m.psnr_db) && m.psnr_db < 0);
    CHECK(isinf(m.rel_l2) && m.cosine == 0);
    CHECK(near(m.mse, 1.0 / 3) && m.max_abs == 1);
    /* No values. */
    CHECK_OK(metrics_f64(NULL, NULL, 0, &m));
    CHECK(m.count == 0 && m.mse == 0 && isinf(m.snr_db) && m.snr_db > 0);
}

TEST(metrics_nonfinite)
{
    tp_metrics m;
    /* Equal NaN / Inf positions are skipped: same as without them, mse
     * averaged over the finite positions only. */
    double x[] = {1, NAN, 3, INFINITY, -INFINITY}, y[] = {2, NAN, 3, INFINITY, -INFINITY};
    CHECK_OK(metrics_f64(x, y, 5, &m));
    CHECK(m.count == 5 && m.nonfinite == 3);
    CHECK(near(m.mse, 0.5) && near(m.max_abs, 1));
    CHECK(near(m.snr_db, 10 * log10(10.0)));
    CHECK(near(m.psnr_db, 10 * log10(9 / 0.5)));
    CHECK(near(m.cosine, 11 / sqrt(10.0 * 13.0)));
    /* NaN with different payloads (and signs) counts as equal. */
    float nf1, nf2;
    uint32_t b1 = 0x7fc00001u, b2 = 0xffa00000u;
    memcpy(&nf1, &b1, 4);
    memcpy(&nf2, &b2, 4);
    float fx[] = {nf1, 2}, fy[] = {nf2, 2};
    CHECK_OK(tp_metrics_compute(fx, TP_F32, fy, TP_F32, 2, &m));
    CHECK(m.nonfinite == 1 && m.mse == 0 && isinf(m.snr_db) && m.snr_db > 0);
    /* Any mismatch at a non-finite position makes the error infinite. */
    static const double pairs[][2] = {{NAN, 1}, {1, NAN}, {INFINITY, -INFINITY}, {INFINITY, 5}, {2, -INFINITY},
                                      {NAN, INFINITY}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        double px[] = {1, pairs[i][0], 3}, py[] = {1, pairs[i][1], 3};
        CHECK_OK(metrics_f64(px, py, 3, &m));
        CHECK(m.count == 3 && m.nonfinite == 1);
        CHECK(isinf(m.mse) && isinf(m.rmse) && isinf(m.max_abs));
        CHECK(isinf(m.snr_db) && m.snr_db < 0);
        CHECK(isinf(m.psnr_db) && m.psnr_db < 0);
        CHECK(isinf(m.rel_l2));
        CHECK(near(m.cosine, 1)); /* from the finite positions, which agree */
    }
    /* All positions non-finite and equal. */
    double nx[] = {NAN, INFINITY};
    CHECK_OK(metrics_f64(nx, nx, 2, &m));
    CHECK(m.nonfinite == 2 && m.mse == 0 && isinf(m.snr_db) && m.snr_db > 0);
}

TEST(metrics_mixed_dtypes)
{
    /* Values are read exactly in each dtype: 1.5 and 0.25 are exact in all. */
    float f[] = {1.5f, -0.25f, 8};
    uint16_t h[3], b[3];
    double d[] = {1.5, -0.25, 8};
    tp_convert(h, TP_F16, f, TP_F32, 3);
    tp_convert(b, TP_BF16, f, TP_F32, 3);
    tp_metrics m;
    CHECK_OK(tp_metrics_compute(f, TP_F32, h, TP_F16, 3, &m));
    CHECK(m.mse == 0);
    CHECK_OK(tp_metrics_compute(b, TP_BF16, d, TP_F64, 3, &m));
    CHECK(m.mse == 0);
    /* bf16 of 1/3 against f64 1/3: the bf16 rounding error. */
    double third = 1.0 / 3;
    float ft = (float)third;
    uint16_t bt;
    tp_convert(&bt, TP_BF16, &ft, TP_F32, 1);
    CHECK_OK(tp_metrics_compute(&third, TP_F64, &bt, TP_BF16, 1, &m));
    CHECK(near(m.max_abs, fabs(third - (double)tp_bf16_to_f32(bt))));
    CHECK(m.max_abs > 0 && m.max_abs < third / 256);
}

TEST(metrics_errors)
{
    float x[2] = {1, 2};
    int32_t i[2] = {1, 2};
    tp_metrics m;
    CHECK_ERR(tp_metrics_compute(x, TP_F32, x, TP_F32, 2, NULL), TP_ERR_ARG);
    CHECK_ERR(tp_metrics_compute(i, (tp_dtype)99, x, TP_F32, 2, &m), TP_ERR_DTYPE);
    CHECK_ERR(tp_metrics_compute(x, TP_F32, i, (tp_dtype)0, 2, &m), TP_ERR_DTYPE);
    /* Integers are compared as the numbers they hold. */
    uint8_t u[2] = {1, 4};
    CHECK_OK(tp_metrics_compute(i, TP_I32, x, TP_F32, 2, &m));
    CHECK(isinf(m.snr_db) && m.snr_db > 0 && m.max_abs == 0);
    CHECK_OK(tp_metrics_compute(u, TP_U8, i, TP_I32, 2, &m));
    CHECK(m.max_abs == 2 && fabs(m.mse - 2.0) < 1e-12);
    CHECK_ERR(tp_metrics_compute(NULL, TP_F32, x, TP_F32, 2, &m), TP_ERR_ARG);
    CHECK_ERR(tp_metrics_compute(x, TP_F32, NULL, TP_F32, 2, &m), TP_ERR_ARG);
}

TEST(metrics_large_matches_long_double)
{
    enum { N = 100000 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    th_gaussian(x, N, 8);
    th_gaussian(y, N, 9);
    for (int k = 0; k < N; k++) y[k] = x[k] + 0.01f * y[k];
    long double sx = 0, sy = 0, sxy = 0, se = 0, peak = 0, maxe = 0;
    for (int k = 0; k < N; k++) {
        long double a = x[k], b = y[k], d = a - b;
        sx += a * a; sy += b * b; sxy += a * b; se += d * d;
        if (fabsl(a) > peak) peak = fabsl(a);
        if (fabsl(d) > maxe) maxe = fabsl(d);
    }
    tp_metrics m;
    CHECK_OK(tp_metrics_compute(x, TP_F32, y, TP_F32, N, &m));
    double tol = 1e-9;
    CHECK(fabs(m.mse - (double)(se / N)) <= tol * m.mse);
    CHECK(fabs(m.snr_db - (double)(10 * log10l(sx / se))) <= 1e-9);
    CHECK(fabs(m.psnr_db - (double)(10 * log10l(peak * peak / (se / N)))) <= 1e-9);
    CHECK(m.max_abs == (double)maxe);
    CHECK(fabs(m.cosine - (double)(sxy / sqrtl(sx * sy))) <= 1e-12);
    CHECK(fabs(m.rel_l2 - (double)sqrtl(se / sx)) <= tol * m.rel_l2);
    CHECK(m.snr_db > 39 && m.snr_db < 41); /* noise at 1% of the signal: 40 dB */
    free(x);
    free(y);
}
