/* Frames: one tensor as self-describing bytes (layout in docs/FORMAT.md):
 * header bytes, parsing and checksum. The stages themselves run in
 * codecs/stages.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/stages.h"
#include "core/bytes.h"
#include "core/hash.h"

#define FRAME_MAGIC 0x52465054u /* "TPFR" */
#define FRAME_VERSION 1
#define FRAME_FIXED 16          /* magic, version, flags, header_size, n_stages, reserved */
/* The checksum covers the header only: the last stage's codec checks the
 * bytes it decodes (TP_CODEC_CHECKED), so hashing its payload again would
 * only cost time. */
#define FRAME_FLAG_HEADER_SUM 1u
#define PARAMS_MAX 1024
/* Intermediate tensors may be at most this multiple of the decoded size
 * (plus a constant): a forged header cannot make decode allocate more. */
#define INTERMEDIATE_FACTOR 8
#define INTERMEDIATE_SLACK (1u << 20)

static size_t desc_bytes(const tp_tensor *d) { return 4 + 8 * (size_t)d->ndim; }

static uint8_t *put_desc(uint8_t *p, const tp_tensor *d)
{
    p[0] = (uint8_t)d->dtype;
    p[1] = (uint8_t)d->ndim;
    tp_put_u16(p + 2, 0);
    for (uint32_t i = 0; i < d->ndim; i++) tp_put_u64(p + 4 + 8 * i, d->shape[i]);
    return p + desc_bytes(d);
}

static size_t read_desc(tp_reader *r, tp_tensor *d)
{
    memset(d, 0, sizeof *d);
    d->dtype = (tp_dtype)tp_read_u8(r);
    d->ndim = tp_read_u8(r);
    uint16_t reserved = tp_read_u16(r);
    if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "frame header ends inside a tensor descriptor");
    if (reserved) return tp_fail(TP_ERR_CORRUPT, "reserved descriptor bits set");
    if (tp_dtype_size(d->dtype) == 0) return tp_fail(TP_ERR_CORRUPT, "frame has invalid dtype %d", (int)d->dtype);
    if (d->ndim > TP_MAX_DIMS) return tp_fail(TP_ERR_CORRUPT, "frame has ndim %u", d->ndim);
    for (uint32_t i = 0; i < d->ndim; i++) d->shape[i] = tp_read_u64(r);
    if (!r->ok) return tp_fail(TP_ERR_TRUNCATED, "frame header ends inside a shape");
    size_t n = tp_tensor_nbytes(d);
    return tp_is_error(n) ? tp_fail(TP_ERR_CORRUPT, "frame shape too large") : 0;
}

/* ---- encode ---------------------------------------------------------- */

/* Header bytes of a frame whose stages have the descriptors desc[0..n];
 * each stage's canonical parameter text goes to params[s]. */
static size_t header_size(const tp_pipeline *p, const tp_tensor *desc, char (*params)[PARAMS_MAX], size_t *params_len)
{
    size_t size = FRAME_FIXED + desc_bytes(&desc[0]) + 8;
    for (size_t s = 0; s < p->n; s++) {
        const tp_codec *c = p->stage[s].codec;
        size_t plen = tp_params_to_string(c, &p->stage[s].params, params[s], PARAMS_MAX);
        if (tp_is_error(plen)) return plen;
        params_len[s] = plen;
        size += 4 + plen + desc_bytes(&desc[s + 1]);
    }
    return size;
}

typedef struct {
    tp_stage_run run;
    char params[TP_MAX_STAGES][PARAMS_MAX];
    size_t params_len[TP_MAX_STAGES];
    size_t header_size;
} encode_plan;

static size_t plan_encode(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt, encode_plan *e)
{
    TP_TRY(tp_stages_begin(&e->run, p, t, opt));
    size_t h = header_size(p, e->run.desc, e->params, e->params_len);
    if (tp_is_error(h)) return h;
    e->header_size = h;
    return 0;
}

