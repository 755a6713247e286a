/* The int codec's kernels: each run-time choice against its scalar
 * reference (bit-exact for the encode kernels, which decide frame bytes),
 * the frame checksum against portable XXH3, and golden hashes of frames
 * that go through the batched encode path. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "codecs/quant/int_kernels.h"
#include "core/hash.h"
#include "core/rng.h"
#include "harness.h"

static tp_rng rng = {88172645463325252ull};
static uint32_t next_u32(void) { return (uint32_t)(tp_rng_next(&rng) >> 11); }

/* Gaussian values reshaped into the awkward cases: ties, +0/-0 mixes,
 * one-signed groups, constants, tiny and large magnitudes. */
static void awkward_values(float *x, size_t n, int kind)
{
    th_gaussian(x, n, (unsigned)kind + 11);
    for (size_t i = 0; i < n; i++) {
        float z = (next_u32() & 1) ? 0.0f : -0.0f;
        switch (kind % 7) {
        case 1: x[i] = roundf(x[i] * 2) / 2; break;
        case 2: if (next_u32() % 3 == 0) x[i] = z; break;
        case 3: x[i] = fabsf(x[i]); if (next_u32() % 4 == 0) x[i] = z; break;
        case 4: x[i] = -fabsf(x[i]); if (next_u32() % 4 == 0) x[i] = z; break;
        case 5: x[i] = (float)((int)(next_u32() % 5) - 2); if (x[i] == 0) x[i] = z; break;
        case 6: x[i] *= (next_u32() & 1) ? 1e-30f : 1e4f; break;
        default: break;
        }
    }
}

static int same_bits(float a, float b) { return !memcmp(&a, &b, sizeof a); }

TEST(int_kernel_group_stats_matches_reference)
{
    static const size_t groups[] = {8, 16, 24, 32, 40, 64, 256};
    float x[8 * 256], lo[8], hi[8], big[8], lo2[8], hi2[8], big2[8];
    tp_group_stats_fn best = tp_group_stats_best();
    for (int kind = 0; kind < 14; kind++)
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
            size_t group = groups[gi], n_groups = 8 * 256 / group < 8 ? 8 * 256 / group : 8;
            awkward_values(x, n_groups * group, kind);
            CHECK(tp_group_stats_ref(x, n_groups, group, lo, hi, big) == 0);
            CHECK(best(x, n_groups, group, lo2, hi2, big2) == 0);
            for (size_t g = 0; g < n_groups; g++)
                CHECK(same_bits(lo[g], lo2[g]) && same_bits(hi[g], hi2[g]) && same_bits(big[g], big2[g]));
        }
    /* all-zero groups in both zero signs: the sign of lo/hi/big matters */
    for (size_t i = 0; i < 64; i++) x[i] = (i % 3) ? -0.0f : 0.0f;
    x[32] = -0.0f;
    CHECK(best(x, 2, 32, lo2, hi2, big2) == 0);
    CHECK(tp_group_stats_ref(x, 2, 32, lo, hi, big) == 0);
    for (int g = 0; g < 2; g++) CHECK(same_bits(lo[g], lo2[g]) && same_bits(hi[g], hi2[g]) && same_bits(big[g], big2[g]));
    /* NaN and Inf are reported wherever they are */
    for (size_t pos = 0; pos < 64; pos += 7) {
        th_gaussian(x, 64, 3);
        x[pos] = (pos & 1) ? NAN : -INFINITY;
        CHECK(best(x, 2, 32, lo2, hi2, big2) == 1);
        CHECK(tp_group_stats_ref(x, 2, 32, lo, hi, big) == 1);
    }
}

TEST(int_kernel_quant_matches_reference)
{
    static const size_t groups[] = {8, 16, 24, 32, 40, 64, 96, 256, 264};
    static float x[4 * 264];
    static uint8_t a[4 * 264], b[4 * 264];
    float inv[4], off[4];
    tp_quant_fn best = tp_quant_best();
    for (unsigned bits = 1; bits <= 8; bits++)
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
            size_t group = groups[gi];
            awkward_values(x, 4 * group, (int)(bits + gi));
            for (int g = 0; g < 4; g++) {
                /* scales that clip some values on both sides, and one zero scale */
                float s = g == 3 ? 0.0f : 2.5f / (float)(1u << bits) * (float)(g + 1) * 0.5f;
                inv[g] = s != 0.0f ? 1.0f / s : 0.0f;
                off[g] = g == 1 ? -0.75f : -(float)(1u << (bits - 1)) * s;
            }
            size_t nbytes = 4 * group * bits / 8;
            memset(a, 0xAA, sizeof a);
            memset(b, 0x55, sizeof b);
            tp_quant_groups_ref(x, 4, group, bits, inv, off, a);
            best(x, 4, group, bits, inv, off, b);
            CHECK(!memcmp(a, b, nbytes));
        }
}

