/* The stage runner: executes a parsed pipeline in both directions. Encode
 * runs every stage but the last into intermediate buffers and leaves the
 * last one ready, so the frame writer can size its header and let the last
 * stage write straight into the caller's buffer. Decode runs the stages
 * backwards, down to any stage (a partial decode gives the bytes a stage
 * stored). Float conversion around TP_CODEC_FLOAT_IN stages and aligned
 * copies of unaligned input happen here, so every codec sees what its
 * contract promises. */
#ifndef TP_CODECS_STAGES_H
#define TP_CODECS_STAGES_H

#include "codecs/pipeline.h"

/* A pipeline as a frame stores it: each stage's codec and parameters, and
 * the tensor descriptors desc[0] (the input) .. desc[n] (the payload). */
typedef struct {
    size_t n;
    const tp_codec *codec[TP_MAX_STAGES];
    tp_params params[TP_MAX_STAGES];
    tp_tensor desc[TP_MAX_STAGES + 1];
} tp_stage_chain;

/* An encode in progress. After tp_stages_begin, desc[0..n-1] are exact and
 * desc[n] holds the last stage's bound description (exact dtype and ndim,
 * shape an upper bound); tp_stages_finish makes desc[n] exact. */
typedef struct {
    const tp_pipeline *p;
    const float *col_weight; /* for the first stage, checked against the input */
    tp_tensor desc[TP_MAX_STAGES + 1];
    tp_tensor last_in;       /* input of the last stage, as its codec wants it */
    size_t last_bound;       /* worst-case bytes of the last stage            */
    void *owned[2];          /* intermediate buffers still alive               */
} tp_stage_run;

/* Checks the options against t and runs every stage but the last. Call
 * tp_stages_release afterwards, whatever it returns. */
size_t tp_stages_begin(tp_stage_run *r, const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt);
/* Encodes the last stage into dst (cap bytes); returns the payload size. */
size_t tp_stages_finish(tp_stage_run *r, void *dst, size_t cap);
void tp_stages_release(tp_stage_run *r);

/* Worst-case payload bytes of p on t without encoding anything: each
 * codec's bound, chained through the upper-bound descriptions. desc (n+1
 * entries) receives those descriptions (exact dtype and ndim). */
size_t tp_stages_bound(const tp_pipeline *p, const tp_tensor *t, tp_tensor *desc);

/* Decodes payload (nbytes(c->desc[c->n]) bytes) down to the tensor that
 * c->desc[stop] describes, into dst (nbytes(c->desc[stop]) bytes): stop 0
 * rebuilds the input, stop s in 1..n-1 what stage s-1 stored (a partial
 * decode; the payload itself is what the last stage stored). Returns 0 or
 * an error; dst holds unspecified bytes after an error. */
size_t tp_stages_decode(const tp_stage_chain *c, size_t stop, const void *payload, void *dst);

/* As tp_stages_decode down to stage 0, for a float input, into f32 values
 * whatever the input's float dtype: a codec that works in f32 writes them
 * straight into dst, so an f16 tensor is rebuilt without a second copy. */
size_t tp_stages_decode_f32(const tp_stage_chain *c, const void *payload, float *dst);

#endif
