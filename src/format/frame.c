/* Frames: one tensor as self-describing bytes. Layout in docs/FORMAT.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/pipeline.h"
#include "codecs/frequency/tokdct.h"
#include "core/hash.h"
#include "core/bytes.h"
#include "core/hash.h"

#define FRAME_MAGIC 0x52465054u /* "TPFR" */
#define FRAME_VERSION 1
#define FRAME_FIXED 16          /* magic, version, flags, header_size, n_stages, reserved */
/* The checksum covers the header only: the last stage's codec checks the
 * bytes it decodes (TP_CODEC_CHECKED), so hashing its payload again would
 * only cost time (a tenth of a lossless bf16 decode). */
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

/* Float conversion around TP_CODEC_FLOAT_IN stages. */
static int needs_f32(const tp_codec *c, tp_dtype dt) { return (c->info.flags & TP_CODEC_FLOAT_IN) && dt != TP_F32; }

static size_t check_stage_input(const tp_codec *c, const tp_tensor *in, size_t stage)
{
    if ((c->info.flags & TP_CODEC_FLOAT_IN) && !tp_dtype_is_float(in->dtype))
        return tp_fail(TP_ERR_DTYPE, "stage %zu (%s) needs a float tensor, got %s", stage + 1, c->info.name,
                       tp_dtype_name(in->dtype));
    return 0;
}

/* ---- encode ---------------------------------------------------------- */

typedef struct {
    const tp_pipeline *p;
    const float *col_weight; /* for the first stage, checked against t */
    tp_tensor desc[TP_MAX_STAGES + 1];
    char params[TP_MAX_STAGES][PARAMS_MAX];
    size_t params_len[TP_MAX_STAGES];
    tp_tensor last_in;      /* input of the last stage, ready for its codec */
    void *owned[2];         /* intermediate buffers still alive             */
    size_t header_size, last_bound;
} encode_plan;

static void plan_free(encode_plan *e)
{
    free(e->owned[0]);
    free(e->owned[1]);
}

/* Gives in to codec c as it wants it: converted to f32 into a new buffer
 * (stored in *owned) when the codec needs float32, or copied when its data
 * is not aligned to its element size (safetensors does not align tensors;
 * codecs read typed pointers). */
static size_t prepare_input(const tp_codec *c, tp_tensor *in, void **owned)
{
    *owned = NULL;
    uint64_t numel;
    TP_TRY(tp_tensor_numel(in, &numel));
    size_t esize = tp_dtype_size(in->dtype);
    void *aligned = NULL;
    if ((uintptr_t)in->data % esize) {
        aligned = malloc(numel ? numel * esize : 1);
        if (!aligned) return tp_fail(TP_ERR_NOMEM, "aligned copy of %llu values", (unsigned long long)numel);
        memcpy(aligned, in->data, numel * esize);
        in->data = aligned;
    }
    if (!needs_f32(c, in->dtype)) {
        *owned = aligned;
        return 0;
    }
    float *f = malloc(numel ? numel * sizeof(float) : 1);
    if (!f) {
        free(aligned);
        return tp_fail(TP_ERR_NOMEM, "converting %llu values to f32", (unsigned long long)numel);
    }
    tp_convert(f, TP_F32, in->data, in->dtype, numel);
    free(aligned);
    in->dtype = TP_F32;
    in->data = f;
    *owned = f;
    return 0;
}

/* The options' column importance, checked against t (NULL if none). */
static size_t check_options(const tp_tensor *t, const tp_encode_options *opt, const float **col_weight)
{
    *col_weight = NULL;
    if (!opt || !opt->col_importance) return 0;
    if (t->ndim == 0 || opt->n_cols != t->shape[t->ndim - 1])
        return tp_fail(TP_ERR_SHAPE, "column importance has %llu values, the tensor has %llu columns",
                       (unsigned long long)opt->n_cols, (unsigned long long)(t->ndim ? t->shape[t->ndim - 1] : 0));
    int any = 0;
    for (uint64_t c = 0; c < opt->n_cols; c++) {
        float w = opt->col_importance[c];
        if (!(w >= 0.0f) || !isfinite(w))
            return tp_fail(TP_ERR_ARG, "column importance %llu is %g; it must be finite and >= 0", (unsigned long long)c,
                           (double)w);
        any |= w > 0.0f;
    }
    if (!any && opt->n_cols) return tp_fail(TP_ERR_ARG, "column importance is 0 for every column");
    *col_weight = opt->col_importance;
    return 0;
}