static size_t finish_encode(encode_plan *e, uint8_t *dst, size_t cap)
{
    const tp_pipeline *p = e->run.p;
    if (cap < e->header_size + 8) return tp_fail(TP_ERR_DST_TOO_SMALL, "frame buffer of %zu bytes", cap);
    const tp_codec *c = p->stage[p->n - 1].codec;
    size_t n = tp_stages_finish(&e->run, dst + e->header_size, cap - e->header_size - 8);
    if (tp_is_error(n)) return n;

    uint8_t *q = dst;
    tp_put_u32(q, FRAME_MAGIC);
    unsigned flags = (c->info.flags & TP_CODEC_CHECKED) ? FRAME_FLAG_HEADER_SUM : 0;
    tp_put_u16(q + 4, FRAME_VERSION);
    tp_put_u16(q + 6, (uint16_t)flags);
    tp_put_u32(q + 8, (uint32_t)e->header_size);
    q[12] = (uint8_t)p->n;
    q[13] = q[14] = q[15] = 0;
    q = put_desc(q + FRAME_FIXED, &e->run.desc[0]);
    for (size_t s = 0; s < p->n; s++) {
        tp_put_u16(q, p->stage[s].codec->info.id);
        tp_put_u16(q + 2, (uint16_t)e->params_len[s]);
        memcpy(q + 4, e->params[s], e->params_len[s]);
        q = put_desc(q + 4 + e->params_len[s], &e->run.desc[s + 1]);
    }
    tp_put_u64(q, n);
    q += 8;
    if ((size_t)(q - dst) != e->header_size) return tp_fail(TP_ERR_GENERIC, "frame header size mismatch");
    size_t total = e->header_size + n;
    tp_put_u64(dst + total, tp_hash64(dst, flags ? e->header_size : total));
    return total + 8;
}

size_t tp_frame_bound(const tp_pipeline *p, const tp_tensor *t)
{
    tp_tensor desc[TP_MAX_STAGES + 1];
    size_t payload = tp_stages_bound(p, t, desc);
    if (tp_is_error(payload)) return payload;
    char text[TP_MAX_STAGES][PARAMS_MAX];
    size_t len[TP_MAX_STAGES];
    size_t h = header_size(p, desc, text, len);
    return tp_is_error(h) ? h : h + payload + 8;
}

size_t tp_frame_encode(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt, void *dst, size_t cap)
{
    if (!dst) return tp_fail(TP_ERR_ARG, "NULL destination");
    encode_plan e;
    size_t r = plan_encode(p, t, opt, &e);
    if (!tp_is_error(r)) r = finish_encode(&e, dst, cap);
    tp_stages_release(&e.run);
    return r;
}

size_t tp_frame_encode_alloc(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt, void **out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL output pointer");
    *out = NULL;
    encode_plan e;
    size_t r = plan_encode(p, t, opt, &e);
    if (!tp_is_error(r)) {
        size_t cap = e.header_size + e.run.last_bound + 8;
        uint8_t *buf = malloc(cap);
        if (!buf) r = tp_fail(TP_ERR_NOMEM, "frame of %zu bytes", cap);
        else {
            r = finish_encode(&e, buf, cap);
            if (tp_is_error(r)) free(buf);
            else {
                uint8_t *shrunk = realloc(buf, r);
                *out = shrunk ? shrunk : buf;
            }
        }
    }
    tp_stages_release(&e.run);
    return r;
}

/* ---- decode ---------------------------------------------------------- */

typedef struct {
    tp_stage_chain chain;
    const uint8_t *payload;
    size_t payload_size, frame_size;
} frame_header;

