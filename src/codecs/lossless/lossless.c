/* lossless: float-aware entropy stage. Elements are split into byte planes
 * (floats with the sign rotated next to the mantissa so the exponent is
 * byte-aligned), each plane of each chunk stored raw, constant or coded
 * with the shared rANS coder (src/core/rans.c). Chunks are independent,
 * checksummed and coded in parallel; the bytes do not depend on the thread
 * count. Layout: docs/LOSSLESS.md. */
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/lossless/lossless.h"
#include "core/parallel.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lossless planes assume a little-endian host"
#endif

enum { P_CHUNK, P_THREADS, P_CODER };

static const char *const coder_names[] = {"auto", "rans", NULL};

static const tp_param_def ll_params[] = {
    [P_CHUNK] = {"chunk", TP_PARAM_INT, 1024, 1, 65536, NULL, "input bytes per independent chunk, in KiB"},
    [P_THREADS] = {"threads", TP_PARAM_INT, 0, 0, 256, NULL, "worker threads (0 = all cores); output does not depend on it"},
    [P_CODER] = {"coder", TP_PARAM_ENUM, TP_LL_CODER_AUTO, 0, 1, coder_names,
                 "auto: bf16 exponents Huffman-coded where within 2 % of rANS's size (faster decode); rans: rANS only (smallest)"},
};

typedef struct {
    size_t total, chunk, n_chunks, data_off;
    unsigned elem;
    int rotate, form;
} layout;

static int form_of(tp_dtype dt)
{
    return !tp_dtype_is_float(dt) ? TP_LL_FORM_INT
         : dt == TP_BF16 || dt == TP_F32 ? TP_LL_FORM_FLOAT_E8 : TP_LL_FORM_FLOAT;
}

static size_t make_layout(const tp_params *p, const tp_tensor *in, layout *l)
{
    size_t total = tp_tensor_nbytes(in);
    if (tp_is_error(total)) return total;
    l->elem = (unsigned)tp_dtype_size(in->dtype);
    if (!l->elem) return tp_fail(TP_ERR_DTYPE, "lossless: invalid dtype");
    l->rotate = tp_dtype_is_float(in->dtype);
    l->form = form_of(in->dtype);
    l->total = total;
    l->chunk = (size_t)tp_param_int(p, P_CHUNK) * 1024;
    l->n_chunks = total ? (total - 1) / l->chunk + 1 : 0;
    l->data_off = TP_LL_HEADER + 4 * l->n_chunks;
    return 0;
}

static size_t ll_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    layout l;
    TP_TRY(make_layout(p, in, &l));
    size_t b = l.data_off + l.n_chunks * tp_ll_chunk_bound(l.chunk);
    tp_desc_bytes(out, b);
    return b;
}

typedef struct {
    const layout *l;
    const uint8_t *src;
    uint8_t *dst;          /* encode: slots; decode: output              */
    const uint8_t *in;     /* decode: payload                            */
    size_t *size;          /* encode: chunk sizes; decode: chunk offsets */
    tp_ll_scratch *scratch;
    int in_place;          /* encode with one worker: chunks go straight  */
    size_t pos;            /* to their final place, at pos, in order      */
    int coder;             /* encode: TP_LL_CODER_*                       */
} job;

static size_t encode_item(void *ctx, size_t c, int w)
{
    job *j = ctx;
    const layout *l = j->l;
    size_t n = c + 1 < l->n_chunks ? l->chunk : l->total - c * l->chunk;
    /* several workers write to fixed slots, compacted afterwards; one
     * worker writes in order, which touches only the output's pages */
    uint8_t *slot = j->dst + (j->in_place ? j->pos : l->data_off + c * tp_ll_chunk_bound(l->chunk));
    size_t r = tp_ll_chunk_encode(&j->scratch[w], j->src + c * l->chunk, n, l->elem, l->form, slot);
    if (!tp_is_error(r)) {
        j->size[c] = r;
        if (j->in_place) j->pos += r;
    }
    return r;
}

static size_t run_jobs(job *j, int threads, int for_encode, tp_item_fn fn)
{
    const layout *l = j->l;
    size_t per = l->chunk < l->total ? l->chunk : l->total;
    j->scratch = calloc((size_t)threads, sizeof *j->scratch);
    if (!j->scratch) return tp_fail(TP_ERR_NOMEM, "lossless scratch");
    size_t r = 0;
    int made = 0;
    for (; made < threads && !tp_is_error(r); made++) {
        r = tp_ll_scratch_init(&j->scratch[made], per, l->elem, for_encode);
        j->scratch[made].coder = j->coder;
    }
    if (tp_is_error(r)) made--;
    else r = tp_parallel_for(l->n_chunks, threads, fn, j);
    for (int w = 0; w < made; w++) tp_ll_scratch_free(&j->scratch[w]);
    free(j->scratch);
    return r;
}

