/* Frames: round trips of every codec and of chains on every float dtype,
 * edge shapes, lossless bit-exactness, inspect fields, bounds, buffer
 * sizes, and robustness: every truncation, bit flips, forged headers with
 * a valid checksum. No decode may crash, read past its input or write past
 * its output (run under ASan: buffers here are sized exactly). */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "harness.h"
#include "core/rng.h"

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Bytes the checksum covers: the header alone when flag bit 0 is set
 * (a self-checked payload, docs/FORMAT.md 1.4), else all but itself. */
static size_t checked_span(const uint8_t *f, size_t n) { return (f[6] & 1) ? rd32(f + 8) : n - 8; }

/* Recomputes the checksum of a frame of n bytes after an edit that kept
 * its length. */
static void reseal(uint8_t *f, size_t n)
{
    size_t span = checked_span(f, n);
    wr64(f + n - 8, XXH3_64bits(f, span <= n - 8 ? span : n - 8));
}

static tp_pipeline *pipe_of(const char *spec)
{
    tp_pipeline *p = NULL;
    size_t r = tp_pipeline_parse(spec, &p);
    return tp_is_error(r) ? NULL : p;
}

/* Encodes t with spec into a new exactly-sized buffer; returns the size or
 * an error. Also checks bound >= size and that encoding into a buffer of
 * exactly that size gives the same bytes, or, when the last stage is zstd
 * or lossless (which may need up to their bound while they work),
 * TP_ERR_DST_TOO_SMALL. */
static size_t encode(const char *spec, const tp_tensor *t, uint8_t **out)
{
    *out = NULL;
    tp_pipeline *p = pipe_of(spec);
    if (!p) return (size_t)0 - (size_t)TP_ERR_SPEC;
    void *buf = NULL;
    size_t n = tp_frame_encode_alloc(p, t, NULL, &buf);
    if (!tp_is_error(n)) {
        size_t bound = tp_frame_bound(p, t);
        uint8_t *again = malloc(n);
        size_t n2 = again ? tp_frame_encode(p, t, NULL, again, n) : 0;
        const char *last = strrchr(spec, '|');
        last = last ? last + 1 : spec;
        while (*last == ' ') last++;
        int needs_bound = !strncmp(last, "zstd", 4) || !strncmp(last, "lossless", 8);
        int exact_ok = n2 == n ? !memcmp(again, buf, n) : needs_bound && tp_error_code(n2) == TP_ERR_DST_TOO_SMALL;
        if (tp_is_error(bound) || bound < n || !exact_ok) {
            printf("  %s: bound %zu, size %zu, exact-size encode %zu (%s)\n", spec, bound, n, n2,
                   tp_is_error(n2) ? tp_last_error_detail() : "");
            free(buf);
            buf = NULL;
            n = (size_t)0 - (size_t)TP_ERR_GENERIC;
        }
        free(again);
    }
    tp_pipeline_free(p);
    *out = buf;
    return n;
}

/* Decodes into a new buffer of exactly info.nbytes (at least 1) bytes. */
static size_t decode(const uint8_t *f, size_t n, void **out, size_t *nbytes)
{
    tp_frame_info info;
    *out = NULL;
    size_t r = tp_frame_inspect(f, n, &info);
    if (tp_is_error(r)) return r;
    void *dst = malloc(info.nbytes ? info.nbytes : 1);
    if (!dst) return (size_t)0 - (size_t)TP_ERR_NOMEM;
    r = tp_frame_decode(f, n, dst, info.nbytes);
    if (tp_is_error(r)) { free(dst); return r; }
    *out = dst;
    *nbytes = (size_t)info.nbytes;
    return r;
}

typedef struct { uint32_t ndim; uint64_t shape[TP_MAX_DIMS]; } shape_case;

static const shape_case shapes[] = {
    {2, {4, 40}}, {2, {7, 13}}, {1, {1}}, {0, {0}}, {2, {0, 5}}, {2, {5, 0}},
    {3, {3, 0, 2}}, {3, {2, 3, 5}}, {1, {1000}}, {1, {33}}, {4, {2, 1, 3, 16}},
};

static const char *const specs[] = {
    "int:bits=4,group=32", "int:bits=8", "int:bits=2,sym=0,group=0,axis=0", "int:bits=3,group=7,scale=f32",
    "int:bits=5,sym=0,group=0", "int:bits=6,sym=0,group=0,axis=1,search=1", "fp16", "bf16", "zstd:level=1",
    "int:bits=4|zstd", "fp16|zstd", "bf16|zstd:level=5", "fp16|bf16", "zstd|zstd", "bf16|fp16|zstd:level=-1",
};

static const tp_dtype float_dtypes[] = {TP_F32, TP_F16, TP_BF16, TP_F64};

/* Values of dtype dt: Gaussian, scaled and shifted. */
static void *make_data(tp_dtype dt, uint64_t numel, unsigned seed)
{
    float *f = malloc((numel ? numel : 1) * sizeof *f);
    void *d = malloc((numel ? numel : 1) * tp_dtype_size(dt));
    if (!f || !d) { free(f); free(d); return NULL; }
    th_gaussian(f, numel, seed);
    for (uint64_t i = 0; i < numel; i++) f[i] = f[i] * 3.0f + 0.5f;
    tp_convert(d, dt, f, TP_F32, numel);
    free(f);
    return d;
}

/* What decode must give for a spec of casts and zstd stages only: the
 * input cast down stage by stage and back up. */
