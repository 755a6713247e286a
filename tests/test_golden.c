/* Golden frames: tests/data/golden/NAME.tpf were written by the encoder
 * from the deterministic input below, and NAME.f32 holds their decoded
 * values (raw little-endian f32). The format may not drift silently:
 *  - each golden file must keep its pinned XXH3 and size;
 *  - it must decode (to its .f32, and within the codec's error of the
 *    input);
 *  - encoding the input again must give the same bytes. zstd's output
 *    depends on the libzstd version, so for pipelines with a zstd stage
 *    that last check runs only with the version the files were made with.
 * To regenerate after a deliberate format change (bump the frame version
 * and keep the old files readable first!): TP_REGEN_GOLDEN=1
 * ./build/unit_tests golden_regenerate, then paste the printed table. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "harness.h"

#define GOLDEN_ZSTD_VERSION 10504 /* libzstd 1.5.4 made the files */
#define ROWS 4
#define COLS 40

typedef struct {
    const char *name, *spec;
    size_t frame_size;
    uint64_t frame_xxh3, values_xxh3;
    double min_snr_db; /* of the decoded values against the input */
} golden_case;

static const golden_case golden[] = {
    {"int4_g32", "int:bits=4,group=32", 212, 0x83516479d84a86c0ull, 0xab72ab4eda9f1e96ull, 18},
    {"int3_asym_axis0_f32", "int:bits=3,sym=0,group=0,axis=0,scale=f32", 206, 0x359447e4b8d1be87ull, 0x8cd81258d99240a0ull, 12},
    {"fp16_zstd3", "fp16|zstd:level=3", 429, 0xe9ecefecb818472bull, 0x580b4aad16fba3c2ull, 60},
    {"bf16", "bf16", 396, 0xf9003ea97f41eb16ull, 0xa88d70eb3abfb574ull, 45},
    {"zstd1", "zstd:level=1", 545, 0x49ef929e4ef3e2a1ull, 0x6ca53b254d1c9424ull, INFINITY},
};
#define N_GOLDEN (sizeof golden / sizeof golden[0])

/* Input made with exact integer and power-of-two arithmetic only (no libm),
 * so it is the same on every IEEE 754 machine. */
static void golden_input(float *x)
{
    uint32_t s = 0x12345678u;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < COLS; c++) {
            s = s * 1664525u + 1013904223u;
            int v = (int)(s >> 20) - 2048; /* -2048..2047 */
            x[r * COLS + c] = (float)v / 512.0f * (float)(r + 1) + 0.25f * (float)r;
        }
    x[5] = -0.0f;
    x[6] = 0.0f;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len + 1)) != NULL) {
            *n = fread(buf, 1, (size_t)len, f);
            if (*n != (size_t)len) { free(buf); buf = NULL; }
        }
    }
    fclose(f);
    return buf;
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static const char *golden_path(const char *name, const char *ext)
{
    static char buf[2][512];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/golden/%s%s", th_data_dir(), name, ext);
    return buf[k];
}

static size_t encode_input(const char *spec, void **frame)
{
    float x[ROWS * COLS];
    golden_input(x);
    tp_tensor t = {TP_F32, 2, {ROWS, COLS}, x};
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    r = tp_frame_encode_alloc(p, &t, frame);
    tp_pipeline_free(p);
    return r;
}

