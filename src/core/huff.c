/* Static canonical Huffman: length-limited code construction, its
 * serialisation, the multi-stream encoder and the multi-symbol decoder
 * (core/huff.h). */
#include "core/huff.h"

#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/error.h"
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define L TP_HUFF_MAX_LEN
#define WINDOW(v) ((uint32_t)((v) >> (64 - L))) /* the next L bits of a left-aligned bit buffer */

/* ---- code construction -------------------------------------------------- */

static int ascending(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Unlimited Huffman lengths of the n used symbols sym[] (sorted by count,
 * n >= 2): two-queue merge, leaves and internal nodes both in increasing
 * weight order; then depths from the root down. */
static void huffman_lengths(const uint32_t *cnt, const int *sym, int n, uint8_t *len)
{
    uint64_t w[512];
    int parent[512], depth[512];
    for (int i = 0; i < n; i++) w[i] = cnt[sym[i]];
    int leaf = 0, node = n, next = n;
    for (; next < 2 * n - 1; next++) {
        int pick[2];
        for (int t = 0; t < 2; t++)
            pick[t] = (leaf < n && (node >= next || w[leaf] <= w[node])) ? leaf++ : node++;
        w[next] = w[pick[0]] + w[pick[1]];
        parent[pick[0]] = parent[pick[1]] = next;
    }
    depth[2 * n - 2] = 0;
    for (int i = 2 * n - 3; i >= 0; i--) depth[i] = depth[parent[i]] + 1;
    for (int i = 0; i < n; i++) len[sym[i]] = (uint8_t)depth[i];
}

/* Clamps lengths to L and restores the Kraft inequality by lengthening the
 * rarest short codes, then spends any slack on the most frequent ones. */
static void limit_lengths(const uint32_t *cnt, const int *sym, int n, uint8_t *len)
{
    uint32_t kraft = 0, full = 1u << L;
    for (int i = 0; i < n; i++) {
        if (len[sym[i]] > L) len[sym[i]] = L;
        kraft += 1u << (L - len[sym[i]]);
    }
    while (kraft > full) { /* sym[] is sorted by count: the first short code is the rarest */
        int best = -1;
        for (int i = 0; i < n && best < 0; i++) if (len[sym[i]] < L) best = sym[i];
        kraft -= 1u << (L - len[best] - 1);
        len[best]++;
    }
    for (int i = n - 1; i >= 0; i--)
        while (len[sym[i]] > 1 && kraft + (1u << (L - len[sym[i]])) <= full) {
            kraft += 1u << (L - len[sym[i]]);
            len[sym[i]]--;
        }
}

static void assign_codes(tp_huff_code *c)
{
    uint32_t count[L + 1] = {0}, next[L + 1];
    for (int s = 0; s < 256; s++) count[c->len[s]]++;
    count[0] = 0;
    for (uint32_t l = 1, code = 0; l <= L; l++) { /* first code of each length */
        code = (code + count[l - 1]) << 1;
        next[l] = code;
    }
    for (int s = 0; s < 256; s++) if (c->len[s]) c->code[s] = (uint16_t)next[c->len[s]]++;
}

uint64_t tp_huff_build(const uint32_t cnt[256], tp_huff_code *c)
{
    int sym[256], n = 0;
    memset(c, 0, sizeof *c);
    for (int s = 0; s < 256; s++) if (cnt[s]) sym[n++] = s;
    if (n == 1) c->len[sym[0]] = 1;
    if (n >= 2) { /* symbols by count, ties by value: keys count << 8 | symbol */
        uint64_t key[256];
        for (int i = 0; i < n; i++) key[i] = (uint64_t)cnt[sym[i]] << 8 | (uint64_t)sym[i];
        qsort(key, (size_t)n, sizeof *key, ascending);
        for (int i = 0; i < n; i++) sym[i] = (int)(key[i] & 255);
        huffman_lengths(cnt, sym, n, c->len);
        limit_lengths(cnt, sym, n, c->len);
    }
    assign_codes(c);
    uint64_t bits = 0;
    for (int s = 0; s < 256; s++) bits += (uint64_t)cnt[s] * c->len[s];
    return bits;
}

/* ---- serialisation -------------------------------------------------------- */

static void used_range(const tp_huff_code *c, int *lo, int *hi)
{
    *lo = 0, *hi = 255;
    while (*lo < 255 && !c->len[*lo]) ++*lo;
    while (*hi > *lo && !c->len[*hi]) --*hi;
}

size_t tp_huff_code_size(const tp_huff_code *c)
{
    int lo, hi;
    used_range(c, &lo, &hi);
    return 2 + (size_t)(hi - lo + 2) / 2;
}

size_t tp_huff_code_write(const tp_huff_code *c, uint8_t *dst)
{
    int lo, hi;
    used_range(c, &lo, &hi);
    dst[0] = (uint8_t)lo;
    dst[1] = (uint8_t)hi;
    size_t k = 2;
    for (int s = lo; s <= hi; s += 2) dst[k++] = (uint8_t)(c->len[s] | (s + 1 <= hi ? c->len[s + 1] << 4 : 0));
    return k;
}

size_t tp_huff_code_read(tp_reader *r, tp_huff_code *c)
{
    memset(c, 0, sizeof *c);
    int lo = tp_read_u8(r), hi = tp_read_u8(r);
    if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "Huffman code truncated");
    if (lo > hi) return tp_fail(TP_ERR_CORRUPT, "Huffman symbol range %d..%d", lo, hi);
    const uint8_t *nib = tp_read_bytes(r, (size_t)(hi - lo + 2) / 2);
    if (!nib) return tp_fail(TP_ERR_TRUNCATED, "Huffman code lengths truncated");
    uint32_t kraft = 0;
    for (int s = lo; s <= hi; s++) {
        unsigned l = (nib[(s - lo) / 2] >> ((s - lo) % 2 * 4)) & 15;
        if (l > L) return tp_fail(TP_ERR_CORRUPT, "Huffman code length %u", l);
        c->len[s] = (uint8_t)l;
        if (l) kraft += 1u << (L - l);
    }
    if (!kraft || kraft > (1u << L)) return tp_fail(TP_ERR_CORRUPT, "Huffman code lengths are not a prefix code");
    assign_codes(c);
    return 0;
}