static int cast_expect(const char *spec, tp_dtype dt, const void *x, uint64_t numel, void *out)
{
    tp_dtype path[9];
    int k = 0;
    path[k++] = dt;
    for (const char *s = spec; *s;) {
        const char *bar = strchr(s, '|');
        size_t len = bar ? (size_t)(bar - s) : strlen(s);
        if (!strncmp(s, "fp16", 4)) path[k++] = TP_F16;
        else if (!strncmp(s, "bf16", 4)) path[k++] = TP_BF16;
        else if (strncmp(s, "zstd", 4)) return 0;
        s += len + (bar ? 1 : 0);
    }
    size_t cap = (numel ? numel : 1) * 8;
    uint8_t *a = malloc(cap), *b = malloc(cap);
    memcpy(a, x, numel * tp_dtype_size(dt));
    for (int i = 1; i < k; i++) { tp_convert(b, path[i], a, path[i - 1], numel); uint8_t *t = a; a = b; b = t; }
    for (int i = k - 1; i > 0; i--) { tp_convert(b, path[i - 1], a, path[i], numel); uint8_t *t = a; a = b; b = t; }
    memcpy(out, a, numel * tp_dtype_size(dt));
    free(a);
    free(b);
    return 1;
}

/* Dimensions a spec's axis= needs (0 without axis). */
static uint32_t axis_dims(const char *spec)
{
    const char *a = strstr(spec, "axis=");
    return a && a[5] != '-' ? (uint32_t)atoi(a + 5) + 1 : 0;
}

TEST(frame_round_trip_matrix)
{
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (size_t di = 0; di < 4; di++)
            for (size_t pi = 0; pi < sizeof specs / sizeof specs[0]; pi++) {
                tp_dtype dt = float_dtypes[di];
                const char *spec = specs[pi];
                tp_tensor t = {dt, shapes[si].ndim, {0}, NULL};
                memcpy(t.shape, shapes[si].shape, sizeof t.shape);
                uint64_t numel;
                CHECK_OK(tp_tensor_numel(&t, &numel));
                void *x = make_data(dt, numel, (unsigned)(si * 7 + di));
                t.data = x;
                uint8_t *f;
                size_t n = encode(spec, &t, &f);
                if (t.ndim < axis_dims(spec)) {
                    CHECK_ERR(n, TP_ERR_PARAM); /* axis beyond the tensor */
                    free(x);
                    continue;
                }
                if (tp_is_error(n)) printf("  %s on %s ndim %u: %s\n", spec, tp_dtype_name(dt), t.ndim, tp_last_error_detail());
                CHECK_OK(n);
                tp_frame_info info;
                CHECK_OK(tp_frame_inspect(f, n, &info));
                CHECK(info.frame_size == n && info.dtype == dt && info.ndim == t.ndim);
                CHECK(info.nbytes == numel * tp_dtype_size(dt));
                for (uint32_t i = 0; i < t.ndim; i++) CHECK(info.shape[i] == t.shape[i]);
                void *y;
                size_t ny;
                size_t r = decode(f, n, &y, &ny);
                CHECK_OK(r);
                CHECK(r == ny && ny == info.nbytes);
                void *want = malloc(ny ? ny : 1);
                if (cast_expect(spec, dt, x, numel, want)) {
                    CHECK(!memcmp(want, y, ny));
                } else {
                    /* int chains: same codes as for the f32 version of the
                     * input; the decoded f32 converted back to dt. */
                    float *xf = malloc((numel ? numel : 1) * 4);
                    tp_convert(xf, TP_F32, x, dt, numel);
                    tp_tensor tf = t;
                    tf.dtype = TP_F32;
                    tf.data = xf;
                    uint8_t *ff;
                    size_t nf = encode(spec, &tf, &ff);
                    CHECK_OK(nf);
                    void *yf;
                    size_t nyf;
                    CHECK_OK(decode(ff, nf, &yf, &nyf));
                    tp_convert(want, dt, yf, TP_F32, numel);
                    CHECK(!memcmp(want, y, ny));
                    if (numel >= 100) {
                        tp_metrics m;
                        CHECK_OK(tp_metrics_compute(xf, TP_F32, yf, TP_F32, numel, &m));
                        int bits = atoi(strstr(spec, "bits=") + 5);
                        CHECK(m.snr_db > 6.02 * bits - 8); /* loose: exact bounds are in test_int */
                    }
                    free(xf); free(ff); free(yf);
                }
                free(want); free(y); free(f); free(x);
            }
}

/* Special values that lossless stages must keep bit for bit. */
static const uint32_t f32_special[] = {
    0x00000000u, 0x80000000u, 0x00000001u, 0x80000001u, 0x007fffffu, 0x00400000u, 0x7f800000u, 0xff800000u,
    0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fa00001u, 0xffc12345u, 0x7fffffffu, 0x7f7fffffu, 0x3f800000u,
};

