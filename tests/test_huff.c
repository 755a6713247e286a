/* The shared Huffman coder (core/huff.c): code construction, round trips
 * of the fast and reference decoders, and rejection of damaged input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "codecs/lossless/lossless.h"
#include "core/huff.h"
#include "core/rng.h"

static tp_rng rng = {0x9e3779b97f4a7c15ull};
static uint64_t rnd(void) { return tp_rng_next(&rng); }

static tp_huff_dtable table; /* 24 KiB: not on the stack */

/* Builds a code for x, writes code + streams, reads the code back and
 * decodes with both decoders; returns 1 when both give x back. */
static int huff_roundtrip(const uint8_t *x, size_t n, size_t *coded)
{
    uint32_t cnt[256] = {0};
    for (size_t i = 0; i < n; i++) cnt[x[i]]++;
    if (!n) cnt[0] = 1;
    tp_huff_code c, back;
    uint64_t bits = tp_huff_build(cnt, &c);
    size_t cap = tp_huff_code_size(&c) + tp_huff_stream_bound(bits);
    uint8_t *buf = malloc(cap), *y = malloc(n + 1), *z = malloc(n + 1);
    size_t h = tp_huff_code_write(&c, buf);
    size_t k = tp_huff_encode(&c, x, n, buf + h, cap - h);
    int ok = h == tp_huff_code_size(&c) && !tp_is_error(k);
    tp_reader r = tp_reader_init(buf, h);
    ok = ok && !tp_is_error(tp_huff_code_read(&r, &back)) && r.left == 0 && !memcmp(back.len, c.len, 256);
    if (ok) {
        tp_huff_dtable_build(&back, &table);
        ok = !tp_is_error(tp_huff_decode(&table, buf + h, k, y, n, NULL)) && !memcmp(x, y, n);
        ok = ok && !tp_is_error(tp_huff_decode_ref(&table, buf + h, k, z, n)) && !memcmp(x, z, n);
    }
    *coded = h + k;
    free(buf), free(y), free(z);
    return ok;
}

TEST(huff_roundtrip_skewed_uniform_single)
{
    size_t sizes[] = {0, 1, 3, 4, 5, 17, 64, 1000, 65536 + 7};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        size_t n = sizes[t], k;
        uint8_t *x = malloc(n + 1);
        for (size_t i = 0; i < n; i++) x[i] = (uint8_t)rnd(); /* uniform: 8-bit codes */
        CHECK(huff_roundtrip(x, n, &k));
        if (n >= 1000) CHECK(k <= n + n / 50 + 160);
        for (size_t i = 0; i < n; i++) x[i] = 42; /* one symbol: 1-bit codes */
        CHECK(huff_roundtrip(x, n, &k));
        if (n >= 1000) CHECK(k <= n / 8 + 64);
        for (size_t i = 0; i < n; i++) { /* geometric: lengths past the limit get clamped */
            unsigned s = 0;
            while (s < 40 && (rnd() & 1)) s++;
            x[i] = (uint8_t)(100 + s);
        }
        CHECK(huff_roundtrip(x, n, &k));
        if (n >= 1000) CHECK(k <= n / 4 + n / 200 + 64); /* entropy 2 bits; lengths clamped to 12 */
        free(x);
    }
}

TEST(huff_lengths_are_limited_and_complete)
{
    uint32_t cnt[256];
    for (int s = 0; s < 256; s++) cnt[s] = s < 40 ? 1u << (s < 31 ? 31 - s : 0) : 0; /* Fibonacci-like skew */
    tp_huff_code c;
    tp_huff_build(cnt, &c);
    uint32_t kraft = 0;
    for (int s = 0; s < 40; s++) {
        CHECK(c.len[s] >= 1 && c.len[s] <= TP_HUFF_MAX_LEN);
        kraft += 1u << (TP_HUFF_MAX_LEN - c.len[s]);
    }
    CHECK(kraft == 1u << TP_HUFF_MAX_LEN);
    CHECK(c.len[0] == 1);
}

TEST(huff_rejects_damaged_streams)
{
    size_t n = 5000, k;
    uint8_t *x = malloc(n), *y = malloc(n + 40);
    for (size_t i = 0; i < n; i++) x[i] = (uint8_t)(rnd() % 13 * (rnd() % 3));
    CHECK(huff_roundtrip(x, n, &k));
    uint32_t cnt[256] = {0};
    for (size_t i = 0; i < n; i++) cnt[x[i]]++;
    tp_huff_code c;
    uint64_t bits = tp_huff_build(cnt, &c);
    size_t cap = tp_huff_stream_bound(bits);
    uint8_t *s = malloc(cap);
    size_t len = tp_huff_encode(&c, x, n, s, cap);
    tp_huff_dtable_build(&c, &table);
    /* truncation and a longer stream are both caught by the length checks */
    CHECK(tp_is_error(tp_huff_decode(&table, s, len - 1, y, n, NULL)));
    CHECK(tp_is_error(tp_huff_decode(&table, s, 11, y, n, NULL)));
    CHECK(tp_is_error(tp_huff_decode(&table, s, len, y, n + 40, NULL)));
    tp_put_u32(s, tp_get_u32(s) + 1); /* stream 0 one byte longer, stream 3 shorter */
    CHECK(tp_is_error(tp_huff_decode(&table, s, len, y, n, NULL)));
    tp_put_u32(s, 0xfffffff0u);
    CHECK(tp_is_error(tp_huff_decode(&table, s, len, y, n, NULL)));
    /* random garbage never reads or writes out of bounds (ASan runs) */
    for (int t = 0; t < 200; t++) {
        size_t m = 12 + rnd() % 300;
        for (size_t i = 0; i < m; i++) s[i] = (uint8_t)rnd();
        tp_huff_decode(&table, s, m, y, rnd() % n, NULL);
    }
    /* a code table that is not a prefix code */
    uint8_t bad[4] = {0, 3, 0x11, 0x11};
    tp_reader r = tp_reader_init(bad, sizeof bad);
    CHECK(tp_is_error(tp_huff_code_read(&r, &c)));
    free(x), free(y), free(s);
}

/* The lossless codec's raw low bit (plane kind 4, k = 1): extract then
 * insert gives the plane back, and the dispatched insert equals the loop. */
TEST(huff_low_bits_roundtrip)
{
    size_t sizes[] = {0, 1, 7, 8, 31, 32, 33, 1000, 4099};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        size_t n = sizes[t];
        uint8_t *x = malloc(n + 1), *half = malloc(n + 1), *bits = malloc(n / 8 + 1), *a = malloc(n + 1), *b = malloc(n + 1);
        for (size_t i = 0; i < n; i++) x[i] = (uint8_t)rnd();
        tp_ll_extract_low_bits(x, n, half, bits);
        for (size_t i = 0; i < n; i++) CHECK(half[i] == x[i] >> 1);
        memcpy(a, half, n);
        memcpy(b, half, n);
        tp_ll_insert_low_bits(a, bits, n);
        tp_ll_insert_low_bits_ref(b, bits, n);
        CHECK(!memcmp(a, x, n) && !memcmp(b, x, n));
        free(x), free(half), free(bits), free(a), free(b);
    }
}
