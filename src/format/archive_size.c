#include "format/archive_size.h"

#include <string.h>

#define HEADER_BYTES 64
#define INDEX_HEAD_BYTES 8
#define FOOTER_BYTES 32
#define ALIGN 64
/* name and spec lengths, dtype, ndim, reserved, offset, frame and raw
 * sizes, metrics (two counts and six doubles) */
#define ENTRY_FIXED_BYTES (2 + 2 + 4 + 24 + 64)

uint64_t tp_archive_fixed_bytes(size_t metadata_len)
{
    return HEADER_BYTES + INDEX_HEAD_BYTES + metadata_len + FOOTER_BYTES;
}

uint64_t tp_archive_tensor_bytes(uint64_t frame_size, const char *name, const char *spec, uint32_t ndim)
{
    uint64_t padded = (frame_size + ALIGN - 1) / ALIGN * ALIGN;
    return padded + ENTRY_FIXED_BYTES + strlen(name) + strlen(spec) + 8u * ndim;
}
