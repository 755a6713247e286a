/* A small fully connected network trained with Adam (src/codecs/structure/mlp.c),
 * the model of the autoenc codec. Layer l maps n_in[l] -> n_out[l]:
 * y = act_l(x W_l^T + b_l), W_l row-major n_out x n_in, all layers' W and b
 * back to back in one float array (layer 0 W, b, layer 1 W, b, ...). */
#ifndef TP_CODECS_MLP_H
#define TP_CODECS_MLP_H

#include <stddef.h>
#include <stdint.h>

#define TP_MLP_MAX_LAYERS 4

enum { TP_ACT_NONE, TP_ACT_RELU, TP_ACT_TANH, TP_ACT_GELU };

typedef struct {
    int n_layers;
    int n_in[TP_MLP_MAX_LAYERS], n_out[TP_MLP_MAX_LAYERS], act[TP_MLP_MAX_LAYERS];
} tp_mlp;

/* Number of floats of the layers [l0, l1). */
size_t tp_mlp_params(const tp_mlp *m, int l0, int l1);

/* Runs layers [l0, l1) on rows x rows of X (rows x n_in[l0]) with the
 * parameters P (of layer l0 onwards) into Y (rows x n_out[l1-1]).
 * scratch: 2 * rows * (widest layer) floats. */
void tp_mlp_forward(const tp_mlp *m, int l0, int l1, const float *P, const float *X, size_t rows, float *Y, float *scratch);

typedef struct {
    int epochs, batch;
    double lr, max_seconds; /* max_seconds 0: no bound */
    uint64_t seed;
} tp_mlp_train_opts;

/* Initialises P (Glorot uniform weights from seed, zero biases) and trains
 * all layers to reproduce X (n x n_in[0]) at the last layer's output,
 * minimising the mean squared error with Adam (Kingma & Ba 2015; beta1 0.9,
 * beta2 0.999, eps 1e-8) on shuffled mini-batches. *epochs_done, *timed_out
 * report what ran. Returns 0 or an error (TP_ERR_NOMEM). */
size_t tp_mlp_train(const tp_mlp *m, const float *X, size_t n, const tp_mlp_train_opts *o, float *P, int *epochs_done,
                    int *timed_out);

#endif
