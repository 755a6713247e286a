/* The progressive job (src/plan/progressive.c) and reading what it writes:
 * the error falls at every layer, the layers sum as the format says, the
 * bytes do not depend on threads, a cut file gives the complete bases and
 * refuses the rest, and a damaged early index is found. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "core/bytes.h"
#include "core/hash.h"
#include "core/rng.h"

#define ROWS 48
#define COLS 160
#define N_LAYERS 4

static const char *const layer_specs[N_LAYERS] = {"int:bits=2,group=32", "int:bits=2,group=32", "int:bits=4,group=32",
                                                  "int:bits=8,group=32"};

static float w[ROWS * COLS], norm[COLS];
static uint16_t v[16 * 64]; /* bf16 */
static int32_t ids[16];

/* A safetensors file of four tensors: f32 and bf16 matrices (layered), a
 * 1-D norm and an integer tensor (one lossless layer each). */
static const char *write_input(void)
{
    th_gaussian(w, ROWS * COLS, 11);
    th_gaussian(norm, COLS, 12);
    float t[16 * 64];
    th_gaussian(t, 16 * 64, 13);
    for (int i = 0; i < 16 * 64; i++) v[i] = tp_f32_to_bf16(t[i]);
    for (int i = 0; i < 16; i++) ids[i] = i * 31 - 100;
    const char *names[4] = {"w", "v", "norm", "ids"};
    tp_tensor d[4] = {{TP_F32, 2, {ROWS, COLS}, w}, {TP_BF16, 2, {16, 64}, v}, {TP_F32, 1, {COLS}, norm},
                      {TP_I32, 2, {4, 4}, ids}};
    const char *path = th_tmp_path(".safetensors");
    tp_tensor_writer *tw;
    if (tp_is_error(tp_tensor_writer_open(path, names, d, 4, &tw))) return NULL;
    for (size_t i = 0; i < 4; i++)
        if (tp_is_error(tp_tensor_writer_put(tw, i, d[i].data, tp_tensor_nbytes(&d[i])))) { tp_tensor_writer_abort(tw); return NULL; }
    return tp_is_error(tp_tensor_writer_finish(tw)) ? NULL : path;
}

static const char *write_progressive(const char *in, int threads)
{
    const char *out = th_tmp_path(".tpz");
    tp_compress_options opt = {.threads = threads};
    return tp_is_error(tp_compress_progressive(in, out, layer_specs, N_LAYERS, &opt, NULL, NULL, NULL)) ? NULL : out;
}

static double snr_of(const void *x, tp_dtype dt, const void *y, size_t n)
{
    tp_metrics m;
    tp_metrics_compute(x, dt, y, dt, n, &m);
    return m.snr_db;
}

