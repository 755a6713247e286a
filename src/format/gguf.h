/* GGUF (v2, v3) reader: header, metadata key/values of every type, tensor
 * infos, and dequantization of ggml's block formats to f32.
 *
 * Every count, length, size and offset is checked against the bytes that
 * exist before it is used: a truncated or hostile file gives an error
 * (TP_ERR_TRUNCATED, TP_ERR_CORRUPT, TP_ERR_VERSION, TP_ERR_UNSUPPORTED),
 * never a read out of bounds. Little-endian files only (as llama.cpp). */
#ifndef TP_FORMAT_GGUF_H
#define TP_FORMAT_GGUF_H
#include <stddef.h>
#include <stdint.h>
#include "tpress.h"

/* Value types of metadata (pinned by the GGUF spec). */
enum {
    TP_GGUF_U8 = 0, TP_GGUF_I8 = 1, TP_GGUF_U16 = 2, TP_GGUF_I16 = 3,
    TP_GGUF_U32 = 4, TP_GGUF_I32 = 5, TP_GGUF_F32 = 6, TP_GGUF_BOOL = 7,
    TP_GGUF_STRING = 8, TP_GGUF_ARRAY = 9, TP_GGUF_U64 = 10, TP_GGUF_I64 = 11,
    TP_GGUF_F64 = 12
};

/* ggml tensor types this reader knows the size of (ids pinned by ggml). */
enum {
    TP_GGML_F32 = 0, TP_GGML_F16 = 1, TP_GGML_Q4_0 = 2, TP_GGML_Q4_1 = 3,
    TP_GGML_Q5_0 = 6, TP_GGML_Q5_1 = 7, TP_GGML_Q8_0 = 8, TP_GGML_Q8_1 = 9,
    TP_GGML_Q2_K = 10, TP_GGML_Q3_K = 11, TP_GGML_Q4_K = 12, TP_GGML_Q5_K = 13,
    TP_GGML_Q6_K = 14, TP_GGML_Q8_K = 15, TP_GGML_I8 = 24, TP_GGML_I16 = 25,
    TP_GGML_I32 = 26, TP_GGML_I64 = 27, TP_GGML_F64 = 28, TP_GGML_BF16 = 30
};

typedef struct tp_gguf tp_gguf;

typedef struct {
    const char *key;      /* NUL-terminated copy                          */
    uint32_t type;        /* TP_GGUF_*                                    */
    uint32_t elem_type;   /* arrays: element type; else == type           */
    uint64_t n;           /* arrays: element count; else 1                */
    const uint8_t *data;  /* first value byte (strings: the u64 length)   */
} tp_gguf_kv;

typedef struct {
    const char *name;     /* NUL-terminated copy                          */
    uint32_t ndim;        /* 1..4                                         */
    uint64_t ne[4];       /* ggml order: ne[0] is the innermost dimension */
    uint32_t type;        /* TP_GGML_*                                    */
    uint64_t offset;      /* from the start of the file                   */
    uint64_t nbytes;
    uint64_t numel;
} tp_gguf_tensor;

/* Parses a GGUF held in buf (size bytes, kept alive and unchanged by the
 * caller until tp_gguf_close). */
size_t tp_gguf_parse(const void *buf, size_t size, tp_gguf **out);
/* Maps the file at path read-only and parses it. */
size_t tp_gguf_open(const char *path, tp_gguf **out);
void tp_gguf_close(tp_gguf *g);

uint32_t tp_gguf_version(const tp_gguf *g);
uint32_t tp_gguf_alignment(const tp_gguf *g);
size_t tp_gguf_kv_count(const tp_gguf *g);
const tp_gguf_kv *tp_gguf_kv_at(const tp_gguf *g, size_t i);
/* The key/value named key, or NULL. */
const tp_gguf_kv *tp_gguf_find_kv(const tp_gguf *g, const char *key);
/* Scalar reads: TP_ERR_NOT_FOUND when absent, TP_ERR_DTYPE when the value
 * is not a scalar number (get_u32 accepts any integer type that fits,
 * get_f32 any number). */
size_t tp_gguf_get_u32(const tp_gguf *g, const char *key, uint32_t *v);
size_t tp_gguf_get_f32(const tp_gguf *g, const char *key, float *v);
size_t tp_gguf_get_bool(const tp_gguf *g, const char *key, int *v);
/* String value (or element i of a string array): pointer into the file
 * (not NUL-terminated) and length. */
size_t tp_gguf_get_str(const tp_gguf *g, const char *key, const char **s, size_t *len);
size_t tp_gguf_arr_str(const tp_gguf *g, const tp_gguf_kv *kv, uint64_t i, const char **s, size_t *len);
/* Element i of a numeric array as double. */
size_t tp_gguf_arr_num(const tp_gguf_kv *kv, uint64_t i, double *v);

size_t tp_gguf_tensor_count(const tp_gguf *g);
const tp_gguf_tensor *tp_gguf_tensor_at(const tp_gguf *g, size_t i);
/* Index of the tensor named name, or TP_ERR_NOT_FOUND. */
size_t tp_gguf_find_tensor(const tp_gguf *g, const char *name);
/* Raw bytes of tensor i (within the buffer). */
const uint8_t *tp_gguf_tensor_data(const tp_gguf *g, size_t i);

/* ggml type traits: name ("Q4_1", NULL if unknown), values per block and
 * bytes per block (0 if unknown), and whether tp_gguf_dequant handles it. */
const char *tp_ggml_type_name(uint32_t type);
size_t tp_ggml_block_size(uint32_t type);
size_t tp_ggml_type_size(uint32_t type);
int tp_ggml_can_dequant(uint32_t type);
/* Dequantizes n values (a whole number of blocks) of the given type from
 * src to dst. TP_ERR_UNSUPPORTED for types without a dequantizer. */
size_t tp_ggml_dequant(uint32_t type, const void *src, float *dst, size_t n);
/* Tensor i as a new malloc'd f32 array of numel values (caller frees). */
size_t tp_gguf_tensor_f32(const tp_gguf *g, size_t i, float **out);
#endif
