/* Encodes every tensor of a file through a pipeline on N threads and hands
 * the frames, in file order, to a callback (memory stays O(threads x the
 * largest tensor)). Each frame is decoded again and compared with its input,
 * so every reported error is measured, not estimated. */
#ifndef TP_CLI_ENCODE_JOB_H
#define TP_CLI_ENCODE_JOB_H

#include "tpress.h"

typedef struct {
    size_t index;
    const char *name;
    tp_tensor tensor;
    const void *frame;
    size_t frame_size;
    tp_metrics metrics;      /* float tensors; exact ones have snr +inf */
    const char *spec;        /* pipeline used (user's, or the fallback)  */
    const char *fallback_why;/* NULL, or why the fallback was used       */
    int chosen;              /* 1: spec picked by tp_choose_pipeline     */
    tp_choice_report choice; /* its measurements, when chosen            */
    char spec_buf[160];      /* storage of a chosen spec                 */
} encode_result;

/* Return 0 to continue, or an error result to stop the job. */
typedef size_t (*encode_sink)(void *ctx, const encode_result *r);

typedef struct {
    const char *spec;          /* pipeline, or NULL for a per-tensor choice   */
    double min_snr;            /* bound of the per-tensor choice (spec NULL)  */
    const char *fallback_spec; /* lossless pipeline for what spec cannot take */
    int threads;
    int quantize_1d;           /* 0: 1-D tensors (norms, biases) stay lossless */
    /* NULL, or per tensor index: its column importance (NULL: none) and
     * length, given to the lossy pipeline (tp_encode_options). */
    float *const *col_importance;
    const uint64_t *n_cols;
} encode_options;

/* Runs the job; returns 0 or the first error, whose description (naming
 * the tensor) goes to detail. */
size_t encode_file(const tp_tensor_file *in, const encode_options *opt, encode_sink sink, void *ctx, char *detail,
                   size_t detail_cap);

#endif