TEST(progressive_error_falls_at_every_layer)
{
    const char *in = write_input();
    CHECK(in);
    const char *path = write_progressive(in, 1);
    CHECK(path);
    tp_archive *a;
    CHECK_OK(tp_archive_open(path, &a));
    CHECK(tp_archive_count(a) == 4 && !tp_archive_is_partial(a) && !tp_archive_metadata(a));
    static float y[ROWS * COLS], all[ROWS * COLS];
    static uint16_t yb[16 * 64];
    const void *src[2] = {w, v};
    void *dst[2] = {y, yb};
    const tp_dtype dts[2] = {TP_F32, TP_BF16};
    const size_t numel[2] = {ROWS * COLS, 16 * 64};
    for (size_t i = 0; i < 2; i++) {
        CHECK(tp_archive_layer_count(a, i) == N_LAYERS && tp_archive_entry_at(a, i)->n_layers == N_LAYERS);
        size_t raw = numel[i] * tp_dtype_size(dts[i]);
        double prev = -1e9;
        for (unsigned k = 1; k <= N_LAYERS; k++) {
            CHECK(tp_archive_decode_layers(a, i, k, dst[i], raw) == raw);
            double snr = snr_of(src[i], dts[i], dst[i], numel[i]);
            CHECK(snr > prev + 3); /* each layer adds bits, so the error falls clearly */
            prev = snr;
            /* The index holds what a reader of k layers gets. */
            const tp_archive_entry *e = tp_archive_layer_at(a, i, k - 1);
            CHECK(e && e->layer == k - 1 && e->metrics.snr_db == snr);
            if (k > 1) CHECK(e->dtype == TP_F32 && e->ndim == 2 && !strncmp(e->spec, "int:bits=", 9));
        }
        CHECK(tp_archive_layer_at(a, i, N_LAYERS) == NULL);
        CHECK(prev > 40);
    }
    /* 0, more than there are, and tp_archive_decode: all layers. */
    CHECK(tp_archive_decode_layers(a, 0, N_LAYERS, all, sizeof all) == sizeof all);
    CHECK(tp_archive_decode_layers(a, 0, 0, y, sizeof y) == sizeof y && !memcmp(y, all, sizeof y));
    CHECK(tp_archive_decode_layers(a, 0, 99, y, sizeof y) == sizeof y && !memcmp(y, all, sizeof y));
    CHECK(tp_archive_decode(a, 0, y, sizeof y) == sizeof y && !memcmp(y, all, sizeof y));
    CHECK_ERR(tp_archive_decode_layers(a, 0, 2, y, sizeof y - 1), TP_ERR_DST_TOO_SMALL);
    /* The layers are ordinary frames whose f32 sum is the reconstruction. */
    static float sum[ROWS * COLS], part[ROWS * COLS];
    for (unsigned k = 0; k < N_LAYERS; k++) {
        const void *frame;
        size_t n = tp_archive_layer_frame(a, 0, k, &frame);
        CHECK(!tp_is_error(n));
        CHECK(tp_frame_decode(frame, n, k ? part : sum, sizeof sum) == sizeof sum);
        if (k) for (size_t j = 0; j < ROWS * COLS; j++) sum[j] += part[j];
    }
    CHECK(!memcmp(sum, all, sizeof sum));
    /* Into an unaligned buffer: the same values. */
    unsigned char *odd = malloc(sizeof all + 1);
    CHECK(tp_archive_decode_layers(a, 0, 3, odd + 1, sizeof all) == sizeof all);
    CHECK(tp_archive_decode_layers(a, 0, 3, y, sizeof y) == sizeof y && !memcmp(odd + 1, y, sizeof y));
    free(odd);
    /* The 1-D norm and the integers: one exact lossless layer. */
    float nb[COLS];
    int32_t ib[16];
    CHECK(tp_archive_layer_count(a, 2) == 1 && tp_archive_layer_count(a, 3) == 1);
    CHECK(tp_archive_decode_layers(a, 2, 3, nb, sizeof nb) == sizeof nb && !memcmp(nb, norm, sizeof nb));
    CHECK(tp_archive_decode_layers(a, 3, 0, ib, sizeof ib) == sizeof ib && !memcmp(ib, ids, sizeof ib));
    CHECK(!strcmp(tp_archive_entry_at(a, 3)->spec, tp_archive_entry_at(a, 2)->spec));
    tp_archive_close(a);
    unlink(path);
    unlink(in);
}

/* The streaming layout: version 2 with an early index, every base frame
 * before every layer-1 frame, and so on. */