/* The parameters stage s encodes with: the first stage gets the column
 * importance (its input has t's shape). */
static tp_params stage_params(const encode_plan *e, size_t s)
{
    tp_params prm = e->p->stage[s].params;
    prm.col_weight = s == 0 ? e->col_weight : NULL;
    return prm;
}

/* Runs every stage but the last, and sizes the header. */
static size_t plan_encode(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt, encode_plan *e)
{
    memset(e, 0, sizeof *e);
    e->p = p;
    if (!p || !t) return tp_fail(TP_ERR_ARG, "NULL pipeline or tensor");
    TP_TRY(check_options(t, opt, &e->col_weight));
    if (p->n == 0 || p->n > TP_MAX_STAGES) return tp_fail(TP_ERR_ARG, "pipeline has %zu stages", p->n);
    size_t nbytes = tp_tensor_nbytes(t);
    if (tp_is_error(nbytes)) return nbytes;
    if (nbytes && !t->data) return tp_fail(TP_ERR_ARG, "tensor data is NULL");
    e->desc[0] = *t;
    e->desc[0].data = NULL;
    for (uint32_t i = t->ndim; i < TP_MAX_DIMS; i++) e->desc[0].shape[i] = 0;
    tp_tensor cur = *t;
    e->header_size = FRAME_FIXED + desc_bytes(&e->desc[0]) + 8;
    for (size_t s = 0; s < p->n; s++) {
        const tp_codec *c = p->stage[s].codec;
        const tp_params stage_prm = stage_params(e, s), *prm = &stage_prm;
        size_t plen = tp_params_to_string(c, prm, e->params[s], PARAMS_MAX);
        if (tp_is_error(plen)) return plen;
        e->params_len[s] = plen;
        TP_TRY(check_stage_input(c, &cur, s));
        void *conv;
        TP_TRY(prepare_input(c, &cur, &conv));
        tp_tensor out;
        memset(&out, 0, sizeof out);
        size_t bound = c->bound(prm, &cur, &out);
        if (tp_is_error(bound)) { free(conv); return bound; }
        if (s + 1 == p->n) {
            free(e->owned[1]);
            e->owned[1] = conv;
            e->last_in = cur;
            e->last_bound = bound;
            e->desc[s + 1] = out;
            e->header_size += 4 + plen + desc_bytes(&out);
            return 0;
        }
        void *buf = malloc(bound ? bound : 1);
        if (!buf) { free(conv); return tp_fail(TP_ERR_NOMEM, "stage %zu buffer of %zu bytes", s + 1, bound); }
        size_t n = c->encode(prm, &cur, buf, bound, &out);
        free(conv);
        if (tp_is_error(n)) { free(buf); return n; }
        free(e->owned[0]);
        e->owned[0] = buf;
        out.data = buf;
        e->desc[s + 1] = out;
        e->desc[s + 1].data = NULL;
        e->header_size += 4 + plen + desc_bytes(&out);
        cur = out;
    }
    return 0;
}

