/* seedlm: blocks of C weights as U(seed) * t, after Shafipour et al. 2024,
 * "SeedLM: Compressing LLM Weights into Seeds of Pseudo-Random Generators".
 *
 * U(seed) is a C x P matrix filled from an S-bit Fibonacci LFSR started at
 * the seed; t holds P coefficients q_j * 2^(ebase + e), q_j Q-bit two's
 * complement integers and e a 4-bit exponent shared by the block (as in the
 * paper; ebase is one signed byte per tensor placing the 16 exponents).
 * Per block the stream stores seed (S bits), e (4 bits), q (P x Q bits).
 *
 * LFSR: x' = (x >> 1) | (b << (S-1)), b = XOR over taps t of bit (S - t) of
 * x; taps are the exponents of a primitive polynomial (S=16:
 * x^16 + x^14 + x^13 + x^11 + 1), so every nonzero seed runs through all
 * 2^S - 1 nonzero states. Entry U[i][j] = v(x_{S*(j*C + i)}), x_0 = seed,
 * x_{n+1} = step(x_n), v(x) = (x - 2^(S-1)) / 2^(S-1) in (-1, 1): column
 * after column, each entry S steps (S fresh bits) after the previous one.
 * Since every state sequence is a window of the one m-sequence, the decoder
 * keeps that sequence once (values) with each state's position, and U(seed)
 * is read from that table at pos(seed) + S*k: 2^S-entry tables, cached per S.
 *
 * Decoding: x_hat[i] = sum_j U[i][j] * t_j in f32, j ascending, no FMA.
 * Tail rule: the last numel mod C values are stored as f32.
 *
 * The encoder tries all 2^S - 1 seeds per block (as the paper does): for
 * each seed U = Q R (Gram-Schmidt, precomputed once for all seeds), the
 * least-squares coefficients are t = R^-1 Q^T w, quantized with the smallest
 * exponent that holds max|t|, and the error of the quantized t is
 * ||w||^2 - ||z||^2 + ||z - R t_q||^2 with z = Q^T w: about 60 flops per
 * seed and block, vectorised 8 seeds per AVX2 register, tiled so the seed
 * table streams from L2 for a batch of blocks, threads over blocks. */
#include "codecs/lowbit/seedlm.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "core/bitio.h"
#include "core/cpu.h"
#include "core/parallel.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static const uint8_t taps_table[TP_SEEDLM_MAX_S + 1][5] = {
    [8] = {8, 6, 5, 4, 0},    [9] = {9, 5, 0},         [10] = {10, 7, 0},       [11] = {11, 9, 0},
    [12] = {12, 6, 4, 1, 0},  [13] = {13, 4, 3, 1, 0}, [14] = {14, 5, 3, 1, 0}, [15] = {15, 14, 0},
    [16] = {16, 14, 13, 11, 0}, [17] = {17, 14, 0},    [18] = {18, 11, 0},      [19] = {19, 6, 2, 1, 0},
    [20] = {20, 17, 0},
};

const uint8_t *tp_seedlm_taps(unsigned S) { return taps_table[S <= TP_SEEDLM_MAX_S ? S : 0]; }

/* ---- cached m-sequence per S ------------------------------------------ */

typedef struct {
    float *val;    /* val[n] = v(state after n steps from state 1), n < period + MAX_C*MAX_P*MAX_S */
    uint32_t *pos; /* pos[x] = n with state_n = x (x = 1 .. 2^S-1)                           */
} mseq;

/* Matrix entries are S LFSR steps apart (each one S fresh bits). Entries
 * one step apart share S-1 bits, are correlated (rho = 1/2) and measured
 * 1.9 dB worse at C=8, P=3 on Gaussian data. */
