/* tp_kv: stored forms read back as documented, attention from the stored
 * form equals attention over what read returns, every byte held counted,
 * budgets and bad input refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "harness.h"
#include "runtime/kv_rotate.h"
#include "tpress.h"

enum { LAYERS = 2, HEADS = 3, DIM = 64, QHEADS = 9, ROW = HEADS * DIM };

static tp_kv *make(const char *method, tp_dtype dt, const tp_kv_allocator *a, uint64_t budget)
{
    tp_kv_config c = {LAYERS, HEADS, DIM, dt, method, budget, a};
    tp_kv *kv = NULL;
    return tp_is_error(tp_kv_create(&c, &kv)) ? NULL : kv;
}

/* Keys with a few outlier channels, as real post-RoPE keys have. */
static float *kv_data(size_t tokens, unsigned seed)
{
    float *x = malloc(tokens * ROW * sizeof *x);
    th_gaussian(x, tokens * ROW, seed);
    for (size_t t = 0; t < tokens; t++) x[t * ROW + 5] *= 8, x[t * ROW + DIM + 17] *= 6;
    return x;
}

static size_t append_in_chunks(tp_kv *kv, uint32_t layer, const float *k, const float *v, size_t tokens)
{
    static const size_t chunks[] = {1, 7, 32, 50, 3, 100};
    size_t done = 0;
    for (size_t i = 0; done < tokens; i++) {
        size_t n = chunks[i % 6] < tokens - done ? chunks[i % 6] : tokens - done;
        size_t r = tp_kv_append(kv, layer, k + done * ROW, v + done * ROW, n, NULL);
        if (tp_is_error(r)) return r;
        done += n;
    }
    return 0;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static const char *const methods[] = {"f16", "q8_0", "q4_0", "kivi:bits=2,group=32,residual=64",
                                      "kivi:bits=4,group=16,residual=0", "kivi:bits=8",
                                      "rotate|q4_0", "rotate:seed=7|kivi:bits=2,group=32,residual=32"};
/* the same with eviction, for the tests that hold for any method */
static const char *const evicting[] = {"evict:sink=4,window=100|f16", "evict:sink=0,window=64|q8_0",
                                       "evict:sink=40,window=33|rotate|kivi:bits=2,group=16,residual=16"};

/* Appending in one call or in uneven chunks stores the same thing; reading
 * twice gives the same values; the error stays within each method's step. */
TEST(kv_read_back_any_chunking)
{
    enum { T = 333 };
    float *k = kv_data(T, 1), *v = kv_data(T, 2);
    float *a_k = malloc(T * ROW * 4), *a_v = malloc(T * ROW * 4), *b_k = malloc(T * ROW * 4), *b_v = malloc(T * ROW * 4);
    /* half a step of each method for values up to A (rotated: up to the
     * largest head vector's norm, sqrt(DIM) A), with room for f16 scales */
    double A = 0;
    for (size_t i = 0; i < T * ROW; i++) A = fmax(A, fmax(fabs(k[i]), fabs(v[i])));
    const double tol[] = {A / 1024, 1.05 * A / 254, 1.05 * A / 16, 1.05 * A / 3, 1.05 * A / 15, 1.05 * A / 255,
                          1.05 * 8 * A / 16, 1.05 * 8 * A / 3};
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        tp_kv *one = make(methods[m], TP_F32, NULL, 0), *many = make(methods[m], TP_F32, NULL, 0);
        CHECK(one && many);
        if (!one || !many) { tp_kv_free(one); tp_kv_free(many); continue; }
        CHECK_OK(tp_kv_append(one, 1, k, v, T, NULL));
        CHECK_OK(append_in_chunks(many, 1, k, v, T));
        CHECK(tp_kv_tokens(one, 1) == T && tp_kv_tokens(many, 1) == T && tp_kv_tokens(one, 0) == 0);
        CHECK(tp_kv_read(one, 1, a_k, a_v) == T);
        CHECK(tp_kv_read(many, 1, b_k, b_v) == T);
        CHECK(!memcmp(a_k, b_k, T * ROW * 4) && !memcmp(a_v, b_v, T * ROW * 4));
        CHECK(tp_kv_read(one, 1, b_k, b_v) == T && !memcmp(a_k, b_k, T * ROW * 4));
        double ek = max_abs_diff(a_k, k, T * ROW), ev = max_abs_diff(a_v, v, T * ROW);
        CHECK(ek < tol[m] && ev < tol[m]);
        CHECK(ek > 0 || m == 0); /* lossy methods are lossy: the test sees their error */
        tp_kv_free(one);
        tp_kv_free(many);
    }
    free(k); free(v); free(a_k); free(a_v); free(b_k); free(b_v);
}