/* ---- encoder ---------------------------------------------------------- */

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(v);
#else
    const uint8_t *b = (const uint8_t *)&v;
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) r = r << 8 | b[i];
    return r;
#endif
}

static size_t stream_start(size_t n, unsigned k)
{
    size_t q = (n + TP_HUFF_STREAMS - 1) / TP_HUFF_STREAMS, a = (size_t)k * q;
    return a < n ? a : n;
}

size_t tp_huff_encode(const tp_huff_code *c, const uint8_t *sym, size_t n, uint8_t *dst, size_t cap)
{
    if (cap < 4 * (TP_HUFF_STREAMS - 1)) return tp_fail(TP_ERR_DST_TOO_SMALL, "Huffman output buffer too small");
    uint8_t *p = dst + 4 * (TP_HUFF_STREAMS - 1), *end = dst + cap;
    uint64_t code[256]; /* widened once: no extension per symbol */
    uint32_t len[256];
    for (int v = 0; v < 256; v++) code[v] = c->code[v], len[v] = c->len[v];
    for (unsigned k = 0; k < TP_HUFF_STREAMS; k++) {
        uint8_t *start = p;
        uint64_t acc = 0;
        unsigned nb = 0;
        size_t i = stream_start(n, k), stop = stream_start(n, k + 1);
        /* four symbols (at most 4L = 48 bits) at a time onto fewer than 8
         * pending bits, then the whole bytes out with one 8-byte store, no
         * branches, while 8 bytes of room are certain */
        if ((size_t)(end - p) >= (stop - i) * L / 8 + 16)
            for (; i + 4 <= stop; i += 4) {
                /* the four codes joined in a tree, so that acc waits on one shift */
                unsigned s0 = sym[i], s1 = sym[i + 1], s2 = sym[i + 2], s3 = sym[i + 3];
                uint32_t l01 = len[s0] + len[s1], l23 = len[s2] + len[s3];
                uint64_t c01 = code[s0] << len[s1] | code[s1], c23 = code[s2] << len[s3] | code[s3];
                acc = acc << (l01 + l23) | c01 << l23 | c23;
                nb += l01 + l23;
                uint64_t w = acc << (64 - nb); /* nb >= 4: every length is >= 1 */
                w = load_be64((const uint8_t *)&w); /* stored most significant byte first */
                memcpy(p, &w, 8);
                p += nb >> 3;
                nb &= 7;
            }
        for (; i < stop; i++) { /* near the end of a tight buffer */
            acc = acc << len[sym[i]] | code[sym[i]];
            nb += len[sym[i]];
            if (nb >= 32) {
                if (end - p < 4) return tp_fail(TP_ERR_DST_TOO_SMALL, "Huffman output buffer too small");
                nb -= 32;
                for (int b = 0; b < 4; b++) p[b] = (uint8_t)(acc >> (nb + 24 - 8 * b));
                p += 4;
            }
        }
        if ((size_t)(end - p) < (nb + 7) / 8) return tp_fail(TP_ERR_DST_TOO_SMALL, "Huffman output buffer too small");
        for (; nb >= 8; nb -= 8) *p++ = (uint8_t)(acc >> (nb - 8));
        if (nb) *p++ = (uint8_t)(acc << (8 - nb));
        if (k + 1 < TP_HUFF_STREAMS) tp_put_u32(dst + 4 * k, (uint32_t)(p - start));
    }
    return (size_t)(p - dst);
}

