/* Internals of the lossless codec (lossless*.c), shared with its tests,
 * fuzz target and benchmark. Payload layout: docs/LOSSLESS.md. */
#ifndef TP_CODECS_LOSSLESS_H
#define TP_CODECS_LOSSLESS_H

#include <stddef.h>
#include <stdint.h>

#include "core/rans.h"
#include "tpress.h"

#define TP_LL_VERSION 1
#define TP_LL_HEADER 16          /* version, elem, flags, reserved, chunk, total */
#define TP_LL_FLAG_ROTATE 1u     /* elements are floats: sign rotated to bit 0 */
#define TP_LL_CHUNK_MIN 1024u
#define TP_LL_CHUNK_MAX (64u << 20)
#define TP_LL_CHUNK_HDR 9        /* u64 checksum + u8 kind */
#define TP_LL_MAX_ELEM 8

enum { TP_LL_CHUNK_RAW = 0, TP_LL_CHUNK_PLANES = 1 };
enum { TP_LL_PLANE_RAW = 0, TP_LL_PLANE_CONST = 1, TP_LL_PLANE_RANS = 2, TP_LL_PLANE_ZSTD = 3 };
#define TP_LL_ZSTD_LEVEL 3 /* planes of non-float input also try zstd at this level */

/* Per-worker buffers, sized for one chunk. */
typedef struct {
    size_t n_max;      /* elements per chunk                               */
    uint8_t *planes;   /* elem planes of n_max bytes each                  */
    uint8_t *coded;    /* encoder only: one coded plane                    */
    size_t coded_cap;
    tp_rans_model model;
    tp_rans_dtable dtable;
    tp_rans_etable etable;
    void *zc, *zd;     /* zstd contexts, created on first use              */
} tp_ll_scratch;

/* for_encode also allocates the coded-plane buffer. */
size_t tp_ll_scratch_init(tp_ll_scratch *s, size_t chunk_bytes, unsigned elem, int for_encode);
void tp_ll_scratch_free(tp_ll_scratch *s);

/* Planes (lossless_planes.c): plane 0 holds the most significant byte of
 * each element after the optional sign rotation, plane elem-1 the least. */
void tp_ll_split(const uint8_t *src, size_t n_elem, unsigned elem, int rotate, uint8_t *const *planes);
void tp_ll_merge(const uint8_t *const *planes, size_t n_elem, unsigned elem, int rotate, uint8_t *dst);

/* Bytes one chunk of n input bytes may take at most. */
static inline size_t tp_ll_chunk_bound(size_t n) { return TP_LL_CHUNK_HDR + n + TP_LL_MAX_ELEM; }
/* Encodes one chunk (lossless_chunk.c) into dst (cap >= chunk bound);
 * returns its size. */
size_t tp_ll_chunk_encode(tp_ll_scratch *s, const uint8_t *src, size_t n, unsigned elem, int rotate, uint8_t *dst);
/* Decodes one chunk of len bytes into dst (exactly n bytes). */
size_t tp_ll_chunk_decode(tp_ll_scratch *s, const uint8_t *src, size_t len, size_t n, unsigned elem, int rotate,
                          uint8_t *dst);

/* Statistics of a payload for benchmarks: coded bytes per plane (model,
 * streams and plane kind bytes; raw chunks count in full), summed over
 * chunks. Returns the number of planes or an error. */
size_t tp_ll_plane_bytes(const void *payload, size_t n, uint64_t bytes[TP_LL_MAX_ELEM]);

/* The codec's decode function with explicit parameters, for the fuzzer. */
size_t tp_ll_decode(const void *src, size_t n, tp_dtype dtype, size_t out_bytes, void *dst, int threads);

#endif
