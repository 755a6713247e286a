/* Shared encoder/decoder of the fixed-table quantizers (nf, log, fp8):
 * every group g stores one scale s_g (f16 or f32) chosen so that the
 * group's largest magnitude maps to the table's edge `qmax`, and each value
 * is coded by an 8-bit-or-less code decoded as table[code] * s_g.
 * Payload: `head` codec-specific bytes, s[n_groups], then the codes
 * bit-packed (tp_bits_* layout). */
#ifndef TP_CODECS_LUT_QUANT_H
#define TP_CODECS_LUT_QUANT_H

#include "codecs/quant/groups.h"
#include "codecs/quant/lut_kernels.h"

/* Sorted view of a code table for nearest-level search. */
typedef struct {
    unsigned bits;
    float bnd[256];   /* midpoints between consecutive sorted levels  */
    uint8_t code[256];/* code of the i-th sorted level                */
} tp_nearest_table;

/* Builds the search table of lut (2^bits values, each code's value).
 * Equal values keep the lowest code; the sorted list is padded with its
 * last level so that every search index maps to a code. */
void tp_nearest_build(tp_nearest_table *nt, const float *lut, unsigned bits);

typedef struct {
    const char *name;
    unsigned bits;
    int f32;                 /* scale storage                              */
    float qmax;              /* value the group's absmax maps to           */
    const float *lut;        /* 2^bits entries: value of each code         */
    /* Codes of n values already multiplied by 1/s; NULL: nearest level of
     * the table `near`. */
    void (*quant)(const float *u, size_t n, uint8_t *q);
    const tp_nearest_table *near;
    size_t head;             /* codec bytes before the scales              */
    tp_lut_fn kernel;        /* decode kernel; NULL: tp_lut_best()         */
    int search;              /* 1: per group, pick s = absmax / qmax * r,
                              * r in {1, 0.975, ..., 0.5}, of least squared
                              * error (values beyond saturate)             */
} tp_lut_quant;

size_t tp_lut_quant_payload(const tp_lut_quant *Q, const tp_grouping *G);
/* Encodes x (finite; checked) into dst (>= payload bytes; the first head
 * bytes are left to the caller). Returns the payload size or an error. */
size_t tp_lut_quant_encode(const tp_lut_quant *Q, const tp_grouping *G, const float *x, uint8_t *dst);
/* Decodes a payload of exactly n bytes into out. */
size_t tp_lut_quant_decode(const tp_lut_quant *Q, const tp_grouping *G, const uint8_t *src, size_t n, float *out);
/* Group scales (rounded as stored) of x, as the encoder picks them (with
 * the search when Q->search); NULL on
 * allocation failure. Lets codecs tune their tables (log's step). */
float *tp_lut_quant_scales(const tp_lut_quant *Q, const tp_grouping *G, const float *x);

#endif
