/* Dtypes and float conversions: f16 and bf16 checked against references
 * computed independently here (double arithmetic, rint), exhaustively where
 * the domain is small (all 65536 16-bit patterns) and on structured sweeps
 * plus random bit patterns where it is not (f32 inputs). The batch
 * tp_convert (F16C when the CPU has it) must agree bit for bit with the
 * scalar inline functions of core/half.h, whatever TP_CPU_MASK says. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/half.h"
#include "harness.h"
#include "core/rng.h"

static uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float float_of(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/* Value of half h, from the IEEE 754 definition. */
static double ref_half_value(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double s = (h & 0x8000) ? -1.0 : 1.0;
    if (e == 31) return m ? NAN : s * INFINITY;
    if (e == 0) return s * ldexp(m, -24);
    return s * ldexp(1024 + m, e - 25);
}

/* Nearest value of a (1 + mbits)-bit significand format with minimum
 * normal exponent emin, as the bit pattern without sign, ties to even.
 * Works in double: a / ulp is exact, rint rounds half to even. */
static uint32_t ref_round(double a, int mbits, int emin, uint32_t inf_bits)
{
    if (isinf(a)) return inf_bits;
    if (a == 0) return 0;
    int e;
    frexp(a, &e);
    int ex = e - 1 < emin ? emin : e - 1;  /* subnormals share emin's spacing */
    double r = rint(a / ldexp(1.0, ex - mbits));
    /* r in [0, 2^(mbits+1)]: the carry of r == 2^(mbits+1) into the
     * exponent falls out of the sum. */
    int64_t bits = ((int64_t)(ex - emin + 1) << mbits) + (int64_t)r - ((int64_t)1 << mbits);
    return bits >= (int64_t)inf_bits ? inf_bits : (uint32_t)bits;
}

static uint16_t ref_f32_to_f16(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    return (uint16_t)(sign | ref_round(fabs((double)f), 10, -14, 0x7c00));
}

static uint16_t ref_f32_to_bf16(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    return (uint16_t)(sign | ref_round(fabs((double)f), 7, -126, 0x7f80));
}

/* The NaN rule: sign and top payload bits kept, made quiet. */
static int f16_nan_ok(float f, uint16_t h)
{
    uint32_t x = bits_of(f);
    uint16_t want = (uint16_t)(((x >> 16) & 0x8000) | 0x7e00 | ((x >> 13) & 0x3ff));
    return h == want;
}

static int bf16_nan_ok(float f, uint16_t h)
{
    uint32_t x = bits_of(f);
    return h == (uint16_t)((x >> 16) | 0x40);
}

/* Checks one f32 value against the references; returns 0 on mismatch. */
static int check_f16(float f)
{
    uint16_t h = tp_f32_to_f16(f);
    if (isnan(f)) return f16_nan_ok(f, h) && tp_half_from_float(f) == h;
    return h == ref_f32_to_f16(f) && tp_half_from_float(f) == h;
}

static int check_bf16(float f)
{
    uint16_t h = tp_f32_to_bf16(f);
    if (isnan(f)) return bf16_nan_ok(f, h) && tp_bf16_from_float(f) == h;
    return h == ref_f32_to_bf16(f) && tp_bf16_from_float(f) == h;
}

TEST(dtype_f16_to_f32_exhaustive)
{
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        float f = tp_f16_to_f32(h);
        double want = ref_half_value(h);
        if (isnan(want)) {
            CHECK(isnan(f));
            uint32_t x = bits_of(f);
            CHECK((x >> 31) == (uint32_t)(h >> 15));              /* sign kept    */
            CHECK(((x >> 13) & 0x1ff) == (uint32_t)(h & 0x1ff)); /* payload kept */
            CHECK(x & 0x400000u);                                  /* quiet        */
        } else {
            CHECK((double)f == want);
            CHECK(!!signbit(f) == !!(h & 0x8000)); /* -0 stays -0 */
        }
        CHECK(bits_of(tp_half_to_float(h)) == bits_of(f));
        uint16_t back = tp_f32_to_f16(f);
        if (isnan(want)) CHECK(back == (h | 0x200));
        else CHECK(back == h);
    }
}