TEST(progressive_file_puts_every_base_first)
{
    const char *in = write_input();
    CHECK(in);
    const char *path = write_progressive(in, 1);
    CHECK(path);
    size_t n;
    uint8_t *f = th_read_file(path, &n);
    CHECK(f && f[4] == 2 && f[5] == 0 && (f[8] | f[9]) != 0);
    tp_archive *a;
    CHECK_OK(tp_archive_open(path, &a));
    uint64_t last_end[N_LAYERS] = {0}, first[N_LAYERS];
    for (unsigned k = 0; k < N_LAYERS; k++) first[k] = UINT64_MAX;
    for (size_t i = 0; i < tp_archive_count(a); i++)
        for (unsigned k = 0; k < tp_archive_layer_count(a, i); k++) {
            const tp_archive_entry *e = tp_archive_layer_at(a, i, k);
            if (e->offset < first[k]) first[k] = e->offset;
            if (e->offset + e->frame_size > last_end[k]) last_end[k] = e->offset + e->frame_size;
        }
    for (unsigned k = 1; k < N_LAYERS; k++) CHECK(last_end[k - 1] <= first[k]);
    CHECK(first[0] >= 64 + (uint64_t)(f[8] | f[9] << 8));
    tp_archive_close(a);
    free(f);
    unlink(path);
    unlink(in);
}

TEST(progressive_bytes_do_not_depend_on_threads)
{
    const char *in = write_input();
    CHECK(in);
    const char *p1 = write_progressive(in, 1), *p3 = write_progressive(in, 3);
    CHECK(p1 && p3);
    size_t n1, n3;
    uint8_t *a = th_read_file(p1, &n1), *b = th_read_file(p3, &n3);
    CHECK(a && b && n1 == n3 && !memcmp(a, b, n1));
    free(a);
    free(b);
    unlink(p1);
    unlink(p3);
    unlink(in);
}

TEST(progressive_job_refuses_bad_layer_lists)
{
    const char *in = write_input();
    CHECK(in);
    const char *out = th_tmp_path(".tpz");
    const char *bad_auto[2] = {"int:bits=2", "auto"};
    CHECK_ERR(tp_compress_progressive(in, out, bad_auto, 2, NULL, NULL, NULL, NULL), TP_ERR_ARG);
    CHECK_ERR(tp_compress_progressive(in, out, layer_specs, 0, NULL, NULL, NULL, NULL), TP_ERR_ARG);
    const char *many[TP_ARCHIVE_MAX_LAYERS + 1];
    for (int i = 0; i <= TP_ARCHIVE_MAX_LAYERS; i++) many[i] = "int:bits=2";
    CHECK_ERR(tp_compress_progressive(in, out, many, TP_ARCHIVE_MAX_LAYERS + 1, NULL, NULL, NULL, NULL), TP_ERR_ARG);
    const char *bad_spec[2] = {"int:bits=2", "int:bits=9"};
    CHECK_ERR(tp_compress_progressive(in, out, bad_spec, 2, NULL, NULL, NULL, NULL), TP_ERR_PARAM);
    CHECK(strstr(tp_last_error_detail(), "layer 1") && strstr(tp_last_error_detail(), "bits=9"));
    CHECK(access(out, F_OK) != 0);
    /* A base spec that fails on every matrix (axis 2 of a 2-D tensor): the
     * job fails, or with fallback_on_error stores them losslessly, one
     * layer each. */
    const char *axis2[2] = {"int:bits=2,group=0,axis=2", "int:bits=4"};
    CHECK(tp_is_error(tp_compress_progressive(in, out, axis2, 2, NULL, NULL, NULL, NULL)));
    CHECK(access(out, F_OK) != 0);
    tp_compress_options opt = {.threads = 1, .fallback_on_error = 1};
    tp_compress_summary sum;
    CHECK_OK(tp_compress_progressive(in, out, axis2, 2, &opt, NULL, NULL, &sum));
    CHECK(sum.tensors == 4 && sum.fallbacks == 4);
    tp_archive *a;
    CHECK_OK(tp_archive_open(out, &a));
    for (size_t i = 0; i < 4; i++) CHECK(tp_archive_layer_count(a, i) == 1);
    tp_archive_close(a);
    unlink(out);
    unlink(in);
}

/* Every cut of a progressive file: tp_archive_open refuses it; the partial
 * reader lists every tensor once the early index is whole, decodes exactly
 * the bases that end inside the cut (as the full file decodes them) and
 * refuses the others. */
