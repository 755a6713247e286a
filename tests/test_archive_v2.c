/* Archive version 2 through the writer API: metadata, the layer rules the
 * writer enforces, the streaming order, version 1 files read as one layer,
 * and a golden version 2 file that must not drift and whose every cut and
 * sampled bit flip is handled. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "core/rng.h"

static size_t encode(const char *spec, tp_dtype dt, uint32_t ndim, uint64_t r, uint64_t c, const void *x, void **frame)
{
    tp_pipeline *p;
    size_t e = tp_pipeline_parse(spec, &p);
    if (tp_is_error(e)) return e;
    tp_tensor t = {dt, ndim, {r, c}, x};
    size_t n = tp_frame_encode_alloc(p, &t, NULL, frame);
    tp_pipeline_free(p);
    return n;
}

static size_t add(tp_archive_writer *w, const char *name, unsigned layer, const char *spec, tp_dtype dt, uint64_t r,
                  uint64_t c, const void *x)
{
    void *frame;
    size_t n = encode(spec, dt, 2, r, c, x, &frame);
    if (tp_is_error(n)) return n;
    tp_metrics m = {.count = r * c, .snr_db = 10.0 + layer};
    size_t e = tp_archive_writer_add_layer(w, name, layer, frame, n, &m);
    free(frame);
    return e;
}

static int file_version(const char *path)
{
    size_t n;
    uint8_t *f = th_read_file(path, &n);
    int v = f && n > 6 ? f[4] | f[5] << 8 : -1;
    free(f);
    return v;
}

TEST(archive_metadata_round_trip)
{
    float x[64];
    th_gaussian(x, 64, 5);
    const char *path = th_tmp_path(".tpz");
    const char *json = "{\"format\": \"pt\", \"note\": \"caf\xc3\xa9\"}";
    tp_archive_writer *w;
    CHECK_OK(tp_archive_writer_open(path, &w));
    CHECK_ERR(tp_archive_writer_set_metadata(w, "{\"a\": "), TP_ERR_ARG);
    CHECK_ERR(tp_archive_writer_set_metadata(w, "{} x"), TP_ERR_ARG);
    CHECK_ERR(tp_archive_writer_set_metadata(w, "\"\xff\""), TP_ERR_ARG);
    CHECK_OK(tp_archive_writer_set_metadata(w, json));
    CHECK_OK(add(w, "x", 0, "int:bits=4", TP_F32, 4, 16, x));
    CHECK_ERR(tp_archive_writer_set_metadata(w, "{}"), TP_ERR_ARG);
    CHECK_OK(tp_archive_writer_finish(w));
    CHECK(file_version(path) == 2);
    tp_archive *a;
    CHECK_OK(tp_archive_open(path, &a));
    CHECK(tp_archive_metadata(a) && !strcmp(tp_archive_metadata(a), json));
    CHECK(tp_archive_layer_count(a, 0) == 1);
    tp_archive_close(a);
    /* Without metadata or layers: version 1, no metadata. */
    CHECK_OK(tp_archive_writer_open(path, &w));
    CHECK_OK(add(w, "x", 0, "int:bits=4", TP_F32, 4, 16, x));
    CHECK_OK(tp_archive_writer_finish(w));
    CHECK(file_version(path) == 1);
    CHECK_OK(tp_archive_open(path, &a));
    CHECK(tp_archive_metadata(a) == NULL);
    tp_archive_close(a);
    unlink(path);
}

TEST(archive_version_1_reads_as_one_layer)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/small.tpz", th_data_dir());
    CHECK(file_version(path) == 1);
    tp_archive *a;
    CHECK_OK(tp_archive_open_partial(path, &a));
    CHECK(!tp_archive_is_partial(a) && tp_archive_count(a) == 3 && !tp_archive_metadata(a));
    float y[40], z[40];
    for (size_t i = 0; i < 3; i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        CHECK(e->layer == 0 && e->n_layers == 1 && tp_archive_layer_count(a, i) == 1);
        CHECK(tp_archive_layer_at(a, i, 0) == e && tp_archive_layer_at(a, i, 1) == NULL);
        CHECK(tp_archive_decode(a, i, y, sizeof y) == sizeof y);
        for (unsigned k = 0; k < 3; k++) CHECK(tp_archive_decode_layers(a, i, k, z, sizeof z) == sizeof z && !memcmp(y, z, sizeof y));
        const void *frame;
        CHECK_ERR(tp_archive_layer_frame(a, i, 1, &frame), TP_ERR_ARG);
    }
    tp_archive_close(a);
    /* A cut version 1 file has no early index: nothing to read from it. */
    size_t n;
    uint8_t *f = th_read_file(path, &n);
    const char *cut = th_tmp_path(".tpz");
    th_write_file(cut, f, n / 2);
    CHECK_ERR(tp_archive_open_partial(cut, &a), TP_ERR_TRUNCATED);
    free(f);
    unlink(cut);
}

