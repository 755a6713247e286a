/* tp_choose_pipeline: measures a tensor and picks, among quantization,
 * low-rank and sparse pipelines, the one with the fewest estimated bits per
 * value whose estimated SNR reaches the bound.
 *
 * Estimates, per family:
 *  - int (2..8 bits, group 32, clip search): encoded and decoded for real on
 *    a row sample of at most 256 Ki values; bits from the payload formula.
 *  - svd / pca: from the singular values (all of them, LAPACK dgesdd without
 *    vectors, when the matrix has at most 4 Mi values; otherwise a
 *    randomized sketch of the top 256 and the exact Frobenius norm). The
 *    residual of rank r is the energy of the dropped values, so SNR(r) is
 *    known before encoding. Factors in f16 add ~1e-7 relative noise, int8
 *    factors INT8_FACTOR_NOISE (about 1e-4 measured on image patches, bench/struct.py).
 *  - sparse: bytes from the count of exact zeros (lossless; f16 values at
 *    the f16 noise floor).
 * Integer tensors and tensors with NaN/Inf get TP_LOSSLESS_SPEC. */
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/structure/lowrank.h"
#include "core/error.h"

#define SAMPLE_MAX (256u * 1024u)
#define EXACT_SPECTRUM_MAX (4u << 20)
#define SKETCH_RANK 256
#define INT_MARGIN_DB 0.3
#define F16_FACTOR_NOISE 1e-7   /* relative energy of f16 rounding of factors */
#define INT8_FACTOR_NOISE 1.5e-4 /* relative energy of int8 g32 rounding of both factors */
#define HEADER_BITS (8.0 * 160) /* frame header and checksum, about */

static void add_candidate(tp_choice_report *w, const char *spec, double bits, double snr)
{
    if (w->n_candidates >= TP_CHOICE_MAX_CANDIDATES) return;
    size_t i = w->n_candidates++;
    snprintf(w->candidates[i].spec, sizeof w->candidates[i].spec, "%s", spec);
    w->candidates[i].bits = bits;
    w->candidates[i].snr_db = snr;
}

static size_t finish(tp_choice_report *w, const char *spec, char *out, size_t cap)
{
    size_t len = strlen(spec);
    if (len + 1 > cap) return tp_fail(TP_ERR_DST_TOO_SMALL, "chosen spec needs %zu bytes", len + 1);
    memcpy(out, spec, len + 1);
    (void)w;
    return len;
}

/* Measured SNR of spec on t. */
static double trial_snr(const char *spec, const tp_tensor *t)
{
    tp_pipeline *p;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) return -INFINITY;
    void *frame;
    double snr = -INFINITY;
    size_t fs = tp_frame_encode_alloc(p, t, NULL, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(fs)) return snr;
    tp_metrics m;
    if (!tp_is_error(tp_frame_measure(frame, fs, t, &m))) snr = m.snr_db;
    free(frame);
    return snr;
}

/* Squared singular values, descending, of the m x n matrix a (destroyed);
 * *count of them, the sum of all (exact) in *total. Returns NULL when it
 * cannot. */
