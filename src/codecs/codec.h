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

#define TP_MAX_STAGES 8

/* col_weight[i % cols] for flat index i, or 1 when there is none. */
static inline float tp_col_weight_at(const tp_params *p, uint64_t cols, uint64_t i)
{
    return p->col_weight ? p->col_weight[i % cols] : 1.0f;
}

/* Columns of t: its last dimension (1 for a scalar). */
static inline uint64_t tp_cols_of(const tp_tensor *t) { return t->ndim ? t->shape[t->ndim - 1] : 1; }

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