TEST(archive_writer_enforces_layer_rules)
{
    float x[64], r[64];
    th_gaussian(x, 64, 6);
    th_gaussian(r, 64, 7);
    int32_t ints[64] = {0};
    const char *path = th_tmp_path(".tpz");
    tp_archive_writer *w;
    CHECK_OK(tp_archive_writer_open(path, &w));
    CHECK_ERR(add(w, "x", 1, "int:bits=4", TP_F32, 4, 16, r), TP_ERR_ARG);  /* before its base */
    CHECK_OK(add(w, "x", 0, "int:bits=2", TP_F32, 4, 16, x));
    CHECK_ERR(add(w, "x", 2, "int:bits=4", TP_F32, 4, 16, r), TP_ERR_ARG);  /* layer 1 missing */
    CHECK_ERR(add(w, "x", 1, "int:bits=4", TP_F32, 16, 4, r), TP_ERR_ARG);  /* another shape */
    CHECK_ERR(add(w, "x", 1, "fp16", TP_F16, 4, 16, (uint16_t[64]){0}), TP_ERR_ARG); /* not f32 */
    CHECK_ERR(add(w, "x", TP_ARCHIVE_MAX_LAYERS, "int:bits=4", TP_F32, 4, 16, r), TP_ERR_ARG);
    CHECK_OK(add(w, "x", 1, "int:bits=4", TP_F32, 4, 16, r));
    CHECK_ERR(add(w, "x", 1, "int:bits=4", TP_F32, 4, 16, r), TP_ERR_ARG);  /* twice */
    CHECK_OK(add(w, "n", 0, "zstd", TP_I32, 4, 16, ints));
    CHECK_ERR(add(w, "n", 1, "int:bits=4", TP_F32, 4, 16, r), TP_ERR_ARG);  /* integer base */
    CHECK_OK(tp_archive_writer_finish(w));
    /* Written in call order without streaming; read back as two tensors. */
    CHECK(file_version(path) == 2);
    tp_archive *a;
    CHECK_OK(tp_archive_open(path, &a));
    CHECK(tp_archive_count(a) == 2 && tp_archive_layer_count(a, 0) == 2 && tp_archive_layer_count(a, 1) == 1);
    CHECK(tp_archive_layer_at(a, 0, 1)->metrics.snr_db == 11.0 && tp_archive_find(a, "n") == 1);
    float y[64], b[64], l1[64];
    CHECK(tp_archive_decode_layers(a, 0, 1, b, sizeof b) == sizeof b);
    const void *frame;
    size_t n = tp_archive_layer_frame(a, 0, 1, &frame);
    CHECK(tp_frame_decode(frame, n, l1, sizeof l1) == sizeof l1);
    CHECK(tp_archive_decode(a, 0, y, sizeof y) == sizeof y);
    for (int i = 0; i < 64; i++) CHECK(y[i] == b[i] + l1[i]);
    tp_archive_close(a);
    unlink(path);
}

