/* One chunk of the lossless codec: checksum, kind, then per plane raw,
 * constant or rANS-coded (docs/LOSSLESS.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codecs/lossless/lossless.h"
#include "core/hash.h"
#include "core/error.h"

/* Kind 2 is tried on chunks of at least this many float elements (its
 * model has ~4x the symbols of the exponent's: small chunks do not repay
 * it; its fixed costs must also fit in the chunk bound) ... */
#define EM_MIN 8192
/* ... and given up when more exponents than m / EM_ESC_DIV escape the
 * window (wide-range data: kind 1 codes it better). */
#define EM_ESC_DIV 16
/* A Huffman plane is kept when at most 1/HUFF_SLACK_DIV (2 %) larger than the
 * rANS estimate: it decodes ~1.5x faster (core/huff.h). */
#define HUFF_SLACK_DIV 50


size_t tp_ll_scratch_init(tp_ll_scratch *s, size_t chunk_bytes, unsigned elem, int for_encode)
{
    memset(s, 0, sizeof *s);
    s->n_max = chunk_bytes / elem;
    s->planes = malloc(chunk_bytes ? chunk_bytes : 1);
    if ((elem == 2 || elem == 4) && !(s->em = malloc(tp_ll_em_bytes(s->n_max) + 64))) {
        tp_ll_scratch_free(s);
        return tp_fail(TP_ERR_NOMEM, "lossless scratch for %zu-byte chunks", chunk_bytes);
    }
    if (for_encode) {
        s->coded_cap = tp_rans_stream_bound(s->n_max) + 2048;
        s->coded = malloc(s->coded_cap);
        s->shifted = malloc(s->n_max ? s->n_max : 1);
    }
    if (!s->planes || (for_encode && (!s->coded || !s->shifted))) {
        tp_ll_scratch_free(s);
        return tp_fail(TP_ERR_NOMEM, "lossless scratch for %zu-byte chunks", chunk_bytes);
    }
    return 0;
}

void tp_ll_scratch_free(tp_ll_scratch *s)
{
    free(s->planes);
    free(s->coded);
    free(s->em);
    free(s->shifted);
    ZSTD_freeCCtx(s->zc);
    ZSTD_freeDCtx(s->zd);
    s->planes = s->coded = s->em = s->shifted = NULL;
    s->zc = s->zd = NULL;
}

static int all_equal(const uint8_t *p, size_t n)
{
    uint8_t v = p[0];
    size_t i = 0;
    uint64_t w = v * 0x0101010101010101ull;
    for (; i + 8 <= n; i += 8) {
        uint64_t q;
        memcpy(&q, p + i, 8);
        if (q != w) return 0;
    }
    for (; i < n; i++) if (p[i] != v) return 0;
    return 1;
}

/* zstd of plane pl into dst + 5 when it is smaller than best bytes in
 * all; returns the record size or 0. */
static size_t try_zstd(tp_ll_scratch *s, const uint8_t *pl, size_t n, size_t best, uint8_t *dst)
{
    if (best <= 6) return 0;
    if (!s->zc && !(s->zc = ZSTD_createCCtx())) return 0; /* no memory: simply not tried */
    ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, TP_LL_ZSTD_LEVEL);
    ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 0);
    ZSTD_CCtx_setParameter(s->zc, ZSTD_c_contentSizeFlag, 1);
    size_t z = ZSTD_compress2(s->zc, dst + 5, best - 6, pl, n);
    if (ZSTD_isError(z) || 5 + z >= best) return 0;
    dst[0] = TP_LL_PLANE_ZSTD;
    tp_put_u32(dst + 1, (uint32_t)z);
    return 5 + z;
}

/* Body size of a Huffman plane of n symbols with k raw low bits, from the
 * counts of the symbols >> k (code built into c). */
static size_t huff_body_size(const uint32_t *cnt, size_t n, unsigned k, tp_huff_code *c)
{
    uint64_t bits = tp_huff_build(cnt, c);
    return 1 + (k ? (n + 7) / 8 : 0) + tp_huff_code_size(c) + tp_huff_stream_bound(bits);
}

