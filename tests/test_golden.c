/* Golden frames: tests/data/golden/NAME.tpf were written by the encoder
 * from the deterministic input below, and NAME.f32 holds their decoded
 * values (raw little-endian f32). The format may not drift silently:
 *  - each golden file must keep its pinned XXH3 and size;
 *  - it must decode (to its .f32, and within the codec's error of the
 *    input);
 *  - encoding the input again must give the same bytes. zstd's output
 *    depends on the libzstd version, so for pipelines with a zstd stage
 *    that last check runs only with the version the files were made with.
 * Every codec has at least one case, named after it. To add a case, append
 * a row with zero sizes and hashes, run TP_REGEN_GOLDEN=1
 * ./build/unit_tests golden_regenerate (it writes only the files that do
 * not exist yet) and paste the printed table. A deliberate format change
 * bumps the frame version and keeps the old files readable: never
 * regenerate an existing file. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "harness.h"

#define GOLDEN_ZSTD_VERSION 10504 /* libzstd 1.5.4 made the files */
#define ROWS 4 /* the shape of the first cases; later ones name theirs */
#define COLS 40
#define MAX_VALUES 4096

typedef struct {
    const char *name, *spec;
    int rows, cols;
    size_t frame_size;
    uint64_t frame_xxh3, values_xxh3;
    double min_snr_db; /* of the decoded values against the input */
    int exact;         /* decoded values bit-exact on every CPU path */
} golden_case;