TEST(dtype_f32_to_f16_halfway_points)
{
    /* Every pair of adjacent finite halves (and the last one with the
     * overflow threshold 65536), both signs: the midpoint goes to the even
     * one, its neighbours to the nearer one. */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double lo = ref_half_value((uint16_t)h), hi = h + 1 < 0x7c00 ? ref_half_value((uint16_t)(h + 1)) : 65536.0;
        float mid = (float)((lo + hi) / 2);
        CHECK((double)mid == (lo + hi) / 2); /* exact in f32 */
        uint16_t even = (uint16_t)((h & 1) ? h + 1 : h);
        for (int s = 0; s < 2; s++) {
            float sg = s ? -1.0f : 1.0f;
            uint16_t sb = s ? 0x8000 : 0;
            CHECK(tp_f32_to_f16(sg * mid) == (sb | even));
            CHECK(tp_f32_to_f16(sg * nextafterf(mid, 0.0f)) == (sb | h));
            CHECK(tp_f32_to_f16(sg * nextafterf(mid, INFINITY)) == (sb | (h + 1)));
            CHECK(tp_f32_to_f16(sg * (float)lo) == (sb | h));
        }
    }
}

TEST(dtype_f32_to_f16_special_values)
{
    CHECK(tp_f32_to_f16(0.0f) == 0x0000);
    CHECK(tp_f32_to_f16(-0.0f) == 0x8000);
    CHECK(tp_f32_to_f16(1.0f) == 0x3c00);
    CHECK(tp_f32_to_f16(-2.0f) == 0xc000);
    CHECK(tp_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(tp_f32_to_f16(nextafterf(65520.0f, 0.0f)) == 0x7bff);
    CHECK(tp_f32_to_f16(65520.0f) == 0x7c00); /* halfway to 2^16 rounds to even: Inf */
    CHECK(tp_f32_to_f16(-65520.0f) == 0xfc00);
    CHECK(tp_f32_to_f16(1e9f) == 0x7c00);
    CHECK(tp_f32_to_f16(FLT_MAX) == 0x7c00);
    CHECK(tp_f32_to_f16(-FLT_MAX) == 0xfc00);
    CHECK(tp_f32_to_f16(INFINITY) == 0x7c00);
    CHECK(tp_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(tp_f32_to_f16(ldexpf(1, -24)) == 0x0001);      /* smallest subnormal  */
    CHECK(tp_f32_to_f16(ldexpf(1, -25)) == 0x0000);      /* tie -> even (zero)  */
    CHECK(tp_f32_to_f16(nextafterf(ldexpf(1, -25), 1)) == 0x0001);
    CHECK(tp_f32_to_f16(ldexpf(3, -25)) == 0x0002);      /* 1.5 ulp -> 2        */
    CHECK(tp_f32_to_f16(ldexpf(1, -14)) == 0x0400);      /* smallest normal     */
    CHECK(tp_f32_to_f16(ldexpf(1023.5f, -24)) == 0x0400); /* subnormal carries up */
    CHECK(tp_f32_to_f16(FLT_TRUE_MIN) == 0x0000);
    CHECK(tp_f32_to_f16(-FLT_TRUE_MIN) == 0x8000);
    CHECK(tp_f32_to_f16(FLT_MIN) == 0x0000);
    /* NaNs: quiet, sign and top payload bits kept. */
    CHECK(tp_f32_to_f16(float_of(0x7fc00000u)) == 0x7e00);
    CHECK(tp_f32_to_f16(float_of(0xffc00000u)) == 0xfe00);
    CHECK(tp_f32_to_f16(float_of(0x7f800001u)) == 0x7e00); /* payload below f16 bits: still NaN */
    CHECK(tp_f32_to_f16(float_of(0x7fa02000u)) == 0x7f01); /* signalling -> quiet, payload kept */
    CHECK(tp_f32_to_f16(float_of(0x7fffe000u)) == 0x7fff);
}

TEST(dtype_f32_to_f16_sweep_and_random)
{
    /* Every sign/exponent/top-10-mantissa pattern, with the 13 dropped bits
     * set to exact, just above exact, just below/at/above half, and max. */
    static const uint32_t low[] = {0, 1, 0xfff, 0x1000, 0x1001, 0x1fff};
    for (uint32_t hi = 0; hi < (1u << 19); hi++)
        for (size_t j = 0; j < sizeof low / sizeof low[0]; j++) {
            float f = float_of(hi << 13 | low[j]);
            if (!check_f16(f)) {
                char msg[96];
                snprintf(msg, sizeof msg, "f32 %08x -> f16 %04x, want %04x", bits_of(f), tp_f32_to_f16(f),
                         ref_f32_to_f16(f));
                th_fail(__FILE__, __LINE__, msg);
                return;
            }
        }
    tp_rng s = {12345};
    for (int i = 0; i < 2000000; i++) {
        float f = float_of((uint32_t)tp_rng_next(&s));
        CHECK(check_f16(f));
    }
}

TEST(dtype_bf16_exhaustive)
{
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t h = (uint16_t)i;
        float f = tp_bf16_to_f32(h);
        CHECK(bits_of(f) == (uint32_t)h << 16); /* bf16 is the top half of f32 */
        CHECK(bits_of(tp_bf16_to_float(h)) == bits_of(f));
        uint16_t back = tp_f32_to_bf16(f);
        if (isnan(f)) CHECK(back == (h | 0x40));
        else CHECK(back == h);
    }
}

TEST(dtype_f32_to_bf16_sweep_and_random)
{
    static const uint32_t low[] = {0, 1, 0x7fff, 0x8000, 0x8001, 0xffff};
    for (uint32_t hi = 0; hi < (1u << 16); hi++)
        for (size_t j = 0; j < sizeof low / sizeof low[0]; j++) CHECK(check_bf16(float_of(hi << 16 | low[j])));
    tp_rng s = {777};
    for (int i = 0; i < 2000000; i++) CHECK(check_bf16(float_of((uint32_t)tp_rng_next(&s))));
    CHECK(tp_f32_to_bf16(FLT_MAX) == 0x7f80);                 /* rounds up to Inf    */
    CHECK(tp_f32_to_bf16(float_of(0x7f7f7fffu)) == 0x7f7f);   /* just below halfway  */
    CHECK(tp_f32_to_bf16(float_of(0x3f808000u)) == 0x3f80);   /* tie -> even (down)  */
    CHECK(tp_f32_to_bf16(float_of(0x3f818000u)) == 0x3f82);   /* tie -> even (up)    */
    CHECK(tp_f32_to_bf16(-0.0f) == 0x8000);
    CHECK(tp_f32_to_bf16(float_of(0x00008000u)) == 0x0000);   /* subnormal tie -> 0  */
    CHECK(tp_f32_to_bf16(float_of(0x00018000u)) == 0x0002);
    CHECK(tp_f32_to_bf16(float_of(0x7f800001u)) == 0x7fc0);   /* low-payload NaN stays NaN */
    CHECK(tp_f32_to_bf16(float_of(0xff812345u)) == 0xffc1);
}

/* Random f32 bit patterns, one in eight replaced by a special value. */
static void fill_f32_bits(float *x, size_t n, uint64_t seed)
{
    static const uint32_t special[] = {0, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u,
                                       0xffa02000u,   0x477ff000u, 0x477fefffu, 0x33000000u, 0x33000001u,
                                       0x387fc000u,   0x00000001u, 0x3f800000u};
    tp_rng s = {seed};
    for (size_t i = 0; i < n; i++) {
        uint64_t r = tp_rng_next(&s);
        uint32_t u = (uint32_t)r;
        if ((r >> 32) % 8 == 0) u = special[(r >> 40) % (sizeof special / sizeof special[0])];
        /* Bias toward the f16 range, where the rounding work happens. */
        else if ((r >> 32) % 8 < 5) u = (u & 0x807fffffu) | ((uint32_t)(100 + (r >> 48) % 50) << 23);
        x[i] = float_of(u);
    }
}

TEST(dtype_convert_batch_matches_scalar)
{
    size_t n = 1 << 21;
    float *f = malloc(n * sizeof *f), *f2 = malloc(n * sizeof *f2);
    uint16_t *h = malloc(n * sizeof *h);
    CHECK(f && f2 && h);
    fill_f32_bits(f, n, 99);
    int ok = 1;
    /* f32 -> f16 (F16C path when available), at odd lengths and offsets
     * too, so that the vector loop and its scalar tail both run. */
    CHECK_OK(tp_convert(h, TP_F16, f, TP_F32, n));
    for (size_t i = 0; i < n && ok; i++) ok = h[i] == tp_half_from_float(f[i]);
    for (size_t len = 0; len < 40 && ok; len++)
        for (size_t off = 0; off < 3 && ok; off++) {
            uint16_t tmp[48];
            size_t r = tp_convert(tmp, TP_F16, f + 1000 + off, TP_F32, len);
            ok = !tp_is_error(r);
            for (size_t i = 0; i < len && ok; i++) ok = tmp[i] == tp_half_from_float(f[1000 + off + i]);
        }
    if (!ok) { free(f); free(f2); free(h); CHECK(!"f32->f16 batch differs from scalar"); }

    /* f16 -> f32: every pattern, then random ones. */
    for (size_t i = 0; i < n; i++) h[i] = (uint16_t)(i < 65536 ? i : (uint16_t)bits_of(f[i]) ^ (uint16_t)(bits_of(f[i]) >> 16));
    size_t r = tp_convert(f2, TP_F32, h, TP_F16, n);
    ok = !tp_is_error(r);
    for (size_t i = 0; i < n && ok; i++) ok = bits_of(f2[i]) == bits_of(tp_half_to_float(h[i]));
    if (!ok) {
        size_t i = 0;
        while (i < n && bits_of(f2[i]) == bits_of(tp_half_to_float(h[i]))) i++;
        char msg[128];
        snprintf(msg, sizeof msg, "f16->f32 batch differs: h=%04x batch %08x scalar %08x", i < n ? h[i] : 0,
                 i < n ? bits_of(f2[i]) : 0, i < n ? bits_of(tp_half_to_float(h[i])) : 0);
        free(f); free(f2); free(h);
        th_fail(__FILE__, __LINE__, msg);
        return;
    }

    /* bf16 both ways. */
    r = tp_convert(h, TP_BF16, f, TP_F32, n);
    ok = !tp_is_error(r);
    for (size_t i = 0; i < n && ok; i++) ok = h[i] == tp_bf16_from_float(f[i]);
    r = tp_convert(f2, TP_F32, h, TP_BF16, n);
    ok = ok && !tp_is_error(r);
    for (size_t i = 0; i < n && ok; i++) ok = bits_of(f2[i]) == bits_of(tp_bf16_to_float(h[i]));
    free(f); free(f2); free(h);
    CHECK(ok);
}

TEST(dtype_convert_f64_and_cross)
{
    enum { N = 4096 };
    static float f[N], f2[N];
    static double d[N], d2[N];
    static uint16_t h[N], b[N], h2[N];
    fill_f32_bits(f, N, 5);
    for (size_t i = 0; i < N; i++) d[i] = (double)f[i] * (1.0 + ldexp(1, -40)); /* not exactly an f32 */
    d[0] = 1e300; d[1] = -1e300; d[2] = 1e-300; d[3] = -0.0;
    /* f64 -> f32 is a C cast; f64 -> f16/bf16 goes through f32 (documented). */
    CHECK_OK(tp_convert(f2, TP_F32, d, TP_F64, N));
    for (size_t i = 0; i < N; i++) {
        float want = (float)d[i];
        CHECK(bits_of(f2[i]) == bits_of(want) || (isnan(want) && isnan(f2[i])));
    }
    CHECK_OK(tp_convert(h, TP_F16, d, TP_F64, N));
    CHECK_OK(tp_convert(b, TP_BF16, d, TP_F64, N));
    for (size_t i = 0; i < N; i++) {
        CHECK(h[i] == tp_half_from_float((float)d[i]));
        CHECK(b[i] == tp_bf16_from_float((float)d[i]));
    }
    /* Widening to f64 is exact. */
    CHECK_OK(tp_convert(d2, TP_F64, h, TP_F16, N));
    for (size_t i = 0; i < N; i++) CHECK(isnan(d2[i]) ? isnan(tp_half_to_float(h[i])) : d2[i] == (double)tp_half_to_float(h[i]));
    CHECK_OK(tp_convert(d2, TP_F64, b, TP_BF16, N));
    for (size_t i = 0; i < N; i++) CHECK(isnan(d2[i]) ? isnan(tp_bf16_to_float(b[i])) : d2[i] == (double)tp_bf16_to_float(b[i]));
    CHECK_OK(tp_convert(d2, TP_F64, f, TP_F32, N));
    for (size_t i = 0; i < N; i++) CHECK(isnan(f[i]) ? isnan(d2[i]) : d2[i] == (double)f[i]);
    /* f16 <-> bf16 via f32. */
    CHECK_OK(tp_convert(b, TP_BF16, h, TP_F16, N));
    for (size_t i = 0; i < N; i++) CHECK(b[i] == tp_bf16_from_float(tp_half_to_float(h[i])));
    CHECK_OK(tp_convert(h2, TP_F16, b, TP_BF16, N));
    for (size_t i = 0; i < N; i++) CHECK(h2[i] == tp_half_from_float(tp_bf16_to_float(b[i])));
    /* Same dtype: a copy, bits untouched (NaN payloads too). */
    CHECK_OK(tp_convert(f2, TP_F32, f, TP_F32, N));
    CHECK(!memcmp(f2, f, sizeof f));
    CHECK_OK(tp_convert(h2, TP_F16, h, TP_F16, N));
    CHECK(!memcmp(h2, h, sizeof h));
}

TEST(dtype_convert_errors)
{
    float f[4] = {0};
    int32_t i32[4] = {0};
    CHECK_ERR(tp_convert(f, TP_F32, i32, TP_I32, 4), TP_ERR_DTYPE);
    CHECK_ERR(tp_convert(i32, TP_I32, f, TP_F32, 4), TP_ERR_DTYPE);
    CHECK_ERR(tp_convert(f, TP_F32, f, TP_DTYPE_INVALID, 4), TP_ERR_DTYPE);
    CHECK_ERR(tp_convert(f, TP_F32, f, (tp_dtype)99, 4), TP_ERR_DTYPE);
    CHECK_ERR(tp_convert(NULL, TP_F16, f, TP_F32, 4), TP_ERR_ARG);
    CHECK_ERR(tp_convert(f, TP_F32, NULL, TP_F16, 4), TP_ERR_ARG);
    CHECK_OK(tp_convert(NULL, TP_F16, NULL, TP_F32, 0));
}

TEST(dtype_names_and_sizes)
{
    static const struct { tp_dtype dt; const char *name, *np, *st; size_t size; } rows[] = {
        {TP_F32, "f32", "float32", "F32", 4},   {TP_F16, "f16", "float16", "F16", 2},
        {TP_BF16, "bf16", "bfloat16", "BF16", 2}, {TP_F64, "f64", "float64", "F64", 8},
        {TP_I8, "i8", "int8", "I8", 1},         {TP_U8, "u8", "uint8", "U8", 1},
        {TP_I16, "i16", "int16", "I16", 2},     {TP_U16, "u16", "uint16", "U16", 2},
        {TP_I32, "i32", "int32", "I32", 4},     {TP_U32, "u32", "uint32", "U32", 4},
        {TP_I64, "i64", "int64", "I64", 8},     {TP_U64, "u64", "uint64", "U64", 8},
        {TP_BOOL, "bool", "bool_", "BOOL", 1},
    };
    CHECK(sizeof rows / sizeof rows[0] == TP_DTYPE__MAX - 1);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        CHECK(tp_dtype_size(rows[i].dt) == rows[i].size);
        CHECK(!strcmp(tp_dtype_name(rows[i].dt), rows[i].name));
        CHECK(tp_dtype_from_name(rows[i].name) == rows[i].dt);
        CHECK(tp_dtype_from_name(rows[i].np) == rows[i].dt);
        CHECK(tp_dtype_from_name(rows[i].st) == rows[i].dt);
        CHECK(tp_dtype_is_float(rows[i].dt) == (i < 4));
    }
    CHECK(tp_dtype_from_name("FLOAT32") == TP_F32); /* any case */
    CHECK(tp_dtype_from_name("Bf16") == TP_BF16);
    CHECK(tp_dtype_from_name("") == TP_DTYPE_INVALID);
    CHECK(tp_dtype_from_name("f8") == TP_DTYPE_INVALID);
    CHECK(tp_dtype_from_name("f32 ") == TP_DTYPE_INVALID);
    CHECK(tp_dtype_from_name("invalid") == TP_DTYPE_INVALID);
    CHECK(tp_dtype_from_name(NULL) == TP_DTYPE_INVALID);
    CHECK(tp_dtype_size(TP_DTYPE_INVALID) == 0);
    CHECK(tp_dtype_size(TP_DTYPE__MAX) == 0);
    CHECK(tp_dtype_size((tp_dtype)-1) == 0);
    CHECK(!strcmp(tp_dtype_name(TP_DTYPE_INVALID), "invalid"));
    CHECK(!strcmp(tp_dtype_name((tp_dtype)99), "invalid"));
    CHECK(!strcmp(tp_dtype_name((tp_dtype)-3), "invalid"));
    CHECK(!tp_dtype_is_float(TP_DTYPE_INVALID));
}