/* Huffman body of plane pl into s->coded (u8 k, k ? the low bits, code,
 * streams), if at most limit bytes; returns its size or 0. cnt: order-0
 * counts of pl. k = 1 (shorter codes: more symbols per table lookup) unless
 * that is over 2 % larger than k = 0. */
static size_t encode_huff(tp_ll_scratch *s, const uint8_t *pl, size_t n, const uint32_t *cnt, size_t limit)
{
    uint32_t half[256] = {0};
    for (int v = 0; v < 256; v++) half[v >> 1] += cnt[v];
    tp_huff_code c1;
    size_t size0 = huff_body_size(cnt, n, 0, &s->hcode), size1 = huff_body_size(half, n, 1, &c1);
    unsigned k = size1 <= size0 + size0 / HUFF_SLACK_DIV;
    if ((k ? size1 : size0) > limit || (k ? size1 : size0) > s->coded_cap) return 0;
    if (k) s->hcode = c1;
    uint8_t *d = s->coded;
    *d++ = (uint8_t)k;
    if (k) {
        tp_ll_extract_low_bits(pl, n, s->shifted, d);
        d += (n + 7) / 8;
        pl = s->shifted;
    }
    d += tp_huff_code_write(&s->hcode, d);
    size_t r = tp_huff_encode(&s->hcode, pl, n, d, s->coded_cap - (size_t)(d - s->coded));
    return tp_is_error(r) ? 0 : (size_t)(d - s->coded) + r;
}

/* How encode_plane may code a plane. */
enum {
    PLANE_CTX = 1,  /* rANS with contexts (plane 0 of kind 1)            */
    PLANE_ZSTD = 2, /* zstd as well (non-float planes)                   */
    PLANE_HUFF = 4, /* Huffman (the exponent symbols of bf16 in kind 2,
                     * half of a value's bits and of its decode time;
                     * other planes decode fast enough with rANS and keep
                     * its smaller size: with Huffman, MiniLM FP32 came
                     * within 0.03 % of ZipNN's ratio at 1 MiB chunks) */
};

/* Writes plane pl (n bytes) at dst; returns the record size. Compressible
 * planes are Huffman-coded when allowed (PLANE_HUFF, coder=auto) and
 * within 2 % of rANS's size, else rANS-coded or, with PLANE_ZSTD,
 * zstd-compressed, whichever is smaller; raw when none of them is (dst
 * has room for 1 + n bytes). */
static size_t encode_plane(tp_ll_scratch *s, const uint8_t *pl, size_t n, unsigned how, uint8_t *dst)
{
    int allow_ctx = (how & PLANE_CTX) != 0, try_z = (how & PLANE_ZSTD) != 0;
    if (all_equal(pl, n)) {
        dst[0] = TP_LL_PLANE_CONST;
        dst[1] = pl[0];
        return 2;
    }
    size_t est = tp_rans_model_build(pl, n, allow_ctx, &s->model), coded = 0;
    uint8_t kind = TP_LL_PLANE_RANS;
    if (est < n - n / 100) {
        if (s->coder == TP_LL_CODER_AUTO && (how & PLANE_HUFF)) coded = encode_huff(s, pl, n, s->model.count0, est + est / HUFF_SLACK_DIV);
        if (coded && coded + 5 < n + 1) {
            kind = TP_LL_PLANE_HUFF;
        } else {
            size_t m = tp_rans_model_write(&s->model, s->coded);
            size_t r = tp_rans_encode_t(&s->model, pl, n, s->coded + m, s->coded_cap - m, &s->etable);
            coded = !tp_is_error(r) && m + r + 5 < n + 1 ? m + r : 0;
        }
    }
    if (try_z) {
        size_t z = try_zstd(s, pl, n, coded ? 5 + coded : 1 + n, dst);
        if (z) return z;
    }
    if (coded) {
        dst[0] = kind;
        tp_put_u32(dst + 1, (uint32_t)coded);
        memcpy(dst + 5, s->coded, coded);
        return 5 + coded;
    }
    dst[0] = TP_LL_PLANE_RAW;
    memcpy(dst + 1, pl, n);
    return 1 + n;
}