TEST(archive_streaming_order_enforced_and_nothing_left_on_error)
{
    float x[64], r[64];
    th_gaussian(x, 64, 8);
    th_gaussian(r, 64, 9);
    const char *names[2] = {"a", "b"};
    tp_tensor d[2] = {{TP_F32, 2, {4, 16}, NULL}, {TP_F32, 2, {4, 16}, NULL}};
    const char *path = th_tmp_path(".tpz");
    tp_archive_writer *w;
    CHECK_OK(tp_archive_writer_open(path, &w));
    const char *dup[2] = {"a", "a"};
    CHECK_ERR(tp_archive_writer_stream(w, dup, d, 2), TP_ERR_ARG);
    CHECK_OK(tp_archive_writer_stream(w, names, d, 2));
    CHECK_ERR(tp_archive_writer_stream(w, names, d, 2), TP_ERR_ARG);
    CHECK_ERR(tp_archive_writer_set_metadata(w, "{}"), TP_ERR_ARG);
    CHECK_ERR(add(w, "b", 0, "int:bits=4", TP_F32, 4, 16, x), TP_ERR_ARG);  /* a is due */
    CHECK_ERR(add(w, "a", 0, "int:bits=4", TP_F32, 16, 4, x), TP_ERR_ARG); /* declared shape differs */
    CHECK_ERR(add(w, "c", 0, "int:bits=4", TP_F32, 4, 16, x), TP_ERR_ARG);  /* not declared */
    CHECK_OK(add(w, "a", 0, "int:bits=2", TP_F32, 4, 16, x));
    CHECK_OK(add(w, "a", 1, "int:bits=4", TP_F32, 4, 16, r));
    CHECK_ERR(tp_archive_writer_finish(w), TP_ERR_ARG); /* b never came */
    CHECK(access(path, F_OK) != 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls %s.* >/dev/null 2>&1", path);
    CHECK(system(cmd) != 0); /* neither the temporary file nor the spool */
}

/* The golden version 2 file: two tensors in the streaming layout with
 * metadata, a 3-layer f32 matrix, a 2-layer f16 one. */
static size_t write_golden_v2(const char *path)
{
    static float x[4 * 40], r1[4 * 40], r2[4 * 40];
    static uint16_t h[2 * 32];
    th_gaussian(x, 4 * 40, 21);
    th_gaussian(r1, 4 * 40, 22);
    th_gaussian(r2, 4 * 40, 23);
    for (int i = 0; i < 2 * 32; i++) h[i] = tp_f32_to_f16(x[i] * 0.5f);
    for (int i = 0; i < 4 * 40; i++) { r1[i] *= 0.1f; r2[i] *= 0.01f; }
    const char *names[2] = {"layer.0.weight", "emb"};
    tp_tensor d[2] = {{TP_F32, 2, {4, 40}, NULL}, {TP_F16, 2, {2, 32}, NULL}};
    tp_archive_writer *w;
    size_t e = tp_archive_writer_open(path, &w);
    if (tp_is_error(e)) return e;
    e = tp_archive_writer_set_metadata(w, "{\"format\":\"pt\"}");
    if (!tp_is_error(e)) e = tp_archive_writer_stream(w, names, d, 2);
    if (!tp_is_error(e)) e = add(w, names[0], 0, "int:bits=2,group=32", TP_F32, 4, 40, x);
    if (!tp_is_error(e)) e = add(w, names[0], 1, "int:bits=3,group=32", TP_F32, 4, 40, r1);
    if (!tp_is_error(e)) e = add(w, names[0], 2, "int:bits=4,group=32|zstd:level=3", TP_F32, 4, 40, r2);
    if (!tp_is_error(e)) e = add(w, names[1], 0, "lossless", TP_F16, 2, 32, h);
    if (!tp_is_error(e)) e = add(w, names[1], 1, "int:bits=2,group=0", TP_F32, 2, 32, r1);
    if (tp_is_error(e)) { tp_archive_writer_abort(w); return e; }
    return tp_archive_writer_finish(w);
}

/* 1 if the archive opens and every layer of every tensor decodes. */
static int reads_fully(const char *path)
{
    tp_archive *a;
    if (tp_is_error(tp_archive_open(path, &a))) return 0;
    int ok = 1;
    for (size_t i = 0; i < tp_archive_count(a) && ok; i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        void *buf = malloc(e->raw_size + 1);
        for (unsigned k = 1; k <= tp_archive_layer_count(a, i) && ok; k++)
            ok = !tp_is_error(tp_archive_decode_layers(a, i, k, buf, e->raw_size));
        free(buf);
    }
    tp_archive_close(a);
    return ok;
}

TEST(archive_golden_v2_still_reads)
{
    char path[512];
    snprintf(path, sizeof path, "%s/golden/progressive.tpz", th_data_dir());
    if (getenv("TP_REGEN_GOLDEN")) CHECK_OK(write_golden_v2(path));
    const char *fresh = th_tmp_path(".tpz");
    CHECK_OK(write_golden_v2(fresh));
    size_t n1, n2;
    unsigned char *g = th_read_file(path, &n1), *b = th_read_file(fresh, &n2);
    CHECK(g && b && n1 == n2 && !memcmp(g, b, n1));
    CHECK(reads_fully(path));
    tp_archive *a;
    CHECK_OK(tp_archive_open(path, &a));
    CHECK(!strcmp(tp_archive_metadata(a), "{\"format\":\"pt\"}"));
    CHECK(tp_archive_layer_count(a, 0) == 3 && tp_archive_layer_count(a, 1) == 2);
    CHECK(!strcmp(tp_archive_layer_at(a, 0, 2)->spec, "int:bits=4,sym=1,group=32,axis=-1,scale=f16,search=0 | zstd:level=3"));
    tp_archive_close(a);
    /* Every cut: refused whole; read partially once the early index is in. */
    const char *tmp = th_tmp_path(".tpz");
    for (size_t len = 0; len < n1; len++) {
        th_write_file(tmp, g, len);
        if (reads_fully(tmp)) { th_fail(__FILE__, __LINE__, "a cut archive was accepted"); break; }
        size_t r = tp_archive_open_partial(tmp, &a);
        if (tp_is_error(r)) {
            if (tp_error_code(r) != TP_ERR_TRUNCATED) { th_fail(__FILE__, __LINE__, "a cut archive read as corrupt"); break; }
            continue;
        }
        CHECK(tp_archive_metadata(a) && tp_archive_count(a) == 2);
        tp_archive_close(a);
    }
    unsigned char *c = malloc(n1);
    tp_rng rng = {4242};
    for (int k = 0; k < 1500; k++) {
        size_t bit = (size_t)(tp_rng_next(&rng) % (n1 * 8));
        memcpy(c, g, n1);
        c[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        th_write_file(tmp, c, n1);
        if (reads_fully(tmp)) { th_fail(__FILE__, __LINE__, "a bit-flipped archive was accepted"); break; }
    }
    free(c);
    free(g);
    free(b);
    unlink(tmp);
    unlink(fresh);
}
