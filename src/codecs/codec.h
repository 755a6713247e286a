/* The codec contract. Every compression method is one tp_codec value,
 * tp_codec_NAME, listed once in codec_list.h with its pinned id. Adding a
 * method = one file in its family folder (src/codecs/FAMILY/) + one row in
 * codec_list.h + its golden row in tests/test_golden.c + its tests + its
 * section in docs/CODECS.md (docs/DESIGN.md, "Adding a codec").
 *
 * Data flow of a stage: the stage receives a tensor (dtype, shape, data)
 * and writes bytes; it also describes what it wrote as a tensor (usually
 * u8[n]; a cast writes f16 of the input's shape, so that a following
 * dtype-aware stage knows what it reads). Decode gets those bytes and their
 * description back, plus the description of the tensor it must rebuild,
 * and writes exactly that tensor.
 *
 * Codecs with TP_CODEC_FLOAT_IN always see f32 input and rebuild f32: the
 * pipeline converts other float dtypes around them.
 *
 * Rules: encode writes at most cap bytes (cap >= bound); decode validates
 * every byte it reads and every size it is told, writes exactly
 * nbytes(dst_desc) bytes, and never allocates more than a small multiple of
 * the output size. No printing, no aborting. */
#ifndef TP_CODECS_CODEC_H
#define TP_CODECS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "tpress.h"

#define TP_MAX_PARAMS 12
#define TP_MAX_STAGES 8

/* Parameter values in the order of the codec's schema (enum: index), plus
 * encode-time hints that are never stored (decode always sees them NULL). */
typedef struct {
    double v[TP_MAX_PARAMS];
    /* Importance of each column (last-axis index) of the input, one finite
     * value >= 0 per column, or NULL: the weighted fits (int search=1, kq,
     * kmeans) weigh the squared error of value (r, c) by col_weight[c]. The
     * frame encoder sets it for the first stage only (tp_encode_options). */
    const float *col_weight;
} tp_params;

/* col_weight[i % cols] for flat index i, or 1 when there is none. */
static inline float tp_col_weight_at(const tp_params *p, uint64_t cols, uint64_t i)
{
    return p->col_weight ? p->col_weight[i % cols] : 1.0f;
}

/* Columns of t: its last dimension (1 for a scalar). */
static inline uint64_t tp_cols_of(const tp_tensor *t) { return t->ndim ? t->shape[t->ndim - 1] : 1; }

typedef struct tp_codec {
    tp_codec_info info;
    /* Checks combinations of parameters that the per-parameter ranges
     * cannot express; NULL if none. Called at parse time. */
    size_t (*validate)(const tp_params *p);
    /* Worst-case output bytes for input in (its data is not read); also
     * sets out's dtype and ndim to those encode will report (the frame
     * header size depends on them), and its shape to an upper bound. */
    size_t (*bound)(const tp_params *p, const tp_tensor *in, tp_tensor *out);
    /* Encodes in into dst (cap bytes); sets *out (dtype, ndim, shape;
     * data ignored) and returns the byte count, or an error. */
    size_t (*encode)(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out);
    /* Decodes src (n bytes described by src_desc) into dst, which holds
     * nbytes(dst_desc). Returns nbytes(dst_desc) or an error. */
    size_t (*decode)(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                     const tp_tensor *dst_desc, void *dst);
    /* Optional, for codecs that keep a subset of positions along an axis
     * (token pruning) and decode the others as zeros: writes the kept
     * positions that the payload src (n bytes, rebuilding dst_desc) holds
     * and returns their count (TP_ERR_NOT_FOUND when it kept all,
     * TP_ERR_DST_TOO_SMALL when cap is short). NULL otherwise. */
    size_t (*kept)(const tp_params *p, const void *src, size_t n, const tp_tensor *dst_desc, uint32_t *pos,
                   size_t cap);
} tp_codec;

/* Registry lookups (registry.c). */
const tp_codec *tp_codec_by_id(uint16_t id);
const tp_codec *tp_codec_by_name(const char *name);

/* Integer value of parameter i (they are stored as doubles). */
static inline int tp_param_int(const tp_params *p, int i) { return (int)p->v[i]; }

/* Describes a flat byte output u8[n] in *out. */
static inline void tp_desc_bytes(tp_tensor *out, size_t n)
{
    out->dtype = TP_U8;
    out->ndim = 1;
    out->shape[0] = n;
    out->data = NULL;
}

/* TP_CODEC_ID_NAME: the pinned frame id of codec NAME, and
 * tp_codec_NAME: its definition, which sets .id = TP_CODEC_ID_NAME so that
 * the id is written in codec_list.h only. */
enum {
#define TP_CODEC(id, name) TP_CODEC_ID_##name = id,
#include "codecs/codec_list.h"
};

#define TP_CODEC(id, name) extern const tp_codec tp_codec_##name;
#include "codecs/codec_list.h"

#endif