/* f16 stores f16 rounding exactly; kivi keeps its most recent residual
 * tokens (residual to residual + group - 1 of them) in f16 too. */
TEST(kv_f16_and_kivi_residual_exact)
{
    enum { T = 150, R = 64, G = 32 };
    float *k = kv_data(T, 3), *v = kv_data(T, 4), *rk = malloc(T * ROW * 4), *rv = malloc(T * ROW * 4);
    tp_kv *f = make("f16", TP_F32, NULL, 0), *q = make("kivi:bits=2,group=32,residual=64", TP_F32, NULL, 0);
    CHECK(f && q);
    CHECK_OK(tp_kv_append(f, 0, k, v, T, NULL));
    CHECK_OK(tp_kv_append(q, 0, k, v, T, NULL));
    CHECK(tp_kv_read(f, 0, rk, rv) == T);
    for (size_t i = 0; i < T * ROW; i++) CHECK(rk[i] == tp_half_to_float(tp_half_from_float(k[i])));
    CHECK(tp_kv_read(q, 0, rk, rv) == T);
    size_t staged = R + (T - R) % G, first = T - staged;
    for (size_t i = first * ROW; i < T * ROW; i++)
        CHECK(rk[i] == tp_half_to_float(tp_half_from_float(k[i])) && rv[i] == tp_half_to_float(tp_half_from_float(v[i])));
    CHECK(max_abs_diff(rk, k, first * ROW) > 0.01); /* older tokens are quantized */
    tp_kv_free(f);
    tp_kv_free(q);
    free(k); free(v); free(rk); free(rv);
}

/* The same input in f16 or bf16 reads back as from its f32 values. */
TEST(kv_input_dtypes)
{
    enum { T = 40 };
    float *k = kv_data(T, 5), *v = kv_data(T, 6), *a = malloc(T * ROW * 4), *b = malloc(T * ROW * 4);
    float *ka = malloc(T * ROW * 4), *kb = malloc(T * ROW * 4);
    uint16_t *kh = malloc(T * ROW * 2), *vh = malloc(T * ROW * 2);
    CHECK_OK(tp_convert(kh, TP_F16, k, TP_F32, T * ROW));
    CHECK_OK(tp_convert(vh, TP_F16, v, TP_F32, T * ROW));
    CHECK_OK(tp_convert(k, TP_F32, kh, TP_F16, T * ROW));
    CHECK_OK(tp_convert(v, TP_F32, vh, TP_F16, T * ROW));
    tp_kv *x = make("q8_0", TP_F16, NULL, 0), *y = make("q8_0", TP_F32, NULL, 0);
    CHECK(x && y);
    CHECK_OK(tp_kv_append(x, 0, kh, vh, T, NULL));
    CHECK_OK(tp_kv_append(y, 0, k, v, T, NULL));
    CHECK(tp_kv_read(x, 0, ka, a) == T && tp_kv_read(y, 0, kb, b) == T);
    CHECK(!memcmp(ka, kb, T * ROW * 4) && !memcmp(a, b, T * ROW * 4));
    tp_kv_free(x);
    tp_kv_free(y);
    free(k); free(v); free(a); free(b); free(ka); free(kb); free(kh); free(vh);
}

