/* lossless codec and the shared rANS coder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "codecs/lossless/lossless.h"
#include "codecs/pipeline.h"
#include "core/rans.h"
#include "core/rng.h"

static tp_rng rng_state = {88172645463325252ull};
static uint64_t rnd(void)
{
    return tp_rng_next(&rng_state);
}

/* Encodes through a frame with spec, decodes, compares bytes. */
static int frame_roundtrip(const char *spec, tp_dtype dt, const void *data, size_t numel)
{
    tp_pipeline *p = NULL;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) return 0;
    tp_tensor t = {.dtype = dt, .ndim = 1, .shape = {numel}, .data = data};
    void *frame = NULL;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(n)) { printf("    encode: %s\n", tp_last_error_detail()); return 0; }
    size_t bytes = numel * tp_dtype_size(dt);
    uint8_t *out = malloc(bytes + 1);
    size_t r = tp_frame_decode(frame, n, out, bytes + 1);
    int ok = !tp_is_error(r) && r == bytes && (bytes == 0 || !memcmp(out, data, bytes));
    if (tp_is_error(r)) printf("    decode: %s\n", tp_last_error_detail());
    free(out);
    free(frame);
    return ok;
}

/* Payload of the codec alone (params text e.g. "threads=2"). */
static size_t codec_encode(const char *params, tp_dtype dt, const void *data, size_t numel, uint8_t **out)
{
    const tp_codec *c = tp_codec_by_name("lossless");
    tp_params prm;
    size_t r = tp_params_parse(c, params, strlen(params), &prm);
    if (tp_is_error(r)) return r;
    tp_tensor t = {.dtype = dt, .ndim = 1, .shape = {numel}, .data = data}, o;
    size_t cap = c->bound(&prm, &t, &o);
    *out = malloc(cap);
    return c->encode(&prm, &t, *out, cap, &o);
}

static const tp_dtype float_dts[] = {TP_BF16, TP_F16, TP_F32, TP_F64};

TEST(lossless_random_bits_every_float_dtype)
{
    /* all bit patterns: NaN payloads, denormals, Inf, -0 included */
    static const size_t lens[] = {0, 1, 2, 3, 7, 15, 16, 17, 33, 1001, 70001};
    for (size_t d = 0; d < 4; d++)
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t n = lens[li], es = tp_dtype_size(float_dts[d]);
            uint8_t *x = malloc(n * es + 1);
            for (size_t i = 0; i < n * es; i++) x[i] = (uint8_t)rnd();
            CHECK(frame_roundtrip("lossless", float_dts[d], x, n));
            CHECK(frame_roundtrip("lossless:chunk=1,threads=2", float_dts[d], x, n));
            free(x);
        }
}

TEST(lossless_gaussian_and_specials)
{
    size_t n = 300001;
    float *f = malloc(n * sizeof *f);
    th_gaussian(f, n, 7);
    for (size_t i = 0; i < n; i++) f[i] *= 0.02f;
    const uint32_t specials[] = {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7fa00001u,
                                 0xffc12345u, 0x00000001u, 0x807fffffu, 0x00400000u, 0x7f7fffffu};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) memcpy(&f[i * 977], &specials[i], 4);
    for (size_t i = 200000; i < 260000; i++) f[i] = 0; /* a zero region spanning whole chunks */
    uint8_t *buf = malloc(n * 8);
    for (size_t d = 0; d < 4; d++) {
        tp_dtype dt = float_dts[d];
        if (dt == TP_F32) memcpy(buf, f, n * 4);
        else CHECK_OK(tp_convert(buf, dt, f, TP_F32, n));
        /* the 16-bit specials survive the conversion only partly: add raw ones */
        if (tp_dtype_size(dt) == 2) {
            const uint16_t s16[] = {0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e01, 0xfd55, 0x0001, 0x83ff, 0x7f80, 0xff81};
            for (size_t i = 0; i < 10; i++) memcpy(buf + 2 * (i * 1231 + 5), &s16[i], 2);
        }
        CHECK(frame_roundtrip("lossless", dt, buf, n));
        CHECK(frame_roundtrip("lossless:chunk=16,threads=3", dt, buf, n));
        uint8_t *pl;
        size_t sz = codec_encode("", dt, buf, n, &pl);
        CHECK_OK(sz);
        CHECK(sz < n * tp_dtype_size(dt)); /* Gaussian data must compress */
        free(pl);
    }
    free(buf);
    free(f);
}