TEST(frame_lossless_bit_exact)
{
    enum { N = 333 };
    static uint32_t f32[N];
    static uint64_t f64[N];
    static uint16_t f16[N], bf16[N];
    tp_rng s = {42};
    for (int i = 0; i < N; i++) {
        uint64_t r = tp_rng_next(&s);
        f32[i] = i < 16 ? f32_special[i] : (i % 3 ? (uint32_t)r : f32_special[r % 16]);
        f64[i] = i % 5 == 0 ? 0x7ff0000000000001ull + (r & 0xffff) : i % 5 == 1 ? 0x8000000000000000ull | (r & 0xfffff) : r;
        f16[i] = (uint16_t)(i < 256 ? (uint64_t)((0x7c00 | i) + (i & 1) * 0x8000) : r); /* NaN payloads, Inf */
        bf16[i] = (uint16_t)(i < 128 ? (uint64_t)(0x7f80 | i) : r >> 20);
    }
    struct { tp_dtype dt; const void *d; const char *spec; } cases[] = {
        {TP_F32, f32, "zstd:level=1"}, {TP_F32, f32, "zstd|zstd:level=-7"}, {TP_F64, f64, "zstd:level=19"},
        {TP_F16, f16, "zstd"},          {TP_BF16, bf16, "zstd"},
        /* A cast to the tensor's own dtype is a copy. */
        {TP_F16, f16, "fp16"},          {TP_F16, f16, "fp16|zstd"},   {TP_BF16, bf16, "bf16|zstd:level=2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tp_tensor t = {cases[c].dt, 1, {N}, cases[c].d};
        uint8_t *f;
        size_t n = encode(cases[c].spec, &t, &f);
        CHECK_OK(n);
        void *y;
        size_t ny;
        CHECK_OK(decode(f, n, &y, &ny));
        CHECK(ny == N * tp_dtype_size(cases[c].dt));
        CHECK(!memcmp(y, cases[c].d, ny));
        free(y);
        free(f);
    }
    /* fp16 of f32 specials: NaN stays NaN (quiet), Inf and -0 kept,
     * denormals of f32 flush to the nearest half (0). */
    tp_tensor t = {TP_F32, 1, {16}, f32_special};
    uint8_t *f;
    size_t n = encode("fp16", &t, &f);
    CHECK_OK(n);
    float *y;
    size_t ny;
    CHECK_OK(decode(f, n, (void **)&y, &ny));
    for (int i = 0; i < 16; i++) {
        float x;
        memcpy(&x, &f32_special[i], 4);
        uint32_t yb;
        memcpy(&yb, &y[i], 4);
        if (isnan(x)) CHECK(isnan(y[i]) && (yb & 0x400000u) && (yb >> 31) == (f32_special[i] >> 31));
        else if (isinf(x) || x == 0) CHECK(yb == f32_special[i]);
        else CHECK(y[i] == tp_f16_to_f32(tp_f32_to_f16(x)));
    }
    free(y);
    free(f);
}

TEST(frame_integer_dtypes)
{
    static const tp_dtype ints[] = {TP_I8, TP_U8, TP_I16, TP_U16, TP_I32, TP_U32, TP_I64, TP_U64, TP_BOOL};
    uint8_t raw[8 * 77];
    tp_rng s = {9};
    for (size_t i = 0; i < sizeof raw; i++) raw[i] = (uint8_t)tp_rng_next(&s);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        tp_tensor t = {ints[i], 2, {7, 11}, raw};
        if (ints[i] == TP_BOOL) for (int k = 0; k < 77; k++) raw[k] &= 1;
        static const char *const ok_specs[] = {"zstd", "zstd:level=9|zstd:level=1"};
        for (int k = 0; k < 2; k++) {
            uint8_t *f;
            size_t n = encode(ok_specs[k], &t, &f);
            CHECK_OK(n);
            void *y;
            size_t ny;
            CHECK_OK(decode(f, n, &y, &ny));
            CHECK(ny == 77 * tp_dtype_size(ints[i]) && !memcmp(y, raw, ny));
            free(y);
            free(f);
        }
        static const char *const bad_specs[] = {"int", "int:bits=4|zstd", "fp16", "bf16|zstd", "zstd|int"};
        for (int k = 0; k < 5; k++) {
            tp_pipeline *p = pipe_of(bad_specs[k]);
            CHECK(p);
            void *buf = (void *)&p;
            uint8_t dst[4096];
            CHECK_ERR(tp_frame_bound(p, &t), TP_ERR_DTYPE);
            CHECK_ERR(tp_frame_encode(p, &t, NULL, dst, sizeof dst), TP_ERR_DTYPE);
            CHECK_ERR(tp_frame_encode_alloc(p, &t, NULL, &buf), TP_ERR_DTYPE);
            CHECK(buf == NULL);
            CHECK(strstr(tp_last_error_detail(), tp_dtype_name(ints[i])) || strstr(tp_last_error_detail(), "u8"));
            tp_pipeline_free(p);
        }
    }
    /* A u8 output of zstd cannot feed int either, whatever the input. */
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tp_tensor t = {TP_F32, 1, {8}, x};
    tp_pipeline *p = pipe_of("zstd|int");
    CHECK_ERR(tp_frame_bound(p, &t), TP_ERR_DTYPE);
    CHECK(strstr(tp_last_error_detail(), "stage 2"));
    tp_pipeline_free(p);
}

TEST(frame_inspect_fields)
{
    uint16_t *x = make_data(TP_F16, 105, 3);
    tp_tensor t = {TP_F16, 3, {3, 5, 7}, x};
    const char *spec = "int:bits=4,group=32|zstd";
    uint8_t *f;
    size_t n = encode(spec, &t, &f);
    CHECK_OK(n);
    /* The frame followed by unrelated bytes: both calls ignore them. */
    uint8_t *g = malloc(n + 100);
    memcpy(g, f, n);
    memset(g + n, 0xee, 100);
    tp_frame_info info;
    memset(&info, 0x55, sizeof info);
    CHECK_OK(tp_frame_inspect(g, n + 100, &info));
    CHECK(info.dtype == TP_F16 && info.ndim == 3);
    CHECK(info.shape[0] == 3 && info.shape[1] == 5 && info.shape[2] == 7);
    CHECK(info.nbytes == 210 && info.frame_size == n && info.n_stages == 2);
    CHECK(!strcmp(info.spec, "int:bits=4,sym=1,group=32,axis=-1,scale=f16,search=0 | zstd:level=3"));
    CHECK_OK(tp_frame_inspect(g, n + 100, NULL));
    uint16_t y[105], y2[105];
    CHECK(tp_frame_decode(g, n + 100, y, sizeof y) == 210);
    CHECK(tp_frame_decode(f, n, y2, sizeof y2) == 210);
    CHECK(!memcmp(y, y2, sizeof y));
    /* The fixed header as documented in docs/FORMAT.md. */
    CHECK(!memcmp(f, "TPFR", 4) && f[4] == 1 && f[5] == 0 && f[12] == 2);
    uint32_t header_size = rd32(f + 8);
    CHECK(header_size + rd64(f + header_size - 8) + 8 == n);
    CHECK(rd64(f + n - 8) == XXH3_64bits(f, n - 8));
    /* Decode into a larger buffer writes exactly nbytes. */
    uint8_t big[300];
    memset(big, 0xa5, sizeof big);
    CHECK(tp_frame_decode(f, n, big, sizeof big) == 210);
    for (size_t i = 210; i < sizeof big; i++) CHECK(big[i] == 0xa5);
    free(g);
    free(f);
    free(x);
}