/* softmax(q K^T / sqrt(d)) V over what tp_kv_read returns, in double. */
static void reference_attend(const float *K, const float *V, size_t T, const float *q, float *out)
{
    double *s = malloc(T * sizeof *s);
    for (int h = 0; h < QHEADS; h++) {
        int kh = h / (QHEADS / HEADS);
        double mx = -INFINITY, sum = 0;
        for (size_t t = 0; t < T; t++) {
            double d = 0;
            for (int i = 0; i < DIM; i++) d += (double)q[h * DIM + i] * K[t * ROW + kh * DIM + i];
            s[t] = d / sqrt(DIM);
            mx = fmax(mx, s[t]);
        }
        for (size_t t = 0; t < T; t++) sum += (s[t] = exp(s[t] - mx));
        for (int i = 0; i < DIM; i++) {
            double o = 0;
            for (size_t t = 0; t < T; t++) o += s[t] * V[t * ROW + kh * DIM + i];
            out[h * DIM + i] = (float)(o / sum);
        }
    }
    free(s);
}

TEST(kv_attend_equals_read_then_attend)
{
    enum { T = 517 };
    float *k = kv_data(T, 7), *v = kv_data(T, 8), *rk = malloc(T * ROW * 4), *rv = malloc(T * ROW * 4);
    float q[QHEADS * DIM], got[QHEADS * DIM], want[QHEADS * DIM];
    th_gaussian(q, QHEADS * DIM, 9);
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        tp_kv *kv = make(methods[m], TP_F32, NULL, 0);
        CHECK(kv);
        if (!kv) continue;
        CHECK_ERR(tp_kv_attend(kv, 0, q, QHEADS, got), TP_ERR_ARG); /* empty */
        CHECK_OK(append_in_chunks(kv, 0, k, v, T));
        CHECK_OK(tp_kv_attend(kv, 0, q, QHEADS, got));
        CHECK(tp_kv_read(kv, 0, rk, rv) == T);
        reference_attend(rk, rv, T, q, want);
        CHECK(max_abs_diff(got, want, QHEADS * DIM) < 2e-5);
        CHECK_ERR(tp_kv_attend(kv, 0, q, 4, got), TP_ERR_ARG);
        CHECK_ERR(tp_kv_attend(kv, 2, q, QHEADS, got), TP_ERR_ARG);
        tp_kv_free(kv);
    }
    free(k); free(v); free(rk); free(rv);
}

TEST(kv_rotation_orthogonal)
{
    float signs[DIM], x[DIM], y[DIM];
    kv_rotation_signs(signs, DIM, 3);
    th_gaussian(x, DIM, 10);
    memcpy(y, x, sizeof x);
    kv_rotate(y, signs, DIM);
    double nx = 0, ny = 0;
    for (int i = 0; i < DIM; i++) nx += (double)x[i] * x[i], ny += (double)y[i] * y[i];
    CHECK(fabs(nx - ny) < 1e-4 * nx);
    CHECK(max_abs_diff(x, y, DIM) > 0.1);
    kv_unrotate(y, signs, DIM);
    CHECK(max_abs_diff(x, y, DIM) < 1e-6);
}

typedef struct {
    size_t live, calls;
} counter;

static void *count_alloc(void *ctx, size_t n)
{
    counter *c = ctx;
    void *p = malloc(n);
    if (p) c->live += n, c->calls++;
    return p;
}

static void count_release(void *ctx, void *p, size_t n)
{
    counter *c = ctx;
    c->live -= n;
    free(p);
}

/* The bytes reported are the bytes the allocator has handed out, at every
 * step, and all of them come back. */
TEST(kv_bytes_are_the_allocation)
{
    enum { T = 1024 };
    float *k = kv_data(T, 11), *v = kv_data(T, 12);
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        counter c = {0, 0};
        tp_kv_allocator a = {count_alloc, count_release, &c};
        tp_kv *kv = make(methods[m], TP_F32, &a, 0);
        CHECK(kv);
        if (!kv) continue;
        tp_kv_stats s;
        tp_kv_stats_get(kv, &s);
        CHECK(s.bytes == c.live && c.live > 0);
        for (size_t done = 0; done < T; done += 128) {
            CHECK_OK(tp_kv_append(kv, done % 256 ? 1 : 0, k + done * ROW, v + done * ROW, 128, NULL));
            tp_kv_stats_get(kv, &s);
            CHECK(s.bytes == c.live);
        }
        CHECK(s.tokens_held == T && s.tokens_appended == T && s.tokens_evicted == 0);
        CHECK(s.f16_bytes == (uint64_t)T * ROW * 4);
        if (!strcmp(methods[m], "q4_0")) CHECK(s.bits_per_element > 4.5 && s.bits_per_element < 4.6);
        if (!strcmp(methods[m], "q8_0")) CHECK(s.bits_per_element > 8.5 && s.bits_per_element < 8.6);
        tp_kv_free(kv);
        CHECK(c.live == 0);
    }
    free(k); free(v);
}