/* Exponents for kind 2 tests: mostly inside the window of base, some 0,
 * some escaped (below it, above it, 255). */
static uint8_t em_exponent(unsigned base)
{
    uint64_t r = rnd() % 100;
    if (r < 5) return 0;
    if (r < 8) return (uint8_t)(rnd() % base);               /* below (or 0 when base is 1) */
    if (r < 10 && base < TP_LL_EM_BASE_MAX) /* above (none when the window ends at 255) */
        return (uint8_t)(base + TP_LL_EM_SPAN + rnd() % (TP_LL_EM_BASE_MAX - base));
    return (uint8_t)(base + rnd() % TP_LL_EM_SPAN);
}

TEST(lossless_em_kernels_match_reference)
{
    static const size_t lens[] = {0, 1, 63, 64, 65, 127, 128, 1000, 4113};
    static const unsigned bases[] = {1, 60, 100, TP_LL_EM_BASE_MAX};
    size_t mmax = 4113;
    uint8_t *e = malloc(mmax), *q = malloc(mmax), *j1 = malloc(mmax), *j2 = malloc(mmax);
    uint8_t *r1 = malloc(tp_ll_em_packed(mmax)), *r2 = malloc(tp_ll_em_packed(mmax));
    uint8_t *x1 = malloc(mmax), *x2 = malloc(mmax), *e2 = malloc(mmax), *q2 = malloc(mmax);
    uint8_t *d1 = malloc(2 * mmax), *d2 = malloc(2 * mmax);
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++)
        for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
            size_t m = lens[li];
            unsigned base = bases[bi];
            for (size_t i = 0; i < m; i++) e[i] = em_exponent(base), q[i] = (uint8_t)rnd();
            size_t n1 = tp_ll_em_split(e, q, m, base, j1, r1, x1);
            size_t n2 = tp_ll_em_split_ref(e, q, m, base, j2, r2, x2);
            CHECK(n1 == n2 && !memcmp(j1, j2, m) && !memcmp(r1, r2, tp_ll_em_packed(m)) && !memcmp(x1, x2, n1));
            memset(e2, 0, m), memset(q2, 0, m);
            CHECK_OK(tp_ll_em_merge(j1, r1, x1, n1, m, base, e2, q2));
            CHECK(!memcmp(e, e2, m) && !memcmp(q, q2, m));
            memset(e2, 0, m), memset(q2, 0, m);
            CHECK_OK(tp_ll_em_merge_ref(j1, r1, x1, n1, m, base, e2, q2));
            CHECK(!memcmp(e, e2, m) && !memcmp(q, q2, m));
            for (size_t i = 0; i < m; i++) { /* bf16 elements: sign back from bit 0 */
                uint16_t v = (uint16_t)(e[i] << 8 | q[i]);
                v = (uint16_t)(v >> 1 | v << 15);
                memcpy(d1 + 2 * i, &v, 2);
            }
            memset(d2, 0, 2 * m);
            CHECK_OK(tp_ll_em_merge_bf16(j1, r1, x1, n1, m, base, d2));
            CHECK(!memcmp(d1, d2, 2 * m));
            memset(d2, 0, 2 * m);
            CHECK_OK(tp_ll_em_merge_bf16_sse2(j1, r1, x1, n1, m, base, d2));
            CHECK(!memcmp(d1, d2, 2 * m));
            /* symbols without their low bit (Huffman planes): fused where VBMI is */
            uint8_t *low = malloc(m / 8 + 1);
            tp_ll_extract_low_bits(j1, m, j2, low);
            memset(d2, 0, 2 * m);
            CHECK_OK(tp_ll_em_merge_bf16_low(j2, low, r1, x1, n1, m, base, d2));
            CHECK(!memcmp(d1, d2, 2 * m));
            free(low);
            if (n1) { /* a missing or a stray escape is an error, never a silent result */
                CHECK(tp_is_error(tp_ll_em_merge(j1, r1, x1, n1 - 1, m, base, e2, q2)));
                CHECK(tp_is_error(tp_ll_em_merge_bf16(j1, r1, x1, n1 - 1, m, base, d2)));
                CHECK(tp_is_error(tp_ll_em_merge_bf16_sse2(j1, r1, x1, n1 - 1, m, base, d2)));
            }
            CHECK(tp_is_error(tp_ll_em_merge(j1, r1, x1, n1 + 1, m, base, e2, q2)));
            CHECK(tp_is_error(tp_ll_em_merge_bf16(j1, r1, x1, n1 + 1, m, base, d2)));
            CHECK(tp_is_error(tp_ll_em_merge_bf16_sse2(j1, r1, x1, n1 + 1, m, base, d2)));
        }
    free(e); free(q); free(j1); free(j2); free(r1); free(r2); free(x1); free(x2); free(e2); free(q2);
    free(d1); free(d2);
}