TEST(frame_dst_too_small)
{
    float *x = make_data(TP_F32, 200, 5);
    tp_tensor t = {TP_F32, 2, {10, 20}, x};
    static const char *const sp[] = {"int:bits=4,group=32", "fp16", "zstd", "int:bits=3|zstd", "bf16|zstd:level=1"};
    for (size_t k = 0; k < sizeof sp / sizeof sp[0]; k++) {
        uint8_t *f;
        size_t n = encode(sp[k], &t, &f);
        CHECK_OK(n);
        tp_pipeline *p = pipe_of(sp[k]);
        uint8_t *dst = malloc(n + 64);
        for (size_t cap = 0; cap < n; cap++) {
            memset(dst, 0xa5, n + 64);
            size_t r = tp_frame_encode(p, &t, NULL, dst, cap);
            if (tp_error_code(r) != TP_ERR_DST_TOO_SMALL)
                printf("  %s cap %zu of %zu: %s (%s)\n", sp[k], cap, n, tp_error_name(r), tp_last_error_detail());
            CHECK_ERR(r, TP_ERR_DST_TOO_SMALL);
            for (size_t i = cap; i < n + 64; i++) CHECK(dst[i] == 0xa5); /* nothing written past cap */
        }
        CHECK(tp_frame_encode(p, &t, NULL, dst, n + 64) == n);
        CHECK(!memcmp(dst, f, n));
        /* Decode with a short destination. */
        CHECK_ERR(tp_frame_decode(f, n, dst, 799), TP_ERR_DST_TOO_SMALL);
        CHECK_ERR(tp_frame_decode(f, n, NULL, 800), TP_ERR_ARG);
        tp_pipeline_free(p);
        free(dst);
        free(f);
    }
    free(x);
}

TEST(frame_bad_arguments)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    tp_tensor t = {TP_F32, 2, {2, 3}, x};
    tp_pipeline *p = pipe_of("int:bits=4");
    uint8_t dst[1024];
    void *out = (void *)&t;
    CHECK_ERR(tp_frame_encode(NULL, &t, NULL, dst, sizeof dst), TP_ERR_ARG);
    CHECK_ERR(tp_frame_encode(p, NULL, NULL, dst, sizeof dst), TP_ERR_ARG);
    CHECK_ERR(tp_frame_encode(p, &t, NULL, NULL, sizeof dst), TP_ERR_ARG);
    CHECK_ERR(tp_frame_encode_alloc(p, &t, NULL, NULL), TP_ERR_ARG);
    CHECK_ERR(tp_frame_bound(NULL, &t), TP_ERR_ARG);
    CHECK_ERR(tp_frame_bound(p, NULL), TP_ERR_ARG);
    tp_tensor nodata = t;
    nodata.data = NULL;
    CHECK_ERR(tp_frame_encode(p, &nodata, NULL, dst, sizeof dst), TP_ERR_ARG);
    CHECK_ERR(tp_frame_encode_alloc(p, &nodata, NULL, &out), TP_ERR_ARG);
    CHECK(out == NULL);
    tp_tensor deep = t;
    deep.ndim = 9;
    CHECK_ERR(tp_frame_encode(p, &deep, NULL, dst, sizeof dst), TP_ERR_SHAPE);
    tp_tensor bad = t;
    bad.dtype = (tp_dtype)77;
    CHECK_ERR(tp_frame_encode(p, &bad, NULL, dst, sizeof dst), TP_ERR_DTYPE);
    /* An empty tensor may have no data. */
    tp_tensor empty = {TP_F32, 2, {0, 3}, NULL};
    size_t n = tp_frame_encode(p, &empty, NULL, dst, sizeof dst);
    CHECK_OK(n);
    CHECK(tp_frame_decode(dst, n, NULL, 0) == 0);
    tp_pipeline_free(p);
    static const char *const empty_specs[] = {"bf16", "fp16", "zstd", "bf16|zstd", "int:sym=0|zstd"};
    static const tp_dtype empty_dts[] = {TP_F32, TP_F16, TP_BF16, TP_F64};
    for (size_t i = 0; i < 5; i++)
        for (size_t d = 0; d < 4; d++) {
            tp_tensor e = {empty_dts[d], 1, {0}, NULL};
            p = pipe_of(empty_specs[i]);
            n = tp_frame_encode(p, &e, NULL, dst, sizeof dst);
            CHECK_OK(n);
            CHECK(tp_frame_decode(dst, n, NULL, 0) == 0);
            tp_pipeline_free(p);
        }
    tp_frame_info info;
    CHECK_ERR(tp_frame_inspect(NULL, 10, &info), TP_ERR_ARG);
    CHECK_ERR(tp_frame_decode(NULL, 10, dst, sizeof dst), TP_ERR_ARG);
    CHECK_ERR(tp_frame_inspect(dst, 0, &info), TP_ERR_TRUNCATED);
}