TEST(int_kernel_dequant_close_to_reference)
{
    static const size_t groups[] = {8, 16, 32, 40, 64, 256};
    static uint8_t codes[4 * 256];
    static float a[4 * 256], b[4 * 256];
    const float s[4] = {0.01f, -0.5f, 3.0f, 0.0f}, off[4] = {-1.28f, 64.0f, 0.0f, 2.0f};
    tp_dequant_fn best = tp_dequant_best();
    for (unsigned bits = 1; bits <= 8; bits++)
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++) {
            size_t group = groups[gi];
            for (size_t i = 0; i < sizeof codes; i++) codes[i] = (uint8_t)next_u32();
            tp_dequant_ref(codes, 4, group, bits, s, off, a);
            best(codes, 4, group, bits, s, off, b);
            /* FMA may round code*s + off once instead of twice */
            for (size_t i = 0; i < 4 * group; i++) {
                size_t g = i / group;
                CHECK(fabsf(a[i] - b[i]) <= 1e-6f * (255.0f * fabsf(s[g]) + fabsf(off[g])));
            }
        }
}

TEST(int_kernel_dequant_streaming_stores_match)
{
    static const size_t groups[] = {8, 32, 40, 64};
    static uint8_t codes[8 * 64];
    static float buf[8 * 64 + 16] __attribute__((aligned(64))), want[8 * 64];
    const float s[8] = {0.01f, -0.5f, 3.0f, 0.0f, 1.0f, 2.0f, -1.0f, 0.25f};
    const float off[8] = {-1.28f, 64.0f, 0.0f, 2.0f, -8.0f, 1.0f, 0.5f, -0.5f};
    for (size_t i = 0; i < sizeof codes; i++) codes[i] = (uint8_t)next_u32();
    for (unsigned bits = 1; bits <= 8; bits++)
        for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++)
            for (size_t k = 0; k < 3; k++) { /* out 32-, 16- and only 4-byte aligned */
                static const size_t shift[3] = {0, 4, 3};
                size_t group = groups[gi], n = 8 * group;
                float *out = buf + shift[k];
                tp_dequant_best()(codes, 8, group, bits, s, off, want);
                /* a huge out_bytes asks for streaming stores where alignment allows */
                tp_dequant_for(out, (size_t)1 << 40)(codes, 8, group, bits, s, off, out);
                CHECK(!memcmp(out, want, n * sizeof(float)));
            }
}

TEST(frame_checksum_matches_portable_xxh3)
{
    static uint8_t buf[70000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)next_u32();
    static const size_t lens[] = {0, 1, 3, 16, 17, 128, 129, 240, 241, 1024, 4096, 4097, 65536, 70000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        CHECK(tp_hash64(buf, lens[i]) == tp_hash64_ref(buf, lens[i]));
        CHECK(tp_hash64(buf + 1, lens[i] ? lens[i] - 1 : 0) == XXH3_64bits(buf + 1, lens[i] ? lens[i] - 1 : 0));
    }
}

/* XXH64 of frames written by the multi-pass encoder before the batched
 * path existed (th_gaussian seed 21, shape [4, 256], some special groups):
 * the batched path must reproduce them byte for byte. */
TEST(int_encode_frames_golden)
{
    static const struct { const char *spec; uint64_t hash; size_t size; } golden[] = {
#include "int_golden.inc"
    };
    float x[4 * 256];
    th_gaussian(x, 4 * 256, 21);
    for (int i = 0; i < 32; i++) x[i] = (i & 1) ? -0.0f : 0.0f;
    for (int i = 32; i < 64; i++) x[i] = fabsf(x[i]);
    for (int i = 64; i < 96; i++) x[i] = 1.5f;
    x[100] = 3.0f; x[101] = -3.0f;
    for (int i = 128; i < 160; i++) x[i] *= 1e-6f;
    tp_tensor t = {TP_F32, 2, {4, 256}, x};
    for (size_t k = 0; k < sizeof golden / sizeof golden[0]; k++) {
        tp_pipeline *p;
        CHECK_OK(tp_pipeline_parse(golden[k].spec, &p));
        void *frame = NULL;
        size_t n = tp_frame_encode_alloc(p, &t, NULL, &frame);
        tp_pipeline_free(p);
        CHECK_OK(n);
        uint64_t h = XXH64(frame, n, 0);
        free(frame);
        if (n != golden[k].size || h != golden[k].hash) {
            printf("  %s: %zu bytes, hash 0x%016llx\n", golden[k].spec, n, (unsigned long long)h);
            CHECK(!"frame differs from its golden hash");
        }
    }
}
