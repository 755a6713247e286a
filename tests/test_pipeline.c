/* Pipeline spec parsing: canonical form, defaults, whitespace, and every
 * error with its code and a detail that names the offending token. */
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "harness.h"

#define INT_DEFAULT "int:bits=8,sym=1,group=32,axis=-1,scale=f16,search=0"

/* Parses spec and returns its canonical string in buf ("" on failure). */
static int canon(const char *spec, char *buf, size_t cap)
{
    tp_pipeline *p = NULL;
    buf[0] = 0;
    if (tp_is_error(tp_pipeline_parse(spec, &p))) return 0;
    size_t r = tp_pipeline_to_string(p, buf, cap);
    tp_pipeline_free(p);
    return !tp_is_error(r) && strlen(buf) == r;
}

/* 1 if spec fails with code and the detail contains every needle. */
static int fails_with(const char *spec, tp_error code, const char *needle1, const char *needle2)
{
    tp_pipeline *p = (tp_pipeline *)&p; /* must stay untouched on failure */
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_error_code(r) != code) {
        printf("  spec \"%s\": got %s (%s), want %s\n", spec, tp_error_name(r), tp_last_error_detail(),
               tp_error_string(code));
        if (!tp_is_error(r)) tp_pipeline_free(p);
        return 0;
    }
    const char *d = tp_last_error_detail();
    if ((needle1 && !strstr(d, needle1)) || (needle2 && !strstr(d, needle2))) {
        printf("  spec \"%s\": detail \"%s\" lacks \"%s\"/\"%s\"\n", spec, d, needle1 ? needle1 : "",
               needle2 ? needle2 : "");
        return 0;
    }
    return p == (tp_pipeline *)&p;
}

TEST(pipeline_defaults)
{
    char buf[512];
    CHECK(canon("int", buf, sizeof buf));
    CHECK(!strcmp(buf, INT_DEFAULT));
    CHECK(canon("int:", buf, sizeof buf)); /* empty parameter list = defaults */
    CHECK(!strcmp(buf, INT_DEFAULT));
    CHECK(canon("zstd", buf, sizeof buf));
    CHECK(!strcmp(buf, "zstd:level=3"));
    CHECK(canon("fp16", buf, sizeof buf));
    CHECK(!strcmp(buf, "fp16"));
    CHECK(canon("bf16", buf, sizeof buf));
    CHECK(!strcmp(buf, "bf16"));
    CHECK(canon("int:bits=4,group=32|zstd", buf, sizeof buf));
    CHECK(!strcmp(buf, "int:bits=4,sym=1,group=32,axis=-1,scale=f16,search=0 | zstd:level=3"));
    /* group=0 is allowed (no groups: one scale for the tensor), and is how
     * per-channel is asked for, with axis. */
    CHECK(canon("int:group=0", buf, sizeof buf));
    CHECK(!strcmp(buf, "int:bits=8,sym=1,group=0,axis=-1,scale=f16,search=0"));
    CHECK(canon("int:bits=3,sym=0,group=0,axis=0,scale=f32", buf, sizeof buf));
    CHECK(!strcmp(buf, "int:bits=3,sym=0,group=0,axis=0,scale=f32,search=0"));
    /* Parameter order does not matter; numbers may be written as floats
     * with an integral value. */
    CHECK(canon("int:scale=f32,bits=2.0,search=1,sym=0,group=1e2", buf, sizeof buf));
    CHECK(!strcmp(buf, "int:bits=2,sym=0,group=100,axis=-1,scale=f32,search=1"));
    CHECK(canon("zstd:level=-7", buf, sizeof buf));
    CHECK(!strcmp(buf, "zstd:level=-7"));
    CHECK(canon("zstd:level=22", buf, sizeof buf));
    CHECK(!strcmp(buf, "zstd:level=22"));
    CHECK(canon("zstd:level=-0", buf, sizeof buf));
    CHECK(!strcmp(buf, "zstd:level=0"));
}

TEST(pipeline_whitespace)
{
    char a[512], b[512];
    CHECK(canon("int:bits=4,group=32|zstd:level=1", a, sizeof a));
    CHECK(canon("  int : bits = 4 ,\tgroup=32  |  zstd:level=1 ", b, sizeof b));
    CHECK(!strcmp(a, b));
    CHECK(canon("\nint:bits=4, group=32 |zstd: level=1\n", b, sizeof b));
    CHECK(!strcmp(a, b));
    CHECK(canon("fp16 | zstd", a, sizeof a));
    CHECK(!strcmp(a, "fp16 | zstd:level=3"));
    CHECK(canon(" bf16 ", a, sizeof a));
    CHECK(!strcmp(a, "bf16"));
}