/* Whether plane p looks incompressible: order-0 entropy of every 8th byte
 * (every byte in chunks under 64 Ki values), Miller-Madow corrected for
 * the sample size, at least 7.84 bits (a plane above this saves at most
 * ~2 % coded, less than kind 2 gains on its top two bits). */
static int looks_random(const uint8_t *p, size_t n)
{
    uint32_t c[256] = {0};
    size_t k = 0, step = n >= 65536 ? 8 : 1;
    for (size_t i = 0; i < n; i += step, k++) c[p[i]]++;
    double bits = 0;
    int used = 0;
    for (int v = 0; v < 256; v++)
        if (c[v]) bits -= c[v] * log2((double)c[v] / (double)k), used++;
    bits += (used - 1) / (2 * log(2.0)); /* the plug-in estimate's bias, times k */
    return bits >= 0.98 * 8 * (double)k;
}

/* Kind 2 body after the chunk header, from planes pl; returns its size,
 * or 0 when the chunk is not suited (then nothing useful was written). */
static size_t encode_em(tp_ll_scratch *s, uint8_t *const *pl, size_t m, unsigned elem, uint8_t *dst)
{
    if (m < EM_MIN || !looks_random(pl[1], m)) return 0; /* a structured 2nd byte: kind 1 codes it whole */
    unsigned base = tp_ll_em_base(pl[0], m);
    uint8_t *j = s->em, *r = j + m, *esc = r + tp_ll_em_packed(m);
    size_t n_esc = tp_ll_em_split(pl[0], pl[1], m, base, j, r, esc);
    if (n_esc > m / EM_ESC_DIV) return 0;
    dst[0] = (uint8_t)base;
    tp_put_u32(dst + 1, (uint32_t)n_esc);
    memcpy(dst + 5, esc, n_esc);
    size_t off = 5 + n_esc;
    off += encode_plane(s, j, m, elem == 2 ? PLANE_HUFF : 0, dst + off);
    off += encode_plane(s, r, tp_ll_em_packed(m), 0, dst + off);
    for (unsigned k = 2; k < elem; k++) off += encode_plane(s, pl[k], m, 0, dst + off);
    return off;
}

size_t tp_ll_chunk_encode(tp_ll_scratch *s, const uint8_t *src, size_t n, unsigned elem, int form, uint8_t *dst)
{
    int rotate = form != TP_LL_FORM_INT;
    size_t ne = n / elem;
    tp_put_u64(dst, tp_hash64(src, n));
    uint8_t *pl[TP_LL_MAX_ELEM];
    for (unsigned k = 0; k < elem; k++) pl[k] = s->planes + k * ne;
    tp_ll_split(src, ne, elem, rotate, pl);
    size_t off = form == TP_LL_FORM_FLOAT_E8 ? encode_em(s, pl, ne, elem, dst + TP_LL_CHUNK_HDR) : 0;
    if (off) {
        off += TP_LL_CHUNK_HDR;
        dst[8] = TP_LL_CHUNK_EM;
    } else {
        off = TP_LL_CHUNK_HDR;
        for (unsigned k = 0; k < elem; k++)
            off += encode_plane(s, pl[k], ne, (k == 0 ? PLANE_CTX : 0) | (rotate ? 0 : PLANE_ZSTD), dst + off);
        dst[8] = TP_LL_CHUNK_PLANES;
    }
    if (off < TP_LL_CHUNK_HDR + n) return off;
    dst[8] = TP_LL_CHUNK_RAW;
    memcpy(dst + TP_LL_CHUNK_HDR, src, n);
    return TP_LL_CHUNK_HDR + n;
}