#define ENTRY_STRIDE(S) (S)
static mseq cache[TP_SEEDLM_MAX_S + 1];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static const mseq *get_mseq(unsigned S)
{
    pthread_mutex_lock(&cache_lock);
    mseq *m = &cache[S];
    if (!m->val) {
        uint32_t period = (1u << S) - 1, extra = TP_SEEDLM_MAX_C * TP_SEEDLM_MAX_P * ENTRY_STRIDE(TP_SEEDLM_MAX_S);
        float *val = malloc(((size_t)period + extra) * sizeof *val);
        uint32_t *pos = malloc(((size_t)period + 1) * sizeof *pos);
        if (val && pos) {
            uint32_t x = 1;
            for (uint32_t n = 0; n < period + extra; n++) {
                if (n < period) pos[x] = n;
                val[n] = tp_seedlm_value(x, S);
                x = tp_seedlm_step(x, S);
            }
            pos[0] = 0;
            m->val = val;
            m->pos = pos;
        } else {
            free(val);
            free(pos);
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return m->val ? m : NULL;
}

/* ---- parameters and layout ------------------------------------------- */

enum { P_BLOCK, P_COEFS, P_SEEDBITS, P_QBITS, P_THREADS, N_PARAMS };

static const tp_param_def seedlm_params[N_PARAMS] = {
    [P_BLOCK] = {"block", TP_PARAM_INT, 8, 2, TP_SEEDLM_MAX_C, NULL, "C: weights per block"},
    [P_COEFS] = {"coefs", TP_PARAM_INT, 3, 1, TP_SEEDLM_MAX_P, NULL, "P: coefficients (basis vectors) per block"},
    [P_SEEDBITS] = {"seed_bits", TP_PARAM_INT, 16, TP_SEEDLM_MIN_S, TP_SEEDLM_MAX_S, NULL,
                    "S: LFSR length; the encoder tries all 2^S-1 seeds"},
    [P_QBITS] = {"qbits", TP_PARAM_INT, 4, 2, 8, NULL, "bits per coefficient (plus a 4-bit exponent per block)"},
    [P_THREADS] = {"threads", TP_PARAM_INT, 1, 1, 64, NULL, "encoder threads (result independent of the count)"},
};

typedef struct {
    unsigned C, P, S, Q, threads, rec_bits;
    uint64_t numel, nb, tail;
    size_t rec_bytes, payload;
} sl_layout;

static size_t seedlm_validate(const tp_params *p)
{
    if (tp_param_int(p, P_COEFS) > tp_param_int(p, P_BLOCK))
        return tp_fail(TP_ERR_PARAM, "seedlm: coefs=%d exceeds block=%d", tp_param_int(p, P_COEFS),
                       tp_param_int(p, P_BLOCK));
    return 0;
}

static size_t make_layout(const tp_params *p, const tp_tensor *t, sl_layout *L)
{
    memset(L, 0, sizeof *L);
    L->C = (unsigned)tp_param_int(p, P_BLOCK);
    L->P = (unsigned)tp_param_int(p, P_COEFS);
    L->S = (unsigned)tp_param_int(p, P_SEEDBITS);
    L->Q = (unsigned)tp_param_int(p, P_QBITS);
    L->threads = (unsigned)tp_param_int(p, P_THREADS);
    if (L->P > L->C) return tp_fail(TP_ERR_PARAM, "seedlm: coefs exceeds block");
    TP_TRY(tp_tensor_numel(t, &L->numel));
    if (L->numel >> 56) return tp_fail(TP_ERR_SHAPE, "seedlm: tensor too large");
    L->nb = L->numel / L->C;
    L->tail = L->numel % L->C;
    L->rec_bits = L->S + 4 + L->P * L->Q;
    L->rec_bytes = (size_t)((L->nb * L->rec_bits + 7) / 8);
    L->payload = 1 + L->rec_bytes + (size_t)L->tail * 4;
    return 0;
}

static size_t seedlm_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    sl_layout L;
    TP_TRY(make_layout(p, in, &L));
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

/* ---- the seed table for the encoder ---------------------------------- */

/* Per group of 8 seeds (lane l = seed 8g + l + 1; seeds past 2^S - 1 repeat
 * seed 1, which wins ties): QT[p][c][8], Rinv[p][q>=p][8], R[p][q>=p][8]. */
typedef struct {
    unsigned C, P, S;
    size_t groups, stride; /* floats per group */
    float *tab;
} seed_table;

static size_t tri(unsigned P) { return (size_t)P * (P + 1) / 2; }

static size_t table_build(seed_table *T, unsigned C, unsigned P, unsigned S)
{
    const mseq *m = get_mseq(S);
    if (!m) return tp_fail(TP_ERR_NOMEM, "seedlm: LFSR table");
    T->C = C; T->P = P; T->S = S;
    uint32_t n_seeds = (1u << S) - 1;
    T->groups = (n_seeds + 7) / 8;
    T->stride = ((size_t)P * C + 2 * tri(P)) * 8;
    T->tab = malloc(T->groups * T->stride * sizeof(float));
    if (!T->tab) return tp_fail(TP_ERR_NOMEM, "seedlm: seed table (%zu MiB)", T->groups * T->stride * 4 >> 20);
    for (size_t g = 0; g < T->groups; g++) {
        float *base = T->tab + g * T->stride, *qt = base, *ri = qt + P * C * 8, *rr = ri + tri(P) * 8;
        for (unsigned l = 0; l < 8; l++) {
            uint32_t seed = (uint32_t)(g * 8 + l + 1);
            if (seed > n_seeds) seed = 1;
            const float *u = m->val + m->pos[seed];
            double Qm[TP_SEEDLM_MAX_P][TP_SEEDLM_MAX_C], R[TP_SEEDLM_MAX_P][TP_SEEDLM_MAX_P] = {{0}};
            double Ri[TP_SEEDLM_MAX_P][TP_SEEDLM_MAX_P] = {{0}};
            int singular = 0;
            for (unsigned j = 0; j < P && !singular; j++) { /* modified Gram-Schmidt */
                double v[TP_SEEDLM_MAX_C], n0 = 0;
                for (unsigned i = 0; i < C; i++) { v[i] = u[(j * C + i) * ENTRY_STRIDE(S)]; n0 += v[i] * v[i]; }
                for (unsigned k = 0; k < j; k++) {
                    double d = 0;
                    for (unsigned i = 0; i < C; i++) d += Qm[k][i] * v[i];
                    R[k][j] = d;
                    for (unsigned i = 0; i < C; i++) v[i] -= d * Qm[k][i];
                }
                double nn = 0;
                for (unsigned i = 0; i < C; i++) nn += v[i] * v[i];
                if (!(nn > 1e-10 * n0) || n0 == 0) { singular = 1; break; }
                R[j][j] = sqrt(nn);
                for (unsigned i = 0; i < C; i++) Qm[j][i] = v[i] / R[j][j];
            }
            if (!singular) /* Rinv: upper triangular inverse */
                for (int j = (int)P - 1; j >= 0; j--) {
                    Ri[j][j] = 1.0 / R[j][j];
                    for (int k = j - 1; k >= 0; k--) {
                        double s = 0;
                        for (int i = k + 1; i <= j; i++) s += R[k][i] * Ri[i][j];
                        Ri[k][j] = -s / R[k][k];
                    }
                }
            /* A singular seed gets zeros: t = 0, its error is ||w||^2,
             * exactly what decoding q = 0 gives. */
            for (unsigned p = 0; p < P; p++)
                for (unsigned c = 0; c < C; c++) qt[(p * C + c) * 8 + l] = singular ? 0.0f : (float)Qm[p][c];
            size_t k = 0;
            for (unsigned p = 0; p < P; p++)
                for (unsigned q = p; q < P; q++, k++) {
                    ri[k * 8 + l] = singular ? 0.0f : (float)Ri[p][q];
                    rr[k * 8 + l] = singular ? 0.0f : (float)R[p][q];
                }
        }
    }
    return 0;
}

/* ---- error of one seed: scalar reference ------------------------------ */

/* Pairwise sum of a[0..n) into a[0] (short dependency chains for the
 * vector kernel; the scalar reference uses the same order, so both agree
 * bit for bit). */
#define TREE_SUM(a, n)                                                                                           \
    do {                                                                                                         \
        _Pragma("GCC unroll 8") for (unsigned m_ = (n); m_ > 1; m_ = (m_ + 1) / 2)                                \
        {                                                                                                        \
            _Pragma("GCC unroll 16") for (unsigned i_ = 0; i_ < m_ / 2; i_++) (a)[i_] = (a)[2 * i_] + (a)[2 * i_ + 1]; \
            if (m_ & 1) (a)[m_ / 2] = (a)[m_ - 1];                                                               \
        }                                                                                                        \
    } while (0)

#define MAGIC 12582912.0f /* 1.5 * 2^23: (x + MAGIC) - MAGIC rounds to nearest even */

typedef struct {
    float qmax, qmin, inv_qmax;
    int ebase;
} quant_cfg;

static float bits_f(int32_t b) { float f; memcpy(&f, &b, 4); return f; }
static int32_t f_bits(float f) { int32_t b; memcpy(&b, &f, 4); return b; }

/* Exponent (clamped) of the shared scale for max|t| = mx. */
static int32_t pick_exp(float mx, const quant_cfg *q)
{
    int32_t e = ((f_bits(mx * q->inv_qmax) + 0x7fffff) >> 23) - 127;
    if (e < q->ebase) e = q->ebase;
    if (e > q->ebase + 15) e = q->ebase + 15;
    return e;
}

static float seed_error(const seed_table *T, size_t s, const float *w, float ww, const quant_cfg *qc, int8_t *qout,
                        uint8_t *eout)
{
    const unsigned C = T->C, P = T->P;
    const float *base = T->tab + (s / 8) * T->stride, *qt = base, *ri = qt + P * C * 8, *rr = ri + tri(P) * 8;
    const size_t l = s % 8;
    float z[TP_SEEDLM_MAX_P], t[TP_SEEDLM_MAX_P], tq[TP_SEEDLM_MAX_P];
    for (unsigned p = 0; p < P; p++) {
        float pr[TP_SEEDLM_MAX_C] = {0};
        for (unsigned c = 0; c < C; c++) pr[c] = qt[(p * C + c) * 8 + l] * w[c];
        TREE_SUM(pr, C);
        z[p] = pr[0];
    }
    float mx = 0;
    size_t k = 0;
    for (unsigned p = 0; p < P; p++) {
        float a = ri[k * 8 + l] * z[p];
        k++;
        for (unsigned q = p + 1; q < P; q++, k++) a = a + ri[k * 8 + l] * z[q];
        t[p] = a;
        float ab = fabsf(a);
        mx = ab > mx ? ab : mx;
    }
    int32_t e = pick_exp(mx, qc);
    float sc = bits_f((e + 127) << 23), isc = bits_f((127 - e) << 23);
    for (unsigned p = 0; p < P; p++) {
        float v = t[p] * isc;
        v = v < qc->qmin ? qc->qmin : v;
        v = v > qc->qmax ? qc->qmax : v;
        v = (v + MAGIC) - MAGIC;
        if (qout) qout[p] = (int8_t)v;
        tq[p] = v * sc;
    }
    if (eout) *eout = (uint8_t)(e - qc->ebase);
    float err = 0, zz = 0;
    k = 0;
    for (unsigned p = 0; p < P; p++) {
        float a = rr[k * 8 + l] * tq[p];
        k++;
        for (unsigned q = p + 1; q < P; q++, k++) a = a + rr[k * 8 + l] * tq[q];
        float d = z[p] - a;
        err = err + d * d;
    }
    for (unsigned p = 0; p < P; p++) zz = zz + z[p] * z[p];
    return err + (ww - zz);
}

static float block_ww(const float *w, unsigned C)
{
    float ww = 0;
    for (unsigned c = 0; c < C; c++) ww = ww + w[c] * w[c];
    return ww;
}

static void search_ref(const seed_table *T, const float *w, size_t nb, const quant_cfg *qc, uint32_t *best)
{
    size_t n_seeds = ((size_t)1 << T->S) - 1;
    for (size_t b = 0; b < nb; b++) {
        const float *wb = w + b * T->C;
        float ww = block_ww(wb, T->C), be = INFINITY;
        size_t bs = 0;
        for (size_t s = 0; s < n_seeds; s++) {
            float e = seed_error(T, s, wb, ww, qc, NULL, NULL);
            if (e < be) { be = e; bs = s; }
        }
        best[b] = (uint32_t)bs;
    }
}

/* ---- error of 8 seeds at once: vector kernel -------------------------- */

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4), may_alias));