TEST(pipeline_canonical_round_trip)
{
    static const char *const specs[] = {
        "int", "zstd", "fp16", "bf16", "int:bits=1,sym=0", "int:bits=4,group=7,scale=f32,search=1",
        "int:group=0,axis=2", "fp16|zstd:level=19", "bf16|zstd:level=-3", "int:bits=4|zstd",
        "fp16|bf16|fp16|bf16", "zstd|zstd|zstd|zstd|zstd|zstd|zstd|zstd",
        " int : bits = 5 , sym = 0 , group = 1048576 ",
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        char a[1024], b[1024];
        CHECK(canon(specs[i], a, sizeof a));
        CHECK(canon(a, b, sizeof b));
        CHECK(!strcmp(a, b));
    }
}

TEST(pipeline_to_string_buffer)
{
    tp_pipeline *p;
    CHECK_OK(tp_pipeline_parse("int:bits=4|zstd", &p));
    char buf[256];
    size_t n = tp_pipeline_to_string(p, buf, sizeof buf);
    CHECK(!tp_is_error(n) && n == strlen(buf));
    /* Exactly n + 1 bytes is enough, n is not, at every cut point. */
    for (size_t cap = 1; cap <= n + 1; cap++) {
        char small[256];
        size_t r = tp_pipeline_to_string(p, small, cap);
        if (cap == n + 1) CHECK(r == n && !strcmp(small, buf));
        else CHECK_ERR(r, TP_ERR_DST_TOO_SMALL);
    }
    CHECK_ERR(tp_pipeline_to_string(p, buf, 0), TP_ERR_ARG);
    CHECK_ERR(tp_pipeline_to_string(p, NULL, 10), TP_ERR_ARG);
    CHECK_ERR(tp_pipeline_to_string(NULL, buf, 10), TP_ERR_ARG);
    CHECK(tp_pipeline_is_lossy(p));
    tp_pipeline_free(p);
    CHECK_OK(tp_pipeline_parse("zstd|zstd:level=1", &p));
    CHECK(!tp_pipeline_is_lossy(p));
    tp_pipeline_free(p);
    CHECK_OK(tp_pipeline_parse("bf16|zstd", &p));
    CHECK(tp_pipeline_is_lossy(p));
    tp_pipeline_free(p);
    CHECK(!tp_pipeline_is_lossy(NULL));
    tp_pipeline_free(NULL);
}

TEST(pipeline_errors_codec_and_structure)
{
    CHECK(fails_with("intt", TP_ERR_UNKNOWN_CODEC, "'intt'", "known: int, fp16, bf16, zstd"));
    CHECK(fails_with("int|lz4:level=1", TP_ERR_UNKNOWN_CODEC, "'lz4'", NULL));
    CHECK(fails_with("INT", TP_ERR_UNKNOWN_CODEC, "'INT'", NULL)); /* names are case-sensitive */
    CHECK(fails_with("", TP_ERR_SPEC, "empty stage", NULL));
    CHECK(fails_with("   ", TP_ERR_SPEC, "empty stage", NULL));
    CHECK(fails_with("int||zstd", TP_ERR_SPEC, "empty stage", NULL));
    CHECK(fails_with("int|", TP_ERR_SPEC, "empty stage", NULL));
    CHECK(fails_with("|int", TP_ERR_SPEC, "empty stage", NULL));
    CHECK(fails_with("int| |zstd", TP_ERR_SPEC, "empty stage", NULL));
    CHECK(fails_with(":bits=4", TP_ERR_SPEC, "codec name ''", NULL));
    CHECK(fails_with("zstd|zstd|zstd|zstd|zstd|zstd|zstd|zstd|zstd", TP_ERR_SPEC, "more than 8 stages", NULL));
    CHECK(fails_with("fp16|fp16|fp16|fp16|fp16|fp16|fp16|fp16|fp16|fp16", TP_ERR_SPEC, "more than 8", NULL));
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK(fails_with(longname, TP_ERR_SPEC, "aaaa", NULL));
    tp_pipeline *p;
    CHECK_ERR(tp_pipeline_parse(NULL, &p), TP_ERR_ARG);
    CHECK_ERR(tp_pipeline_parse("int", NULL), TP_ERR_ARG);
}