/* Parses and checks the header; verifies the checksum when verify is set. */
static size_t parse_header(const void *src, size_t n, frame_header *h, tp_frame_info *info, int verify)
{
    if (!src) return tp_fail(TP_ERR_ARG, "NULL frame");
    tp_reader r = tp_reader_init(src, n);
    uint32_t magic = tp_read_u32(&r);
    uint16_t version = tp_read_u16(&r), flags = tp_read_u16(&r);
    uint32_t header_size = tp_read_u32(&r);
    uint8_t n_stages = tp_read_u8(&r);
    const uint8_t *res = tp_read_bytes(&r, 3);
    if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "frame shorter than its fixed header (%zu bytes)", n);
    if (magic != FRAME_MAGIC) return tp_fail(TP_ERR_CORRUPT, "not a tensorpress frame (bad magic)");
    if (version != FRAME_VERSION) return tp_fail(TP_ERR_VERSION, "frame version %u (this build reads %d)", version, FRAME_VERSION);
    if ((flags & ~FRAME_FLAG_HEADER_SUM) || res[0] || res[1] || res[2])
        return tp_fail(TP_ERR_CORRUPT, "reserved frame bits set");
    if (n_stages == 0 || n_stages > TP_MAX_STAGES) return tp_fail(TP_ERR_CORRUPT, "frame has %u stages", n_stages);
    h->chain.n = n_stages;
    TP_TRY(read_desc(&r, &h->chain.desc[0]));
    if (info) info->spec[0] = 0;
    size_t spec_off = 0;
    size_t out_bytes = tp_tensor_nbytes(&h->chain.desc[0]);
    size_t limit = out_bytes * INTERMEDIATE_FACTOR + INTERMEDIATE_SLACK;
    for (size_t s = 0; s < n_stages; s++) {
        uint16_t id = tp_read_u16(&r), plen = tp_read_u16(&r);
        const uint8_t *ptext = tp_read_bytes(&r, plen);
        if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "frame header ends inside stage %zu", s + 1);
        const tp_codec *c = tp_codec_by_id(id);
        if (!c) return tp_fail(TP_ERR_UNKNOWN_CODEC, "frame uses codec id %u, unknown to this build", id);
        size_t pr = tp_params_parse(c, (const char *)ptext, plen, &h->chain.params[s]);
        if (tp_is_error(pr)) return tp_fail(TP_ERR_CORRUPT, "stage %zu parameters: %s", s + 1, tp_last_error_detail());
        h->chain.codec[s] = c;
        TP_TRY(read_desc(&r, &h->chain.desc[s + 1]));
        if (tp_tensor_nbytes(&h->chain.desc[s + 1]) > limit)
            return tp_fail(TP_ERR_CORRUPT, "stage %zu claims an implausibly large tensor", s + 1);
        if (info) {
            int w = snprintf(info->spec + spec_off, sizeof info->spec - spec_off, "%s%s%s%.*s", s ? " | " : "",
                             c->info.name, plen ? ":" : "", (int)plen, (const char *)ptext);
            if (w > 0) spec_off += (size_t)w;
            if (spec_off >= sizeof info->spec) spec_off = sizeof info->spec - 1;
        }
    }
    uint64_t payload_size = tp_read_u64(&r);
    if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "frame header truncated");
    if ((size_t)(r.p - (const uint8_t *)src) != header_size) return tp_fail(TP_ERR_CORRUPT, "frame header size field is wrong");
    if (payload_size != tp_tensor_nbytes(&h->chain.desc[n_stages]))
        return tp_fail(TP_ERR_CORRUPT, "frame payload size disagrees with its descriptor");
    if (payload_size > r.left || r.left - payload_size < 8)
        return tp_fail(TP_ERR_TRUNCATED, "frame needs %llu more bytes than the %zu given",
                       (unsigned long long)(payload_size + 8), r.left);
    h->payload = r.p;
    h->payload_size = (size_t)payload_size;
    h->frame_size = header_size + h->payload_size + 8;
    if ((flags & FRAME_FLAG_HEADER_SUM) && !(h->chain.codec[n_stages - 1]->info.flags & TP_CODEC_CHECKED))
        return tp_fail(TP_ERR_CORRUPT, "frame leaves its payload unchecked, yet codec %s keeps no checksums",
                       h->chain.codec[n_stages - 1]->info.name);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let fuzzers reach the decoders */
    uint64_t want = tp_get_u64(h->payload + h->payload_size);
    size_t covered = (flags & FRAME_FLAG_HEADER_SUM) ? header_size : header_size + h->payload_size;
    if (verify && tp_hash64(src, covered) != want) return tp_fail(TP_ERR_CHECKSUM, "frame checksum mismatch");