TEST(golden_regenerate)
{
    const char *env = getenv("TP_REGEN_GOLDEN");
    if (!env || strcmp(env, "1")) return;
    printf("  libzstd %u; paste into golden[] in tests/test_golden.c:\n", ZSTD_versionNumber());
    for (size_t i = 0; i < N_GOLDEN; i++) {
        void *f;
        size_t n = encode_input(golden[i].spec, &f);
        CHECK_OK(n);
        float y[ROWS * COLS];
        CHECK(tp_frame_decode(f, n, y, sizeof y) == sizeof y);
        CHECK(write_file(golden_path(golden[i].name, ".tpf"), f, n));
        CHECK(write_file(golden_path(golden[i].name, ".f32"), y, sizeof y));
        char snr[32];
        if (isinf(golden[i].min_snr_db)) snprintf(snr, sizeof snr, "INFINITY");
        else snprintf(snr, sizeof snr, "%g", golden[i].min_snr_db);
        printf("    {\"%s\", \"%s\", %zu, 0x%016llxull, 0x%016llxull, %s},\n", golden[i].name, golden[i].spec, n,
               (unsigned long long)XXH3_64bits(f, n), (unsigned long long)XXH3_64bits(y, sizeof y), snr);
        free(f);
    }
}

TEST(golden_frames_decode)
{
    float x[ROWS * COLS];
    golden_input(x);
    for (size_t i = 0; i < N_GOLDEN; i++) {
        const golden_case *g = &golden[i];
        size_t n = 0, nv = 0;
        uint8_t *f = read_file(golden_path(g->name, ".tpf"), &n);
        uint8_t *v = read_file(golden_path(g->name, ".f32"), &nv);
        if (!f || !v) printf("  missing %s (run from the repository root)\n", golden_path(g->name, ".tpf"));
        CHECK(f && v);
        CHECK(n == g->frame_size && XXH3_64bits(f, n) == g->frame_xxh3);
        CHECK(nv == sizeof x && XXH3_64bits(v, nv) == g->values_xxh3);
        tp_frame_info info;
        CHECK_OK(tp_frame_inspect(f, n, &info));
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(g->spec, &p));
        char canon[512];
        CHECK_OK(tp_pipeline_to_string(p, canon, sizeof canon));
        tp_pipeline_free(p);
        CHECK(!strcmp(info.spec, canon));
        CHECK(info.dtype == TP_F32 && info.ndim == 2 && info.shape[0] == ROWS && info.shape[1] == COLS);
        CHECK(info.frame_size == n && info.nbytes == sizeof x);
        float y[ROWS * COLS], want[ROWS * COLS];
        CHECK(tp_frame_decode(f, n, y, sizeof y) == sizeof y);
        memcpy(want, v, sizeof want);
        /* Bit-exact, but for int stages, whose SIMD decoder may fuse the
         * multiply-add and differ in the last bit. */
        if (strncmp(g->spec, "int", 3)) CHECK(!memcmp(y, want, sizeof y));
        else for (int k = 0; k < ROWS * COLS; k++) CHECK(fabsf(y[k] - want[k]) <= 1e-6f * (1 + fabsf(want[k])));
        tp_metrics m;
        CHECK_OK(tp_metrics_compute(x, TP_F32, y, TP_F32, ROWS * COLS, &m));
        CHECK(m.snr_db >= g->min_snr_db);
        free(f);
        free(v);
    }
}

TEST(golden_frames_reencode_identically)
{
    int zstd_same = ZSTD_versionNumber() == GOLDEN_ZSTD_VERSION;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        const golden_case *g = &golden[i];
        void *f;
        size_t n = encode_input(g->spec, &f);
        CHECK_OK(n);
        size_t ng = 0;
        uint8_t *gf = read_file(golden_path(g->name, ".tpf"), &ng);
        CHECK(gf);
        if (!strstr(g->spec, "zstd") || zstd_same) {
            CHECK(n == ng && !memcmp(f, gf, n));
        } else {
            /* Other libzstd: the bytes may differ, the values may not. */
            printf("  %s: libzstd %u, files made with %u: comparing values only\n", g->name, ZSTD_versionNumber(),
                   GOLDEN_ZSTD_VERSION);
            float a[ROWS * COLS], b[ROWS * COLS];
            CHECK(tp_frame_decode(f, n, a, sizeof a) == sizeof a);
            CHECK(tp_frame_decode(gf, ng, b, sizeof b) == sizeof b);
            CHECK(!memcmp(a, b, sizeof a));
        }
        free(gf);
        free(f);
    }
}
