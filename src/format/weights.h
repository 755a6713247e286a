/* Named f32 weights from a .tpz archive (each tensor decoded, then converted
 * from its original float dtype), a .npy/.safetensors file or a GGUF (each
 * tensor dequantized; shapes row-major, ggml's ne reversed): a model
 * loader reads a compressed model exactly as it reads the original. */
#ifndef TP_FORMAT_WEIGHTS_H
#define TP_FORMAT_WEIGHTS_H
#include <stddef.h>
#include <stdint.h>
#include "tpress.h"

typedef struct tp_weights tp_weights;

/* Opens path, chosen by its first bytes (tp_sniff: archive, GGUF, else a
 * tensor file). */
size_t tp_weights_open(const char *path, tp_weights **out);
/* Weights handed over by the caller's fetch function (tpress.h): they have
 * no list of names (count 0), only look-up by name. */
size_t tp_weights_from_fetch(tp_tensor_fetch_fn fetch, void *user, tp_weights **out);
void tp_weights_close(tp_weights *w);
/* Number of tensors and the name of tensor i (NULL past the end). */
size_t tp_weights_count(const tp_weights *w);
const char *tp_weights_name(const tp_weights *w, size_t i);
/* The GGUF behind w, or NULL when w is another kind of file. */
struct tp_gguf *tp_weights_gguf(const tp_weights *w);
/* 1 if a tensor of that name exists. */
int tp_weights_has(const tp_weights *w, const char *name);
/* Dtype and shape of a tensor (t->data is NULL), or TP_ERR_NOT_FOUND. */
size_t tp_weights_desc(const tp_weights *w, const char *name, tp_tensor *t);
/* Reads a float tensor as a new malloc'd f32 array (caller frees). When
 * ndim > 0 the tensor must have exactly that shape (TP_ERR_SHAPE). */
size_t tp_weights_f32(const tp_weights *w, const char *name, uint32_t ndim, const uint64_t *shape, float **out);
#endif