/* An append past the budget fails and changes nothing. */
TEST(kv_budget_refuses_and_keeps_state)
{
    enum { T = 256 };
    float *k = kv_data(T, 13), *v = kv_data(T, 14), *rk = malloc(T * ROW * 4), *rv = malloc(T * ROW * 4);
    tp_kv *probe = make("q4_0", TP_F32, NULL, 0);
    CHECK(probe);
    CHECK_OK(tp_kv_append(probe, 0, k, v, 100, NULL));
    tp_kv_stats s;
    tp_kv_stats_get(probe, &s);
    tp_kv_free(probe);
    tp_kv *kv = make("q4_0", TP_F32, NULL, s.bytes);
    CHECK(kv);
    if (kv) {
        CHECK_OK(tp_kv_append(kv, 0, k, v, 100, NULL));
        CHECK_ERR(tp_kv_append(kv, 0, k, v, 100, NULL), TP_ERR_NOMEM);
        tp_kv_stats t;
        tp_kv_stats_get(kv, &t);
        CHECK(t.bytes == s.bytes && tp_kv_tokens(kv, 0) == 100);
        CHECK_OK(tp_kv_append(kv, 0, k + 100 * ROW, v + 100 * ROW, 28, NULL)); /* fills the last page */
        CHECK(tp_kv_read(kv, 0, rk, rv) == 128);
        tp_kv_free(kv);
    }
    CHECK(!make("f16", TP_F32, NULL, 16));
    free(k); free(v); free(rk); free(rv);
}

TEST(kv_bad_input)
{
    static const char *const bad_specs[] = {"kivi:bits=3", "rotate", "foo", "kivi:group=7", "kivi:bits=2,zzz=1",
                                            "f16|rotate", "q8_0:bits=4", "", "|f16", "kivi:", "rotate:seed=x|f16",
                                            "rotate|rotate|f16", "kivi:residual=-1"};
    for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++) {
        tp_kv_config c = {1, 2, 64, TP_F32, bad_specs[i], 0, NULL};
        tp_kv *kv = NULL;
        size_t r = tp_kv_create(&c, &kv);
        CHECK(tp_is_error(r) && !kv);
        CHECK(tp_error_code(r) == TP_ERR_SPEC || tp_error_code(r) == TP_ERR_PARAM);
    }
    tp_kv *kv = NULL;
    tp_kv_config c = {1, 2, 48, TP_F32, "q8_0", 0, NULL};
    CHECK_ERR(tp_kv_create(&c, &kv), TP_ERR_PARAM);
    c.method = "rotate|f16";
    CHECK_ERR(tp_kv_create(&c, &kv), TP_ERR_PARAM);
    c.method = "kivi:group=32";
    CHECK_ERR(tp_kv_create(&c, &kv), TP_ERR_PARAM); /* 48 is no multiple of 32 */
    c.method = "f16";
    c.dtype = TP_I32;
    CHECK_ERR(tp_kv_create(&c, &kv), TP_ERR_DTYPE);
    c.dtype = TP_F32;
    c.n_kv_heads = 0;
    CHECK_ERR(tp_kv_create(&c, &kv), TP_ERR_ARG);
    c.n_kv_heads = 2;
    c.head_dim = 8192;
    CHECK_ERR(tp_kv_create(&c, &kv), TP_ERR_ARG);
    CHECK(!kv);
    c.head_dim = 64;
    CHECK_OK(tp_kv_create(&c, &kv));
    float x[128] = {0};
    CHECK_ERR(tp_kv_append(kv, 1, x, x, 1, NULL), TP_ERR_ARG);
    CHECK_ERR(tp_kv_append(kv, 0, NULL, x, 1, NULL), TP_ERR_ARG);
    CHECK_OK(tp_kv_append(kv, 0, x, x, 0, NULL));
    x[70] = NAN;
    CHECK_ERR(tp_kv_append(kv, 0, x, x + 1, 1, NULL), TP_ERR_NONFINITE);
    uint16_t h[128] = {0};
    h[3] = 0x7C00; /* f16 +Inf */
    tp_kv *kh = make("kivi", TP_F16, NULL, 0);
    CHECK(kh);
    CHECK_ERR(tp_kv_append(kh, 0, h + 1, h, 1, NULL), TP_ERR_NONFINITE);
    CHECK(tp_kv_tokens(kh, 0) == 0);
    tp_kv_free(kh);
    CHECK(tp_kv_tokens(kv, 0) == 0);
    tp_kv_free(kv);
    tp_kv_free(NULL);
}