/* A few small frames of various kinds for the robustness tests. */
static size_t sample_frames(uint8_t *frames[], size_t sizes[])
{
    static const struct { const char *spec; tp_dtype dt; uint32_t ndim; uint64_t shape[3]; } k[] = {
        {"int:bits=4,group=32", TP_F32, 2, {4, 40}},       {"int:bits=3,sym=0,group=0,axis=0,scale=f32", TP_F32, 2, {4, 12}},
        {"fp16|zstd:level=3", TP_F32, 1, {50}},             {"bf16", TP_F64, 2, {3, 7}},
        {"zstd:level=1", TP_F16, 3, {2, 3, 4}},             {"int:bits=2,group=7|zstd", TP_BF16, 1, {30}},
        {"zstd", TP_I32, 0, {0}},                           {"fp16|bf16|zstd", TP_F32, 2, {0, 4}},
        {"lossless:chunk=1", TP_BF16, 2, {3, 700}},         {"int:bits=4,group=32|lossless", TP_F32, 2, {5, 64}},
    };
    size_t m = sizeof k / sizeof k[0];
    for (size_t i = 0; i < m; i++) {
        tp_tensor t = {k[i].dt, k[i].ndim, {k[i].shape[0], k[i].shape[1], k[i].shape[2]}, NULL};
        uint64_t numel;
        tp_tensor_numel(&t, &numel);
        void *x = make_data(tp_dtype_is_float(k[i].dt) ? k[i].dt : TP_F32, numel, (unsigned)i);
        t.data = x;
        sizes[i] = encode(k[i].spec, &t, &frames[i]);
        free(x);
        if (tp_is_error(sizes[i])) return 0;
    }
    return m;
}

/* Decodes a frame held in a buffer of exactly n bytes into a buffer of
 * exactly the size its header claims (capped), so that ASan sees any
 * access out of either. Returns the decode result. */
static size_t decode_exact(const uint8_t *frame, size_t n)
{
    uint8_t *src = malloc(n ? n : 1);
    memcpy(src, frame, n);
    tp_frame_info info;
    size_t r = tp_frame_inspect(src, n, &info);
    size_t cap = tp_is_error(r) ? 64 : (size_t)(info.nbytes < (1u << 24) ? info.nbytes : (1u << 24));
    uint8_t *dst = malloc(cap ? cap : 1);
    size_t d = tp_frame_decode(src, n, dst, cap);
    /* Inspect reads the header only: what it refuses decode must refuse
     * too (payload errors show at decode only). */
    if (tp_is_error(r) && (!tp_is_error(d) || tp_error_code(d) != tp_error_code(r))) {
        printf("  inspect says %s but decode says %s\n", tp_error_name(r), tp_error_name(d));
        d = (size_t)0 - (size_t)TP_ERR__MAX; /* not a valid code: the CHECK fails */
    }
    free(dst);
    free(src);
    return d;
}

TEST(frame_every_truncation_rejected)
{
    uint8_t *frames[16];
    size_t sizes[16];
    size_t m = sample_frames(frames, sizes);
    CHECK(m > 0);
    for (size_t i = 0; i < m; i++) {
        for (size_t len = 0; len < sizes[i]; len++) {
            size_t r = decode_exact(frames[i], len);
            CHECK(tp_is_error(r) && tp_error_code(r) != TP_ERR__MAX);
            CHECK(tp_error_code(r) == TP_ERR_TRUNCATED || tp_error_code(r) == TP_ERR_CORRUPT);
            /* the header-only parse refuses it the same way */
            CHECK(tp_error_code(tp_frame_header(frames[i], len, NULL)) == tp_error_code(r));
        }
        CHECK(!tp_is_error(decode_exact(frames[i], sizes[i])));
        free(frames[i]);
    }
}

TEST(frame_bit_flips_rejected)
{
    uint8_t *frames[16];
    size_t sizes[16];
    size_t m = sample_frames(frames, sizes);
    CHECK(m > 0);
    tp_rng s = {2024};
    int seen[TP_ERR__MAX] = {0};
    for (int k = 0; k < 2400; k++) {
        size_t i = (size_t)(tp_rng_next(&s) % m);
        /* Half the flips hit the header and checksum, where parsing is. */
        uint32_t hs = rd32(frames[i] + 8);
        size_t pos = k % 2 ? (size_t)(tp_rng_next(&s) % hs) : (size_t)(tp_rng_next(&s) % sizes[i]);
        if (k % 7 == 0) pos = sizes[i] - 1 - (size_t)(tp_rng_next(&s) % 8);
        uint8_t bit = (uint8_t)(1u << (tp_rng_next(&s) % 8));
        frames[i][pos] ^= bit;
        size_t r = decode_exact(frames[i], sizes[i]);
        /* A payload flip that the frame checksum caught passes the
         * header-only parse: only the checksum is left out there. */
        if (tp_error_code(r) == TP_ERR_CHECKSUM && pos >= hs && pos < sizes[i] - 8 && !(frames[i][6] & 1))
            CHECK_OK(tp_frame_header(frames[i], sizes[i], NULL));
        frames[i][pos] ^= bit;
        CHECK(tp_is_error(r) && tp_error_code(r) != TP_ERR__MAX);
        seen[tp_error_code(r)]++;
    }
    /* Most are caught by the checksum; header flips also by the parser. */
    CHECK(seen[TP_ERR_CHECKSUM] > 1000);
    for (size_t i = 0; i < m; i++) CHECK(!tp_is_error(decode_exact(frames[i], sizes[i])));
    for (size_t i = 0; i < m; i++) free(frames[i]);
}

/* Offsets in a frame, found by walking its header (docs/FORMAT.md). */
typedef struct {
    size_t desc0, stage[8], stage_desc[8], payload_size, payload;
    unsigned n_stages;
} frame_map;

static void map_frame(const uint8_t *f, frame_map *m)
{
    m->n_stages = f[12];
    m->desc0 = 16;
    size_t off = 16 + 4 + 8 * (size_t)f[17];
    for (unsigned s = 0; s < m->n_stages; s++) {
        m->stage[s] = off;
        size_t plen = (size_t)f[off + 2] | (size_t)f[off + 3] << 8;
        m->stage_desc[s] = off + 4 + plen;
        off = m->stage_desc[s] + 4 + 8 * (size_t)f[m->stage_desc[s] + 1];
    }
    m->payload_size = off;
    m->payload = off + 8;
}