/* Kind of chunk c of a lossless payload. */
static int chunk_kind(const uint8_t *pl, size_t c)
{
    size_t total = (size_t)tp_get_u64(pl + 8), chunk = tp_get_u32(pl + 4), nc = (total - 1) / chunk + 1;
    size_t pos = TP_LL_HEADER + 4 * nc;
    for (size_t k = 0; k < c; k++) pos += tp_get_u32(pl + TP_LL_HEADER + 4 * k);
    return pl[pos + 8];
}

/* bf16 and f32 chunks of kind 2 with escapes of both signs (NaN, Inf,
 * huge and tiny values), zeros and denormals; a chunk with too many
 * escapes falls back to kind 1; f16 never uses kind 2. */
TEST(lossless_kind2_escapes_roundtrip)
{
    size_t n = 70001;
    float *f = malloc(n * 4);
    th_gaussian(f, n, 21);
    for (size_t i = 0; i < n; i++) {
        if (i % 53 == 0) f[i] *= 0x1p-90f;  /* below the window */
        if (i % 71 == 0) f[i] *= 0x1p+20f;  /* sets the window's top */
        if (i % 89 == 0) f[i] = 0.0f;
    }
    const uint32_t specials[] = {0xff800000u, 0x7f800000u, 0xffc01234u, 0x7fa00001u, 0x80000001u, 0x807fffffu};
    for (size_t i = 0; i < 6; i++) memcpy(&f[100 + 37 * i], &specials[i], 4);
    uint8_t *buf = malloc(n * 4);
    static const tp_dtype dts[] = {TP_BF16, TP_F32, TP_F16};
    for (size_t d = 0; d < 3; d++) {
        tp_dtype dt = dts[d];
        if (dt == TP_F32) memcpy(buf, f, n * 4);
        else CHECK_OK(tp_convert(buf, dt, f, TP_F32, n));
        if (dt == TP_BF16) { /* negative escapes in the 64-value blocks and in the tail */
            const uint16_t s16[] = {0xff81, 0xff80, 0x8001, 0xfff0};
            for (size_t i = 0; i < 4; i++) memcpy(buf + 2 * (i * 7001 + 3), &s16[i], 2), memcpy(buf + 2 * (n - 1 - i), &s16[i], 2);
        }
        CHECK(frame_roundtrip("lossless", dt, buf, n));
        CHECK(frame_roundtrip("lossless:chunk=16,threads=2", dt, buf, n));
        uint8_t *pl;
        size_t sz = codec_encode("chunk=64", dt, buf, n, &pl);
        CHECK_OK(sz);
        CHECK(chunk_kind(pl, 0) == (dt == TP_F16 ? TP_LL_CHUNK_PLANES : TP_LL_CHUNK_EM));
        free(pl);
    }
    for (size_t i = 0; i < n; i++) f[i] = (i & 1 ? 0x1p-100f : 0x1p+100f) * f[i]; /* half the values escape */
    CHECK_OK(tp_convert(buf, TP_BF16, f, TP_F32, n));
    uint8_t *pl;
    size_t sz = codec_encode("chunk=64", TP_BF16, buf, n, &pl);
    CHECK_OK(sz);
    CHECK(chunk_kind(pl, 0) == TP_LL_CHUNK_PLANES);
    CHECK(frame_roundtrip("lossless", TP_BF16, buf, n));
    free(pl);
    free(buf);
    free(f);
}

