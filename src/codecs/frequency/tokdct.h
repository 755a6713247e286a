/* tokdct internals shared with the frame layer. */
#ifndef TP_CODECS_TOKDCT_H
#define TP_CODECS_TOKDCT_H

#include "codecs/codec.h"

/* Kept token positions of a tokdct payload (n bytes) that rebuilds
 * dst_desc: N*k positions, k ascending per leading index. Returns the count,
 * TP_ERR_NOT_FOUND when prune=0, TP_ERR_DST_TOO_SMALL, TP_ERR_CORRUPT. */
size_t tp_tokdct_positions(const tp_params *p, const void *payload, size_t n, const tp_tensor *dst_desc, uint32_t *pos,
                           size_t cap);

#endif