static const golden_case golden[] = {
    {"int4_g32", "int:bits=4,group=32", 4, 40, 212, 0x83516479d84a86c0ull, 0xab72ab4eda9f1e96ull, 18, 0},
    {"int3_asym_axis0_f32", "int:bits=3,sym=0,group=0,axis=0,scale=f32", 4, 40, 206, 0x359447e4b8d1be87ull, 0x8cd81258d99240a0ull, 12, 0},
    {"fp16_zstd3", "fp16|zstd:level=3", 4, 40, 429, 0xe9ecefecb818472bull, 0x580b4aad16fba3c2ull, 60, 1},
    {"bf16", "bf16", 4, 40, 396, 0xf9003ea97f41eb16ull, 0xa88d70eb3abfb574ull, 45, 1},
    {"zstd1", "zstd:level=1", 4, 40, 545, 0x49ef929e4ef3e2a1ull, 0x6ca53b254d1c9424ull, INFINITY, 1},
    {"fp16", "fp16", 4, 40, 396, 0xae6cad23bbf1a488ull, 0x580b4aad16fba3c2ull, 76, 1},
    {"kmeans_b3", "kmeans:bits=3", 4, 40, 205, 0x681471c9c9a828c2ull, 0xddeb829d2a8fe90full, 15, 1},
    {"kmeans_b4_g40_sq", "kmeans:bits=4,group=40,weight=sq", 4, 40, 336, 0x7e9ad2129b964f3full, 0xa1d88d425a8ed71dull, 20, 1},
    {"nf4_g32", "nf:bits=4,group=32", 4, 40, 206, 0x9c722a0aa2724e4cull, 0x5e1265c63c5935f6ull, 21, 1},
    {"nf3_axis0_nosearch", "nf:bits=3,axis=0,search=0", 4, 40, 176, 0x22f932eac80b6e3cull, 0x0eac6d0377f35bdaull, 14, 1},
    {"log4_g32", "log:bits=4,group=32", 4, 40, 217, 0xc7c6e2547a2d5c08ull, 0xfb964ccd3b43380bull, 21, 1},
    {"log6_step", "log:bits=6,group=0,step=0.5", 4, 40, 244, 0xb6720d146f0d5ee8ull, 0x7e124532ac3ef736ull, 20, 1},
    {"fp8_e4m3", "fp8", 4, 40, 269, 0xdd816c80dbb8c50cull, 0x690e81eda0ad44ebull, 30, 1},
    {"fp8_e5m2_g32", "fp8:format=e5m2,group=32,scale=f16", 4, 40, 282, 0x1b4b9d7ac5794125ull, 0x100d22458061111bull, 26, 1},
    {"ternary_g40", "ternary:group=40", 4, 40, 149, 0x40a362418d23e13aull, 0x4a30331081d5de64ull, 6, 1},
    {"ternary_mse_axis0", "ternary:method=mse,axis=0", 4, 40, 143, 0x92196cca8c1e8ca3ull, 0x7e13ee2a3b16171aull, 8, 1},
    {"kq2", "kq:bits=2", 8, 256, 792, 0x9757fe815358eb95ull, 0xb4492e0375b6527bull, 12, 1},
    {"kq3", "kq:bits=3", 8, 256, 1000, 0xc938bdfc0f95dab8ull, 0x7fffd5a27b77ce83ull, 17, 1},
    {"kq4", "kq:bits=4", 8, 256, 1272, 0x4dfc232a7dbb8af1ull, 0x4376c14608b18ce3ull, 24, 1},
    {"kq5_weight_sq", "kq:bits=5,weight=sq", 8, 256, 1526, 0x136367349fca1a07ull, 0x6bfaccae5ba3803bull, 30, 1},
    {"kq6", "kq:bits=6", 8, 256, 1800, 0x0839d2fa58f0106bull, 0x75058e351a357ddeull, 36, 1},
    {"kq4_nosearch_sub16", "kq:bits=4,search=0,sub=16", 8, 256, 1369, 0xb3f600f935b2d58full, 0x39d1a1b50519b62aull, 24, 1},
    {"vq_d4_b6", "vq:dim=4,bits=6", 16, 64, 896, 0xea493010d229da06ull, 0x6429ecbdaa27be26ull, 10, 1},
    {"vq_d2_b4_2stages_group", "vq:dim=2,bits=4,stages=2,scale=group,group=32,importance=norm", 16, 64, 865, 0x802b179a1e30b177ull, 0x45ba28c8e474d655ull, 19, 1},
    {"seedlm_s10", "seedlm:seed_bits=10", 8, 64, 323, 0xbde8260cbabbf65dull, 0xf37ea4586e356200ull, 11, 1},
    {"dct2d_b8", "dct2d:block=8", 24, 40, 807, 0xda5952315acbf0d2ull, 0x2b9e2218af97fa3full, 24, 0},
    {"dct2d_b14_keep_q90", "dct2d:keep=0.5,quality=90", 28, 28, 651, 0xc9297d5827c0f579ull, 0x6d7dd0f80b70dfbbull, 10, 0},
    {"tokdct_v1_g12", "tokdct:grid=12", 144, 16, 1076, 0x8f0c5431eac7f7caull, 0x0935a48960210435ull, 7, 1},
    {"tokdct_v1_g12_prune72", "tokdct:grid=12,prune=72", 144, 16, 938, 0x0e3c43b802281ab3ull, 0x0850e811a13fa8bcull, 6, 1},
    {"tokdct_v1_g12_step", "tokdct:grid=12,step=0.05", 144, 16, 2579, 0x847c46464d2c5aa1ull, 0xe483bd114bed669full, 35, 1},
    {"tokdct_v1_g12_bits_prune100", "tokdct:grid=12,low=8,mid=4,high=2,prune=100", 144, 16, 865, 0xaffff01dc9865f1eull, 0x50c3f85d55937f9eull, 4, 1},
    {"svd_rank4", "svd:rank=4", 16, 64, 761, 0x3b516218162066feull, 0x6472c9e0b19daa0bull, 3, 1},
    {"svd_full_pass_int8", "svd:rank=4,method=full,factor=pass|int:bits=8", 16, 64, 538, 0xa1ab3564bf5b631full, 0xd741c3b523ea7a91ull, 3, 1},
    {"pca_c4", "pca:components=4", 16, 64, 895, 0xe228db7772b3b81bull, 0x32d16b187cb3be11ull, 3, 1},
    {"sparse_keep25", "sparse:keep=0.25", 16, 64, 1284, 0x0a1093590aa12cf4ull, 0xe7b4e0ec7a41637bull, 5, 1},
    {"sparse_csr_f16", "sparse:keep=0.1,index=csr,values=f16", 16, 64, 468, 0xd5ca2730fd2ef759ull, 0x269bfa9dd6598c88ull, 1, 1},
    {"sparsecode_a16_k2", "sparsecode:atoms=16,k=2,iterations=5", 16, 64, 2273, 0x290573c9604b3fa1ull, 0x23a2173f47b0b1cbull, 68, 1},
    {"autoenc_h8_l4", "autoenc:hidden=8,latent=4,epochs=20", 16, 64, 1549, 0x3866b948b5c39377ull, 0x33f8a3a9e8f2a165ull, 0, 0},
    {"bf16_lossless", "bf16|lossless", 4, 40, 472, 0x0f548e0459edec5eull, 0xa88d70eb3abfb574ull, 54, 1},
};
#define N_GOLDEN (sizeof golden / sizeof golden[0])