#define BATCH 32 /* blocks per pass over a tile of the seed table */
#define TILE 32  /* groups of 8 seeds per tile                     */

/* Macros, not functions: a v8f argument or result of a function compiled
 * without AVX would change the ABI (GCC's -Wpsabi). */
#define LD8(p) (*(const v8fu *)(const void *)(p))
#define SEL(m, a, b) ((v8f)(((v8i)(a) & (m)) | ((v8i)(b) & ~(m))))
#define SELI(m, a, b) (((a) & (m)) | ((b) & ~(m)))


/* best_e/best_g: per block, 8 lanes of the best error and its group.
 * Blocks go two at a time through the tile: they share the table loads and
 * give the core two independent dependency chains. An odd last block is
 * paired with itself (same result written twice). */
#define NB2 2
static inline __attribute__((always_inline)) void search_tile(const seed_table *T, size_t g0, size_t g1,
                                                              const float *w, const float *ww, size_t nb,
                                                              const quant_cfg *qc, float *best_e, int32_t *best_g,
                                                              const unsigned C, const unsigned P)
{
    const v8f qmax = (v8f){0} + qc->qmax, qmin = (v8f){0} + qc->qmin, invq = (v8f){0} + qc->inv_qmax;
    const v8f magic = (v8f){0} + MAGIC;
    const v8i lo = (v8i){0} + qc->ebase, hi = (v8i){0} + (qc->ebase + 15), absm = (v8i){0} + 0x7fffffff;
    for (size_t b = 0; b < nb; b += NB2) {
        size_t bi[NB2] = {b, b + 1 < nb ? b + 1 : b};
        v8f be[NB2], wwv[NB2];
        v8i bg[NB2];
        for (int k = 0; k < NB2; k++) {
            memcpy(&be[k], best_e + bi[k] * 8, sizeof be[k]);
            memcpy(&bg[k], best_g + bi[k] * 8, sizeof bg[k]);
            wwv[k] = (v8f){0} + ww[bi[k]];
        }
        const float *w0 = w + bi[0] * C, *w1 = w + bi[1] * C;
        for (size_t g = g0; g < g1; g++) {
            const float *base = T->tab + g * T->stride, *qt = base, *ri = qt + P * C * 8, *rr = ri + tri(P) * 8;
            /* Twice the size needed: the unrolled generic kernel has paths
             * that GCC cannot prove unreachable. */
            v8f z[NB2][2 * TP_SEEDLM_MAX_P], t[NB2][2 * TP_SEEDLM_MAX_P];
#pragma GCC unroll 8
            for (unsigned p = 0; p < P; p++) {
                v8f pr0[TP_SEEDLM_MAX_C] = {0}, pr1[TP_SEEDLM_MAX_C] = {0};
#pragma GCC unroll 32
                for (unsigned c = 0; c < C; c++) {
                    v8f q = LD8(qt + (p * C + c) * 8);
                    pr0[c] = q * w0[c];
                    pr1[c] = q * w1[c];
                }
                TREE_SUM(pr0, C);
                TREE_SUM(pr1, C);
                z[0][p] = pr0[0];
                z[1][p] = pr1[0];
            }
#pragma GCC unroll 2
            for (int k = 0; k < NB2; k++) {
                /* The quantized error is >= the least-squares error
                 * ww - ||z||^2 (also in floating point: adding a
                 * nonnegative sum cannot go below it), so lanes that do not
                 * beat their best on that bound cannot win: skip the group
                 * when no lane does. Exact, not a heuristic. */
                v8f zz = (v8f){0};
#pragma GCC unroll 8
                for (unsigned p = 0; p < P; p++) zz = zz + z[k][p] * z[k][p];
                v8f lsq = wwv[k] - zz;
                v4l hit = (v4l)(lsq < be[k]);
                if (!((hit[0] | hit[1]) | (hit[2] | hit[3]))) continue;
                v8f mx = (v8f){0};
                size_t kk = 0;
#pragma GCC unroll 8
                for (unsigned p = 0; p < P; p++) {
                    v8f a = LD8(ri + kk * 8) * z[k][p];
                    kk++;
#pragma GCC unroll 8
                    for (unsigned q = p + 1; q < P; q++, kk++) a = a + LD8(ri + kk * 8) * z[k][q];
                    t[k][p] = a;
                    v8f ab = (v8f)((v8i)a & absm);
                    mx = SEL(ab > mx, ab, mx);
                }
                v8i e = (((v8i)(mx * invq) + 0x7fffff) >> 23) - 127;
                e = SELI(e < lo, lo, e);
                e = SELI(e > hi, hi, e);
                v8f sc = (v8f)((e + 127) << 23), isc = (v8f)((127 - e) << 23);
                v8f err = (v8f){0};
#pragma GCC unroll 8
                for (unsigned p = 0; p < P; p++) {
                    v8f v = t[k][p] * isc;
                    v = SEL(v < qmin, qmin, v);
                    v = SEL(v > qmax, qmax, v);
                    v = (v + magic) - magic;
                    t[k][p] = v * sc;
                }
                kk = 0;
#pragma GCC unroll 8
                for (unsigned p = 0; p < P; p++) {
                    v8f a = LD8(rr + kk * 8) * t[k][p];
                    kk++;
#pragma GCC unroll 8
                    for (unsigned q = p + 1; q < P; q++, kk++) a = a + LD8(rr + kk * 8) * t[k][q];
                    v8f d = z[k][p] - a;
                    err = err + d * d;
                }
                err = err + lsq;
                v8i lt = err < be[k];
                be[k] = SEL(lt, err, be[k]);
                bg[k] = SELI(lt, (v8i){0} + (int32_t)g, bg[k]);
            }
        }
        for (int k = NB2 - 1; k >= 0; k--) {
            memcpy(best_e + bi[k] * 8, &be[k], sizeof be[k]);
            memcpy(best_g + bi[k] * 8, &bg[k], sizeof bg[k]);
        }
    }
}