/* Plane kind of the first record of kind-2 chunk 0 (its symbol plane). */
static int em_symbol_plane_kind(const uint8_t *pl)
{
    size_t nc = ((size_t)tp_get_u64(pl + 8) - 1) / tp_get_u32(pl + 4) + 1;
    const uint8_t *c = pl + TP_LL_HEADER + 4 * nc + TP_LL_CHUNK_HDR; /* base, escape count, escapes */
    return c[5 + tp_get_u32(c + 1)];
}

/* coder=auto puts Huffman on the exponent symbols of bf16 (at most 2 %
 * larger than rANS's), not f32's; coder=rans never; both decode (with
 * escapes, in the 64-value blocks and the tail). */
TEST(lossless_coder_choice)
{
    size_t n = 100003;
    float *f = malloc(n * 4);
    th_gaussian(f, n, 5);
    for (size_t i = 0; i < n; i += 997) f[i] = 0x1p-100f;
    uint8_t *buf = malloc(n * 4);
    static const tp_dtype dts[] = {TP_BF16, TP_F32};
    for (size_t d = 0; d < 2; d++) {
        if (dts[d] == TP_F32) memcpy(buf, f, n * 4);
        else CHECK_OK(tp_convert(buf, TP_BF16, f, TP_F32, n));
        uint8_t *a, *r;
        size_t sa = codec_encode("chunk=1024", dts[d], buf, n, &a), sr = codec_encode("chunk=1024,coder=rans", dts[d], buf, n, &r);
        CHECK_OK(sa);
        CHECK_OK(sr);
        CHECK(chunk_kind(a, 0) == TP_LL_CHUNK_EM && chunk_kind(r, 0) == TP_LL_CHUNK_EM);
        CHECK(em_symbol_plane_kind(a) == (dts[d] == TP_BF16 ? TP_LL_PLANE_HUFF : TP_LL_PLANE_RANS));
        CHECK(em_symbol_plane_kind(r) == TP_LL_PLANE_RANS);
        CHECK(sr <= sa && sa <= sr + sr / 50 + 64);
        CHECK(frame_roundtrip("lossless", dts[d], buf, n));
        CHECK(frame_roundtrip("lossless:coder=rans,chunk=16,threads=2", dts[d], buf, n));
        free(a), free(r);
    }
    free(buf), free(f);
}

TEST(lossless_integer_dtypes)
{
    static const tp_dtype dts[] = {TP_I8, TP_U8, TP_I16, TP_U16, TP_I32, TP_U32, TP_I64, TP_U64, TP_BOOL};
    size_t n = 100003;
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++) {
        size_t es = tp_dtype_size(dts[d]);
        uint8_t *x = calloc(n, es);
        for (size_t i = 0; i < n; i++) {
            int64_t v = (int64_t)(rnd() % 41) - 20; /* small signed values: skewed byte planes */
            if (dts[d] == TP_BOOL) v = (rnd() % 8) == 0;
            memcpy(x + i * es, &v, es);
        }
        CHECK(frame_roundtrip("lossless", dts[d], x, n));
        CHECK(frame_roundtrip("lossless:chunk=3,threads=2", dts[d], x, n));
        uint8_t *pl;
        size_t sz = codec_encode("", dts[d], x, n, &pl);
        CHECK_OK(sz);
        CHECK(sz < n * es * 3 / 4);
        free(pl);
        free(x);
    }
}

TEST(lossless_chained_after_int4)
{
    size_t n = 37 * 1800;
    float *f = malloc(n * sizeof *f);
    th_gaussian(f, n, 3);
    tp_pipeline *a, *b;
    CHECK_OK(tp_pipeline_parse("int:bits=4", &a));
    CHECK_OK(tp_pipeline_parse("int:bits=4|lossless", &b));
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {n / 37, 37}, .data = f};
    void *fa, *fb;
    size_t na = tp_frame_encode_alloc(a, &t, NULL, &fa), nb = tp_frame_encode_alloc(b, &t, NULL, &fb);
    CHECK_OK(na);
    CHECK_OK(nb);
    float *ya = malloc(n * 4), *yb = malloc(n * 4);
    CHECK_OK(tp_frame_decode(fa, na, ya, n * 4));
    CHECK_OK(tp_frame_decode(fb, nb, yb, n * 4));
    CHECK(!memcmp(ya, yb, n * 4));
    CHECK(nb <= na + 64);
    free(ya); free(yb); free(fa); free(fb); free(f);
    tp_pipeline_free(a);
    tp_pipeline_free(b);
}

