/* The reconstruction of a layered tensor (docs/FORMAT.md 3.6) in one
 * place: the archive reader decodes through it, and the progressive job
 * forms its residuals and measures its errors through it, so the values an
 * encoder measured are the values a reader gets. */
#ifndef TP_FORMAT_LAYERS_H
#define TP_FORMAT_LAYERS_H

#include <stddef.h>

#include "tpress.h"

/* acc[0..n) = the n decoded base values (aligned, float dtype dt) in f32. */
size_t tp_layers_start(float *acc, const void *base, tp_dtype dt, size_t n);
/* Decodes an enhancement layer's frame (f32, n values) into tmp and adds it
 * to acc, value by value in f32. */
size_t tp_layers_add(float *acc, float *tmp, const void *frame, size_t frame_size, size_t n);
/* dst = acc rounded to dt (round to nearest even). */
size_t tp_layers_finish(void *dst, tp_dtype dt, const float *acc, size_t n);

#endif
