/* Model inputs beyond a single tensor file: a sharded Hugging Face model
 * (index + shards, or its directory), GGUF tensors as views (quantized
 * ones only when asked, dequantized), and the metadata a file carries. */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format/gguf.h"
#include "format/tensor_file.h"
#include "harness.h"

/* ---- helpers ------------------------------------------------------------ */

/* A fresh empty directory (static buffer). */
static const char *tmp_dir(void)
{
    static char buf[256];
    const char *base = getenv("TMPDIR");
    snprintf(buf, sizeof buf, "%s/tp_inputs_XXXXXX", base ? base : "/tmp");
    return mkdtemp(buf);
}

/* Removes dir and the files in it (no subdirectories). */
static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char path[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static const char *in_dir(const char *dir, const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int write_text(const char *path, const char *text) { return th_write_file(path, text, strlen(text)); }

/* Bytes that tell tensors and dtypes apart. */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t k = 0; k < n; k++) p[k] = (uint8_t)(k * 37 + seed * 11 + (k >> 3));
}

/* A .safetensors file of n tensors (fill() data, seeded by position). */
static size_t write_shard(const char *path, const char *const *names, const tp_tensor *d, size_t n, unsigned seed)
{
    tp_tensor_writer *w;
    size_t r = tp_tensor_writer_open(path, names, d, n, &w);
    if (tp_is_error(r)) return r;
    for (size_t i = 0; i < n; i++) {
        size_t nb = tp_tensor_nbytes(&d[i]);
        uint8_t *buf = malloc(nb ? nb : 1);
        fill(buf, nb, seed + (unsigned)i);
        r = tp_tensor_writer_put(w, i, buf, nb);
        free(buf);
        if (tp_is_error(r)) { tp_tensor_writer_abort(w); return r; }
    }
    return tp_tensor_writer_finish(w);
}