/* Applies an edit to a copy of the frame, reseals it and decodes it. */
static size_t forged(const uint8_t *f, size_t n, size_t pos, const void *bytes, size_t len)
{
    uint8_t *g = malloc(n);
    memcpy(g, f, n);
    memcpy(g + pos, bytes, len);
    reseal(g, n);
    size_t r = decode_exact(g, n);
    free(g);
    return r;
}

TEST(frame_forged_headers_rejected)
{
    float *x = make_data(TP_F32, 160, 1);
    tp_tensor t = {TP_F32, 2, {4, 40}, x};
    uint8_t *fi, *fz;
    size_t ni = encode("int:bits=4,group=32", &t, &fi), nz = encode("fp16|zstd", &t, &fz);
    CHECK_OK(ni);
    CHECK_OK(nz);
    frame_map mi, mz;
    map_frame(fi, &mi);
    map_frame(fz, &mz);
    CHECK(mi.payload == rd32(fi + 8) && mz.payload == rd32(fz + 8));
    uint8_t b1 = 1, b0 = 0, b9 = 9, b2 = 2;
    uint16_t u99 = 99;
    CHECK_ERR(forged(fi, ni, 0, "TPFX", 4), TP_ERR_CORRUPT);             /* magic           */
    CHECK_ERR(forged(fi, ni, 4, &b2, 1), TP_ERR_VERSION);                /* version 2       */
    CHECK(strstr(tp_last_error_detail(), "version 2"));
    CHECK_ERR(forged(fi, ni, 6, &b1, 1), TP_ERR_CORRUPT);                /* flags           */
    CHECK_ERR(forged(fi, ni, 13, &b1, 1), TP_ERR_CORRUPT);               /* reserved        */
    CHECK_ERR(forged(fi, ni, 15, &b1, 1), TP_ERR_CORRUPT);
    CHECK_ERR(forged(fi, ni, 12, &b0, 1), TP_ERR_CORRUPT);               /* 0 stages        */
    CHECK_ERR(forged(fi, ni, 12, &b9, 1), TP_ERR_CORRUPT);               /* 9 stages        */
    CHECK_ERR(forged(fi, ni, 8, &b1, 1), TP_ERR_CORRUPT);                /* header_size     */
    CHECK_ERR(forged(fi, ni, mi.desc0, &b0, 1), TP_ERR_CORRUPT);         /* dtype 0         */
    uint8_t b14 = TP_DTYPE__MAX;
    CHECK_ERR(forged(fi, ni, mi.desc0, &b14, 1), TP_ERR_CORRUPT);        /* dtype 14        */
    CHECK_ERR(forged(fi, ni, mi.desc0 + 1, &b9, 1), TP_ERR_CORRUPT);     /* ndim 9          */
    CHECK_ERR(forged(fi, ni, mi.desc0 + 2, &b1, 1), TP_ERR_CORRUPT);     /* desc reserved   */
    CHECK_ERR(forged(fi, ni, mi.stage[0], &u99, 2), TP_ERR_UNKNOWN_CODEC); /* codec id 99   */
    CHECK(strstr(tp_last_error_detail(), "99"));
    uint16_t zstd_id = 4, fp16_id = 2;
    CHECK(tp_is_error(forged(fi, ni, mi.stage[0], &zstd_id, 2)));        /* zstd on int bytes */
    CHECK(tp_is_error(forged(fi, ni, mi.stage[0], &fp16_id, 2)));        /* params for another codec */
    /* Parameters: out of range, or in range but disagreeing with the payload. */
    const char *pt = (const char *)fi + mi.stage[0] + 4;
    CHECK(!strncmp(pt, "bits=4,", 7));
    CHECK_ERR(forged(fi, ni, mi.stage[0] + 9, "9", 1), TP_ERR_CORRUPT);
    CHECK(strstr(tp_last_error_detail(), "bits=9"));
    CHECK_ERR(forged(fi, ni, mi.stage[0] + 9, "5", 1), TP_ERR_CORRUPT);  /* payload size off */
    CHECK_ERR(forged(fi, ni, mi.stage[0] + 9, "x", 1), TP_ERR_CORRUPT);
    /* The int stage's output descriptor and the payload size must agree. */
    uint8_t big[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0};
    CHECK_ERR(forged(fi, ni, mi.stage_desc[0] + 4, big, 8), TP_ERR_CORRUPT);
    CHECK_ERR(forged(fi, ni, mi.payload_size, big, 8), TP_ERR_CORRUPT);
    /* Tensor shape changed: the stage sizes no longer fit it. */
    uint8_t five = 5;
    CHECK_ERR(forged(fi, ni, mi.desc0 + 4, &five, 1), TP_ERR_CORRUPT);
    CHECK_ERR(forged(fz, nz, mz.desc0 + 4, &five, 1), TP_ERR_CORRUPT);
    /* An intermediate tensor far larger than the output: refused before
     * any allocation. */
    uint8_t huge[8] = {0, 0, 0, 0, 0, 1, 0, 0}; /* 2^40 */
    CHECK_ERR(forged(fz, nz, mz.stage_desc[0] + 4, huge, 8), TP_ERR_CORRUPT);
    CHECK(strstr(tp_last_error_detail(), "implausibly large"));
    /* The fp16 stage said to hold f32 values, or an integer output. */
    uint8_t f32 = TP_F32, i16 = TP_I16;
    CHECK_ERR(forged(fz, nz, mz.stage_desc[0], &f32, 1), TP_ERR_CORRUPT);
    CHECK_ERR(forged(fz, nz, mz.desc0, &i16, 1), TP_ERR_CORRUPT);
    CHECK_ERR(forged(fi, ni, mi.desc0, &i16, 1), TP_ERR_CORRUPT);
    /* Garbage zstd payload. */
    uint8_t junk[4] = {1, 2, 3, 4};
    CHECK_ERR(forged(fz, nz, mz.payload, junk, 4), TP_ERR_CORRUPT);
    free(fi);
    free(fz);
    free(x);
}