static size_t ll_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    layout l;
    TP_TRY(make_layout(p, in, &l));
    size_t bound = l.data_off + l.n_chunks * tp_ll_chunk_bound(l.chunk);
    if (cap < bound) return tp_fail(TP_ERR_DST_TOO_SMALL, "lossless needs %zu bytes, have %zu", bound, cap);
    uint8_t *d = dst;
    d[0] = TP_LL_VERSION;
    d[1] = (uint8_t)l.elem;
    d[2] = l.rotate ? TP_LL_FLAG_ROTATE : 0;
    d[3] = 0;
    tp_put_u32(d + 4, (uint32_t)l.chunk);
    tp_put_u64(d + 8, l.total);
    size_t off = l.data_off;
    if (l.n_chunks) {
        int threads = tp_threads_for(tp_param_int(p, P_THREADS), l.n_chunks);
        job j = {.l = &l, .src = in->data, .dst = d, .in_place = threads == 1, .pos = l.data_off,
                 .coder = tp_param_int(p, P_CODER)};
        j.size = malloc(l.n_chunks * sizeof *j.size);
        if (!j.size) return tp_fail(TP_ERR_NOMEM, "lossless chunk table");
        size_t r = run_jobs(&j, threads, 1, encode_item);
        if (tp_is_error(r)) { free(j.size); return r; }
        for (size_t c = 0; c < l.n_chunks; c++) {
            if (!j.in_place) memmove(d + off, d + l.data_off + c * tp_ll_chunk_bound(l.chunk), j.size[c]);
            tp_put_u32(d + TP_LL_HEADER + 4 * c, (uint32_t)j.size[c]);
            off += j.size[c];
        }
        free(j.size);
    }
    tp_desc_bytes(out, off);
    return off;
}

static size_t decode_item(void *ctx, size_t c, int w)
{
    job *j = ctx;
    const layout *l = j->l;
    size_t n = c + 1 < l->n_chunks ? l->chunk : l->total - c * l->chunk;
    return tp_ll_chunk_decode(&j->scratch[w], j->in + j->size[c], j->size[c + 1] - j->size[c], n, l->elem, l->form,
                              j->dst + c * l->chunk);
}

size_t tp_ll_decode(const void *src, size_t n, tp_dtype dtype, size_t out_bytes, void *dst, int threads)
{
    const uint8_t *s = src;
    if (n < TP_LL_HEADER) return tp_fail(TP_ERR_TRUNCATED, "lossless payload of %zu bytes", n);
    layout l;
    l.elem = (unsigned)tp_dtype_size(dtype);
    l.rotate = tp_dtype_is_float(dtype);
    l.form = form_of(dtype);
    if (!l.elem) return tp_fail(TP_ERR_CORRUPT, "lossless: invalid target dtype");
    if (s[0] != TP_LL_VERSION) return tp_fail(TP_ERR_VERSION, "lossless payload version %u", s[0]);
    if (s[1] != l.elem || s[2] != (l.rotate ? TP_LL_FLAG_ROTATE : 0) || s[3])
        return tp_fail(TP_ERR_CORRUPT, "lossless header does not match dtype %s", tp_dtype_name(dtype));
    l.chunk = tp_get_u32(s + 4);
    l.total = (size_t)tp_get_u64(s + 8);
    if (l.chunk < TP_LL_CHUNK_MIN || l.chunk > TP_LL_CHUNK_MAX || l.chunk % l.elem)
        return tp_fail(TP_ERR_CORRUPT, "lossless chunk size %zu", l.chunk);
    if (tp_get_u64(s + 8) != (uint64_t)out_bytes)
        return tp_fail(TP_ERR_CORRUPT, "lossless payload holds %llu bytes, expected %zu",
                       (unsigned long long)tp_get_u64(s + 8), out_bytes);
    l.n_chunks = l.total ? (l.total - 1) / l.chunk + 1 : 0;
    if (l.n_chunks > (n - TP_LL_HEADER) / 4) return tp_fail(TP_ERR_TRUNCATED, "lossless chunk table truncated");
    l.data_off = TP_LL_HEADER + 4 * l.n_chunks;
    size_t *off = malloc((l.n_chunks + 1) * sizeof *off);
    if (!off) return tp_fail(TP_ERR_NOMEM, "lossless chunk offsets");
    size_t pos = l.data_off, r = 0;
    for (size_t c = 0; c < l.n_chunks; c++) {
        size_t sz = tp_get_u32(s + TP_LL_HEADER + 4 * c);
        off[c] = pos;
        if (sz < TP_LL_CHUNK_HDR) { r = tp_fail(TP_ERR_CORRUPT, "lossless chunk %zu of %zu bytes", c, sz); break; }
        if (sz > n - pos) { r = tp_fail(TP_ERR_TRUNCATED, "lossless chunk %zu runs past the payload", c); break; }
        pos += sz;
    }
    if (!tp_is_error(r) && pos != n) r = tp_fail(TP_ERR_CORRUPT, "%zu stray bytes after the last chunk", n - pos);
    if (!tp_is_error(r) && l.n_chunks) {
        off[l.n_chunks] = pos;
        job j = {.l = &l, .dst = dst, .in = s, .size = off};
        r = run_jobs(&j, tp_threads_for(threads, l.n_chunks), 0, decode_item);
    }
    free(off);
    return tp_is_error(r) ? r : out_bytes;
}