typedef void (*tile_fn)(const seed_table *, size_t, size_t, const float *, const float *, size_t, const quant_cfg *,
                        float *, int32_t *);

#define TILE_FN(suffix, attr, Cc, Pc)                                                                              \
    attr static void tile_##suffix(const seed_table *T, size_t g0, size_t g1, const float *w, const float *ww,      \
                                   size_t nb, const quant_cfg *qc, float *be, int32_t *bg)                          \
    {                                                                                                              \
        search_tile(T, g0, g1, w, ww, nb, qc, be, bg, (Cc), (Pc));                                                 \
    }

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2")))
TILE_FN(avx2_8_3, AVX2, 8, 3)
TILE_FN(avx2_8_4, AVX2, 8, 4)
TILE_FN(avx2_12_3, AVX2, 12, 3)
TILE_FN(avx2_12_4, AVX2, 12, 4)
TILE_FN(avx2_16_3, AVX2, 16, 3)
TILE_FN(avx2_16_4, AVX2, 16, 4)
TILE_FN(avx2_any, AVX2, T->C, T->P)
#endif
TILE_FN(sse_any, , T->C, T->P)

static tile_fn pick_tile(unsigned C, unsigned P)
{
#if defined(__x86_64__)
    if (tp_cpu_features() & TP_CPU_AVX2) {
        if (C == 8 && P == 3) return tile_avx2_8_3;
        if (C == 8 && P == 4) return tile_avx2_8_4;
        if (C == 12 && P == 3) return tile_avx2_12_3;
        if (C == 12 && P == 4) return tile_avx2_12_4;
        if (C == 16 && P == 3) return tile_avx2_16_3;
        if (C == 16 && P == 4) return tile_avx2_16_4;
        return tile_avx2_any;
    }
#endif
    return tile_sse_any;
}