TEST(progressive_cut_file_gives_complete_bases_and_refuses_the_rest)
{
    const char *in = write_input();
    CHECK(in);
    const char *path = write_progressive(in, 1);
    CHECK(path);
    size_t n;
    uint8_t *f = th_read_file(path, &n);
    CHECK(f);
    uint64_t early = (uint64_t)f[8] | (uint64_t)f[9] << 8 | (uint64_t)f[10] << 16;
    tp_archive *full;
    CHECK_OK(tp_archive_open(path, &full));
    size_t nt = tp_archive_count(full);
    void *want[4], *got = malloc(ROWS * COLS * 4);
    uint64_t base_end[4];
    for (size_t i = 0; i < nt; i++) {
        const tp_archive_entry *e = tp_archive_entry_at(full, i);
        want[i] = malloc(e->raw_size);
        CHECK(tp_archive_decode_layers(full, i, 1, want[i], e->raw_size) == e->raw_size);
        base_end[i] = e->offset + e->frame_size;
    }
    const char *cut = th_tmp_path(".tpz");
    size_t seen_partial = 0, seen_some = 0;
    for (size_t len = 0; len < n; len += len < 64 + early + 64 ? 1 : 13) {
        th_write_file(cut, f, len);
        tp_archive *a;
        CHECK_ERR(tp_archive_open(cut, &a), TP_ERR_TRUNCATED);
        size_t r = tp_archive_open_partial(cut, &a);
        if (len < 64 + early) { CHECK_ERR(r, TP_ERR_TRUNCATED); continue; }
        CHECK_OK(r);
        CHECK(tp_archive_is_partial(a) && tp_archive_count(a) == nt);
        seen_partial++;
        for (size_t i = 0; i < nt; i++) {
            const tp_archive_entry *e = tp_archive_entry_at(a, i);
            CHECK(!strcmp(e->name, tp_archive_entry_at(full, i)->name) && e->raw_size == tp_archive_entry_at(full, i)->raw_size);
            CHECK(e->n_layers == tp_archive_entry_at(full, i)->n_layers);
            if (base_end[i] <= len) {
                CHECK(tp_archive_layer_count(a, i) == 1);
                CHECK(!strcmp(e->spec, tp_archive_entry_at(full, i)->spec));
                CHECK(tp_archive_decode_layers(a, i, 0, got, e->raw_size) == e->raw_size);
                CHECK(!memcmp(got, want[i], e->raw_size));
                seen_some += i == nt - 1;
            } else {
                CHECK(tp_archive_layer_count(a, i) == 0 && !strcmp(e->spec, ""));
                CHECK_ERR(tp_archive_decode(a, i, got, e->raw_size), TP_ERR_TRUNCATED);
            }
            CHECK(tp_archive_layer_at(a, i, 1) == NULL);
        }
        tp_archive_close(a);
    }
    CHECK(seen_partial > 100 && seen_some > 10);
    /* The whole file through the partial reader: a complete archive. */
    tp_archive *a;
    CHECK_OK(tp_archive_open_partial(path, &a));
    CHECK(!tp_archive_is_partial(a) && tp_archive_layer_count(a, 0) == N_LAYERS);
    tp_archive_close(a);
    for (size_t i = 0; i < nt; i++) free(want[i]);
    free(got);
    tp_archive_close(full);
    free(f);
    unlink(cut);
    unlink(path);
    unlink(in);
}