TEST(pipeline_errors_parameters)
{
    CHECK(fails_with("int:bitz=4", TP_ERR_PARAM, "'bitz'", "known: bits, sym, group, axis, scale, search"));
    CHECK(fails_with("fp16:level=3", TP_ERR_PARAM, "'level'", "known: none"));
    CHECK(fails_with("int:bits=9", TP_ERR_PARAM, "'bits=9'", "out of range 1..8"));
    CHECK(fails_with("int:bits=0", TP_ERR_PARAM, "'bits=0'", NULL));
    CHECK(fails_with("int:bits=2.5", TP_ERR_PARAM, "'bits=2.5'", "integer"));
    CHECK(fails_with("int:bits=four", TP_ERR_PARAM, "'bits=four'", "not a number"));
    CHECK(fails_with("int:bits=4x", TP_ERR_PARAM, "'bits=4x'", "not a number"));
    CHECK(fails_with("int:bits=inf", TP_ERR_PARAM, "'bits=inf'", NULL));
    CHECK(fails_with("int:bits=nan", TP_ERR_PARAM, "'bits=nan'", NULL));
    CHECK(fails_with("int:bits=4=5", TP_ERR_PARAM, "'bits=4=5'", NULL));
    CHECK(fails_with("int:group=-1", TP_ERR_PARAM, "'group=-1'", "out of range"));
    CHECK(fails_with("int:group=1048577", TP_ERR_PARAM, "'group=1048577'", NULL));
    CHECK(fails_with("int:axis=8", TP_ERR_PARAM, "'axis=8'", NULL));
    CHECK(fails_with("int:sym=2", TP_ERR_PARAM, "'sym=2'", NULL));
    CHECK(fails_with("int:scale=f64", TP_ERR_PARAM, "'scale=f64'", "f16|f32"));
    CHECK(fails_with("int:scale=1", TP_ERR_PARAM, "'scale=1'", NULL)); /* enums by name only */
    CHECK(fails_with("zstd:level=23", TP_ERR_PARAM, "'level=23'", NULL));
    CHECK(fails_with("zstd:level=-8", TP_ERR_PARAM, "'level=-8'", NULL));
    CHECK(fails_with("int:bits=", TP_ERR_PARAM, "'bits'", "needs a value"));
    CHECK(fails_with("int:bits= ,group=32", TP_ERR_PARAM, "'bits'", "needs a value"));
    CHECK(fails_with("int:bits", TP_ERR_SPEC, "'bits'", "key=value"));
    CHECK(fails_with("int:=4", TP_ERR_PARAM, "''", NULL));
    CHECK(fails_with("int:bits=4,bits=4", TP_ERR_PARAM, "'bits'", "twice"));
    CHECK(fails_with("int:bits=4, bits=5", TP_ERR_PARAM, "'bits'", "twice"));
    CHECK(fails_with("int:bits=4,", TP_ERR_SPEC, "trailing ','", NULL));
    CHECK(fails_with("int:bits=4,  ", TP_ERR_SPEC, NULL, NULL));
    CHECK(fails_with("int:bits=4,,group=8", TP_ERR_SPEC, NULL, NULL));
    CHECK(fails_with("int:,bits=4", TP_ERR_SPEC, NULL, NULL));
    /* group= and axis= given together are exclusive; axis= alone means per
     * channel (the default group does not apply), stored as group=0. */
    CHECK(fails_with("int:group=32,axis=0", TP_ERR_PARAM, "group=", "axis="));
    char buf[256];
    CHECK(canon("int:axis=1", buf, sizeof buf));
    CHECK(!strcmp(buf, "int:bits=8,sym=1,group=0,axis=1,scale=f16,search=0"));
    /* The error is in the second stage; the first parsed fine. */
    CHECK(fails_with("int:bits=4|zstd:lvl=3", TP_ERR_PARAM, "zstd", "'lvl'"));
    /* A value too long for the parser names itself, not "needs a value". */
    char spec[200];
    snprintf(spec, sizeof spec, "int:bits=%s", "4444444444444444444444444444444444444444444444444444444444444444444444");
    CHECK(fails_with(spec, TP_ERR_PARAM, "bits", "4444"));
}