typedef struct {
    const seed_table *T;
    const float *w;
    const quant_cfg *qc;
    uint32_t *best;
    int ref, failed;
    tile_fn fn;
} search_job;

static void search_range(void *ctx, size_t begin, size_t end)
{
    search_job *j = ctx;
    if (j->ref) { search_ref(j->T, j->w + begin * j->T->C, end - begin, j->qc, j->best + begin); return; }
    float be[BATCH * 8], ww[BATCH];
    int32_t bg[BATCH * 8];
    const unsigned C = j->T->C;
    for (size_t b0 = begin; b0 < end; b0 += BATCH) {
        size_t nb = end - b0 < BATCH ? end - b0 : BATCH;
        const float *w = j->w + b0 * C;
        for (size_t b = 0; b < nb; b++) ww[b] = block_ww(w + b * C, C);
        for (size_t i = 0; i < nb * 8; i++) { be[i] = INFINITY; bg[i] = 0; }
        for (size_t g0 = 0; g0 < j->T->groups; g0 += TILE) {
            size_t g1 = g0 + TILE < j->T->groups ? g0 + TILE : j->T->groups;
            j->fn(j->T, g0, g1, w, ww, nb, j->qc, be, bg);
        }
        for (size_t b = 0; b < nb; b++) { /* first minimum in seed order */
            size_t bs = (size_t)bg[b * 8] * 8;
            float m = be[b * 8];
            for (size_t l = 1; l < 8; l++) {
                size_t s = (size_t)bg[b * 8 + l] * 8 + l;
                if (be[b * 8 + l] < m || (be[b * 8 + l] == m && s < bs)) { m = be[b * 8 + l]; bs = s; }
            }
            j->best[b0 + b] = (uint32_t)bs;
        }
    }
}

