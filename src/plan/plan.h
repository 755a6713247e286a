/* Internal interface of the whole-model planner (src/plan/): rate-
 * distortion curves of single tensors (rd_curve.c), the global allocation
 * over them (allocate.c), the candidate sets of the strategies
 * (strategy.c); model.c drives them. */
#ifndef TP_PLAN_PLAN_H
#define TP_PLAN_PLAN_H

#include "tpress.h"

#define TP_RD_MAX_POINTS 24
#define TP_RD_SPEC_CAP 160

/* One way to store a tensor. bytes counts what the tensor adds to the
 * archive: its frame padded to 64 bytes and its index entry. */
typedef struct {
    char spec[TP_RD_SPEC_CAP];
    uint64_t bytes;
    double sse;              /* predicted squared error of the whole tensor */
    int exact_bytes;         /* bytes from the codec's bound, which equals
                                the frame on the sample; else extrapolated */
} tp_rd_point;

/* The Pareto points of a tensor, bytes ascending and sse descending. */
typedef struct {
    size_t n;
    tp_rd_point pts[TP_RD_MAX_POINTS];
    double energy;           /* sum of squares of the whole tensor          */
    double weight;           /* distortion = weight x sse                   */
    uint64_t numel, bytes_in;
    size_t chosen;           /* index into pts                              */
} tp_rd_curve;

/* Candidate pipelines for a float tensor of dtype dt under a strategy:
 * a NULL-terminated static list. NULL for an unknown strategy. */
const char *const *tp_strategy_candidates(const char *strategy, tp_dtype dt);
/* Role of a tensor from its name and shape ("embedding", "head", "norm",
 * "bias", "matrix", "other") and its default distortion weight. */
const char *tp_tensor_role(const char *name, const tp_tensor *t, double *weight);
/* 1 for the token embedding of a decoder (which a model without an output
 * head ties to it), and the weight such a tied embedding gets. */
int tp_tensor_is_decoder_embedding(const char *name);
double tp_tied_head_weight(void);

/* Measures the curve of tensor t (named name) for the candidate specs:
 * each encoded on a row sample of about sample_values values (the whole
 * tensor when smaller), its error scaled to the whole tensor, its bytes
 * from the bound when the bound is exact on the sample. Candidates that
 * fail on the tensor are left out; at least one must work. */
size_t tp_rd_measure(const char *name, const tp_tensor *t, const char *const *specs, size_t sample_values,
                     const float *col_importance, uint64_t n_cols, tp_rd_curve *c);

/* Global allocation: sets every curve's chosen point so that the sum of
 * bytes (plus fixed) is at most budget and the sum of weight x sse is as
 * small as the hulls allow (Lagrangian slope search, then a greedy fill).
 * Returns the planned total, or an error with *smallest (the least bytes
 * any plan takes) when budget is below it. */
size_t tp_allocate_budget(tp_rd_curve *c, size_t n, uint64_t fixed, uint64_t budget, uint64_t *total,
                          uint64_t *smallest);
/* Dual: per curve the fewest bytes whose predicted SNR is at least
 * min_snr_db (max_rel_error > 0: relative L2 error at most it); the
 * most precise point when none is. */
void tp_allocate_bound(tp_rd_curve *c, size_t n, double min_snr_db, double max_rel_error);

#endif