/* Reads one plane record of len bytes; *out points at the bytes (in the
 * payload for raw planes, else decoded into mine). next: NULL, or the 2·len
 * output bytes written after this plane (tp_rans_decode_next). low: NULL,
 * or where a Huffman plane with a raw low bit leaves that bit's plane (and
 * *out its bytes >> 1, in mine); else the bits are put back here. */
static size_t read_plane(tp_ll_scratch *s, tp_reader *r, size_t len, unsigned k, uint8_t *mine, const uint8_t **out,
                         const uint8_t *next, const uint8_t **low)
{
    if (low) *low = NULL;
    uint8_t pk = tp_read_u8(r);
    if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "chunk ends before plane %u", k);
    *out = mine;
    if (pk == TP_LL_PLANE_RAW) {
        *out = tp_read_bytes(r, len);
        if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "raw plane %u truncated", k);
    } else if (pk == TP_LL_PLANE_CONST) {
        uint8_t v = tp_read_u8(r);
        if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "constant plane %u truncated", k);
        memset(mine, v, len);
    } else if (pk == TP_LL_PLANE_RANS) {
        uint32_t body = tp_read_u32(r);
        const uint8_t *b = tp_read_bytes(r, body);
        if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "coded plane %u truncated", k);
        tp_reader br = tp_reader_init(b, body);
        TP_TRY(tp_rans_model_read(&br, &s->model));
        tp_rans_dtable_build(&s->model, &s->dtable);
        TP_TRY(tp_rans_decode_next(&s->model, &s->dtable, br.p, br.left, mine, len, next));
    } else if (pk == TP_LL_PLANE_HUFF) {
        uint32_t body = tp_read_u32(r);
        const uint8_t *b = tp_read_bytes(r, body);
        if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "coded plane %u truncated", k);
        tp_reader br = tp_reader_init(b, body);
        unsigned nlow = tp_read_u8(&br);
        const uint8_t *bits = nlow == 1 ? tp_read_bytes(&br, (len + 7) / 8) : NULL;
        if (!br.ok) return tp_fail(TP_ERR_TRUNCATED, "Huffman plane %u truncated", k);
        if (nlow > 1) return tp_fail(TP_ERR_CORRUPT, "Huffman plane %u with %u raw low bits", k, nlow);
        TP_TRY(tp_huff_code_read(&br, &s->hcode));
        for (int v = 256 >> nlow; v < 256; v++)
            if (s->hcode.len[v]) return tp_fail(TP_ERR_CORRUPT, "Huffman plane %u: symbol %d above the range", k, v);
        tp_huff_dtable_build(&s->hcode, &s->hdtable);
        TP_TRY(tp_huff_decode(&s->hdtable, br.p, br.left, mine, len, next));
        if (bits && low) *low = bits;
        else if (bits) tp_ll_insert_low_bits(mine, bits, len);
    } else if (pk == TP_LL_PLANE_ZSTD) {
        uint32_t body = tp_read_u32(r);
        const uint8_t *b = tp_read_bytes(r, body);
        if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "zstd plane %u truncated", k);
        if (!s->zd && !(s->zd = ZSTD_createDCtx())) return tp_fail(TP_ERR_NOMEM, "zstd context");
        size_t z = ZSTD_decompressDCtx(s->zd, mine, len, b, body);
        if (ZSTD_isError(z) || z != len) return tp_fail(TP_ERR_CORRUPT, "zstd plane %u does not decode to %zu bytes", k, len);
    } else {
        return tp_fail(TP_ERR_CORRUPT, "plane %u has unknown kind %u", k, pk);
    }
    return 0;
}

/* Kind 2 body: planes 0 and 1 rebuilt from symbols, remainder, escapes;
 * bf16 elements straight into dst (then *done is set). */