/* Input made with exact integer and power-of-two arithmetic only (no libm),
 * so it is the same on every IEEE 754 machine. */
static void golden_input(float *x, int rows, int cols)
{
    uint32_t s = 0x12345678u;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            s = s * 1664525u + 1013904223u;
            int v = (int)(s >> 20) - 2048; /* -2048..2047 */
            x[r * cols + c] = (float)v / 512.0f * (float)(r % 8 + 1) + 0.25f * (float)(r % 8);
        }
    x[5] = -0.0f;
    x[6] = 0.0f;
}

static const char *golden_path(const char *name, const char *ext)
{
    static char buf[2][512];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/golden/%s%s", th_data_dir(), name, ext);
    return buf[k];
}

static size_t encode_input(const golden_case *g, void **frame)
{
    static float x[MAX_VALUES];
    golden_input(x, g->rows, g->cols);
    tp_tensor t = {TP_F32, 2, {(uint64_t)g->rows, (uint64_t)g->cols}, x};
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(g->spec, &p);
    if (tp_is_error(r)) return r;
    r = tp_frame_encode_alloc(p, &t, NULL, frame);
    tp_pipeline_free(p);
    return r;
}

static size_t n_values(const golden_case *g) { return (size_t)g->rows * (size_t)g->cols; }

/* Writes the golden files that do not exist yet (existing ones are never
 * rewritten: that would hide a changed encoder) and prints every row. */
TEST(golden_regenerate)
{
    const char *env = getenv("TP_REGEN_GOLDEN");
    if (!env || strcmp(env, "1")) return;
    printf("  libzstd %u; paste into golden[] in tests/test_golden.c:\n", ZSTD_versionNumber());
    for (size_t i = 0; i < N_GOLDEN; i++) {
        const golden_case *g = &golden[i];
        size_t n = 0, nv = 0;
        uint8_t *f = th_read_file(golden_path(g->name, ".tpf"), &n);
        uint8_t *y = th_read_file(golden_path(g->name, ".f32"), &nv);
        if (!f || !y) {
            free(f);
            free(y);
            void *frame;
            n = encode_input(g, &frame);
            CHECK_OK(n);
            f = frame;
            nv = n_values(g) * sizeof(float);
            y = malloc(nv);
            CHECK(y && tp_frame_decode(f, n, y, nv) == nv);
            CHECK(th_write_file(golden_path(g->name, ".tpf"), f, n));
            CHECK(th_write_file(golden_path(g->name, ".f32"), y, nv));
        }
        char snr[32];
        if (isinf(g->min_snr_db)) snprintf(snr, sizeof snr, "INFINITY");
        else snprintf(snr, sizeof snr, "%g", g->min_snr_db);
        printf("    {\"%s\", \"%s\", %d, %d, %zu, 0x%016llxull, 0x%016llxull, %s, %d},\n", g->name, g->spec, g->rows,
               g->cols, n, (unsigned long long)XXH3_64bits(f, n), (unsigned long long)XXH3_64bits(y, nv), snr,
               g->exact);
        free(f);
        free(y);
    }
}

