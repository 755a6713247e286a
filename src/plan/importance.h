/* Per-column importance vectors (an "imatrix", `tpress compress
 * --importance FILE`) read from a file and matched to the tensors of a
 * model file, ready for tp_encode_options.col_importance.
 *
 *  - .safetensors: one f32 1-D tensor per weight, under the weight's name,
 *    as long as the weight's last dimension; every name must be a tensor of
 *    the input; weights without an entry are fitted unweighted.
 *  - .npy: one f32 1-D vector, used for every tensor of 2 or more
 *    dimensions whose last dimension equals its length (at least one must).
 * Values must be finite and >= 0, not all 0. */
#ifndef TP_PLAN_IMPORTANCE_H
#define TP_PLAN_IMPORTANCE_H

#include "tpress.h"

typedef struct {
    float **per_tensor; /* [tensor index of the input]: vector or NULL */
    uint64_t *n_cols;   /* its length                                  */
    size_t n;
    float *shared;      /* the .npy vector (per_tensor entries alias it) */
    size_t matched;     /* tensors that got a vector                   */
} tp_importance;

/* Loads path for the tensors of model. On failure returns an error whose
 * detail (tp_last_error_detail) is one line naming the path and the
 * problem; out is then empty. */
size_t tp_importance_load(const char *path, const tp_tensor_file *model, tp_importance *out);
void tp_importance_free(tp_importance *imp);

#endif