TEST(dtype_tensor_numel)
{
    tp_tensor t = {TP_F32, 2, {3, 5}, NULL};
    uint64_t n = 0;
    CHECK_OK(tp_tensor_numel(&t, &n));
    CHECK(n == 15);
    CHECK(tp_tensor_nbytes(&t) == 60);
    CHECK_OK(tp_tensor_numel(&t, NULL));
    t.ndim = 0; /* scalar: one element, whatever shape says */
    CHECK_OK(tp_tensor_numel(&t, &n));
    CHECK(n == 1);
    t.ndim = 3; t.shape[2] = 0;
    CHECK_OK(tp_tensor_numel(&t, &n));
    CHECK(n == 0);
    CHECK(tp_tensor_nbytes(&t) == 0);
    /* A zero dimension makes the product 0 wherever it stands, even after
     * dimensions whose product overflows; a dimension beyond the size
     * limit is refused either way. */
    tp_tensor z = {TP_F64, 3, {(uint64_t)1 << 40, (uint64_t)1 << 40, 0}, NULL};
    n = 7;
    CHECK_OK(tp_tensor_numel(&z, &n));
    CHECK(n == 0);
    z.shape[0] = 0; z.shape[2] = (uint64_t)1 << 40;
    n = 7;
    CHECK_OK(tp_tensor_numel(&z, &n));
    CHECK(n == 0);
    tp_tensor zbig = {TP_F64, 3, {UINT64_MAX, UINT64_MAX, 0}, NULL};
    CHECK_ERR(tp_tensor_numel(&zbig, &n), TP_ERR_SHAPE);
    zbig.shape[0] = 0; zbig.shape[2] = UINT64_MAX;
    CHECK_ERR(tp_tensor_numel(&zbig, &n), TP_ERR_SHAPE);
    tp_tensor e8 = {TP_U8, 8, {1, 2, 1, 2, 1, 2, 1, 2}, NULL};
    CHECK_OK(tp_tensor_numel(&e8, &n));
    CHECK(n == 16);
    e8.ndim = 9;
    CHECK_ERR(tp_tensor_numel(&e8, &n), TP_ERR_SHAPE);
    CHECK(strstr(tp_last_error_detail(), "9") != NULL);
    e8.ndim = 1000;
    CHECK_ERR(tp_tensor_nbytes(&e8), TP_ERR_SHAPE);
    /* Element count overflow. */
    tp_tensor big = {TP_U8, 2, {(uint64_t)1 << 32, (uint64_t)1 << 32}, NULL};
    CHECK_ERR(tp_tensor_numel(&big, &n), TP_ERR_SHAPE);
    tp_tensor big3 = {TP_U8, 3, {(uint64_t)1 << 32, (uint64_t)1 << 31, 3}, NULL};
    CHECK_ERR(tp_tensor_numel(&big3, &n), TP_ERR_SHAPE);
    /* Size limits: below 2^62 bytes and below SIZE_MAX/16 elements. */
    tp_tensor lim = {TP_F32, 1, {((uint64_t)1 << 60) - 1}, NULL};
    CHECK_OK(tp_tensor_numel(&lim, &n));
    CHECK(n == ((uint64_t)1 << 60) - 1);
    lim.shape[0]++;
    CHECK_ERR(tp_tensor_numel(&lim, &n), TP_ERR_SHAPE);
    CHECK_ERR(tp_tensor_nbytes(&lim), TP_ERR_SHAPE);
    tp_tensor lim2 = {TP_U8, 2, {((uint64_t)1 << 30) - 1, ((uint64_t)1 << 30) + 1}, NULL};
    CHECK_OK(tp_tensor_numel(&lim2, &n));
    lim2.shape[0] += 2;
    CHECK_ERR(tp_tensor_numel(&lim2, &n), TP_ERR_SHAPE);
    tp_tensor lim3 = {TP_F64, 1, {((uint64_t)1 << 59) + 1}, NULL};
    CHECK_ERR(tp_tensor_numel(&lim3, &n), TP_ERR_SHAPE);
    lim3.shape[0] -= 1;
    CHECK_OK(tp_tensor_numel(&lim3, &n));
    /* Bad dtype and NULL. */
    t.dtype = TP_DTYPE_INVALID;
    CHECK_ERR(tp_tensor_numel(&t, &n), TP_ERR_DTYPE);
    t.dtype = (tp_dtype)200;
    CHECK_ERR(tp_tensor_numel(&t, &n), TP_ERR_DTYPE);
    CHECK_ERR(tp_tensor_numel(NULL, &n), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_nbytes(NULL), TP_ERR_ARG);
}

TEST(dtype_error_api)
{
    CHECK(!tp_is_error(0));
    CHECK(!tp_is_error(12345));
    CHECK(tp_error_code(0) == TP_OK);
    CHECK(!strcmp(tp_error_name(0), "no error"));
    for (int c = 1; c < TP_ERR__MAX; c++) {
        size_t r = (size_t)0 - (size_t)c;
        CHECK(tp_is_error(r));
        CHECK(tp_error_code(r) == (tp_error)c);
        CHECK(tp_error_string((tp_error)c) != NULL && *tp_error_string((tp_error)c));
        CHECK(strcmp(tp_error_string((tp_error)c), "unknown error"));
    }
    CHECK(!strcmp(tp_error_string(TP_ERR__MAX), "unknown error"));
}