size_t tp_seedlm_search(const float *w, size_t nb, unsigned C, unsigned P, unsigned S, unsigned Q, int ebase,
                        unsigned threads, int ref, tp_seedlm_pick *out)
{
    if (C < 2 || C > TP_SEEDLM_MAX_C || P < 1 || P > TP_SEEDLM_MAX_P || P > C || S < TP_SEEDLM_MIN_S ||
        S > TP_SEEDLM_MAX_S || Q < 2 || Q > 8 || ebase < -126 || ebase > 111)
        return tp_fail(TP_ERR_ARG, "seedlm: search parameters out of range");
    seed_table T = {0};
    TP_TRY(table_build(&T, C, P, S));
    uint32_t *best = malloc((nb ? nb : 1) * sizeof *best);
    if (!best) { free(T.tab); return tp_fail(TP_ERR_NOMEM, "seedlm: search"); }
    quant_cfg qc = {(float)((1 << (Q - 1)) - 1), -(float)(1 << (Q - 1)), 1.0f / (float)((1 << (Q - 1)) - 1), ebase};
    search_job j = {&T, w, &qc, best, ref, 0, pick_tile(C, P)};
    tp_parfor(nb, threads, search_range, &j);
    for (size_t b = 0; b < nb; b++) {
        const float *wb = w + b * C;
        memset(out[b].q, 0, sizeof out[b].q);
        out[b].err = seed_error(&T, best[b], wb, block_ww(wb, C), &qc, out[b].q, &out[b].e);
        out[b].seed = best[b] + 1;
    }
    free(best);
    free(T.tab);
    return 0;
}