TEST(golden_frames_decode)
{
    static float x[MAX_VALUES], y[MAX_VALUES], want[MAX_VALUES];
    for (size_t i = 0; i < N_GOLDEN; i++) {
        const golden_case *g = &golden[i];
        size_t nval = n_values(g);
        CHECK(nval <= MAX_VALUES);
        golden_input(x, g->rows, g->cols);
        size_t n = 0, nv = 0;
        uint8_t *f = th_read_file(golden_path(g->name, ".tpf"), &n);
        uint8_t *v = th_read_file(golden_path(g->name, ".f32"), &nv);
        if (!f || !v) printf("  missing %s (run from the repository root)\n", golden_path(g->name, ".tpf"));
        CHECK(f && v);
        if (n != g->frame_size || XXH3_64bits(f, n) != g->frame_xxh3) printf("  %s: file changed\n", g->name);
        CHECK(n == g->frame_size && XXH3_64bits(f, n) == g->frame_xxh3);
        CHECK(nv == nval * sizeof(float) && XXH3_64bits(v, nv) == g->values_xxh3);
        tp_frame_info info;
        CHECK_OK(tp_frame_inspect(f, n, &info));
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(g->spec, &p));
        char canon[512];
        CHECK_OK(tp_pipeline_to_string(p, canon, sizeof canon));
        tp_pipeline_free(p);
        CHECK(!strcmp(info.spec, canon));
        CHECK(info.dtype == TP_F32 && info.ndim == 2 && info.shape[0] == (uint64_t)g->rows &&
              info.shape[1] == (uint64_t)g->cols);
        CHECK(info.frame_size == n && info.nbytes == nval * sizeof(float));
        CHECK(tp_frame_decode(f, n, y, nval * sizeof(float)) == nval * sizeof(float));
        memcpy(want, v, nv);
        /* Bit-exact, but for codecs whose SIMD decoder may fuse a
         * multiply-add and differ from the scalar one in the last bit, and
         * for those decoding through BLAS, whose kernel depends on the CPU. */
        if (g->exact && memcmp(y, want, nv)) printf("  %s: decoded values differ\n", g->name);
        if (g->exact) CHECK(!memcmp(y, want, nv));
        else for (size_t k = 0; k < nval; k++) CHECK(fabsf(y[k] - want[k]) <= 1e-5f * (1 + fabsf(want[k])));
        tp_metrics m;
        CHECK_OK(tp_metrics_compute(x, TP_F32, y, TP_F32, nval, &m));
        if (!(m.snr_db >= g->min_snr_db)) printf("  %s: SNR %.2f dB < %g\n", g->name, m.snr_db, g->min_snr_db);
        CHECK(m.snr_db >= g->min_snr_db);
        free(f);
        free(v);
    }
}

TEST(golden_frames_reencode_identically)
{
    static float a[MAX_VALUES], b[MAX_VALUES];
    int zstd_same = ZSTD_versionNumber() == GOLDEN_ZSTD_VERSION;
    for (size_t i = 0; i < N_GOLDEN; i++) {
        const golden_case *g = &golden[i];
        void *f;
        size_t n = encode_input(g, &f);
        CHECK_OK(n);
        /* The bound comes from the stages' bounds alone; a buffer of that
         * size takes the same frame. */
        static float x[MAX_VALUES];
        golden_input(x, g->rows, g->cols);
        tp_tensor t = {TP_F32, 2, {(uint64_t)g->rows, (uint64_t)g->cols}, x};
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(g->spec, &p));
        size_t bound = tp_frame_bound(p, &t);
        uint8_t *at_bound = tp_is_error(bound) ? NULL : malloc(bound);
        size_t nb_enc = at_bound ? tp_frame_encode(p, &t, NULL, at_bound, bound) : 0;
        tp_pipeline_free(p);
        if (tp_is_error(bound) || bound < n) printf("  %s: bound %zu < frame %zu\n", g->name, bound, n);
        CHECK(!tp_is_error(bound) && bound >= n && at_bound);
        CHECK(nb_enc == n && !memcmp(at_bound, f, n));
        free(at_bound);
        size_t ng = 0, nb = n_values(g) * sizeof(float);
        uint8_t *gf = th_read_file(golden_path(g->name, ".tpf"), &ng);
        CHECK(gf);
        if (!strstr(g->spec, "zstd") || zstd_same) {
            if (n != ng || memcmp(f, gf, n)) printf("  %s: encoder output changed\n", g->name);
            CHECK(n == ng && !memcmp(f, gf, n));
        } else {
            /* Other libzstd: the bytes may differ, the values may not. */
            printf("  %s: libzstd %u, files made with %u: comparing values only\n", g->name, ZSTD_versionNumber(),
                   GOLDEN_ZSTD_VERSION);
            CHECK(tp_frame_decode(f, n, a, nb) == nb);
            CHECK(tp_frame_decode(gf, ng, b, nb) == nb);
            CHECK(!memcmp(a, b, nb));
        }
        free(gf);
        free(f);
    }
}
