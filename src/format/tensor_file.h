/* Internal interface between the tensor-file front end (tensor_file.c) and
 * the readers behind it: the two header codecs (npy.c, safetensors.c), the
 * sharded-model index (st_index.c) and its shards (sharded.c), and GGUF
 * tensors as views (gguf_view.c). The header codecs only parse and build
 * header bytes; opening, mapping and writing single files is the front
 * end's job. */
#ifndef TP_FORMAT_TENSOR_FILE_H
#define TP_FORMAT_TENSOR_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "format/mapped_file.h"

struct cJSON;
struct tp_gguf;

#define TP_NPY_MAGIC "\x93NUMPY"
#define TP_NPY_MAGIC_LEN 6

/* One tensor of an opened file: a malloc'd name and a view whose data
 * points into the file's bytes; or, when decode is set, a GGUF tensor read
 * dequantized: t says f32 and its shape, t.data is NULL, and the front end
 * dequantizes GGUF tensor src when the tensor is asked for. */
typedef struct {
    char *name;
    tp_tensor t;
    int decode;
    size_t src;
} tp_tf_entry;

void tp_tf_entries_free(tp_tf_entry *e, size_t n);

/* What a multi-file reader hands the front end: the files it mapped (the
 * views point into them; closed with the handle), the tensors and the
 * metadata's JSON text (malloc'd, or NULL). */
typedef struct {
    tp_mapped_file *files;
    size_t n_files;
    tp_tf_entry *entries;
    size_t n;
    char *metadata;
} tp_tf_contents;

void tp_tf_contents_free(tp_tf_contents *c);

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
 * *out; metadata (a JSON object's text, or NULL) becomes __metadata__.
 * Returns its length (a multiple of 8) or an error. */
size_t tp_safetensors_header(const char *const *names, const tp_tensor *descs, size_t n, const char *metadata,
                             uint8_t **out);

/* A sharded safetensors model's index (model.safetensors.index.json):
 *   {"metadata": {...}, "weight_map": {"tensor name": "shard file", ...}}
 * Other top-level keys are ignored. */
typedef struct {
    char *name;
    size_t shard; /* index into tp_st_index.shards */
} tp_st_index_entry;

typedef struct {
    char **shards;              /* distinct shard paths, sorted (strcmp)    */
    size_t n_shards;
    tp_st_index_entry *entries; /* the weight_map, sorted by name, unique   */
    size_t n;
    char *metadata;             /* "metadata" as JSON text, or NULL         */
} tp_st_index;

/* Parses the len bytes of index JSON at text (no NUL needed). Errors:
 * TP_ERR_CORRUPT for JSON that is not an index, a name given twice, or a
 * shard path that is empty, absolute or has a ".." component (a shard
 * cannot lie outside the index's directory). On error *ix is empty. */
size_t tp_st_index_parse(const char *text, size_t len, tp_st_index *ix);
void tp_st_index_free(tp_st_index *ix);
/* The order of tp_st_index.entries (by name), for qsort and bsearch. */
int tp_st_index_entry_cmp(const void *a, const void *b);

/* The file to open for the model directory dir, as a new malloc'd path:
 * its model.safetensors.index.json, else its one *.safetensors file.
 * TP_ERR_NOT_FOUND when it holds neither, TP_ERR_ARG when it holds several
 * .safetensors files and no index. */
size_t tp_model_dir_file(const char *dir, char **path);

/* Maps and parses every shard of the index at index_path (shard paths are
 * relative to its directory) and checks them against the index: every
 * name of the weight_map is in the shard it names, and no shard holds a
 * tensor the index does not list, or one that another shard holds.
 * Tensors come in shard order (the sorted shard paths), each shard's in
 * its header order. The metadata is the index's "metadata" object. */
size_t tp_sharded_open(const char *index_path, tp_tf_contents *c);

/* The tensors of a parsed GGUF as views into its buffer, in the GGUF's
 * order, shapes row-major (ggml's ne reversed): f32, f16, bf16, f64 and
 * the integer types as they are; a quantized type with a dequantizer as a
 * decode entry when allow_requantize is set, else TP_ERR_UNSUPPORTED
 * naming the tensor and its type; a type without one TP_ERR_UNSUPPORTED.
 * Returns the tensor count or an error. */
size_t tp_gguf_entries(const struct tp_gguf *g, int allow_requantize, tp_tf_entry **entries);

#endif