/* Eviction keeps exactly the first sink and the last window tokens, as
 * the same method without eviction stores them; pages wholly outside
 * those are freed (fewer bytes, still exactly the allocation); attention
 * over what is kept equals attention over what read returns. */
TEST(kv_evict_keeps_sink_and_window)
{
    enum { T = 700 };
    float *k = kv_data(T, 15), *v = kv_data(T, 16), *ek = malloc(T * ROW * 4), *ev = malloc(T * ROW * 4);
    float *fk = malloc(T * ROW * 4), *fv = malloc(T * ROW * 4);
    static const unsigned sinks[] = {4, 0, 40}, windows[] = {100, 64, 33};
    static const char *const plain[] = {"f16", "q8_0", "rotate|kivi:bits=2,group=16,residual=16"};
    float q[QHEADS * DIM], got[QHEADS * DIM], want[QHEADS * DIM];
    th_gaussian(q, QHEADS * DIM, 17);
    for (size_t m = 0; m < 3; m++) {
        counter c = {0, 0};
        tp_kv_allocator a = {count_alloc, count_release, &c};
        tp_kv *e = make(evicting[m], TP_F32, &a, 0), *f = make(plain[m], TP_F32, NULL, 0);
        CHECK(e && f);
        if (!e || !f) { tp_kv_free(e); tp_kv_free(f); continue; }
        CHECK_OK(append_in_chunks(e, 0, k, v, T));
        CHECK_OK(append_in_chunks(f, 0, k, v, T));
        const size_t kept = sinks[m] + windows[m];
        CHECK(tp_kv_tokens(e, 0) == kept);
        CHECK(tp_kv_read(e, 0, ek, ev) == kept);
        CHECK(tp_kv_read(f, 0, fk, fv) == T);
        CHECK(!memcmp(ek, fk, sinks[m] * ROW * 4) && !memcmp(ev, fv, sinks[m] * ROW * 4));
        CHECK(!memcmp(ek + sinks[m] * ROW, fk + (T - windows[m]) * ROW, windows[m] * ROW * 4));
        CHECK(!memcmp(ev + sinks[m] * ROW, fv + (T - windows[m]) * ROW, windows[m] * ROW * 4));
        tp_kv_stats se, sf;
        tp_kv_stats_get(e, &se);
        tp_kv_stats_get(f, &sf);
        CHECK(se.bytes == c.live && se.bytes < sf.bytes / 2);
        CHECK(se.tokens_held == kept && se.tokens_evicted == T - kept && se.tokens_appended == T);
        CHECK_OK(tp_kv_attend(e, 0, q, QHEADS, got));
        reference_attend(ek, ev, kept, q, want);
        CHECK(max_abs_diff(got, want, QHEADS * DIM) < 2e-5);
        tp_kv_free(e);
        tp_kv_free(f);
        CHECK(c.live == 0);
    }
    tp_kv *kv = NULL;
    tp_kv_config bad = {1, 2, 64, TP_F32, "evict:window=0|f16", 0, NULL};
    CHECK_ERR(tp_kv_create(&bad, &kv), TP_ERR_PARAM);
    bad.method = "rotate|evict|f16";
    CHECK_ERR(tp_kv_create(&bad, &kv), TP_ERR_SPEC);
    bad.method = "evict:sink=1,window=1,x=2|f16";
    CHECK_ERR(tp_kv_create(&bad, &kv), TP_ERR_PARAM);
    free(k); free(v); free(ek); free(ev); free(fk); free(fv);
}
