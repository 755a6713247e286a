/* What an archive will take before it is written, for a planner that must
 * meet a file size: the layout of docs/FORMAT.md section 3 in numbers. */
#ifndef TP_FORMAT_ARCHIVE_SIZE_H
#define TP_FORMAT_ARCHIVE_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* File header, index head with metadata_len bytes of metadata, footer. */
uint64_t tp_archive_fixed_bytes(size_t metadata_len);
/* A frame of frame_size bytes with its padding to the next 64-byte
 * offset, plus its index entry (name, canonical spec, ndim dimensions). */
uint64_t tp_archive_tensor_bytes(uint64_t frame_size, const char *name, const char *spec, uint32_t ndim);

#endif