TEST(progressive_damaged_early_index_is_found)
{
    const char *in = write_input();
    CHECK(in);
    const char *path = write_progressive(in, 1);
    CHECK(path);
    size_t n;
    uint8_t *f = th_read_file(path, &n);
    CHECK(f);
    uint64_t early = (uint64_t)f[8] | (uint64_t)f[9] << 8 | (uint64_t)f[10] << 16;
    tp_archive *full;
    CHECK_OK(tp_archive_open(path, &full));
    size_t cut_len = (size_t)(tp_archive_entry_at(full, 1)->offset + tp_archive_entry_at(full, 1)->frame_size);
    tp_archive_close(full);
    const char *bad = th_tmp_path(".tpz");
    tp_archive *a;
    /* Every byte of the early index, its checksum included, and the padding
     * after it: flipped, the whole file and a cut file are both refused. */
    for (uint64_t off = 64; off < 64 + early + 8; off++) {
        f[off] ^= 0x20;
        th_write_file(bad, f, n);
        size_t r = tp_archive_open(bad, &a);
        CHECK(tp_is_error(r));
        th_write_file(bad, f, cut_len);
        r = tp_archive_open_partial(bad, &a);
        CHECK(tp_is_error(r));
        if (off < 64 + early) CHECK(tp_error_code(r) == TP_ERR_CHECKSUM || tp_error_code(r) == TP_ERR_TRUNCATED);
        f[off] ^= 0x20;
    }
    /* An early index with a valid checksum that disagrees with the full
     * index (the first entry's SNR changed): the whole file is corrupt; a
     * cut file cannot know and reads what the early index says. */
    uint64_t snr_at = 64 + 8 + 2 + 1 + 4 + 16 + 16 + 16 + 8; /* head, name, descriptor, shape, position, counts, mse */
    uint8_t keep[16];
    memcpy(keep, f + snr_at, 8);
    memcpy(keep + 8, f + 64 + early - 8, 8);
    CHECK(f[64 + 8 + 2] == 'w');
    f[snr_at + 7] ^= 0x01;
    tp_put_u64(f + 64 + early - 8, tp_hash64(f + 64, (size_t)early - 8));
    th_write_file(bad, f, n);
    CHECK_ERR(tp_archive_open(bad, &a), TP_ERR_CORRUPT);
    CHECK(strstr(tp_last_error_detail(), "early index disagrees"));
    th_write_file(bad, f, cut_len);
    CHECK_OK(tp_archive_open_partial(bad, &a));
    tp_archive_close(a);
    memcpy(f + snr_at, keep, 8);
    memcpy(f + 64 + early - 8, keep + 8, 8);
    /* The size in the header. */
    f[8] ^= 0x08;
    th_write_file(bad, f, n);
    CHECK(tp_is_error(tp_archive_open(bad, &a)));
    th_write_file(bad, f, cut_len);
    CHECK(tp_is_error(tp_archive_open_partial(bad, &a)));
    f[8] ^= 0x08;
    /* A complete base frame of a cut file is checked when it is opened. */
    th_write_file(bad, f, cut_len);
    CHECK_OK(tp_archive_open_partial(bad, &a));
    uint64_t base0 = tp_archive_entry_at(a, 0)->offset;
    tp_archive_close(a);
    f[base0 + 200] ^= 1;
    th_write_file(bad, f, cut_len);
    CHECK_ERR(tp_archive_open_partial(bad, &a), TP_ERR_CHECKSUM);
    f[base0 + 200] ^= 1;
    /* Sampled bit flips anywhere in the whole file: never accepted. */
    tp_rng rng = {777};
    for (int k = 0; k < 600; k++) {
        size_t bit = (size_t)(tp_rng_next(&rng) % (n * 8));
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        th_write_file(bad, f, n);
        int accepted = 0;
        if (!tp_is_error(tp_archive_open(bad, &a))) {
            accepted = 1;
            for (size_t i = 0; i < tp_archive_count(a) && accepted; i++) {
                const tp_archive_entry *e = tp_archive_entry_at(a, i);
                void *buf = malloc(e->raw_size);
                accepted = !tp_is_error(tp_archive_decode(a, i, buf, e->raw_size));
                free(buf);
            }
            tp_archive_close(a);
        }
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        if (accepted) { th_fail(__FILE__, __LINE__, "a bit-flipped progressive archive was accepted"); break; }
    }
    free(f);
    unlink(bad);
    unlink(path);
    unlink(in);
}