/* ---- encode / decode -------------------------------------------------- */

static size_t seedlm_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    sl_layout L;
    TP_TRY(make_layout(p, in, &L));
    if (cap < L.payload) return tp_fail(TP_ERR_DST_TOO_SMALL, "seedlm needs %zu bytes", L.payload);
    const float *x = in->data;
    float mx = 0;
    for (uint64_t i = 0; i < L.numel; i++) {
        if (!isfinite(x[i]))
            return tp_fail(TP_ERR_NONFINITE, "seedlm: value %llu is %s; use a lossless codec for such tensors",
                           (unsigned long long)i, isnan(x[i]) ? "NaN" : "Inf");
        if (fabsf(x[i]) > mx) mx = fabsf(x[i]);
    }
    /* The 16 exponents end at the smallest e with 2^e >= 4 max|x| / qmax. */
    int ebase = -126;
    if (mx > 0) {
        int e2;
        double f = frexp(4.0 * mx / ((1 << (L.Q - 1)) - 1), &e2); /* value = f * 2^e2, f in [0.5, 1) */
        int etop = f == 0.5 ? e2 - 1 : e2;
        ebase = etop - 15;
        if (ebase > 100) return tp_fail(TP_ERR_PARAM, "seedlm: values up to %g are too large", (double)mx);
        if (ebase < -126) ebase = -126;
    }
    uint8_t *o = dst;
    memset(o, 0, L.payload);
    o[0] = (uint8_t)(int8_t)ebase;
    tp_seedlm_pick *pk = malloc((L.nb ? L.nb : 1) * sizeof *pk);
    if (!pk) return tp_fail(TP_ERR_NOMEM, "seedlm: block picks");
    size_t r = L.nb ? tp_seedlm_search(x, (size_t)L.nb, L.C, L.P, L.S, L.Q, ebase, L.threads, 0, pk) : 0;
    if (tp_is_error(r)) { free(pk); return r; }
    tp_bitw bw = {o + 1, 0};
    uint32_t qmask = (1u << L.Q) - 1;
    for (uint64_t b = 0; b < L.nb; b++) {
        tp_bitw_put(&bw, pk[b].seed, L.S);
        tp_bitw_put(&bw, pk[b].e, 4);
        for (unsigned j = 0; j < L.P; j++) tp_bitw_put(&bw, (uint32_t)(int32_t)pk[b].q[j] & qmask, L.Q);
    }
    free(pk);
    memcpy(o + 1 + L.rec_bytes, x + L.nb * L.C, (size_t)L.tail * 4);
    tp_desc_bytes(out, L.payload);
    return L.payload;
}

