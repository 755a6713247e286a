/* One chunk of the lossless codec: checksum, kind, then per plane raw,
 * constant or rANS-coded (docs/LOSSLESS.md). */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codecs/lossless.h"
#include "core/hash.h"
#include "core/error.h"

size_t tp_ll_scratch_init(tp_ll_scratch *s, size_t chunk_bytes, unsigned elem, int for_encode)
{
    memset(s, 0, sizeof *s);
    s->n_max = chunk_bytes / elem;
    s->planes = malloc(chunk_bytes ? chunk_bytes : 1);
    if (for_encode) {
        s->coded_cap = tp_rans_stream_bound(s->n_max) + 2048;
        s->coded = malloc(s->coded_cap);
    }
    if (!s->planes || (for_encode && !s->coded)) {
        tp_ll_scratch_free(s);
        return tp_fail(TP_ERR_NOMEM, "lossless scratch for %zu-byte chunks", chunk_bytes);
    }
    return 0;
}

void tp_ll_scratch_free(tp_ll_scratch *s)
{
    free(s->planes);
    free(s->coded);
    ZSTD_freeCCtx(s->zc);
    ZSTD_freeDCtx(s->zd);
    s->planes = s->coded = NULL;
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

/* Writes plane pl (n bytes) at dst; returns the record size. Non-float
 * planes (try_z) also try zstd, kept when smaller than rANS and raw (dst
 * has room for 1 + n bytes). */
static size_t encode_plane(tp_ll_scratch *s, const uint8_t *pl, size_t n, int allow_ctx, int try_z, uint8_t *dst)
{
    if (all_equal(pl, n)) {
        dst[0] = TP_LL_PLANE_CONST;
        dst[1] = pl[0];
        return 2;
    }
    size_t est = tp_rans_model_build(pl, n, allow_ctx, &s->model), coded = 0;
    if (est < n - n / 100) {
        size_t m = tp_rans_model_write(&s->model, s->coded);
        size_t r = tp_rans_encode_t(&s->model, pl, n, s->coded + m, s->coded_cap - m, &s->etable);
        if (!tp_is_error(r) && m + r + 5 < n + 1) coded = m + r;
    }
    if (try_z) {
        size_t z = try_zstd(s, pl, n, coded ? 5 + coded : 1 + n, dst);
        if (z) return z;
    }
    if (coded) {
        dst[0] = TP_LL_PLANE_RANS;
        tp_put_u32(dst + 1, (uint32_t)coded);
        memcpy(dst + 5, s->coded, coded);
        return 5 + coded;
    }
    dst[0] = TP_LL_PLANE_RAW;
    memcpy(dst + 1, pl, n);
    return 1 + n;
}

size_t tp_ll_chunk_encode(tp_ll_scratch *s, const uint8_t *src, size_t n, unsigned elem, int rotate, uint8_t *dst)
{
    size_t ne = n / elem;
    tp_put_u64(dst, tp_hash64(src, n));
    uint8_t *pl[TP_LL_MAX_ELEM];
    for (unsigned k = 0; k < elem; k++) pl[k] = s->planes + k * ne;
    tp_ll_split(src, ne, elem, rotate, pl);
    size_t off = TP_LL_CHUNK_HDR;
    for (unsigned k = 0; k < elem; k++) off += encode_plane(s, pl[k], ne, k == 0, !rotate, dst + off);
    if (off < TP_LL_CHUNK_HDR + n) {
        dst[8] = TP_LL_CHUNK_PLANES;
        return off;
    }
    dst[8] = TP_LL_CHUNK_RAW;
    memcpy(dst + TP_LL_CHUNK_HDR, src, n);
    return TP_LL_CHUNK_HDR + n;
}

size_t tp_ll_chunk_decode(tp_ll_scratch *s, const uint8_t *src, size_t len, size_t n, unsigned elem, int rotate,
                          uint8_t *dst)
{
    if (len < TP_LL_CHUNK_HDR) return tp_fail(TP_ERR_TRUNCATED, "lossless chunk of %zu bytes", len);
    uint64_t want = tp_get_u64(src);
    uint8_t kind = src[8];
    if (kind == TP_LL_CHUNK_RAW) {
        if (len != TP_LL_CHUNK_HDR + n) return tp_fail(TP_ERR_CORRUPT, "raw chunk of %zu bytes for %zu", len, n);
        memcpy(dst, src + TP_LL_CHUNK_HDR, n);
    } else if (kind == TP_LL_CHUNK_PLANES) {
        size_t ne = n / elem;
        if (ne > s->n_max) return tp_fail(TP_ERR_CORRUPT, "chunk larger than the chunk size");
        const uint8_t *pl[TP_LL_MAX_ELEM];
        tp_reader r = tp_reader_init(src + TP_LL_CHUNK_HDR, len - TP_LL_CHUNK_HDR);
        for (unsigned k = 0; k < elem; k++) {
            uint8_t pk = tp_read_u8(&r);
            uint8_t *mine = s->planes + k * ne;
            if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "chunk ends before plane %u", k);
            if (pk == TP_LL_PLANE_RAW) {
                pl[k] = tp_read_bytes(&r, ne);
                if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "raw plane %u truncated", k);
            } else if (pk == TP_LL_PLANE_CONST) {
                uint8_t v = tp_read_u8(&r);
                if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "constant plane %u truncated", k);
                memset(mine, v, ne);
                pl[k] = mine;
            } else if (pk == TP_LL_PLANE_RANS) {
                uint32_t body = tp_read_u32(&r);
                const uint8_t *b = tp_read_bytes(&r, body);
                if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "coded plane %u truncated", k);
                tp_reader br = tp_reader_init(b, body);
                TP_TRY(tp_rans_model_read(&br, &s->model));
                tp_rans_dtable_build(&s->model, &s->dtable);
                TP_TRY(tp_rans_decode(&s->model, &s->dtable, br.p, br.left, mine, ne));
                pl[k] = mine;
            } else if (pk == TP_LL_PLANE_ZSTD) {
                uint32_t body = tp_read_u32(&r);
                const uint8_t *b = tp_read_bytes(&r, body);
                if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "zstd plane %u truncated", k);
                if (!s->zd && !(s->zd = ZSTD_createDCtx())) return tp_fail(TP_ERR_NOMEM, "zstd context");
                size_t z = ZSTD_decompressDCtx(s->zd, mine, ne, b, body);
                if (ZSTD_isError(z) || z != ne) return tp_fail(TP_ERR_CORRUPT, "zstd plane %u does not decode to %zu bytes", k, ne);
                pl[k] = mine;
            } else {
                return tp_fail(TP_ERR_CORRUPT, "plane %u has unknown kind %u", k, pk);
            }
        }
        if (r.left) return tp_fail(TP_ERR_CORRUPT, "%zu stray bytes after the planes", r.left);
        tp_ll_merge(pl, ne, elem, rotate, dst);
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
