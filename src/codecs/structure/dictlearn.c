/* Orthogonal matching pursuit and K-SVD dictionary learning.
 *
 * OMP (Pati, Rezaiifar, Krishnaprasad 1993): greedily add the atom most
 * correlated with the residual, then re-fit all chosen coefficients by
 * least squares, so the residual stays orthogonal to the chosen atoms.
 * Implemented as Batch-OMP (Rubinstein, Zibulevsky, Elad 2008, tech. rep.
 * CS-2008-08): with the Gram matrix G = D D^T and alpha0 = D x, the
 * correlations after a least-squares fit a on the support S are
 * alpha0 - G[:, S] a, and the fit uses a Cholesky factor of G[S, S] that
 * grows by one row per step; the signal itself is touched only through
 * alpha0 (one dgemm for a block of signals). Everything in double.
 *
 * K-SVD (Aharon, Elad, Bruckstein, IEEE TSP 2006): alternate OMP coding of
 * every signal and an update of each atom j together with the coefficients
 * of the signals using it, as the best rank-1 fit of their residual with
 * atom j's part added back. We use the approximate K-SVD step of
 * Rubinstein et al. 2008 (one power iteration instead of an SVD):
 * d = E g / ||E g||, g = E^T d. An atom no signal uses is replaced by the
 * signal with the largest residual (normalised). Initial atoms: distinct
 * non-zero signals in a seeded random order, then seeded Gaussian atoms. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/structure/dictlearn.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/rng.h"

#define BLOCK 512 /* signals per alpha0 block */

/* One signal. a0 = D x (K), xx = ||x||^2. Scratch: alpha (K), L (k*k),
 * a (k), y (k), mark (K bytes, all 0 on entry and exit). */
static void omp_one(const double *a0, double xx, const double *G, int K, int k, int32_t *idx, double *coef,
                    double *alpha, double *L, double *a, double *y, uint8_t *mark)
{
    for (int s = 0; s < k; s++) { idx[s] = -1; coef[s] = 0; }
    if (!(xx > 0)) return;
    memcpy(alpha, a0, (size_t)K * sizeof *alpha);
    int t = 0;
    while (t < k) {
        int j = -1;
        double best = 0;
        for (int q = 0; q < K; q++) {
            double v = fabs(alpha[q]);
            if (v > best && !mark[q]) { best = v; j = q; }
        }
        if (j < 0) break;
        /* Grow the Cholesky factor of G[S, S] by the row of atom j. */
        double gjj = G[(size_t)j * K + j];
        double *row = L + (size_t)t * k;
        double ww = 0;
        for (int i = 0; i < t; i++) {
            double w = G[(size_t)idx[i] * K + j];
            for (int l = 0; l < i; l++) w -= L[(size_t)i * k + l] * row[l];
            w /= L[(size_t)i * k + i];
            row[i] = w;
            ww += w * w;
        }
        double diag = gjj - ww;
        if (!(diag > 1e-12 * gjj)) break; /* j is (numerically) in the span of S */
        row[t] = sqrt(diag);
        idx[t] = j;
        mark[j] = 1;
        t++;
        /* L L^T a = a0[S] */
        for (int i = 0; i < t; i++) {
            double v = a0[idx[i]];
            for (int l = 0; l < i; l++) v -= L[(size_t)i * k + l] * y[l];
            y[i] = v / L[(size_t)i * k + i];
        }
        for (int i = t - 1; i >= 0; i--) {
            double v = y[i];
            for (int l = i + 1; l < t; l++) v -= L[(size_t)l * k + i] * a[l];
            a[i] = v / L[(size_t)i * k + i];
        }
        double res = xx;
        for (int i = 0; i < t; i++) res -= a[i] * a0[idx[i]];
        if (res <= 1e-14 * xx) break;
        for (int q = 0; q < K; q++) {
            double v = a0[q];
            for (int i = 0; i < t; i++) v -= G[(size_t)q * K + idx[i]] * a[i];
            alpha[q] = v;
        }
    }
    for (int i = 0; i < t; i++) { coef[i] = a[i]; mark[idx[i]] = 0; }
}

size_t tp_omp(const double *X, size_t n, int d, const double *D, int K, int k, int32_t *idx, double *coef)
{
    if (n == 0) return 0;
    size_t blk = n < BLOCK ? n : BLOCK;
    double *G = malloc((size_t)K * K * sizeof *G);
    double *A0 = malloc(blk * K * sizeof *A0);
    double *alpha = malloc((size_t)K * sizeof *alpha);
    double *L = malloc((size_t)k * k * sizeof *L);
    double *a = malloc((size_t)k * sizeof *a), *y = malloc((size_t)k * sizeof *y);
    uint8_t *mark = calloc((size_t)K, 1);
    size_t r = 0;
    if (!G || !A0 || !alpha || !L || !a || !y || !mark) { r = tp_fail(TP_ERR_NOMEM, "omp: work space for %d atoms", K); goto done; }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, K, d, 1.0, D, d, 0.0, G, K);
    for (int i = 0; i < K; i++)
        for (int j = 0; j < i; j++) G[(size_t)i * K + j] = G[(size_t)j * K + i];
    for (size_t i0 = 0; i0 < n; i0 += blk) {
        int m = (int)(n - i0 < blk ? n - i0 : blk);
        const double *Xb = X + i0 * d;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, K, d, 1.0, Xb, d, D, d, 0.0, A0, K);
        for (int i = 0; i < m; i++) {
            const double *x = Xb + (size_t)i * d;
            double xx = 0;
            for (int j = 0; j < d; j++) xx += x[j] * x[j];
            omp_one(A0 + (size_t)i * K, xx, G, K, k, idx + (i0 + i) * k, coef + (i0 + i) * k, alpha, L, a, y, mark);
        }
    }