/* ---- decoder ---------------------------------------------------------- */

/* Symbols sorted by code length, and how many codes have each length. */
typedef struct {
    uint8_t sym[256];
    int n;
    uint32_t first_at[L + 2]; /* first index in sym[] of each length */
} by_length;

static void sort_by_length(const tp_huff_code *c, by_length *b)
{
    uint32_t at[L + 2] = {0};
    for (int s = 0; s < 256; s++) at[c->len[s]]++; /* counts, then (below) start positions */
    b->n = 0;
    for (int l = 1; l <= L; l++) {
        uint32_t k = at[l];
        b->first_at[l] = at[l] = (uint32_t)b->n;
        b->n += (int)k;
    }
    b->first_at[L + 1] = (uint32_t)b->n;
    for (int s = 0; s < 256; s++) if (c->len[s]) b->sym[at[c->len[s]]++] = (uint8_t)s;
}

/* Multi-table entries of up to k codes that fit in r bits, for every
 * r-bit window, are built from those of up to k - 1 codes: canonical codes
 * fill the code space in length order, so the windows whose first code
 * (s, length l) fits form a prefix of the range, one run of 2^(r - l) per
 * code, and the rest of the window after that code is a window of r - l
 * bits. Tables of each level are stored for r = 0..L-1 at [2^r, 2^(r+1)).
 * Entries: the layout of tp_huff_dtable.multi; 0 = no code fits. */
static void prepend_code(uint32_t *dst, const uint32_t *rest, size_t count, unsigned s, unsigned l)
{
    /* symbols move up a byte (the third one, if any, is dropped: rest
     * holds at most two); length += l and count += 1 cannot carry out of
     * the top byte (at most L and 3) */
    const uint32_t add = s | l << 24 | 1u << 30;
    size_t i = 0;
#ifdef __SSE2__
    const __m128i lo_mask = _mm_set1_epi32(0xffff), k = _mm_set1_epi32((int)add);
    for (; i + 4 <= count; i += 4) {
        __m128i x = _mm_loadu_si128((const __m128i *)(rest + i)), lo = _mm_and_si128(x, lo_mask);
        __m128i y = _mm_add_epi32(_mm_add_epi32(_mm_sub_epi32(x, lo), _mm_slli_epi32(lo, 8)), k);
        _mm_storeu_si128((__m128i *)(dst + i), y);
    }
#endif
    for (; i < count; i++) {
        uint32_t x = rest[i], lo = x & 0xffff;
        dst[i] = x - lo + (lo << 8) + add;
    }
}

static void build_level(const tp_huff_code *c, const by_length *b, const uint32_t *shorter, unsigned r, uint32_t *dst,
                        uint32_t none)
{
    static const uint32_t empty[1u << L];
    uint32_t covered = 0;
    for (uint32_t k = 0; k < b->first_at[r + 1]; k++) {
        unsigned s = b->sym[k], l = c->len[s];
        prepend_code(dst + covered, shorter ? shorter + (1u << (r - l)) : empty, 1u << (r - l), s, l);
        covered += 1u << (r - l);
    }
    for (; covered < (1u << r); covered++) dst[covered] = none;
}

void tp_huff_dtable_build(const tp_huff_code *c, tp_huff_dtable *t)
{
    by_length b;
    sort_by_length(c, &b);
    /* windows no code starts (incomplete codes only) decode as symbol 0 of
     * length L: decoding advances and the stream-length check fails */
    const uint32_t none = (uint32_t)L << 24 | 1u << 30;
    uint32_t one[1u << L], two[1u << L]; /* levels of up to one and two codes, r < L */
    for (unsigned r = 0; r < L; r++) build_level(c, &b, NULL, r, one + (1u << r), 0);
    build_level(c, &b, NULL, L, t->single, none);
    for (unsigned r = 0; r < L; r++) build_level(c, &b, one, r, two + (1u << r), 0);
    build_level(c, &b, two, L, t->multi, none);
    for (uint32_t i = 0; i < (1u << L); i++) {
        t->multi_len[i] = (uint8_t)(t->multi[i] >> 24 & 63);
        t->multi_count[i] = (uint8_t)(t->multi[i] >> 30);
    }
}