static size_t seedlm_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                            const tp_tensor *dst_desc, void *dst)
{
    sl_layout L;
    size_t r = make_layout(p, dst_desc, &L);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "seedlm stage: %s", tp_last_error_detail());
    if (n != L.payload) return tp_fail(TP_ERR_CORRUPT, "seedlm payload is %zu bytes, expected %zu", n, L.payload);
    const uint8_t *in = src;
    int ebase = (int8_t)in[0];
    if (ebase < -126 || ebase > 111) return tp_fail(TP_ERR_CORRUPT, "seedlm: exponent base %d out of range", ebase);
    const uint8_t *rec = in + 1;
    uint64_t used = L.nb * L.rec_bits;
    if (used % 8 && (rec[L.rec_bytes - 1] >> (used % 8)))
        return tp_fail(TP_ERR_CORRUPT, "seedlm: nonzero padding bits after the blocks");
    float *out = dst;
    if (L.nb) {
        const mseq *m = get_mseq(L.S);
        if (!m) return tp_fail(TP_ERR_NOMEM, "seedlm: LFSR table");
        const unsigned C = L.C, P = L.P, Q = L.Q;
        uint64_t bit = 0;
        for (uint64_t b = 0; b < L.nb; b++, out += C) {
            uint32_t seed = tp_bits_read(rec, L.rec_bytes, bit, L.S);
            uint32_t e = tp_bits_read(rec, L.rec_bytes, bit + L.S, 4);
            bit += L.S + 4;
            if (seed == 0) return tp_fail(TP_ERR_CORRUPT, "seedlm: block %llu has seed 0", (unsigned long long)b);
            float sc = ldexpf(1.0f, ebase + (int)e), t[TP_SEEDLM_MAX_P];
            for (unsigned j = 0; j < P; j++, bit += Q) {
                int32_t q = (int32_t)tp_bits_read(rec, L.rec_bytes, bit, Q);
                if (q >= 1 << (Q - 1)) q -= 1 << Q;
                t[j] = (float)q * sc;
            }
            const float *u = m->val + m->pos[seed];
            for (unsigned i = 0; i < C; i++) {
                float a = u[i * ENTRY_STRIDE(L.S)] * t[0];
                for (unsigned j = 1; j < P; j++) a = a + u[(j * C + i) * ENTRY_STRIDE(L.S)] * t[j];
                out[i] = a;
            }
        }
    }
    memcpy(out, in + 1 + L.rec_bytes, (size_t)L.tail * 4);
    for (uint64_t i = 0; i < L.tail; i++)
        if (!isfinite(out[i])) return tp_fail(TP_ERR_CORRUPT, "seedlm: tail value is not finite");
    return (size_t)L.numel * sizeof(float);
}

const tp_codec tp_codec_seedlm = {
    .info = {.id = TP_CODEC_ID_seedlm, .name = "seedlm", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "SeedLM: blocks as LFSR-generated bases times few quantized coefficients (seed + exponent "
                        "+ coefficients per block)",
             .n_params = N_PARAMS, .params = seedlm_params},
    .validate = seedlm_validate, .bound = seedlm_bound, .encode = seedlm_encode, .decode = seedlm_decode,
};
