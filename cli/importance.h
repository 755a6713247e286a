/* --importance FILE of `tpress compress`: per-column importance vectors
 * (an "imatrix") matched to the tensors of the input file.
 *
 *  - .safetensors: one f32 1-D tensor per weight, under the weight's name,
 *    as long as the weight's last dimension; every name must be a tensor of
 *    the input; weights without an entry are fitted unweighted.
 *  - .npy: one f32 1-D vector, used for every tensor of 2 or more
 *    dimensions whose last dimension equals its length (at least one must).
 * Values must be finite and >= 0, not all 0. */
#ifndef TP_CLI_IMPORTANCE_H
#define TP_CLI_IMPORTANCE_H

#include "tpress.h"

typedef struct {
    float **per_tensor; /* [tensor index of the input]: vector or NULL */
    uint64_t *n_cols;   /* its length                                  */
    size_t n;
    float *shared;      /* the .npy vector (per_tensor entries alias it) */
    size_t matched;     /* tensors that got a vector                   */
} cli_importance;

/* Loads path for the tensors of model. On failure returns an error and
 * writes one line naming the problem to detail. */
size_t cli_importance_load(const char *path, const tp_tensor_file *model, cli_importance *out, char *detail,
                           size_t detail_cap);
void cli_importance_free(cli_importance *imp);

#endif
