/* Internal interface between the tensor-file front end (tensor_file.c) and
 * the two header codecs (npy.c, safetensors.c). The codecs only parse and
 * build header bytes; opening, mapping and writing files is the front
 * end's job. */
#ifndef TP_FORMAT_TENSOR_FILE_H
#define TP_FORMAT_TENSOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

struct cJSON;

#define TP_NPY_MAGIC "\x93NUMPY"
#define TP_NPY_MAGIC_LEN 6

/* One tensor of an opened file: a malloc'd name and a view whose data
 * points into the file's bytes. */
typedef struct {
    char *name;
    tp_tensor t;
} tp_tf_entry;

void tp_tf_entries_free(tp_tf_entry *e, size_t n);

/* Parses a whole .npy file (n bytes at p) into t; t->data points into p.
 * The data must be exactly as long as the shape requires. */
size_t tp_npy_parse(const uint8_t *p, size_t n, tp_tensor *t);

/* Builds the preamble and header (magic .. final '\n') for desc into a new
 * malloc'd buffer *out. Returns its length (a multiple of 64) or an error:
 * TP_ERR_DTYPE for bf16, which numpy cannot name. */
size_t tp_npy_header(const tp_tensor *desc, uint8_t **out);

/* Parses a whole .safetensors file into a new array *entries (free with
 * tp_tf_entries_free). Returns the tensor count or an error. When metadata
 * is not NULL it gets the __metadata__ object as new malloc'd JSON text,
 * or NULL when the header has none. */
size_t tp_safetensors_parse(const uint8_t *p, size_t n, tp_tf_entry **entries, char **metadata);

/* A JSON value as new compact text, or NULL when out of memory. A copy of
 * cJSON's print: the caller frees it with free() whatever allocator hooks
 * a program gave cJSON. */
char *tp_tf_json_text(const struct cJSON *v);

/* Builds the 8-byte length and the space-padded JSON header for n tensors
 * laid out contiguously in the given order, into a new malloc'd buffer
 * *out. Returns its length (a multiple of 8) or an error. */
size_t tp_safetensors_header(const char *const *names, const tp_tensor *descs, size_t n, uint8_t **out);

#endif