static double *spectrum(double *a, int m, int n, int *count, int *exact)
{
    int p = m < n ? m : n;
    double *s = NULL;
    if ((uint64_t)m * n <= EXACT_SPECTRUM_MAX) {
        s = malloc((size_t)p * sizeof *s);
        /* row-major m x n is column-major n x m: same singular values, no copy */
        if (!s || LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', n, m, a, n, s, NULL, 1, NULL, 1)) { free(s); return NULL; }
        *count = p;
        *exact = 1;
    } else {
        tp_lowrank_opts o = {.rank = p < SKETCH_RANK ? p : SKETCH_RANK, .method = 2, .seed = 1};
        tp_svd sv;
        int r;
        if (tp_is_error(tp_lowrank_svd(a, m, n, &o, &sv, &r))) { tp_svd_free(&sv); return NULL; }
        s = malloc((size_t)sv.l * sizeof *s);
        if (s) memcpy(s, sv.s, (size_t)sv.l * sizeof *s);
        *count = sv.l;
        *exact = 0;
        tp_svd_free(&sv);
    }
    for (int i = 0; s && i < *count; i++) s[i] *= s[i];
    return s;
}

/* Smallest rank whose dropped energy is at most allowed (absolute); -1 if
 * the measured values do not get there. */
static int rank_for_residual(const double *s2, int count, double total, double allowed)
{
    double kept = 0;
    for (int r = 0; r <= count; r++) {
        if (total - kept <= allowed) return r;
        if (r < count) kept += s2[r];
    }
    return -1;
}

static double rank_share(const double *s2, int count, double total, double share, int p)
{
    int r = rank_for_residual(s2, count, total, (1 - share) * total);
    return r < 0 ? -1 : (double)r / p;
}

size_t tp_choose_pipeline(const tp_tensor *t, double min_snr_db, char *spec_out, size_t cap, tp_choice_report *why)
{
    tp_choice_report local;
    tp_choice_report *w = why ? why : &local;
    memset(w, 0, sizeof *w);
    w->chosen = -1;
    w->rank90 = w->rank99 = -1;
    if (!t || !spec_out || !cap) return tp_fail(TP_ERR_ARG, "NULL argument");
    if (!(min_snr_db > -1e9) || min_snr_db > 1e9) return tp_fail(TP_ERR_ARG, "min_snr_db must be a number");
    uint64_t N;
    TP_TRY(tp_tensor_numel(t, &N));
    if (N && !t->data) return tp_fail(TP_ERR_ARG, "tensor data is NULL");
    w->numel = N;
    tp_lowrank_dims(t, &w->rows, &w->cols);
    if (!tp_dtype_is_float(t->dtype)) {
        snprintf(w->reason, sizeof w->reason, "%s tensor: lossless", tp_dtype_name(t->dtype));
        return finish(w, TP_LOSSLESS_SPEC, spec_out, cap);
    }
    if (N == 0) {
        snprintf(w->reason, sizeof w->reason, "empty tensor");
        return finish(w, "int:bits=8,group=32", spec_out, cap);
    }
    float *x = malloc(N * sizeof *x);
    if (!x) return tp_fail(TP_ERR_NOMEM, "choose: f32 copy of %llu values", (unsigned long long)N);
    /* the view may be unaligned (safetensors): convert through a copy */
    size_t es = tp_dtype_size(t->dtype);
    void *al = malloc(N * es);
    if (!al) { free(x); return tp_fail(TP_ERR_NOMEM, "choose: copy"); }
    memcpy(al, t->data, N * es);
    tp_convert(x, TP_F32, al, t->dtype, N);
    free(al);

    double sum = 0, sum2 = 0;
    uint64_t zeros = 0;
    for (uint64_t i = 0; i < N; i++) {
        if (!isfinite(x[i])) {
            free(x);
            snprintf(w->reason, sizeof w->reason, "NaN/Inf at %llu: lossless", (unsigned long long)i);
            return finish(w, TP_LOSSLESS_SPEC, spec_out, cap);
        }
        sum += x[i];
        sum2 += (double)x[i] * x[i];
        zeros += x[i] == 0.0f;
    }
    w->zero_fraction = (double)zeros / N;
    w->mean = sum / N;
    double m2 = 0, m4 = 0;
    for (uint64_t i = 0; i < N; i++) {
        double d = x[i] - w->mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    w->variance = m2 / N;
    w->kurtosis = m2 > 0 ? m4 / N / (w->variance * w->variance) : 0;
    double need = pow(10.0, -min_snr_db / 10.0); /* allowed error / signal energy */
    char spec[128];

    /* int on a row sample */
    uint64_t rows = w->rows, cols = w->cols;
    float *sample = x;
    uint64_t srows = rows;
    if (N > SAMPLE_MAX && cols <= SAMPLE_MAX) {
        srows = SAMPLE_MAX / cols;
        sample = malloc(srows * cols * sizeof *sample);
        if (!sample) { free(x); return tp_fail(TP_ERR_NOMEM, "choose: sample"); }
        for (uint64_t i = 0; i < srows; i++) memcpy(sample + i * cols, x + (i * rows / srows) * cols, cols * sizeof *sample);
    }
    tp_tensor st = {.dtype = TP_F32, .ndim = 2, .shape = {srows, cols}, .data = sample};
    double groups = (double)rows * (double)((cols + 31) / 32);
    for (int b = 2; b <= 8; b++) {
        snprintf(spec, sizeof spec, "int:bits=%d,group=32,search=1", b);
        double snr = trial_snr(spec, &st) - INT_MARGIN_DB;
        add_candidate(w, spec, b + (16 * groups + HEADER_BITS) / N, snr);
    }
    if (sample != x) free(sample);
    add_candidate(w, "fp16", 16 + HEADER_BITS / N, 70);

    /* low rank from the spectrum */
    int p = rows < cols ? (int)rows : (int)cols;
    if (p >= 2 && rows <= 0x7fffffff && cols <= 0x7fffffff) {
        double *a = malloc(N * sizeof *a);
        if (a) {
            for (uint64_t i = 0; i < N; i++) a[i] = x[i];
            int count = 0, exact = 0;
            double *s2 = spectrum(a, (int)rows, (int)cols, &count, &exact);
            if (s2) {
                w->spectrum_exact = exact;
                w->rank90 = rank_share(s2, count, sum2, 0.90, p);
                w->rank99 = rank_share(s2, count, sum2, 0.99, p);
                double per = (double)(rows + cols);
                int r = rank_for_residual(s2, count, sum2, (need - F16_FACTOR_NOISE) * sum2);
                if (r >= 0 && need > F16_FACTOR_NOISE) {
                    double res = sum2;
                    for (int k = 0; k < r; k++) res -= s2[k];
                    snprintf(spec, sizeof spec, "svd:rank=%d", r ? r : 1);
                    add_candidate(w, spec, (16.0 * (r ? r : 1) * per + HEADER_BITS) / N,
                                  -10 * log10(fmax(res / sum2, 0) + F16_FACTOR_NOISE));
                }
                r = rank_for_residual(s2, count, sum2, (need - INT8_FACTOR_NOISE) * sum2);
                if (r >= 1 && need > INT8_FACTOR_NOISE) {
                    double res = sum2;
                    for (int k = 0; k < r; k++) res -= s2[k];
                    snprintf(spec, sizeof spec, "svd:rank=%d,factor=pass | int:bits=8,group=32", r);
                    add_candidate(w, spec, ((8.0 + 0.5) * r * per + HEADER_BITS) / N,
                                  -10 * log10(fmax(res / sum2, 0) + INT8_FACTOR_NOISE));
                }
                free(s2);
            }
            /* pca pays off only when the column mean carries energy */
            double mean_energy = 0;
            double *mu = calloc(cols, sizeof *mu);
            if (mu) {
                for (uint64_t i = 0; i < N; i++) mu[i % cols] += x[i];
                for (uint64_t j = 0; j < cols; j++) { mu[j] /= (double)rows; mean_energy += mu[j] * mu[j] * (double)rows; }
                if (mean_energy > 0.01 * sum2) {
                    for (uint64_t i = 0; i < N; i++) a[i] = x[i] - mu[i % cols];
                    double tc = sum2 - mean_energy;
                    double *c2 = spectrum(a, (int)rows, (int)cols, &count, &exact);
                    if (c2) {
                        int rc = rank_for_residual(c2, count, tc, (need - F16_FACTOR_NOISE) * sum2);
                        if (rc >= 0 && need > F16_FACTOR_NOISE) {
                            double res = tc;
                            for (int k = 0; k < rc; k++) res -= c2[k];
                            snprintf(spec, sizeof spec, "pca:components=%d", rc ? rc : 1);
                            add_candidate(w, spec, (16.0 * ((double)cols + (rc ? rc : 1) * (double)(rows + cols)) + HEADER_BITS) / N,
                                          -10 * log10(fmax(res / sum2, 0) + F16_FACTOR_NOISE));
                        }
                        free(c2);
                    }
                }
                free(mu);
            }
            free(a);
        }
    }

    /* sparse: exact zeros only */
    if (w->zero_fraction >= 0.3) {
        double nnz = (double)(N - zeros);
        double gap = nnz > 0 ? (double)N / nnz : 1;
        double delta_bytes = nnz * ceil(log2(gap + 1) / 7 + 1e-9);
        double ix_bits = 8 * fmin((double)(N + 7) / 8, delta_bytes);
        add_candidate(w, "sparse", (ix_bits + nnz * 8.0 * (double)es + 160 + HEADER_BITS) / N, INFINITY);
        if (t->dtype != TP_F16)
            add_candidate(w, "sparse:values=f16", (ix_bits + nnz * 16.0 + 160 + HEADER_BITS) / N, 70);
    }
    add_candidate(w, TP_LOSSLESS_SPEC, 8.0 * (double)es, INFINITY);
    free(x);

    int best = -1, loudest = 0;
    for (size_t i = 0; i < w->n_candidates; i++) {
        if (w->candidates[i].snr_db > w->candidates[loudest].snr_db) loudest = (int)i;
        if (w->candidates[i].snr_db >= min_snr_db && (best < 0 || w->candidates[i].bits < w->candidates[best].bits)) best = (int)i;
    }
    if (best < 0) best = loudest;
    w->chosen = best;
    snprintf(w->reason, sizeof w->reason,
             "%.3g bits/value at est. %.1f dB (bound %.1f dB); zeros %.1f%%, kurtosis %.2f, rank share 90%%/99%% energy %.2f/%.2f",
             w->candidates[best].bits, w->candidates[best].snr_db, min_snr_db, 100 * w->zero_fraction, w->kurtosis,
             w->rank90, w->rank99);
    return finish(w, w->candidates[best].spec, spec_out, cap);
}