static size_t decode_em(tp_ll_scratch *s, tp_reader *r, size_t m, unsigned elem, const uint8_t **pl, uint8_t *dst,
                        int *done)
{
    unsigned base = tp_read_u8(r);
    uint32_t n_esc = tp_read_u32(r);
    if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "chunk ends in its escape header");
    if (base < 1 || base > TP_LL_EM_BASE_MAX) return tp_fail(TP_ERR_CORRUPT, "exponent window base %u", base);
    if (n_esc > m) return tp_fail(TP_ERR_CORRUPT, "%u escapes for %zu values", n_esc, m);
    const uint8_t *esc = tp_read_bytes(r, n_esc), *j, *rem;
    if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "escapes truncated");
    uint8_t *e = s->planes, *q = s->planes + m;
    const uint8_t *low;
    TP_TRY(read_plane(s, r, m, 0, e, &j, elem == 2 ? dst : NULL, elem == 2 ? &low : NULL));
    TP_TRY(read_plane(s, r, tp_ll_em_packed(m), 1, s->em, &rem, NULL, NULL));
    for (unsigned k = 2; k < elem; k++) TP_TRY(read_plane(s, r, m, k, s->planes + k * m, &pl[k], NULL, NULL));
    if (r->left) return tp_fail(TP_ERR_CORRUPT, "%zu stray bytes after the planes", r->left);
    *done = elem == 2;
    if (*done && low) return tp_ll_em_merge_bf16_low(e, low, rem, esc, n_esc, m, base, dst); /* j == e */
    if (*done) return tp_ll_em_merge_bf16(j, rem, esc, n_esc, m, base, dst);
    TP_TRY(tp_ll_em_merge(j, rem, esc, n_esc, m, base, e, q));
    pl[0] = e;
    pl[1] = q;
    return 0;
}

size_t tp_ll_chunk_decode(tp_ll_scratch *s, const uint8_t *src, size_t len, size_t n, unsigned elem, int form,
                          uint8_t *dst)
{
    if (len < TP_LL_CHUNK_HDR) return tp_fail(TP_ERR_TRUNCATED, "lossless chunk of %zu bytes", len);
    uint64_t want = tp_get_u64(src);
    uint8_t kind = src[8];
    if (kind == TP_LL_CHUNK_RAW) {
        if (len != TP_LL_CHUNK_HDR + n) return tp_fail(TP_ERR_CORRUPT, "raw chunk of %zu bytes for %zu", len, n);
        memcpy(dst, src + TP_LL_CHUNK_HDR, n);
    } else if (kind == TP_LL_CHUNK_PLANES || kind == TP_LL_CHUNK_EM) {
        size_t ne = n / elem;
        if (ne > s->n_max) return tp_fail(TP_ERR_CORRUPT, "chunk larger than the chunk size");
        const uint8_t *pl[TP_LL_MAX_ELEM];
        tp_reader r = tp_reader_init(src + TP_LL_CHUNK_HDR, len - TP_LL_CHUNK_HDR);
        if (kind == TP_LL_CHUNK_EM && form != TP_LL_FORM_FLOAT_E8)
            return tp_fail(TP_ERR_CORRUPT, "chunk kind 2 outside bf16 and f32");
        int done = 0;
        if (kind == TP_LL_CHUNK_EM) TP_TRY(decode_em(s, &r, ne, elem, pl, dst, &done));
        else
            for (unsigned k = 0; k < elem; k++)
                TP_TRY(read_plane(s, &r, ne, k, s->planes + k * ne, &pl[k], k == 0 && elem == 2 ? dst : NULL, NULL));
        if (r.left) return tp_fail(TP_ERR_CORRUPT, "%zu stray bytes after the planes", r.left);
        if (!done) tp_ll_merge(pl, ne, elem, form != TP_LL_FORM_INT, dst);
    } else {
        return tp_fail(TP_ERR_CORRUPT, "unknown chunk kind %u", kind);
    }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    if (tp_hash64(dst, n) != want) return tp_fail(TP_ERR_CHECKSUM, "lossless chunk checksum mismatch");
#else
    (void)want;
#endif
    return 0;
}