TEST(lossless_bytes_independent_of_threads)
{
    size_t n = 1 << 20;
    float *f = malloc(n * 4);
    th_gaussian(f, n, 11);
    uint16_t *h = malloc(n * 2);
    CHECK_OK(tp_convert(h, TP_BF16, f, TP_F32, n));
    uint8_t *p1, *p2, *p3;
    size_t s1 = codec_encode("threads=1,chunk=64", TP_BF16, h, n, &p1);
    size_t s2 = codec_encode("threads=2,chunk=64", TP_BF16, h, n, &p2);
    size_t s3 = codec_encode("threads=5,chunk=64", TP_BF16, h, n, &p3);
    CHECK_OK(s1);
    CHECK(s1 == s2 && s1 == s3);
    CHECK(!memcmp(p1, p2, s1) && !memcmp(p1, p3, s1));
    /* decode with any thread count */
    uint16_t *y = malloc(n * 2);
    for (int th = 1; th <= 3; th++) {
        memset(y, 0, n * 2);
        CHECK_OK(tp_ll_decode(p1, s1, TP_BF16, n * 2, y, th));
        CHECK(!memcmp(y, h, n * 2));
    }
    free(y); free(p1); free(p2); free(p3); free(h); free(f);
}

TEST(lossless_corrupted_chunk_detected)
{
    size_t n = 200000;
    float *f = malloc(n * 4);
    th_gaussian(f, n, 5);
    uint8_t *pl;
    size_t sz = codec_encode("chunk=64", TP_F32, f, n, &pl);
    CHECK_OK(sz);
    float *y = malloc(n * 4);
    CHECK_OK(tp_ll_decode(pl, sz, TP_F32, n * 4, y, 2));
    /* flip a bit in the middle of the second chunk */
    size_t c0 = tp_get_u32(pl + TP_LL_HEADER), c1 = tp_get_u32(pl + TP_LL_HEADER + 4);
    size_t nc = (n * 4 - 1) / 65536 + 1;
    size_t at = TP_LL_HEADER + 4 * nc + c0 + c1 / 2;
    pl[at] ^= 0x10;
    size_t r = tp_ll_decode(pl, sz, TP_F32, n * 4, y, 2);
    CHECK(tp_error_code(r) == TP_ERR_CHECKSUM || tp_error_code(r) == TP_ERR_CORRUPT);
    pl[at] ^= 0x10;
    /* every truncation is an error */
    for (size_t cut = 0; cut < sz; cut += 1 + cut / 7) {
        r = tp_ll_decode(pl, cut, TP_F32, n * 4, y, 1);
        CHECK(tp_error_code(r) == TP_ERR_TRUNCATED || tp_error_code(r) == TP_ERR_CORRUPT);
    }
    CHECK(tp_is_error(tp_ll_decode(pl, sz, TP_BF16, n * 4, y, 1))); /* wrong dtype */
    free(pl); free(y); free(f);
}

TEST(lossless_bit_flips_never_succeed_wrongly)
{
    size_t n = 5000;
    uint16_t *x = malloc(n * 2);
    float *f = malloc(n * 4);
    th_gaussian(f, n, 9);
    CHECK_OK(tp_convert(x, TP_BF16, f, TP_F32, n));
    uint8_t *pl;
    size_t sz = codec_encode("chunk=4", TP_BF16, x, n, &pl);
    CHECK_OK(sz);
    uint16_t *y = malloc(n * 2);
    for (size_t i = 0; i < sz; i++) {
        uint8_t bit = (uint8_t)(1u << (rnd() & 7));
        pl[i] ^= bit;
        size_t r = tp_ll_decode(pl, sz, TP_BF16, n * 2, y, 1);
        CHECK(tp_is_error(r) || !memcmp(x, y, n * 2));
        pl[i] ^= bit;
    }
    free(pl); free(x); free(y); free(f);
}