/* The next L bits at bit position b of src[0..len) (zeros past the end). */
static inline uint32_t peek_safe(const uint8_t *src, size_t len, uint64_t b)
{
    uint32_t v = 0;
    size_t byte = (size_t)(b >> 3);
    for (int i = 0; i < 3; i++) v = v << 8 | (byte + i < len ? src[byte + i] : 0);
    return (v << (b & 7)) >> (24 - L) & ((1u << L) - 1);
}

typedef struct {
    uint64_t bit[TP_HUFF_STREAMS];  /* read position in src, in bits   */
    uint64_t end[TP_HUFF_STREAMS];  /* stream end in src, in bytes      */
    size_t out[TP_HUFF_STREAMS];    /* next symbol index                */
    size_t last[TP_HUFF_STREAMS];   /* stream's end symbol index        */
} streams;

static size_t open_streams(const uint8_t **src, size_t *len, size_t n, streams *st)
{
    if (*len < 4 * (TP_HUFF_STREAMS - 1)) return tp_fail(TP_ERR_TRUNCATED, "Huffman stream sizes truncated");
    const uint8_t *hdr = *src;
    *src += 4 * (TP_HUFF_STREAMS - 1);
    *len -= 4 * (TP_HUFF_STREAMS - 1);
    uint64_t at = 0;
    for (unsigned k = 0; k < TP_HUFF_STREAMS; k++) {
        uint64_t size = k + 1 < TP_HUFF_STREAMS ? tp_get_u32(hdr + 4 * k) : *len - at;
        if (at + size > *len) return tp_fail(TP_ERR_TRUNCATED, "Huffman stream %u truncated", k);
        st->bit[k] = 8 * at;
        st->end[k] = at + size;
        st->out[k] = stream_start(n, k);
        st->last[k] = stream_start(n, k + 1);
        at += size;
    }
    return 0;
}

/* One symbol per step, reads bounds-checked: the reference decoder and
 * the last symbols of every stream. */
static void decode_tails(const tp_huff_dtable *t, const uint8_t *src, size_t len, uint8_t *sym, streams *st)
{
    for (unsigned k = 0; k < TP_HUFF_STREAMS; k++)
        for (; st->out[k] < st->last[k]; st->out[k]++) {
            uint32_t one = t->single[peek_safe(src, len, st->bit[k])];
            sym[st->out[k]] = (uint8_t)one;
            st->bit[k] += (one >> 24) & 63;
        }
}

/* Each stream on its own with the multi-symbol table while it has room
 * for a full refill (13 output bytes, 8 input bytes): the streams reach
 * their ends at different times, and the fast loop stops at the first. */
static void decode_rests(const tp_huff_dtable *t, const uint8_t *src, size_t len, uint8_t *sym, streams *st)
{
    for (unsigned k = 0; k < TP_HUFF_STREAMS; k++) {
        uint64_t b = st->bit[k];
        uint8_t *o = sym + st->out[k], *stop = sym + st->last[k];
        while (stop - o >= 13 && 8 * (uint64_t)len >= b + 64) {
            uint64_t v = load_be64(src + (b >> 3)) << (b & 7) | 1;
            for (int i = 0; i < 4; i++) {
                uint32_t e = t->multi[WINDOW(v)];
                v <<= (e >> 24) & 63;
                memcpy(o, &e, 4);
                o += e >> 30;
            }
            b += (uint64_t)__builtin_ctzll(v);
        }
        st->bit[k] = b;
        st->out[k] = (size_t)(o - sym);
    }
}

static size_t check_ends(const streams *st)
{
    for (unsigned k = 0; k < TP_HUFF_STREAMS; k++)
        if ((st->bit[k] + 7) / 8 != st->end[k])
            return tp_fail(TP_ERR_CORRUPT, "Huffman stream %u does not end where its size says", k);
    return 0;
}

/* Rounds of four lookups per stream the fast loop can run without a
 * bounds check: a round emits at most 12 symbols (writing 13 bytes) and
 * reads 8 bytes at a position that advances at most 48 bits. */