#else
    (void)verify;
#endif
    if (info) {
        info->dtype = h->chain.desc[0].dtype;
        info->ndim = h->chain.desc[0].ndim;
        memcpy(info->shape, h->chain.desc[0].shape, sizeof info->shape);
        info->nbytes = out_bytes;
        info->frame_size = h->frame_size;
        info->n_stages = n_stages;
    }
    return 0;
}

size_t tp_frame_inspect(const void *src, size_t n, tp_frame_info *info)
{
    frame_header h;
    return parse_header(src, n, &h, info, 1);
}

size_t tp_frame_header(const void *src, size_t n, tp_frame_info *info)
{
    frame_header h;
    return parse_header(src, n, &h, info, 0);
}

size_t tp_frame_decode(const void *src, size_t n, void *dst, size_t cap)
{
    frame_header h;
    TP_TRY(parse_header(src, n, &h, NULL, 1));
    size_t out_bytes = tp_tensor_nbytes(&h.chain.desc[0]);
    if (cap < out_bytes) return tp_fail(TP_ERR_DST_TOO_SMALL, "need %zu bytes, have %zu", out_bytes, cap);
    if (out_bytes && !dst) return tp_fail(TP_ERR_ARG, "NULL destination");
    TP_TRY(tp_stages_decode(&h.chain, 0, h.payload, dst));
    return out_bytes;
}

size_t tp_frame_decode_f32(const void *src, size_t n, float *dst, size_t cap)
{
    frame_header h;
    TP_TRY(parse_header(src, n, &h, NULL, 1));
    uint64_t numel;
    TP_TRY(tp_tensor_numel(&h.chain.desc[0], &numel));
    if (!tp_dtype_is_float(h.chain.desc[0].dtype))
        return tp_fail(TP_ERR_DTYPE, "f32 decode of a %s tensor", tp_dtype_name(h.chain.desc[0].dtype));
    if (numel > cap / sizeof(float)) return tp_fail(TP_ERR_DST_TOO_SMALL, "need %llu floats, have room for %zu",
                                                    (unsigned long long)numel, cap / sizeof(float));
    if (numel && !dst) return tp_fail(TP_ERR_ARG, "NULL destination");
    TP_TRY(tp_stages_decode_f32(&h.chain, h.payload, dst));
    return (size_t)numel * sizeof(float);
}

size_t tp_frame_kept_positions(const void *src, size_t n, uint32_t *pos, size_t cap)
{
    frame_header h;
    TP_TRY(parse_header(src, n, &h, NULL, 1));
    size_t s = h.chain.n;
    while (s-- > 0)
        if (h.chain.codec[s]->kept) break;
    if (s == (size_t)-1) return tp_fail(TP_ERR_NOT_FOUND, "frame has no stage that keeps a subset of positions");
    if (cap && !pos) return tp_fail(TP_ERR_ARG, "NULL positions buffer");
    /* What that stage stored: the payload, or a partial decode of it. */
    const void *stored = h.payload;
    void *owned = NULL;
    if (s + 1 < h.chain.n) {
        size_t sz = tp_tensor_nbytes(&h.chain.desc[s + 1]);
        owned = malloc(sz ? sz : 1);
        if (!owned) return tp_fail(TP_ERR_NOMEM, "stage buffer of %zu bytes", sz);
        size_t r = tp_stages_decode(&h.chain, s + 1, h.payload, owned);
        if (tp_is_error(r)) { free(owned); return r; }
        stored = owned;
    }
    size_t r = h.chain.codec[s]->kept(&h.chain.params[s], stored, tp_tensor_nbytes(&h.chain.desc[s + 1]),
                                      &h.chain.desc[s], pos, cap);
    free(owned);
    return r;
}