static size_t ll_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                        const tp_tensor *dst_desc, void *dst)
{
    size_t want = tp_tensor_nbytes(dst_desc);
    if (tp_is_error(want)) return want;
    /* The frame checks only its header when the last stage is lossless: tie
     * the payload's chunk size to the recorded parameter, so that no byte of
     * the payload header goes unchecked (the rest is checked by chunk). */
    uint32_t chunk = n >= TP_LL_HEADER ? tp_get_u32((const uint8_t *)src + 4) : 0;
    if (n >= TP_LL_HEADER && chunk != (uint32_t)tp_param_int(p, P_CHUNK) * 1024u)
        return tp_fail(TP_ERR_CORRUPT, "lossless chunk size %u disagrees with the frame's chunk=%d KiB", chunk,
                       tp_param_int(p, P_CHUNK));
    return tp_ll_decode(src, n, dst_desc->dtype, want, dst, tp_param_int(p, P_THREADS));
}

size_t tp_ll_plane_bytes(const void *payload, size_t n, uint64_t bytes[TP_LL_MAX_ELEM], uint64_t *em_values)
{
    const uint8_t *s = payload;
    if (n < TP_LL_HEADER) return tp_fail(TP_ERR_TRUNCATED, "lossless payload of %zu bytes", n);
    unsigned elem = s[1];
    size_t chunk = tp_get_u32(s + 4), total = (size_t)tp_get_u64(s + 8);
    if (!elem || elem > TP_LL_MAX_ELEM || chunk < TP_LL_CHUNK_MIN) return tp_fail(TP_ERR_CORRUPT, "bad header");
    size_t nc = total ? (total - 1) / chunk + 1 : 0;
    if (nc > (n - TP_LL_HEADER) / 4) return tp_fail(TP_ERR_TRUNCATED, "chunk table truncated");
    memset(bytes, 0, TP_LL_MAX_ELEM * sizeof *bytes);
    *em_values = 0;
    size_t pos = TP_LL_HEADER + 4 * nc;
    for (size_t c = 0; c < nc; c++) {
        size_t sz = tp_get_u32(s + TP_LL_HEADER + 4 * c);
        if (sz < TP_LL_CHUNK_HDR || sz > n - pos) return tp_fail(TP_ERR_CORRUPT, "bad chunk size");
        size_t cn = c + 1 < nc ? chunk : total - c * chunk, ne = cn / elem;
        uint8_t kind = s[pos + 8];
        if (kind == TP_LL_CHUNK_RAW) {
            for (unsigned k = 0; k < elem; k++) bytes[k] += ne;
        } else {
            tp_reader r = tp_reader_init(s + pos + TP_LL_CHUNK_HDR, sz - TP_LL_CHUNK_HDR);
            if (kind == TP_LL_CHUNK_EM) { /* base and escapes count as plane 0 */
                tp_read_u8(&r);
                uint32_t n_esc = tp_read_u32(&r);
                tp_read_bytes(&r, n_esc);
                bytes[0] += 5 + (uint64_t)n_esc;
                *em_values += ne;
            }
            for (unsigned k = 0; k < elem && r.ok; k++) {
                size_t before = r.left, len = kind == TP_LL_CHUNK_EM && k == 1 ? tp_ll_em_packed(ne) : ne;
                uint8_t pk = tp_read_u8(&r);
                if (pk == TP_LL_PLANE_RAW) tp_read_bytes(&r, len);
                else if (pk == TP_LL_PLANE_CONST) tp_read_u8(&r);
                else tp_read_bytes(&r, tp_read_u32(&r)); /* rANS, zstd, Huffman */
                bytes[k] += before - r.left;
            }
            if (!r.ok) return tp_fail(TP_ERR_CORRUPT, "bad chunk");
        }
        pos += sz;
    }
    return elem;
}

const tp_codec tp_codec_lossless = {
    .info = {.id = TP_CODEC_ID_lossless, .name = "lossless", .flags = TP_CODEC_CHECKED,
             .summary = "byte planes (sign-rotated floats; bf16/f32 exponent coded with 2 mantissa bits by multi-symbol Huffman or rANS) + interleaved rANS, chunked, checksummed, multi-threaded",
             .n_params = 3, .params = ll_params},
    .bound = ll_bound, .encode = ll_encode, .decode = ll_decode,
};