TEST(frame_self_checked_payload)
{
    /* A lossless frame's checksum covers its header; the payload is checked
     * chunk by chunk as it decodes. Every payload corruption must still be
     * refused, and the flag can neither be forged onto a codec without
     * checksums nor cleared without the checksum noticing. */
    size_t nv = 3000;
    uint16_t *x = malloc(nv * sizeof *x);
    tp_rng s = {5};
    for (size_t i = 0; i < nv; i++) x[i] = (uint16_t)(0x3c00 + (tp_rng_next(&s) % 512) - 256 + (i % 3 ? 0 : 0x8000));
    tp_tensor t = {TP_BF16, 1, {nv}, x};
    uint8_t *f, *fi;
    size_t n = encode("lossless:chunk=1", &t, &f);
    CHECK_OK(n);
    frame_map m;
    map_frame(f, &m);
    CHECK(f[6] == 1 && checked_span(f, n) == m.payload);
    CHECK(rd64(f + n - 8) == XXH3_64bits(f, m.payload));
    int refused = 0, flips = 0;
    for (size_t pos = m.payload; pos < n - 8; pos += 1 + pos % 5, flips++) {
        f[pos] ^= (uint8_t)(1u << (pos % 8));
        CHECK_OK(tp_frame_inspect(f, n, NULL)); /* the header is intact */
        size_t r = decode_exact(f, n);
        f[pos] ^= (uint8_t)(1u << (pos % 8));
        refused += tp_is_error(r);
    }
    CHECK(flips > 500 && refused == flips);
    /* Flag cleared: the stored checksum no longer matches; resealed over the
     * whole frame it is a valid frame of the older form. */
    f[6] = 0;
    CHECK_ERR(decode_exact(f, n), TP_ERR_CHECKSUM);
    reseal(f, n);
    CHECK(decode_exact(f, n) == nv * 2);
    /* Flag forged onto an int frame (resealed): refused by name. */
    float *y = make_data(TP_F32, 160, 1);
    tp_tensor ti = {TP_F32, 2, {4, 40}, y};
    size_t ni = encode("int:bits=4,group=32", &ti, &fi);
    CHECK_OK(ni);
    uint8_t b1 = 1;
    CHECK_ERR(forged(fi, ni, 6, &b1, 1), TP_ERR_CORRUPT);
    CHECK(strstr(tp_last_error_detail(), "no checksums"));
    free(fi);
    free(y);
    free(f);
    free(x);
}

TEST(frame_random_forgeries_never_crash)
{
    /* Random byte edits, resealed so they get past the checksum and reach
     * the header parser and the stage decoders. Success is allowed (a
     * payload byte of a lossy stage can change a value); a crash, an
     * out-of-bounds access or a mismatch between inspect and decode is not. */
    uint8_t *frames[16];
    size_t sizes[16];
    size_t m = sample_frames(frames, sizes);
    CHECK(m > 0);
    tp_rng s = {77};
    int ok = 0, err = 0;
    for (int k = 0; k < 3000; k++) {
        size_t i = (size_t)(tp_rng_next(&s) % m), n = sizes[i];
        uint8_t *g = malloc(n);
        memcpy(g, frames[i], n);
        uint32_t hs = rd32(g + 8);
        int edits = 1 + (int)(tp_rng_next(&s) % 3);
        for (int e = 0; e < edits; e++) {
            size_t pos = k % 3 ? (size_t)(tp_rng_next(&s) % hs) : (size_t)(tp_rng_next(&s) % (n - 8));
            uint64_t r = tp_rng_next(&s);
            g[pos] = r % 4 == 0 ? 0 : r % 4 == 1 ? 0xff : (uint8_t)(g[pos] ^ (r >> 8));
        }
        reseal(g, n);
        size_t r = decode_exact(g, n);
        free(g);
        CHECK(tp_error_code(r) != TP_ERR__MAX);
        if (tp_is_error(r)) err++; else ok++;
    }
    CHECK(err > 1000);
    for (size_t i = 0; i < m; i++) free(frames[i]);
}

TEST(frame_any_alignment)
{
    /* Frames are bytes: encode to and decode from any address. */
    uint8_t *frames[16];
    size_t sizes[16];
    size_t m = sample_frames(frames, sizes);
    CHECK(m > 0);
    for (size_t i = 0; i < m; i++) {
        size_t n = sizes[i];
        tp_frame_info info;
        CHECK_OK(tp_frame_inspect(frames[i], n, &info));
        void *want = malloc(info.nbytes + 1);
        CHECK(tp_frame_decode(frames[i], n, want, info.nbytes) == info.nbytes);
        uint8_t *buf = malloc(n + 8);
        void *y = malloc(info.nbytes + 1);
        for (size_t a = 1; a < 8; a++) {
            memcpy(buf + a, frames[i], n);
            CHECK(tp_frame_decode(buf + a, n, y, info.nbytes) == info.nbytes);
            CHECK(!memcmp(y, want, info.nbytes));
        }
        /* Re-encode the decoded tensor at odd addresses: same bytes as at
         * an aligned one. */
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(info.spec, &p));
        tp_tensor t = {info.dtype, info.ndim, {0}, want};
        memcpy(t.shape, info.shape, sizeof t.shape);
        size_t bound = tp_frame_bound(p, &t);
        CHECK_OK(bound);
        uint8_t *e0 = malloc(bound), *e1 = malloc(bound + 8);
        size_t n0 = tp_frame_encode(p, &t, NULL, e0, bound);
        CHECK_OK(n0);
        for (size_t a = 1; a < 8; a += 2) {
            CHECK(tp_frame_encode(p, &t, NULL, e1 + a, bound) == n0);
            CHECK(!memcmp(e1 + a, e0, n0));
        }
        tp_pipeline_free(p);
        free(e0); free(e1); free(buf); free(y); free(want);
        free(frames[i]);
    }
}