/* Each row of codec_list.h against the definition it names: a literal id or
 * name in a definition that disagrees with its row shows here. */
TEST(pipeline_codec_list)
{
    size_t rows = 0;
    unsigned max_id = 0;
#define TP_CODEC(ID, NAME)                                                                   \
    do {                                                                                     \
        CHECK(tp_codec_##NAME.info.id == (ID) && !strcmp(tp_codec_##NAME.info.name, #NAME)); \
        CHECK(tp_codec_by_id(ID) == &tp_codec_##NAME);                                       \
        CHECK(tp_codec_by_name(#NAME) == &tp_codec_##NAME);                                  \
        CHECK(tp_codec_find(#NAME) == &tp_codec_##NAME.info);                                \
        CHECK(tp_codec_at(rows) == &tp_codec_##NAME.info);                                   \
        rows++;                                                                              \
        if ((ID) > max_id) max_id = (ID);                                                    \
    } while (0);
#include "codecs/codec_list.h"
    CHECK(rows == tp_codec_count());
    CHECK(tp_codec_by_id(0) == NULL);
    CHECK(tp_codec_by_id((uint16_t)(max_id + 1)) == NULL);
    CHECK(tp_codec_by_id(0xffff) == NULL);

    /* The order of tp_codec_at() is public (`tpress codecs`); new codecs come after these. */
    static const char *const order[] = {"int",    "fp16", "bf16", "zstd",   "lossless",   "kmeans", "nf",
                                        "log",    "fp8",  "ternary", "kq",  "vq",         "seedlm", "dct2d",
                                        "tokdct", "svd",  "pca",  "sparse", "sparsecode", "autoenc"};
    CHECK(tp_codec_count() >= sizeof order / sizeof order[0]);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) CHECK(!strcmp(tp_codec_at(i)->name, order[i]));
}

TEST(pipeline_codec_registry)
{
    /* Ids are pinned: they are written into frames. */
    static const struct { const char *name; uint16_t id; unsigned flags; } want[] = {
        {"int", 1, TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN}, {"fp16", 2, TP_CODEC_LOSSY},
        {"bf16", 3, TP_CODEC_LOSSY}, {"zstd", 4, 0},
    };
    CHECK(tp_codec_count() >= 4);
    for (size_t i = 0; i < 4; i++) {
        const tp_codec_info *c = tp_codec_find(want[i].name);
        CHECK(c && c->id == want[i].id && c->flags == want[i].flags && !strcmp(c->name, want[i].name));
        char id[8];
        snprintf(id, sizeof id, "%u", want[i].id);
        CHECK(tp_codec_find(id) == c);
    }
    for (size_t i = 0; i < tp_codec_count(); i++) {
        const tp_codec_info *c = tp_codec_at(i);
        CHECK(c && c->summary && c->name);
        CHECK(tp_codec_find(c->name) == c);
        for (size_t j = 0; j < i; j++) CHECK(tp_codec_at(j)->id != c->id && strcmp(tp_codec_at(j)->name, c->name));
        for (size_t k = 0; k < c->n_params; k++) {
            const tp_param_def *d = &c->params[k];
            CHECK(d->name && d->help && d->min <= d->def && d->def <= d->max);
            CHECK((d->type == TP_PARAM_ENUM) == (d->choices != NULL));
        }
    }
    CHECK(tp_codec_at(tp_codec_count()) == NULL);
    CHECK(tp_codec_find("nope") == NULL);
    CHECK(tp_codec_find("0") == NULL);
    CHECK(tp_codec_find("65536") == NULL);
    CHECK(tp_codec_find("") == NULL);
    CHECK(tp_codec_find(NULL) == NULL);
}

/* ---- codecs registered at run time ------------------------------------ */

static size_t negate_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    (void)p;
    *out = *in;
    out->data = NULL;
    return tp_tensor_nbytes(in);
}

static size_t negate_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    size_t n = negate_bound(p, in, out);
    if (cap < n) return tp_fail(TP_ERR_DST_TOO_SMALL, "negate");
    const float *x = in->data;
    float *y = dst;
    for (size_t i = 0; i < n / 4; i++) y[i] = -x[i];
    return n;
}

static size_t negate_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                            const tp_tensor *dst_desc, void *dst)
{
    (void)p; (void)src_desc;
    if (n != tp_tensor_nbytes(dst_desc)) return tp_fail(TP_ERR_CORRUPT, "negate: %zu bytes", n);
    const float *x = src;
    float *y = dst;
    for (size_t i = 0; i < n / 4; i++) y[i] = -x[i];
    return n;
}

static const tp_param_def negate_params[] = {{"gain", TP_PARAM_INT, 1, 1, 1, NULL, "unused", NULL}};
static const tp_param_def bad_params[] = {{"gain", TP_PARAM_INT, 5, 1, 2, NULL, "default outside", NULL}};

#define NEGATE(id_, name_, params_, dec_) \
    {.info = {.id = (id_), .name = (name_), .flags = TP_CODEC_FLOAT_IN, .summary = "test", .n_params = 1, \
              .params = (params_)}, .bound = negate_bound, .encode = negate_encode, .decode = (dec_)}

TEST(pipeline_registered_codec)
{
    static const tp_codec ok = NEGATE(TP_CODEC_USER_MIN + 7, "negate_test", negate_params, negate_decode);
    static const tp_codec low_id = NEGATE(200, "negate_low", negate_params, negate_decode);
    static const tp_codec bad_name = NEGATE(TP_CODEC_USER_MIN + 8, "Negate", negate_params, negate_decode);
    static const tp_codec taken = NEGATE(TP_CODEC_USER_MIN + 9, "int", negate_params, negate_decode);
    static const tp_codec no_decode = NEGATE(TP_CODEC_USER_MIN + 10, "negate_nodec", negate_params, NULL);
    static const tp_codec bad_default = NEGATE(TP_CODEC_USER_MIN + 11, "negate_def", bad_params, negate_decode);
    static const tp_codec same_id = NEGATE(TP_CODEC_USER_MIN + 7, "negate_other", negate_params, negate_decode);
    size_t before = tp_codec_count();
    if (!tp_codec_find("negate_test")) CHECK_OK(tp_codec_register(&ok)); /* the suite may run twice in a process */
    CHECK_ERR(tp_codec_register(&ok), TP_ERR_ARG);
    CHECK_ERR(tp_codec_register(&same_id), TP_ERR_ARG);
    CHECK_ERR(tp_codec_register(&low_id), TP_ERR_ARG);
    CHECK_ERR(tp_codec_register(&bad_name), TP_ERR_ARG);
    CHECK_ERR(tp_codec_register(&taken), TP_ERR_ARG);
    CHECK_ERR(tp_codec_register(&no_decode), TP_ERR_ARG);
    CHECK_ERR(tp_codec_register(&bad_default), TP_ERR_ARG);
    CHECK_ERR(tp_codec_register(NULL), TP_ERR_ARG);
    CHECK(tp_codec_count() <= before + 1 && tp_codec_find("negate_test") == &ok.info);
    char id[16];
    snprintf(id, sizeof id, "%u", TP_CODEC_USER_MIN + 7);
    CHECK(tp_codec_find(id) == &ok.info);

    float x[300], back[300];
    th_gaussian(x, 300, 31);
    tp_tensor t = {TP_F16, 2, {10, 30}, NULL};
    uint16_t h[300], hb[300];
    CHECK_OK(tp_convert(h, TP_F16, x, TP_F32, 300));
    t.data = h;
    tp_pipeline *p;
    void *f = NULL;
    CHECK_OK(tp_pipeline_parse("negate_test|zstd", &p));
    size_t n = tp_frame_encode_alloc(p, &t, NULL, &f);
    tp_pipeline_free(p);
    CHECK_OK(n);
    if (!tp_is_error(n)) {
        CHECK(tp_frame_decode(f, n, hb, sizeof hb) == sizeof hb && !memcmp(h, hb, sizeof h));
        tp_frame_info info;
        CHECK_OK(tp_frame_inspect(f, n, &info));
        CHECK(!strncmp(info.spec, "negate_test:gain=1", 18) && strstr(info.spec, " | zstd"));
        CHECK(tp_frame_decode_f32(f, n, back, sizeof back) == sizeof back);
        free(f);
    }
    CHECK_ERR(tp_pipeline_parse("negate_test:gain=2", &p), TP_ERR_PARAM);
}