static int same_view(const tp_tensor *a, const tp_tensor *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
    for (uint32_t i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    size_t nb = tp_tensor_nbytes(a);
    return nb == 0 || !memcmp(a->data, b->data, nb);
}

static int detail_has(const char *s)
{
    int ok = strstr(tp_last_error_detail(), s) != NULL;
    if (!ok) printf("  detail \"%s\" lacks \"%s\"\n", tp_last_error_detail(), s);
    return ok;
}

/* Opens path expecting the error code, with a detail; 1 if so. */
static int open_fails(const char *path, tp_error code)
{
    tp_tensor_file *f = (tp_tensor_file *)1;
    size_t r = tp_tensor_file_open(path, &f);
    if (!tp_is_error(r)) { tp_tensor_file_close(f); printf("  %s opened\n", path); return 0; }
    if (tp_error_code(r) != code) printf("  %s: got %s (%s)\n", path, tp_error_name(r), tp_last_error_detail());
    return tp_error_code(r) == code && f == NULL && tp_last_error_detail()[0];
}

/* The two-shard model of these tests, written into dir: shard 1 holds
 * "b.weight" and "a.bias", shard 2 "c.weight" and "d". */
#define SHARD1 "model-00001-of-00002.safetensors"
#define SHARD2 "model-00002-of-00002.safetensors"
static const char *const names1[] = {"b.weight", "a.bias"}, *const names2[] = {"c.weight", "d"};

static int write_model(const char *dir)
{
    tp_tensor d1[2] = {{.dtype = TP_F32, .ndim = 2, .shape = {3, 4}}, {.dtype = TP_F16, .ndim = 1, .shape = {5}}};
    tp_tensor d2[2] = {{.dtype = TP_BF16, .ndim = 3, .shape = {2, 3, 2}}, {.dtype = TP_I32, .ndim = 1, .shape = {7}}};
    return !tp_is_error(write_shard(in_dir(dir, SHARD1), names1, d1, 2, 1)) &&
           !tp_is_error(write_shard(in_dir(dir, SHARD2), names2, d2, 2, 9));
}

#define GOOD_INDEX                                                                                         \
    "{\"metadata\": {\"total_size\": 124},\n \"weight_map\": {\"a.bias\": \"" SHARD1 "\", \"b.weight\": \"" \
    SHARD1 "\", \"c.weight\": \"" SHARD2 "\", \"d\": \"" SHARD2 "\"}}\n"

/* 1 if f holds shard 1's tensors then shard 2's, each as the shard alone
 * gives them. */
static int matches_shards(const tp_tensor_file *f, const char *dir)
{
    if (tp_tensor_file_count(f) != 4) return 0;
    const char *shards[2] = {SHARD1, SHARD2};
    const char *const *names[2] = {names1, names2};
    for (size_t s = 0; s < 2; s++) {
        tp_tensor_file *one;
        if (tp_is_error(tp_tensor_file_open(in_dir(dir, shards[s]), &one))) return 0;
        int ok = tp_tensor_file_count(one) == 2;
        for (size_t k = 0; ok && k < 2; k++) {
            tp_tensor a, b;
            size_t i = 2 * s + k;
            ok = !strcmp(tp_tensor_file_name(f, i), names[s][k]) && !tp_is_error(tp_tensor_file_get(f, i, &a)) &&
                 !tp_is_error(tp_tensor_file_get(one, k, &b)) && same_view(&a, &b);
        }
        tp_tensor_file_close(one);
        if (!ok) return 0;
    }
    return 1;
}

/* ---- sharded models ----------------------------------------------------- */

TEST(inputs_sharded_index_and_directory_read_alike)
{
    const char *dir = tmp_dir();
    CHECK(dir);
    int ok = write_model(dir) && write_text(in_dir(dir, "model.safetensors.index.json"), GOOD_INDEX);
    const char *paths[2] = {in_dir(dir, "model.safetensors.index.json"), dir};
    for (int p = 0; ok && p < 2; p++) {
        tp_tensor_file *f;
        size_t r = tp_tensor_file_open(paths[p], &f);
        if (tp_is_error(r)) { printf("  %s: %s\n", paths[p], tp_last_error_detail()); ok = 0; break; }
        ok = matches_shards(f, dir);
        const char *meta = tp_tensor_file_metadata(f);
        ok = ok && meta && !strcmp(meta, "{\"total_size\":124}");
        tp_tensor_file_close(f);
    }
    /* The weights loader reads the directory as one model too. */
    uint64_t values = 0;
    ok = ok && !tp_is_error(tp_weights_count_values(dir, &values)) && values == 12 + 5 + 12 + 7;
    rm_dir(dir);
    CHECK(ok);
}

TEST(inputs_directory_without_index)
{
    const char *dir = tmp_dir();
    CHECK(dir);
    int ok = open_fails(dir, TP_ERR_NOT_FOUND) && detail_has("model.safetensors.index.json");
    tp_tensor d = {.dtype = TP_U8, .ndim = 1, .shape = {3}};
    static const char *const name[] = {"only"};
    ok = ok && !tp_is_error(write_shard(in_dir(dir, "model.safetensors"), name, &d, 1, 3));
    tp_tensor_file *f;
    ok = ok && !tp_is_error(tp_tensor_file_open(dir, &f));
    if (ok) {
        ok = tp_tensor_file_count(f) == 1 && !strcmp(tp_tensor_file_name(f, 0), "only");
        tp_tensor_file_close(f);
    }
    ok = ok && !tp_is_error(write_shard(in_dir(dir, "other.safetensors"), name, &d, 1, 3));
    ok = ok && open_fails(dir, TP_ERR_ARG) && detail_has("2 .safetensors");
    rm_dir(dir);
    CHECK(ok);
}

/* One broken index per case, over the good shards. */
static int index_fails(const char *dir, const char *json, tp_error code, const char *detail)
{
    const char *path = in_dir(dir, "model.safetensors.index.json");
    if (!write_text(path, json)) return 0;
    int ok = open_fails(path, code) && detail_has(detail);
    if (!ok) printf("  index: %s\n", json);
    return ok;
}

TEST(inputs_sharded_inconsistencies_refused)
{
    const char *dir = tmp_dir();
    CHECK(dir);
    int ok = write_model(dir);
#define MAP(entries) "{\"weight_map\": {" entries "}}"
#define E(name, shard) "\"" name "\": \"" shard "\""
#define ALL1 E("a.bias", SHARD1) ", " E("b.weight", SHARD1)
#define ALL2 E("c.weight", SHARD2) ", " E("d", SHARD2)
    /* A shard that is not there: named in the detail. */
    ok = ok && index_fails(dir, MAP(ALL1 ", " ALL2 ", " E("e", "model-00003-of-00003.safetensors")), TP_ERR_NOT_FOUND,
                           "model-00003-of-00003.safetensors");
    /* A name of the weight_map absent from its shard; in the wrong shard. */
    ok = ok && index_fails(dir, MAP(ALL1 ", " ALL2 ", " E("e", SHARD2)), TP_ERR_CORRUPT, "'e' is not in shard");
    ok = ok && index_fails(dir, MAP(E("a.bias", SHARD2) ", " E("b.weight", SHARD1) ", " ALL2), TP_ERR_CORRUPT,
                           "puts tensor 'a.bias' in shard " SHARD2);
    /* A shard tensor the index does not list. */
    ok = ok && index_fails(dir, MAP(ALL1 ", " E("c.weight", SHARD2)), TP_ERR_CORRUPT, "'d', which the index does not list");
    /* A name given twice in the weight_map. */
    ok = ok && index_fails(dir, MAP(ALL1 ", " ALL2 ", " E("d", SHARD2)), TP_ERR_CORRUPT, "twice");
    /* Paths out of the directory. */
    ok = ok && index_fails(dir, MAP(ALL1 ", " E("c.weight", "../" SHARD2) ", " E("d", SHARD2)), TP_ERR_CORRUPT,
                           "leaves the model's directory");
    ok = ok && index_fails(dir, MAP(ALL1 ", " E("c.weight", "x/../../" SHARD2) ", " E("d", SHARD2)), TP_ERR_CORRUPT,
                           "leaves");
    ok = ok && index_fails(dir, MAP(ALL1 ", " E("c.weight", "/tmp/" SHARD2) ", " E("d", SHARD2)), TP_ERR_CORRUPT, "leaves");
    ok = ok && index_fails(dir, MAP(ALL1 ", " E("c.weight", "") ", " E("d", SHARD2)), TP_ERR_CORRUPT, "leaves");
    /* Not an index. */
    ok = ok && index_fails(dir, "{\"metadata\": {}}", TP_ERR_CORRUPT, "weight_map");
    ok = ok && index_fails(dir, MAP(ALL1 ", \"d\": 2"), TP_ERR_CORRUPT, "not a file name");
    ok = ok && index_fails(dir, "{\"metadata\": [1], \"weight_map\": {}}", TP_ERR_CORRUPT, "metadata");
    ok = ok && index_fails(dir, "[]", TP_ERR_CORRUPT, "not a JSON object");
    ok = ok && index_fails(dir, MAP("") " x", TP_ERR_CORRUPT, "after its JSON");
    /* Each detail names the index file. */
    ok = ok && detail_has("model.safetensors.index.json");
#undef MAP
#undef E
#undef ALL1
#undef ALL2
    rm_dir(dir);
    CHECK(ok);
}

TEST(inputs_sharded_duplicate_across_shards)
{
    const char *dir = tmp_dir();
    CHECK(dir);
    tp_tensor d = {.dtype = TP_U8, .ndim = 1, .shape = {4}};
    static const char *const x[] = {"x"};
    int ok = !tp_is_error(write_shard(in_dir(dir, "a.safetensors"), x, &d, 1, 1)) &&
             !tp_is_error(write_shard(in_dir(dir, "b.safetensors"), x, &d, 1, 2));
    /* The index names one shard; the other holds the name as well. */
    ok = ok && index_fails(dir, "{\"weight_map\": {\"x\": \"b.safetensors\", \"y\": \"a.safetensors\"}}", TP_ERR_CORRUPT,
                           "'x' is in two shards, a.safetensors and b.safetensors");
    rm_dir(dir);
    CHECK(ok);
}

/* Every proper prefix of an index is refused, by the parser and by open. */
TEST(inputs_truncated_index_refused)
{
    static const char good[] = GOOD_INDEX;
    size_t len = strlen(good);
    tp_st_index ix;
    CHECK_OK(tp_st_index_parse(good, len, &ix));
    CHECK(ix.n == 4 && ix.n_shards == 2 && !strcmp(ix.shards[0], SHARD1) && !strcmp(ix.entries[0].name, "a.bias") &&
          ix.entries[3].shard == 1 && ix.metadata && !strcmp(ix.metadata, "{\"total_size\":124}"));
    tp_st_index_free(&ix);
    /* The last byte is a newline: the JSON is whole without it. */
    for (size_t k = 0; k + 1 < len; k++) {
        size_t r = tp_st_index_parse(good, k, &ix);
        if (!tp_is_error(r)) { printf("  index cut at %zu opened\n", k); tp_st_index_free(&ix); }
        CHECK(tp_error_code(r) == TP_ERR_CORRUPT && ix.n == 0 && !ix.entries && !ix.shards);
    }
    const char *dir = tmp_dir();
    CHECK(dir);
    int ok = write_model(dir) && index_fails(dir, "{\"weight_map\": {\"a.bias\": \"" SHARD1, TP_ERR_CORRUPT, "not valid JSON");
    rm_dir(dir);
    CHECK(ok);
    /* A NUL inside the text ends the JSON early: refused, not cut. */
    CHECK_ERR(tp_st_index_parse("{\"weight_map\": {}}\0{", 20, &ix), TP_ERR_CORRUPT);
    CHECK_OK(tp_st_index_parse("{\"weight_map\": {}}", 18, &ix));
    CHECK(ix.n == 0 && ix.n_shards == 0 && !ix.metadata);
    tp_st_index_free(&ix);
}

/* ---- metadata ----------------------------------------------------------- */

/* A .safetensors file around header json and n zero data bytes. */
static int write_st(const char *path, const char *json, size_t ndata)
{
    size_t len = strlen(json), hl = (len + 7) / 8 * 8;
    uint8_t *b = calloc(1, 8 + hl + ndata);
    if (!b) return 0;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(hl >> (8 * i));
    memcpy(b + 8, json, len);
    memset(b + 8 + len, ' ', hl - len);
    int ok = th_write_file(path, b, 8 + hl + ndata);
    free(b);
    return ok;
}

TEST(inputs_safetensors_metadata_kept)
{
    const char *path = th_tmp_path(".safetensors");
    CHECK(write_st(path, "{\"__metadata__\": {\"format\": \"pt\", \"note\": \"a \\\"q\\\"\"},"
                         " \"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8));
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open(path, &f));
    const char *meta = tp_tensor_file_metadata(f);
    int ok = tp_tensor_file_count(f) == 1 && meta && !strcmp(meta, "{\"format\":\"pt\",\"note\":\"a \\\"q\\\"\"}");
    if (!ok) printf("  metadata: %s\n", meta ? meta : "(null)");
    tp_tensor_file_close(f);
    CHECK(ok);
    /* None given: NULL; an empty object stays an object. */
    CHECK(write_st(path, "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1));
    CHECK_OK(tp_tensor_file_open(path, &f));
    ok = tp_tensor_file_metadata(f) == NULL;
    tp_tensor_file_close(f);
    CHECK(ok);
    CHECK(write_st(path, "{\"__metadata__\": {}}", 0));
    CHECK_OK(tp_tensor_file_open(path, &f));
    ok = tp_tensor_file_metadata(f) && !strcmp(tp_tensor_file_metadata(f), "{}");
    tp_tensor_file_close(f);
    CHECK(ok);
    /* Values must be strings; the object comes once. */
    CHECK(write_st(path, "{\"__metadata__\": {\"n\": 1}}", 0));
    CHECK(open_fails(path, TP_ERR_CORRUPT) && detail_has("not a string"));
    CHECK(write_st(path, "{\"__metadata__\": {}, \"__metadata__\": {}}", 0));
    CHECK(open_fails(path, TP_ERR_CORRUPT) && detail_has("twice"));
    unlink(path);
    CHECK(tp_tensor_file_metadata(NULL) == NULL);
}

/* ---- GGUF --------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint32_t type, ndim;
    uint64_t ne[4];
} gguf_spec;

static void put(uint8_t *b, size_t *n, const void *p, size_t k)
{
    memcpy(b + *n, p, k);
    *n += k;
}

/* A GGUF v3 without metadata holding the given tensors, each filled with
 * fill() bytes seeded by its position; returns its size (b has room). */
static size_t make_gguf(uint8_t *b, const gguf_spec *t, size_t nt)
{
    size_t n = 0;
    uint32_t v = 3;
    uint64_t cnt = nt, zero = 0, off = 0;
    put(b, &n, "GGUF", 4);
    put(b, &n, &v, 4);
    put(b, &n, &cnt, 8);
    put(b, &n, &zero, 8);
    uint64_t sizes[8];
    for (size_t i = 0; i < nt; i++) {
        uint64_t len = strlen(t[i].name), numel = 1;
        put(b, &n, &len, 8);
        put(b, &n, t[i].name, len);
        put(b, &n, &t[i].ndim, 4);
        for (uint32_t d = 0; d < t[i].ndim; d++) {
            put(b, &n, &t[i].ne[d], 8);
            numel *= t[i].ne[d];
        }
        put(b, &n, &t[i].type, 4);
        put(b, &n, &off, 8);
        sizes[i] = numel / tp_ggml_block_size(t[i].type) * tp_ggml_type_size(t[i].type);
        off = (off + sizes[i] + 31) / 32 * 32;
    }
    while (n % 32) b[n++] = 0;
    size_t start = n;
    for (size_t i = 0; i < nt; i++) {
        fill(b + n, sizes[i], (unsigned)i);
        n += sizes[i];
        while ((n - start) % 32) b[n++] = 0;
    }
    return n;
}

TEST(inputs_gguf_float_tensors_in_place)
{
    static const gguf_spec spec[] = {
        {"w.f32", TP_GGML_F32, 2, {3, 2}},
        {"w.f16", TP_GGML_F16, 3, {4, 3, 2}},
        {"w.bf16", TP_GGML_BF16, 1, {5}},
        {"ids", TP_GGML_I32, 2, {2, 1}},
    };
    static const tp_dtype want_dt[] = {TP_F32, TP_F16, TP_BF16, TP_I32};
    static const uint64_t want_shape[4][3] = {{2, 3}, {2, 3, 4}, {5}, {1, 2}};
    uint8_t *b = calloc(1, 4096);
    CHECK(b);
    size_t n = make_gguf(b, spec, 4);
    const char *path = th_tmp_path(".gguf");
    int ok = th_write_file(path, b, n);
    tp_tensor_file *f = NULL;
    size_t r = ok ? tp_tensor_file_open(path, &f) : 0;
    if (tp_is_error(r)) printf("  %s\n", tp_last_error_detail());
    ok = ok && !tp_is_error(r) && tp_tensor_file_count(f) == 4 && tp_tensor_file_metadata(f) == NULL;
    tp_gguf *g = NULL;
    ok = ok && !tp_is_error(tp_gguf_parse(b, n, &g));
    for (size_t i = 0; ok && i < 4; i++) {
        tp_tensor t;
        ok = !tp_is_error(tp_tensor_file_get(f, i, &t)) && !strcmp(tp_tensor_file_name(f, i), spec[i].name) &&
             t.dtype == want_dt[i] && t.ndim == spec[i].ndim;
        for (uint32_t d = 0; ok && d < t.ndim; d++) ok = t.shape[d] == want_shape[i][d];
        /* The same bytes as the GGUF's, read in place (no copy). */
        const tp_gguf_tensor *gt = tp_gguf_tensor_at(g, i);
        ok = ok && tp_tensor_nbytes(&t) == gt->nbytes && !memcmp(t.data, b + gt->offset, (size_t)gt->nbytes);
        ok = ok && !tp_is_error(tp_tensor_file_release(f, i)); /* a no-op for views */
        if (!ok) printf("  tensor %zu differs\n", i);
    }
    tp_gguf_close(g);
    tp_tensor_file_close(f);
    unlink(path);
    free(b);
    CHECK(ok);
}

TEST(inputs_gguf_quantized_refused_without_option)
{
    const char *path = th_data_path("gguf_types.gguf");
    CHECK(open_fails(path, TP_ERR_UNSUPPORTED));
    CHECK(detail_has("'Q4_0' is Q4_0") && detail_has("use --allow-requantize"));
    tp_tensor_file_open_options zero = {0};
    tp_tensor_file *f = (tp_tensor_file *)1;
    CHECK_ERR(tp_tensor_file_open_ex(path, &zero, &f), TP_ERR_UNSUPPORTED);
    CHECK(f == NULL);
    /* A type without a dequantizer is refused even with the option. */
    static const gguf_spec q2k[] = {{"w", TP_GGML_Q2_K, 1, {256}}};
    uint8_t b[512];
    size_t n = make_gguf(b, q2k, 1);
    const char *p2 = th_tmp_path(".gguf");
    CHECK(th_write_file(p2, b, n));
    tp_tensor_file_open_options yes = {.allow_requantize = 1};
    CHECK_ERR(tp_tensor_file_open_ex(p2, &yes, &f), TP_ERR_UNSUPPORTED);
    CHECK(detail_has("'w' is Q2_K, which has no dequantizer"));
    unlink(p2);
}

/* With the option every tensor opens: float ones in place, quantized ones
 * dequantized exactly as the GGUF reader does it. */
TEST(inputs_gguf_requantize_dequantizes)
{
    const char *path = th_data_path("gguf_types.gguf");
    tp_tensor_file_open_options opt = {.allow_requantize = 1};
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open_ex(path, &opt, &f));
    tp_gguf *g;
    size_t r = tp_gguf_open(path, &g);
    if (tp_is_error(r)) tp_tensor_file_close(f);
    CHECK_OK(r);
    int ok = tp_tensor_file_count(f) == tp_gguf_tensor_count(g) && tp_tensor_file_count(f) == 22;
    size_t quantized = 0;
    for (size_t i = 0; ok && i < tp_tensor_file_count(f); i++) {
        const tp_gguf_tensor *gt = tp_gguf_tensor_at(g, i);
        tp_tensor t;
        ok = !strcmp(tp_tensor_file_name(f, i), gt->name) && !tp_is_error(tp_tensor_file_get(f, i, &t)) &&
             t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 512;
        if (!ok) break;
        if (gt->type == TP_GGML_F16 || gt->type == TP_GGML_BF16 || gt->type == TP_GGML_F32) {
            ok = t.dtype == (gt->type == TP_GGML_F16 ? TP_F16 : gt->type == TP_GGML_BF16 ? TP_BF16 : TP_F32) &&
                 !memcmp(t.data, tp_gguf_tensor_data(g, i), (size_t)gt->nbytes);
            continue;
        }
        quantized++;
        float *want;
        ok = t.dtype == TP_F32 && ((uintptr_t)t.data % sizeof(float)) == 0 && !tp_is_error(tp_gguf_tensor_f32(g, i, &want));
        if (!ok) break;
        ok = !memcmp(t.data, want, 1024 * sizeof(float));
        free(want);
        /* A second view shares the memory; both are given back. */
        tp_tensor t2;
        ok = ok && !tp_is_error(tp_tensor_file_get(f, i, &t2)) && t2.data == t.data;
        ok = ok && !tp_is_error(tp_tensor_file_release(f, i)) && !tp_is_error(tp_tensor_file_release(f, i));
        ok = ok && tp_error_code(tp_tensor_file_release(f, i)) == TP_ERR_ARG;
        if (!ok) printf("  %s differs\n", gt->name);
    }
    /* Close frees what was got and never given back. */
    tp_tensor t;
    ok = ok && quantized == 8 && !tp_is_error(tp_tensor_file_get(f, tp_gguf_find_tensor(g, "Q6_K"), &t));
    /* And the values are those the gguf package wrote beside each type. */
    size_t want_i = tp_gguf_find_tensor(g, "Q6_K.expected");
    ok = ok && !tp_is_error(want_i);
    if (ok) {
        const float *x = t.data, *y = (const float *)tp_gguf_tensor_data(g, want_i);
        double maxd = 0, maxv = 0;
        for (size_t e = 0; e < 1024; e++) {
            maxd = fmax(maxd, fabs((double)x[e] - y[e]));
            maxv = fmax(maxv, fabs((double)y[e]));
        }
        ok = maxv > 0 && maxd <= 1e-6 * maxv;
    }
    CHECK_ERR(tp_tensor_file_release(f, 99), TP_ERR_NOT_FOUND);
    tp_gguf_close(g);
    tp_tensor_file_close(f);
    CHECK(ok);
}

typedef struct {
    const tp_tensor_file *f;
    const float *want[2];
    size_t index[2];
    int bad;
} race;

static void *reader(void *p)
{
    race *rc = p;
    for (int it = 0; it < 200; it++) {
        int k = it & 1;
        tp_tensor t;
        if (tp_is_error(tp_tensor_file_get(rc->f, rc->index[k], &t)) || memcmp(t.data, rc->want[k], 1024 * sizeof(float)))
            rc->bad = 1;
        if (tp_is_error(tp_tensor_file_release(rc->f, rc->index[k]))) rc->bad = 1;
    }
    return NULL;
}

/* Threads getting and releasing the same dequantized tensors (as the
 * compress job's workers would) see whole, right values. */
TEST(inputs_gguf_dequantized_views_thread_safe)
{
    const char *path = th_data_path("gguf_types.gguf");
    tp_tensor_file_open_options opt = {.allow_requantize = 1};
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open_ex(path, &opt, &f));
    tp_gguf *g;
    CHECK_OK(tp_gguf_open(path, &g));
    float *want[2] = {NULL, NULL};
    size_t idx[2] = {tp_gguf_find_tensor(g, "Q4_K"), tp_gguf_find_tensor(g, "Q5_1")};
    int ok = !tp_is_error(tp_gguf_tensor_f32(g, idx[0], &want[0])) && !tp_is_error(tp_gguf_tensor_f32(g, idx[1], &want[1]));
    race rc[4];
    pthread_t tid[4];
    int started = 0;
    for (int i = 0; ok && i < 4; i++) {
        rc[i] = (race){.f = f, .want = {want[0], want[1]}, .index = {idx[0], idx[1]}};
        if (pthread_create(&tid[i], NULL, reader, &rc[i])) break;
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        ok = ok && !rc[i].bad;
    }
    ok = ok && started == 4;
    /* Every view was given back: one more release is one too many. */
    ok = ok && tp_error_code(tp_tensor_file_release(f, idx[0])) == TP_ERR_ARG;
    free(want[0]);
    free(want[1]);
    tp_gguf_close(g);
    tp_tensor_file_close(f);
    CHECK(ok);
}
