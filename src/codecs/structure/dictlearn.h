/* Sparse coding in a dictionary: orthogonal matching pursuit and K-SVD
 * dictionary learning (src/codecs/structure/dictlearn.c), used by the sparsecode
 * codec. Atoms are the K rows of D (K x d, row-major, double). */
#ifndef TP_CODECS_DICTLEARN_H
#define TP_CODECS_DICTLEARN_H

#include <stddef.h>
#include <stdint.h>

/* Codes n signals X (n x d) with at most k atoms each (k <= K, k <= d):
 * idx[i*k + s] and coef[i*k + s] for slot s; slots past the atoms OMP
 * used (it stops early when the residual vanishes or no atom reduces it)
 * hold idx -1 and coef 0. Atoms need not have unit norm but must not be
 * zero. Returns 0 or an error (TP_ERR_NOMEM). */
size_t tp_omp(const double *X, size_t n, int d, const double *D, int K, int k, int32_t *idx, double *coef);

typedef struct {
    int atoms, k, iterations;
    uint64_t seed;
    double max_seconds; /* 0: no time bound */
} tp_dict_opts;

/* Learns D (o->atoms x d, unit-norm rows; atoms <= n) from the n signals
 * X (n x d) with approximate K-SVD. *iters is the number of iterations
 * run, *timed_out 1 when max_seconds cut training short. */
size_t tp_ksvd(const double *X, size_t n, int d, const tp_dict_opts *o, double *D, int *iters, int *timed_out);

#endif
