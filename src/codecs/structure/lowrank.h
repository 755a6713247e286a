/* Truncated SVD shared by the svd and pca codecs and the pipeline chooser
 * (src/codecs/structure/lowrank.c). */
#ifndef TP_CODECS_LOWRANK_H
#define TP_CODECS_LOWRANK_H

#include <stddef.h>
#include <stdint.h>

#include "tpress.h"

typedef struct {
    int rank;      /* > 0: keep this many                          */
    double ratio;  /* > 0: keep ceil(ratio * min(m, n))            */
    double energy; /* > 0: smallest rank reaching this energy share */
    int method;    /* 0 auto, 1 full (dgesdd), 2 randomized        */
    uint64_t seed;
} tp_lowrank_opts;

/* l singular triplets: U m x l, s l (descending), Vt l x n, row-major. */
typedef struct {
    double *U, *s, *Vt;
    int l;
} tp_svd;

/* Decomposes A (m x n row-major; may be overwritten) and picks the kept
 * rank *rank <= out->l per o. out must be freed with tp_svd_free (also on
 * error). */
size_t tp_lowrank_svd(double *A, int m, int n, const tp_lowrank_opts *o, tp_svd *out, int *rank);
void tp_svd_free(tp_svd *s);
/* The matrix view of a tensor: leading dims x last dim. */
void tp_lowrank_dims(const tp_tensor *t, uint64_t *rows, uint64_t *cols);

#endif
