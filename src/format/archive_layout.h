/* The bytes of a .tpz archive that its writer and its reader share: sizes
 * and magic numbers, index entries, the early index of the streaming
 * layout, the metadata check (docs/FORMAT.md section 3). One place, so the
 * writer and the reader cannot disagree about a layout. */
#ifndef TP_FORMAT_ARCHIVE_LAYOUT_H
#define TP_FORMAT_ARCHIVE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "tpress.h"

#define TPZ_MAGIC 0x415A5054u        /* "TPZA" */
#define TPZ_FOOTER_MAGIC 0x455A5054u /* "TPZE" */
#define TPZ_VERSION_1 1
#define TPZ_VERSION_2 2
#define TPZ_HEADER_SIZE 64
#define TPZ_FOOTER_SIZE 32
#define TPZ_ALIGN 64
#define TPZ_NAME_MAX 4096
#define TPZ_METADATA_MAX (16u << 20)
#define TPZ_METRICS_BYTES 64
/* Smallest index entry (a 1-byte name, empty spec, ndim 0) and early
 * entry: they bound an entry count by the bytes that hold the entries. */
#define TPZ_ENTRY_MIN 96
#define TPZ_EARLY_ENTRY_MIN 87

static inline uint64_t tpz_align(uint64_t pos) { return (pos + TPZ_ALIGN - 1) / TPZ_ALIGN * TPZ_ALIGN; }

/* Bytes of e's index entry, and e's entry written at q (returns its end).
 * The u16 after ndim holds e->layer: reserved zero in version 1, where
 * every entry is a base. */
size_t tpz_entry_bytes(const tp_archive_entry *e);
uint8_t *tpz_put_entry(uint8_t *q, const tp_archive_entry *e);
/* Reads one index entry at r: e gets dtype, ndim, layer, shape, offset,
 * sizes and metrics; *name and *spec point at the unterminated texts. Checks
 * what one entry alone can show (lengths, no NUL, descriptor, raw size);
 * the caller checks positions and layers. */
size_t tpz_read_entry(tp_reader *r, uint32_t i, tp_archive_entry *e, const uint8_t **name, uint16_t *name_len,
                      const uint8_t **spec, uint16_t *spec_len);

/* Bytes of an early index of n tensors with these names and ndims and
 * meta_len bytes of metadata, checksum included. */
size_t tpz_early_bytes(size_t n, const char *const *names, const uint32_t *ndims, size_t meta_len);
/* Writes the early index of the n base entries at dst (exactly
 * tpz_early_bytes of them), with their n_layers, offsets, frame sizes and
 * metrics, and its checksum. */
void tpz_put_early(uint8_t *dst, size_t size, const tp_archive_entry *const *bases, size_t n, const char *meta,
                   size_t meta_len);
/* Reads one early entry at r (as tpz_read_entry; spec stays NULL and
 * n_layers is checked to be 1..TP_ARCHIVE_MAX_LAYERS). */
size_t tpz_read_early_entry(tp_reader *r, uint32_t i, tp_archive_entry *e, const uint8_t **name, uint16_t *name_len);

/* TP_OK when the n bytes at p are archive metadata: UTF-8 without NUL that
 * holds one JSON value and nothing but white space around it; else
 * code, with a detail. */
size_t tpz_check_metadata(const uint8_t *p, size_t n, tp_error code);

#endif