static size_t safe_rounds(const streams *st, size_t len)
{
    size_t rounds = SIZE_MAX;
    for (unsigned k = 0; k < TP_HUFF_STREAMS; k++) {
        size_t room = st->last[k] - st->out[k];
        uint64_t in_bits = 8 * (uint64_t)len;
        if (room < 13 || in_bits < st->bit[k] + 64) return 0;
        size_t r_out = (room - 1) / 12, r_in = (size_t)((in_bits - 64 - st->bit[k]) / 48);
        if (r_out < rounds) rounds = r_out;
        if (r_in < rounds) rounds = r_in;
    }
    return rounds;
}

#if defined(__GNUC__)
/* The fast loop: all streams in turn, four table lookups per stream
 * between refills of its 64-bit buffer. Each lookup stores four bytes (up
 * to three symbols and the entry's length byte, overwritten later) and
 * advances by the symbol count. A marker bit set at the bottom of the
 * buffer rises with every shift, so its position after the lookups is the
 * number of bits consumed. */
#if TP_HUFF_STREAMS == 4
#define HUFF_EACH(M) M(0) M(1) M(2) M(3)
#elif TP_HUFF_STREAMS == 6
#define HUFF_EACH(M) M(0) M(1) M(2) M(3) M(4) M(5)
#elif TP_HUFF_STREAMS == 8
#define HUFF_EACH(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7)
#endif
#define HUFF_LOAD(k) uint64_t b##k = st->bit[k], v##k; uint8_t *o##k = sym + st->out[k];
#define HUFF_STORE(k) st->bit[k] = b##k, st->out[k] = (size_t)(o##k - sym);
#define HUFF_FILL(k) v##k = load_be64(src + (b##k >> 3)) << (b##k & 7) | 1;
#define HUFF_LOOKUP(k)                                    \
    {                                                     \
        uint32_t w_ = WINDOW(v##k), e_ = t->multi[w_];    \
        memcpy(o##k, &e_, 4);                             \
        v##k <<= t->multi_len[w_];                        \
        o##k += t->multi_count[w_];                       \
    }
#define HUFF_ADVANCE(k) b##k += (uint64_t)__builtin_ctzll(v##k);
#define HUFF_PREFETCH(k) __builtin_prefetch(next + 2 * (size_t)(o##k - sym), 1);

#define HUFF_DECODE_FAST(name, attr)                                                                      \
    attr static void name(const tp_huff_dtable *t, const uint8_t *src, size_t len, uint8_t *sym, streams *st, \
                          const uint8_t *next)                                                            \
    {                                                                                                     \
        for (size_t rounds; (rounds = safe_rounds(st, len)) > 0;) {                                       \
            HUFF_EACH(HUFF_LOAD)                                                                          \
            do {                                                                                          \
                HUFF_EACH(HUFF_FILL)                                                                      \
                HUFF_EACH(HUFF_LOOKUP) HUFF_EACH(HUFF_LOOKUP) HUFF_EACH(HUFF_LOOKUP) HUFF_EACH(HUFF_LOOKUP) \
                HUFF_EACH(HUFF_ADVANCE)                                                                   \
                if (next) { HUFF_EACH(HUFF_PREFETCH) }                                                    \
            } while (--rounds);                                                                           \
            HUFF_EACH(HUFF_STORE)                                                                         \
        }                                                                                                 \
    }

HUFF_DECODE_FAST(decode_fast, )
#if defined(__x86_64__)
/* the same with BMI2 shifts, MOVBE loads and PREFETCHW (~5 % faster on Zen 4) */
HUFF_DECODE_FAST(decode_fast_bmi2, __attribute__((target("bmi,bmi2,movbe,prfchw"))))
#endif
#endif

size_t tp_huff_decode(const tp_huff_dtable *t, const uint8_t *src, size_t len, uint8_t *sym, size_t n,
                      const uint8_t *next)
{
    streams st;
    TP_TRY(open_streams(&src, &len, n, &st));
#if defined(__x86_64__) && defined(__GNUC__)
    if (tp_cpu_features() & TP_CPU_BMI2)
        decode_fast_bmi2(t, src, len, sym, &st, next);
    else
        decode_fast(t, src, len, sym, &st, next);
#elif defined(__GNUC__)
    decode_fast(t, src, len, sym, &st, next);
#endif
#if defined(__GNUC__)
    decode_rests(t, src, len, sym, &st);
#endif
    decode_tails(t, src, len, sym, &st);
    return check_ends(&st);
}

size_t tp_huff_decode_ref(const tp_huff_dtable *t, const uint8_t *src, size_t len, uint8_t *sym, size_t n)
{
    streams st;
    TP_TRY(open_streams(&src, &len, n, &st));
    decode_tails(t, src, len, sym, &st);
    return check_ends(&st);
}