static uint64_t desc_nbytes(const uint8_t *d)
{
    static const uint8_t size[14] = {0, 4, 2, 2, 8, 1, 1, 2, 2, 4, 4, 8, 8, 1};
    uint64_t n = d[0] < 14 ? size[d[0]] : 0;
    for (unsigned i = 0; i < d[1]; i++) n *= rd64(d + 4 + 8 * i);
    return n;
}

TEST(frame_layout_as_in_format_md)
{
    /* Walks each frame by docs/FORMAT.md alone and checks every field. */
    uint8_t *frames[16];
    size_t sizes[16];
    size_t m = sample_frames(frames, sizes);
    CHECK(m > 0);
    for (size_t i = 0; i < m; i++) {
        const uint8_t *f = frames[i];
        size_t n = sizes[i];
        tp_frame_info info, hdr;
        memset(&info, 0, sizeof info);
        memset(&hdr, 0, sizeof hdr);
        CHECK_OK(tp_frame_inspect(f, n, &info));
        CHECK_OK(tp_frame_header(f, n, &hdr)); /* the header-only parse agrees field by field */
        CHECK(!memcmp(&hdr, &info, sizeof info));
        CHECK(rd32(f) == 0x52465054u && f[4] == 1 && f[5] == 0 && f[6] <= 1 && f[7] == 0);
        CHECK(f[12] >= 1 && f[12] <= 8 && f[13] == 0 && f[14] == 0 && f[15] == 0);
        frame_map fm;
        map_frame(f, &fm);
        CHECK(fm.payload == rd32(f + 8));
        CHECK(f[16] == info.dtype && f[17] == info.ndim && f[18] == 0 && f[19] == 0);
        /* Stage records: known ids, canonical parameter text, descriptors. */
        char spec[1024] = "";
        size_t off = 0;
        const tp_codec_info *c_last = NULL;
        for (unsigned s = 0; s < fm.n_stages; s++) {
            const uint8_t *r = f + fm.stage[s];
            unsigned id = r[0] | r[1] << 8, plen = r[2] | r[3] << 8;
            const tp_codec_info *c = NULL;
            for (size_t k = 0; k < tp_codec_count(); k++)
                if (tp_codec_at(k)->id == id) c = tp_codec_at(k);
            CHECK(c != NULL);
            c_last = c;
            off += (size_t)snprintf(spec + off, sizeof spec - off, "%s%s%s%.*s", s ? " | " : "", c->name, plen ? ":" : "",
                                    (int)plen, (const char *)r + 4);
            const uint8_t *d = f + fm.stage_desc[s];
            CHECK(d[2] == 0 && d[3] == 0 && d[1] <= 8);
            if (!strcmp(c->name, "fp16") || !strcmp(c->name, "bf16")) {
                CHECK(d[0] == (strcmp(c->name, "fp16") ? TP_BF16 : TP_F16));
            } else CHECK(d[0] == TP_U8 && d[1] == 1);
        }
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(spec, &p));
        char canon[1024];
        CHECK_OK(tp_pipeline_to_string(p, canon, sizeof canon));
        tp_pipeline_free(p);
        CHECK(!strcmp(spec, canon) && !strcmp(info.spec, canon));
        uint64_t psize = rd64(f + fm.payload_size);
        CHECK(psize == desc_nbytes(f + fm.stage_desc[fm.n_stages - 1]));
        CHECK(fm.payload + psize + 8 == n);
        /* Flag 1 (header-only checksum) exactly when the last codec checks its own payload. */
        CHECK(f[6] == ((c_last->flags & TP_CODEC_CHECKED) ? 1 : 0));
        CHECK(rd64(f + n - 8) == XXH3_64bits(f, checked_span(f, n)));
        CHECK(info.nbytes == desc_nbytes(f + 16));
        free(frames[i]);
    }
}

/* An f16 tensor decoded to f32: the values the f16 decode rounds, for a
 * codec that works in f32 (one stage or several) and for one that keeps
 * the f16 bits; integer tensors and short buffers refused. */
TEST(frame_decode_f32)
{
    enum { N = 4096 };
    static float x[N], got[N];
    static uint16_t h[N], back[N];
    th_gaussian(x, N, 21);
    CHECK_OK(tp_convert(h, TP_F16, x, TP_F32, N));
    tp_tensor t = {TP_F16, 2, {64, 64}, h};
    static const char *const f32_specs[] = {"int:bits=4", "kq:bits=3|zstd", "lossless"};
    for (size_t s = 0; s < sizeof f32_specs / sizeof f32_specs[0]; s++) {
        uint8_t *f;
        size_t n = encode(f32_specs[s], &t, &f);
        CHECK_OK(n);
        if (tp_is_error(n)) continue;
        CHECK(tp_frame_decode_f32(f, n, got, sizeof got) == sizeof got);
        CHECK(tp_frame_decode(f, n, back, sizeof back) == sizeof back);
        static uint16_t rounded[N];
        CHECK_OK(tp_convert(rounded, TP_F16, got, TP_F32, N));
        CHECK(!memcmp(rounded, back, sizeof back));
        CHECK_ERR(tp_frame_decode_f32(f, n, got, sizeof got - 4), TP_ERR_DST_TOO_SMALL);
        free(f);
    }
    static int32_t ints[N];
    tp_tensor ti = {TP_I32, 1, {N}, ints};
    uint8_t *f;
    size_t n = encode("lossless", &ti, &f);
    CHECK_OK(n);
    if (!tp_is_error(n)) CHECK_ERR(tp_frame_decode_f32(f, n, got, sizeof got), TP_ERR_DTYPE);
    free(f);
}