/* rANS coder alone */
static int rans_roundtrip(const uint8_t *x, size_t n, size_t *coded)
{
    size_t cap = tp_rans_bytes_bound(n);
    uint8_t *c = malloc(cap), *y = malloc(n + 1);
    size_t k = tp_rans_compress(x, n, c, cap);
    int ok = !tp_is_error(k);
    if (ok) ok = !tp_is_error(tp_rans_decompress(c, k, y, n)) && !memcmp(x, y, n);
    if (ok && n) { /* the scalar reference and each kernel decode the same */
        tp_rans_model m;
        static tp_rans_dtable t;
        tp_reader r = tp_reader_init(c, k);
        ok = !tp_is_error(tp_rans_model_read(&r, &m));
        tp_rans_dtable_build(&m, &t);
        for (int level = 0; level <= 2; level++) {
            memset(y, 0, n);
            ok = ok && !tp_is_error(tp_rans_decode_level(&m, &t, r.p, r.left, y, n, level)) && !memcmp(x, y, n);
        }
        /* the scalar reference encoder writes the same bytes as the
         * dispatched (AVX2) one */
        uint8_t *c2 = malloc(cap);
        size_t k2 = tp_rans_encode_scalar(&m, x, n, c2, cap);
        ok = ok && k2 == r.left && !memcmp(c2, r.p, k2);
        free(c2);
    }
    *coded = k;
    free(c);
    free(y);
    return ok;
}

TEST(rans_skewed_uniform_single)
{
    static const size_t lens[] = {1, 2, 15, 16, 17, 31, 100, 4095, 4096, 100003};
    uint8_t *x = malloc(100003);
    size_t k;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        for (size_t i = 0; i < n; i++) x[i] = (uint8_t)rnd(); /* uniform */
        CHECK(rans_roundtrip(x, n, &k));
        if (n == 100003) CHECK(k < n + 1200);
        for (size_t i = 0; i < n; i++) { /* skewed: geometric-like */
            uint64_t r = rnd();
            x[i] = (uint8_t)(100 + __builtin_ctzll(r | (1ull << 40)));
        }
        CHECK(rans_roundtrip(x, n, &k));
        if (n == 100003) CHECK(k < n / 3);
        memset(x, 42, n); /* single symbol */
        CHECK(rans_roundtrip(x, n, &k));
        if (n == 100003) CHECK(k < 1000);
        for (size_t i = 0; i < n; i++) x[i] = (uint8_t)(i % 3 ? 7 : (rnd() & 1)); /* context-friendly */
        CHECK(rans_roundtrip(x, n, &k));
        for (size_t i = 0; i < n; i++) /* exponent-like, correlated per lane: several contexts */
            x[i] = (uint8_t)(120 + (i >= 32 && x[i - 32] > 121 ? 4 : 0) + __builtin_ctzll(rnd() | (1ull << 6)));
        CHECK(rans_roundtrip(x, n, &k));
    }
    free(x);
}

TEST(rans_rejects_garbage)
{
    uint8_t buf[600], y[1000];
    for (int trial = 0; trial < 2000; trial++) {
        size_t len = rnd() % sizeof buf;
        for (size_t i = 0; i < len; i++) buf[i] = (uint8_t)rnd();
        if (len) buf[0] = 1 + (uint8_t)(rnd() % 4);
        size_t r = tp_rans_decompress(buf, len, y, 1 + rnd() % 1000);
        (void)r; /* must simply not crash (ASan) */
    }
    CHECK(1);
}

/* scalar and AVX2 encoders and decoders on a hand-made 3-context model
 * with a frequency-1 symbol, every tail length */
