/* Grouping shared by the scalar quantizers (int, kmeans, nf, log, fp8):
 * which values share one scale or codebook, how to walk them, how scales
 * are stored, and how codes are packed.
 *
 *  - tensor:  one group of every value (group=0, axis=-1);
 *  - group:   runs of `group` values along the last axis; a row's last group
 *             may be shorter (group=G);
 *  - channel: every value whose index along `axis` is c belongs to group c
 *             (group=0, axis=A); it is walked as runs of `inner` values. */
#ifndef TP_CODECS_GROUPS_H
#define TP_CODECS_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "codecs/codec.h"

enum { TP_GROUPING_TENSOR, TP_GROUPING_GROUP, TP_GROUPING_CHANNEL };

typedef struct {
    int mode;
    uint64_t numel, n_groups;
    uint64_t row_len, group, groups_per_row; /* TP_GROUPING_GROUP   */
    uint64_t inner, channels;                /* TP_GROUPING_CHANNEL */
} tp_grouping;

/* A contiguous run of values that share group gid. */
typedef struct {
    uint64_t start, len, gid; /* current run           */
    uint64_t k;               /* index of the next run */
} tp_run;

/* Parse-time check: group= and axis= exclude each other. */
size_t tp_grouping_validate(const char *codec, int group, int axis);
/* Lays out the groups of tensor t (group > 0: groups; else axis >= 0:
 * channels; else one group). */
size_t tp_grouping_init(tp_grouping *G, const char *codec, const tp_tensor *t, uint64_t group, int axis);
/* Next run in index order (it zero-initialised to start); 0 at the end. */
int tp_grouping_next(const tp_grouping *G, tp_run *it);
/* Number of values in group gid. */
uint64_t tp_grouping_count(const tp_grouping *G, uint64_t gid);
/* Group of value index i. */
uint64_t tp_grouping_gid(const tp_grouping *G, uint64_t i);
/* Copies the values of group gid (in index order) to buf; returns the count. */
uint64_t tp_grouping_gather(const tp_grouping *G, const float *x, uint64_t gid, float *buf);
/* Like tp_grouping_gather, but writes col_weight[i % cols] for each index
 * i of group gid: the column importance of each gathered value. */
uint64_t tp_grouping_gather_cols(const tp_grouping *G, const float *col_weight, uint64_t cols, uint64_t gid,
                                 float *buf);

/* Scales stored as f16 (f32 == 0) or f32, little-endian. */
float tp_scale_round(int f32, float v);
void tp_scale_put(int f32, uint8_t *base, uint64_t i, float v);
float tp_scale_get(int f32, const uint8_t *base, uint64_t i);
/* Scales 0..n-1 at once (F16C for f16 where the CPU has it); the same
 * values as tp_scale_get. */
void tp_scales_get_n(int f32, const uint8_t *base, uint64_t n, float *out);
/* Smallest storable value >= v (v >= 0): a stored absmax scale never
 * shrinks the range. May return +Inf when f16 overflows. */
float tp_scale_round_up(int f32, float v);

/* TP_ERR_NONFINITE naming the first NaN/Inf of x, or 0. */
size_t tp_check_finite(const char *codec, const float *x, uint64_t n);

/* ORs m codes (bits each) into a zeroed stream at code index k0, using the
 * byte-aligned packer where it can. */
void tp_codes_put(uint8_t *stream, uint64_t k0, const uint8_t *q, size_t m, unsigned bits);

/* Index of the nearest of 2^bits sorted levels given their 2^bits - 1
 * midpoints bnd (branch-free binary search; ties go to the lower level). */
static inline unsigned tp_nearest_level(const float *bnd, unsigned bits, float v)
{
    unsigned i = 0;
    for (unsigned step = 1u << (bits - 1); step; step >>= 1)
        if (v > bnd[i + step - 1]) i += step;
    return i;
}

#endif