done:
    free(G); free(A0); free(alpha); free(L); free(a); free(y); free(mark);
    return r;
}

static int normalize(double *v, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) s += v[j] * v[j];
    if (!(s > 0)) return 0;
    s = 1.0 / sqrt(s);
    for (int j = 0; j < d; j++) v[j] *= s;
    return 1;
}

static void init_dict(const double *X, size_t n, int d, int K, tp_rng *rng, double *D)
{
    size_t *perm = malloc(n * sizeof *perm);
    int got = 0;
    if (perm) {
        for (size_t i = 0; i < n; i++) perm[i] = i;
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)tp_rng_below(rng, i + 1), t = perm[i];
            perm[i] = perm[j]; perm[j] = t;
        }
        for (size_t i = 0; i < n && got < K; i++) {
            memcpy(D + (size_t)got * d, X + perm[i] * d, (size_t)d * sizeof *D);
            got += normalize(D + (size_t)got * d, d);
        }
        free(perm);
    }
    for (; got < K; got++) {
        double *v = D + (size_t)got * d;
        do
            for (int j = 0; j < d; j++) v[j] = tp_rng_normal(rng);
        while (!normalize(v, d));
    }
}

size_t tp_ksvd(const double *X, size_t n, int d, const tp_dict_opts *o, double *D, int *iters, int *timed_out)
{
    int K = o->atoms, k = o->k;
    tp_rng rng;
    tp_rng_seed(&rng, o->seed);
    *iters = 0;
    *timed_out = 0;
    init_dict(X, n, d, K, &rng, D);
    if (o->iterations <= 0 || n == 0) return 0;
    double t0 = tp_now_seconds();
    int32_t *idx = malloc(n * k * sizeof *idx);
    double *coef = malloc(n * k * sizeof *coef);
    double *R = malloc(n * d * sizeof *R);
    double *rn = malloc(n * sizeof *rn);
    size_t *start = malloc(((size_t)K + 1) * sizeof *start);
    size_t *users = malloc(n * k * sizeof *users); /* i * k + slot */
    double *dn = malloc((size_t)d * sizeof *dn);
    size_t r = 0;
    if (!idx || !coef || !R || !rn || !start || !users || !dn) { r = tp_fail(TP_ERR_NOMEM, "ksvd: %zu signals", n); goto done; }
    for (int it = 0; it < o->iterations; it++) {
        if (o->max_seconds > 0 && tp_now_seconds() - t0 > o->max_seconds) { *timed_out = 1; break; }
        r = tp_omp(X, n, d, D, K, k, idx, coef);
        if (tp_is_error(r)) goto done;
        memcpy(R, X, n * d * sizeof *R);
        memset(start, 0, ((size_t)K + 1) * sizeof *start);
        for (size_t i = 0; i < n; i++) {
            double *ri = R + i * d;
            for (int s = 0; s < k; s++) {
                int32_t j = idx[i * k + s];
                if (j < 0) continue;
                start[j + 1]++;
                const double *dj = D + (size_t)j * d;
                for (int c = 0; c < d; c++) ri[c] -= coef[i * k + s] * dj[c];
            }
            double s2 = 0;
            for (int c = 0; c < d; c++) s2 += ri[c] * ri[c];
            rn[i] = s2;
        }
        for (int j = 0; j < K; j++) start[j + 1] += start[j];
        for (size_t i = 0; i < n; i++)
            for (int s = 0; s < k; s++) {
                int32_t j = idx[i * k + s];
                if (j >= 0) users[start[j]++] = i * k + s;
            }
        for (int j = K; j > 0; j--) start[j] = start[j - 1]; /* undo the fill offsets */
        start[0] = 0;
        for (int j = 0; j < K; j++) {
            double *dj = D + (size_t)j * d;
            size_t u0 = start[j], u1 = start[j + 1];
            if (u0 == u1) { /* unused atom: the worst-coded signal instead */
                size_t w = 0;
                for (size_t i = 1; i < n; i++)
                    if (rn[i] > rn[w]) w = i;
                if (rn[w] > 0) {
                    memcpy(dj, R + w * d, (size_t)d * sizeof *dj);
                    if (normalize(dj, d)) rn[w] = 0;
                }
                continue;
            }
            memset(dn, 0, (size_t)d * sizeof *dn);
            for (size_t u = u0; u < u1; u++) {
                size_t i = users[u] / k;
                double g = coef[users[u]], *ri = R + i * d;
                for (int c = 0; c < d; c++) { ri[c] += g * dj[c]; dn[c] += g * ri[c]; }
            }
            if (!normalize(dn, d)) memcpy(dn, dj, (size_t)d * sizeof *dn);
            for (size_t u = u0; u < u1; u++) {
                size_t i = users[u] / k;
                double *ri = R + i * d, g = 0;
                for (int c = 0; c < d; c++) g += ri[c] * dn[c];
                for (int c = 0; c < d; c++) ri[c] -= g * dn[c];
                coef[users[u]] = g;
            }
            memcpy(dj, dn, (size_t)d * sizeof *dj);
        }
        ++*iters;
    }
done:
    free(idx); free(coef); free(R); free(rn); free(start); free(users); free(dn);
    return r;
}