TEST(rans_encoders_agree_with_contexts)
{
    tp_rans_model m;
    memset(&m, 0, sizeof m);
    m.nctx = 3;
    m.thr[0] = 122; m.thr[1] = 125; m.thr[2] = 256;
    for (int c = 0; c < 3; c++)
        for (int s = 0; s < 16; s++) m.freq[c][120 + s] = (uint16_t)(s == c ? 4096 - 15 * 16 : 16);
    for (int c = 0; c < 3; c++) m.freq[c][120 + c] -= 1, m.freq[c][200] = 1;
    static tp_rans_dtable t;
    tp_rans_dtable_build(&m, &t);
    size_t nmax = 70000, cap = tp_rans_stream_bound(nmax);
    uint8_t *x = malloc(nmax), *y = malloc(nmax), *a = malloc(cap), *b = malloc(cap);
    for (size_t n = 1; n <= nmax; n = n < 100 ? n + 1 : n * 3 + 7) {
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd();
            x[i] = (uint8_t)(r % 97 == 0 ? 200 : 120 + (r >> 8) % 16);
        }
        size_t ka = tp_rans_encode(&m, x, n, a, cap), kb = tp_rans_encode_scalar(&m, x, n, b, cap);
        CHECK(!tp_is_error(ka) && ka == kb && !memcmp(a, b, ka));
        CHECK(!tp_is_error(tp_rans_decode(&m, &t, a, ka, y, n)) && !memcmp(x, y, n));
        for (int level = 0; level <= 2; level++) {
            memset(y, 0, n);
            CHECK(!tp_is_error(tp_rans_decode_level(&m, &t, a, ka, y, n, level)) && !memcmp(x, y, n));
        }
    }
    free(x); free(y); free(a); free(b);
}

static size_t frame_size(const char *spec, tp_dtype dt, const void *data, size_t numel)
{
    tp_pipeline *p = NULL;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) return 0;
    tp_tensor t = {.dtype = dt, .ndim = 1, .shape = {numel}, .data = data};
    void *frame = NULL;
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &frame);
    tp_pipeline_free(p);
    free(frame);
    return tp_is_error(n) ? 0 : n;
}

/* Byte mode picks per plane between rANS, raw and zstd: an i64
 * position-ids tensor (periodic: LZ wins), packed int4 codes of Gaussian
 * weights (skewed, no repeats: rANS wins) and periodic int4 codes. */
TEST(lossless_byte_mode_picks_zstd_or_rans)
{
    size_t n = 96 * 512;
    int64_t *pos = malloc(n * sizeof *pos);
    for (size_t i = 0; i < n; i++) pos[i] = (int64_t)(i % 512);
    CHECK(frame_roundtrip("lossless", TP_I64, pos, n));
    CHECK(frame_roundtrip("lossless:chunk=5,threads=2", TP_I64, pos, n));
    size_t ll = frame_size("lossless", TP_I64, pos, n), zs = frame_size("zstd", TP_I64, pos, n);
    CHECK(ll && zs && ll < n * 8 / 100); /* rANS alone spends ~1.1 bytes per id here */
    printf("    i64 position ids: %zu bytes -> lossless %zu, zstd %zu\n", n * 8, ll, zs);

    size_t m = 1 << 18;
    uint8_t *q = malloc(m);
    for (size_t i = 0; i < m; i++) { /* two int4 codes per byte, ~Gaussian around 8 */
        unsigned a = 8 + (unsigned)(__builtin_popcountll(rnd() & 0xfff) - 6), b = 8 + (unsigned)(__builtin_popcountll(rnd() & 0xfff) - 6);
        q[i] = (uint8_t)((a & 15) | (b & 15) << 4);
    }
    CHECK(frame_roundtrip("lossless", TP_U8, q, m));
    ll = frame_size("lossless", TP_U8, q, m);
    zs = frame_size("zstd", TP_U8, q, m);
    CHECK(ll && zs && ll < zs);
    printf("    int4 codes (Gaussian): lossless %zu, zstd %zu\n", ll, zs);
    for (size_t i = 4096; i < m; i++) q[i] = q[i % 4096]; /* periodic: zstd's kind of input */
    CHECK(frame_roundtrip("lossless", TP_U8, q, m));
    ll = frame_size("lossless", TP_U8, q, m);
    zs = frame_size("zstd", TP_U8, q, m);
    CHECK(ll && zs && ll <= zs + 128);
    printf("    int4 codes (periodic): lossless %zu, zstd %zu\n", ll, zs);
    free(q);
    free(pos);
}
