/* The strategies' candidate sets and the role defaults. A strategy only
 * says which pipelines a tensor may get; which one it gets is measured
 * (rd_curve.c) and allocated (allocate.c). docs/STRATEGIES.md gives what
 * each costs on real models. */
#include <string.h>

#include "plan/plan.h"

/* Every family that applies to weight matrices, at the rates where it is
 * on someone's Pareto front: ternary and VQ below 2.5 bits, the k-quants
 * from 2.6 to 6.6, int8, a bf16 cast with an entropy stage, lossless. */
static const char *const auto_f32[] = {"ternary:method=mse,group=256", "vq", "kq:bits=2", "kq:bits=3", "kq:bits=4",
                                       "kq:bits=5", "kq:bits=6", "int:bits=8,group=32", "bf16 | lossless",
                                       TP_LOSSLESS_SPEC, NULL};
/* A bf16 cast of f16 values is lossy without being smaller. */
static const char *const auto_f16[] = {"ternary:method=mse,group=256", "vq", "kq:bits=2", "kq:bits=3", "kq:bits=4",
                                       "kq:bits=5", "kq:bits=6", "int:bits=8,group=32", TP_LOSSLESS_SPEC, NULL};
/* BitNet b1.58: absmean ternary, one scale per tensor. */
static const char *const simple[] = {"ternary", TP_LOSSLESS_SPEC, NULL};
static const char *const mobile[] = {"ternary", "ternary:method=mse,group=256", "vq", "seedlm:seed_bits=12",
                                     "vq:bits=8,stages=2", TP_LOSSLESS_SPEC, NULL};
static const char *const advanced[] = {"ternary:method=mse,group=256", "ternary:method=mse,group=256 | lossless",
                                       "vq", "kq:bits=2", "int:bits=3,group=32 | lossless", "kq:bits=3",
                                       "int:bits=4,group=32 | lossless", "kq:bits=4", TP_LOSSLESS_SPEC, NULL};

const char *const *tp_strategy_candidates(const char *strategy, tp_dtype dt)
{
    if (!strategy || !strcmp(strategy, "auto")) return dt == TP_F32 || dt == TP_F64 ? auto_f32 : auto_f16;
    if (!strcmp(strategy, "simple")) return simple;
    if (!strcmp(strategy, "mobile")) return mobile;
    if (!strcmp(strategy, "advanced")) return advanced;
    return NULL;
}

static int has(const char *name, const char *part) { return strstr(name, part) != NULL; }

/* The output head writes every logit, so its error reaches the output
 * undamped: llama.cpp's mixes keep it a step more precise, and so does its
 * default weight here. An input embedding is the opposite: each token reads
 * one row, and on MiniLM the measured sensitivity per unit of relative
 * error of the word embeddings is far below that of any matrix
 * (docs/STRATEGIES.md). A tied embedding (a decoder without its own head)
 * is the head; model.c gives it the head's weight. */
#define HEAD_WEIGHT 4.0
#define EMBEDDING_WEIGHT 0.25

const char *tp_tensor_role(const char *name, const tp_tensor *t, double *weight)
{
    *weight = 1.0;
    if (t->ndim <= 1) return has(name, "norm") || has(name, "LayerNorm") || has(name, "ln") ? "norm"
                             : has(name, "bias") ? "bias" : "other";
    if (has(name, "lm_head") || !strcmp(name, "output.weight")) {
        *weight = HEAD_WEIGHT;
        return "head";
    }
    if (has(name, "embed") || has(name, "token_embd") || has(name, "wte") || has(name, "wpe")) {
        *weight = EMBEDDING_WEIGHT;
        return "embedding";
    }
    return "matrix";
}

int tp_tensor_is_decoder_embedding(const char *name)
{
    return !strcmp(name, "token_embd.weight") || has(name, "embed_tokens") || has(name, "wte");
}

double tp_tied_head_weight(void) { return HEAD_WEIGHT; }