static size_t finish_encode(encode_plan *e, uint8_t *dst, size_t cap)
{
    const tp_pipeline *p = e->p;
    size_t last = p->n - 1;
    if (cap < e->header_size + 8) return tp_fail(TP_ERR_DST_TOO_SMALL, "frame buffer of %zu bytes", cap);
    const tp_codec *c = p->stage[last].codec;
    tp_tensor out;
    memset(&out, 0, sizeof out);
    size_t room = cap - e->header_size - 8;
    const tp_params prm = stage_params(e, last);
    size_t n = c->encode(&prm, &e->last_in, dst + e->header_size, room, &out);
    if (tp_is_error(n)) return n;
    if (out.ndim != e->desc[last + 1].ndim || out.dtype != e->desc[last + 1].dtype || tp_tensor_nbytes(&out) != n)
        return tp_fail(TP_ERR_GENERIC, "codec %s broke its bound contract", c->info.name);
    e->desc[last + 1] = out;

    uint8_t *q = dst;
    tp_put_u32(q, FRAME_MAGIC);
    unsigned flags = (c->info.flags & TP_CODEC_CHECKED) ? FRAME_FLAG_HEADER_SUM : 0;
    tp_put_u16(q + 4, FRAME_VERSION);
    tp_put_u16(q + 6, (uint16_t)flags);
    tp_put_u32(q + 8, (uint32_t)e->header_size);
    q[12] = (uint8_t)p->n;
    q[13] = q[14] = q[15] = 0;
    q = put_desc(q + FRAME_FIXED, &e->desc[0]);
    for (size_t s = 0; s < p->n; s++) {
        tp_put_u16(q, p->stage[s].codec->info.id);
        tp_put_u16(q + 2, (uint16_t)e->params_len[s]);
        memcpy(q + 4, e->params[s], e->params_len[s]);
        q = put_desc(q + 4 + e->params_len[s], &e->desc[s + 1]);
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
    encode_plan e;
    size_t r = plan_encode(p, t, NULL, &e);
    plan_free(&e);
    return tp_is_error(r) ? r : e.header_size + e.last_bound + 8;
}

size_t tp_frame_encode(const tp_pipeline *p, const tp_tensor *t, void *dst, size_t cap)
{
    return tp_frame_encode_opts(p, t, NULL, dst, cap);
}

size_t tp_frame_encode_alloc(const tp_pipeline *p, const tp_tensor *t, void **out)
{
    return tp_frame_encode_alloc_opts(p, t, NULL, out);
}

size_t tp_frame_encode_opts(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt, void *dst,
                            size_t cap)
{
    if (!dst) return tp_fail(TP_ERR_ARG, "NULL destination");
    encode_plan e;
    size_t r = plan_encode(p, t, opt, &e);
    if (!tp_is_error(r)) r = finish_encode(&e, dst, cap);
    plan_free(&e);
    return r;
}

size_t tp_frame_encode_alloc_opts(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt,
                                  void **out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL output pointer");
    *out = NULL;
    encode_plan e;
    size_t r = plan_encode(p, t, opt, &e);
    if (!tp_is_error(r)) {
        size_t cap = e.header_size + e.last_bound + 8;
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
    plan_free(&e);
    return r;
}

/* ---- decode ---------------------------------------------------------- */

typedef struct {
    tp_tensor desc[TP_MAX_STAGES + 1];
    const tp_codec *codec[TP_MAX_STAGES];
    tp_params params[TP_MAX_STAGES];
    size_t n_stages;
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
    h->n_stages = n_stages;
    TP_TRY(read_desc(&r, &h->desc[0]));
    if (info) info->spec[0] = 0;
    size_t spec_off = 0;
    size_t out_bytes = tp_tensor_nbytes(&h->desc[0]);
    size_t limit = out_bytes * INTERMEDIATE_FACTOR + INTERMEDIATE_SLACK;
    for (size_t s = 0; s < n_stages; s++) {
        uint16_t id = tp_read_u16(&r), plen = tp_read_u16(&r);
        const uint8_t *ptext = tp_read_bytes(&r, plen);
        if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "frame header ends inside stage %zu", s + 1);
        const tp_codec *c = tp_codec_by_id(id);
        if (!c) return tp_fail(TP_ERR_UNKNOWN_CODEC, "frame uses codec id %u, unknown to this build", id);
        size_t pr = tp_params_parse(c, (const char *)ptext, plen, &h->params[s]);
        if (tp_is_error(pr)) return tp_fail(TP_ERR_CORRUPT, "stage %zu parameters: %s", s + 1, tp_last_error_detail());
        h->codec[s] = c;
        TP_TRY(read_desc(&r, &h->desc[s + 1]));
        if (tp_tensor_nbytes(&h->desc[s + 1]) > limit)
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
    if (payload_size != tp_tensor_nbytes(&h->desc[n_stages]))
        return tp_fail(TP_ERR_CORRUPT, "frame payload size disagrees with its descriptor");
    if (payload_size > r.left || r.left - payload_size < 8)
        return tp_fail(TP_ERR_TRUNCATED, "frame needs %llu more bytes than the %zu given",
                       (unsigned long long)(payload_size + 8), r.left);
    h->payload = r.p;
    h->payload_size = (size_t)payload_size;
    h->frame_size = header_size + h->payload_size + 8;
    if ((flags & FRAME_FLAG_HEADER_SUM) && !(h->codec[n_stages - 1]->info.flags & TP_CODEC_CHECKED))
        return tp_fail(TP_ERR_CORRUPT, "frame leaves its payload unchecked, yet codec %s keeps no checksums",
                       h->codec[n_stages - 1]->info.name);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* let fuzzers reach the decoders */
    uint64_t want = tp_get_u64(h->payload + h->payload_size);
    size_t covered = (flags & FRAME_FLAG_HEADER_SUM) ? header_size : header_size + h->payload_size;
    if (verify && tp_hash64(src, covered) != want) return tp_fail(TP_ERR_CHECKSUM, "frame checksum mismatch");
#else
    (void)verify;
#endif
    if (info) {
        info->dtype = h->desc[0].dtype;
        info->ndim = h->desc[0].ndim;
        memcpy(info->shape, h->desc[0].shape, sizeof info->shape);
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

/* Decodes stage s from src into dst (nbytes(desc[s]) bytes). */
static size_t decode_stage(const frame_header *h, size_t s, const void *src, void *dst)
{
    const tp_codec *c = h->codec[s];
    const tp_tensor *want = &h->desc[s];
    if ((c->info.flags & TP_CODEC_FLOAT_IN) && !tp_dtype_is_float(want->dtype))
        return tp_fail(TP_ERR_CORRUPT, "stage %zu (%s) cannot rebuild %s", s + 1, c->info.name, tp_dtype_name(want->dtype));
    size_t src_n = tp_tensor_nbytes(&h->desc[s + 1]);
    if (!needs_f32(c, want->dtype)) {
        size_t r = c->decode(&h->params[s], src, src_n, &h->desc[s + 1], want, dst);
        return tp_is_error(r) ? r : 0;
    }
    tp_tensor f = *want;
    f.dtype = TP_F32;
    uint64_t numel;
    TP_TRY(tp_tensor_numel(&f, &numel));
    float *tmp = malloc(numel ? numel * sizeof(float) : 1);
    if (!tmp) return tp_fail(TP_ERR_NOMEM, "f32 buffer of %llu values", (unsigned long long)numel);
    size_t r = c->decode(&h->params[s], src, src_n, &h->desc[s + 1], &f, tmp);
    if (!tp_is_error(r)) r = tp_convert(dst, want->dtype, tmp, TP_F32, numel);
    free(tmp);
    return r;
}

size_t tp_frame_decode(const void *src, size_t n, void *dst, size_t cap)
{
    frame_header h;
    TP_TRY(parse_header(src, n, &h, NULL, 1));
    size_t out_bytes = tp_tensor_nbytes(&h.desc[0]);
    if (cap < out_bytes) return tp_fail(TP_ERR_DST_TOO_SMALL, "need %zu bytes, have %zu", out_bytes, cap);
    if (out_bytes && !dst) return tp_fail(TP_ERR_ARG, "NULL destination");
    const void *cur = h.payload;
    void *owned = NULL;
    for (size_t s = h.n_stages; s-- > 0;) {
        void *target = dst;
        if (s > 0) {
            size_t sz = tp_tensor_nbytes(&h.desc[s]);
            target = malloc(sz ? sz : 1);
            if (!target) { free(owned); return tp_fail(TP_ERR_NOMEM, "stage buffer of %zu bytes", sz); }
        }
        size_t r = decode_stage(&h, s, cur, target);
        free(owned);
        owned = s > 0 ? target : NULL;
        if (tp_is_error(r)) { free(owned); return r; }
        cur = target;
    }
    return out_bytes;
}

size_t tp_frame_tokdct_kept(const void *src, size_t n, uint32_t *pos, size_t cap)
{
    frame_header h;
    TP_TRY(parse_header(src, n, &h, NULL, 1));
    size_t s = h.n_stages;
    while (s-- > 0)
        if (h.codec[s] == &tp_codec_tokdct) break;
    if (s == (size_t)-1) return tp_fail(TP_ERR_NOT_FOUND, "frame has no tokdct stage");
    if (cap && !pos) return tp_fail(TP_ERR_ARG, "NULL positions buffer");
    /* Decode the stages after tokdct to get its payload. */
    const void *cur = h.payload;
    void *owned = NULL;
    for (size_t t = h.n_stages; t-- > s + 1;) {
        size_t sz = tp_tensor_nbytes(&h.desc[t]);
        void *target = malloc(sz ? sz : 1);
        if (!target) { free(owned); return tp_fail(TP_ERR_NOMEM, "stage buffer of %zu bytes", sz); }
        size_t r = decode_stage(&h, t, cur, target);
        free(owned);
        owned = target;
        if (tp_is_error(r)) { free(owned); return r; }
        cur = target;
    }
    size_t r = tp_tokdct_positions(&h.params[s], cur, tp_tensor_nbytes(&h.desc[s + 1]), &h.desc[s], pos, cap);
    free(owned);
    return r;
}
