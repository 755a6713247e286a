/*
 * tpress.h — the public C API of libtpress (tensorpress).
 *
 * Conventions (read once, they hold everywhere):
 *  - Every function that can fail returns size_t: a byte count or 0 on
 *    success, or an encoded error. Test with tp_is_error(); name it with
 *    tp_error_name(); get the code with tp_error_code(). Error codes are
 *    pinned and never reused.
 *  - When a function fails it leaves a one-line human description in a
 *    thread-local buffer, read with tp_last_error_detail() (e.g. which token
 *    of a pipeline spec was wrong). The library never prints, aborts or exits.
 *  - All multi-byte values in files are little-endian (docs/FORMAT.md).
 *  - Memory: functions that return an object hand ownership to the caller,
 *    who frees it with the matching *_free(). Functions that write into a
 *    caller buffer never allocate that buffer.
 *
 * What is where, simple to advanced (as zstd.h): errors; dtypes and tensor
 * views; pipelines (spec strings); frames (one tensor, one-shot: encode,
 * inspect, decode); metrics; archives (.tpz); tensor files (.npy,
 * .safetensors, GGUF, file kinds). Then the advanced API: the codec
 * registry; threads; pruned frames; the learned codecs' training report;
 * the per-tensor pipeline choice; the compress job (a whole model into an
 * archive). The evaluation models (MiniLM, Llama/SmolLM2, tokenizers,
 * model-level metrics) are in tpress_eval.h.
 */
#ifndef TPRESS_H
#define TPRESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TP_VERSION_MAJOR 0
#define TP_VERSION_MINOR 1
#define TP_VERSION_PATCH 0
#define TP_VERSION_STRING "0.1.0"

/* Marks the library's exported functions: libtpress is built with
 * -fvisibility=hidden, so only what the public headers declare is
 * exported from the shared library. */
#if defined(__GNUC__) || defined(__clang__)
#define TP_API __attribute__((visibility("default")))
#else
#define TP_API
#endif

/* ------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------- */

typedef enum {
    TP_OK = 0,
    TP_ERR_GENERIC = 1,
    TP_ERR_NOMEM = 2,           /* allocation failed                          */
    TP_ERR_ARG = 3,             /* invalid argument (NULL, bad size, ...)     */
    TP_ERR_DTYPE = 4,           /* dtype unknown or not supported here        */
    TP_ERR_SHAPE = 5,           /* shape invalid, too large, or mismatched    */
    TP_ERR_SPEC = 6,            /* pipeline spec could not be parsed          */
    TP_ERR_UNKNOWN_CODEC = 7,   /* no codec of that name or id                */
    TP_ERR_PARAM = 8,           /* unknown parameter or value out of range    */
    TP_ERR_DST_TOO_SMALL = 9,   /* output buffer too small                    */
    TP_ERR_CORRUPT = 10,        /* bytes do not follow the format             */
    TP_ERR_CHECKSUM = 11,       /* checksum mismatch                          */
    TP_ERR_TRUNCATED = 12,      /* input ends early                           */
    TP_ERR_VERSION = 13,        /* format version not supported               */
    TP_ERR_IO = 14,             /* file system error (see detail)             */
    TP_ERR_NOT_FOUND = 15,      /* named item absent                          */
    TP_ERR_UNSUPPORTED = 16,    /* valid input this build cannot handle       */
    TP_ERR_NONFINITE = 17,      /* NaN/Inf where a codec cannot keep them     */
    TP_ERR_BACKEND = 18,        /* a third-party library reported failure     */
    TP_ERR__MAX
} tp_error;

/* True when a size_t result encodes an error. */
TP_API int tp_is_error(size_t result);
/* The tp_error of a result (TP_OK when it is not an error). */
TP_API tp_error tp_error_code(size_t result);
/* Static name of a result's error, e.g. "corrupt data"; "no error" if none. */
TP_API const char *tp_error_name(size_t result);
/* Static text of an error code. */
TP_API const char *tp_error_string(tp_error code);
/* Detail of the last failure on this thread ("" if none). Valid until the
 * next failing call on the same thread. */
TP_API const char *tp_last_error_detail(void);
/* Records a printf-style detail for tp_last_error_detail and returns the
 * result that encodes code: how a program's own codec (tp_codec_register)
 * reports an error. */
TP_API size_t tp_fail(tp_error code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------
 * Dtypes and tensor views
 * ---------------------------------------------------------------------- */

/* Values are pinned: they are stored in frames and archives. */
typedef enum {
    TP_DTYPE_INVALID = 0,
    TP_F32 = 1,
    TP_F16 = 2,
    TP_BF16 = 3,
    TP_F64 = 4,
    TP_I8 = 5,
    TP_U8 = 6,
    TP_I16 = 7,
    TP_U16 = 8,
    TP_I32 = 9,
    TP_U32 = 10,
    TP_I64 = 11,
    TP_U64 = 12,
    TP_BOOL = 13,
    TP_DTYPE__MAX
} tp_dtype;

#define TP_MAX_DIMS 8

/* A contiguous, C-order tensor. The view does not own data. */
typedef struct {
    tp_dtype dtype;
    uint32_t ndim;               /* 0 (scalar) .. TP_MAX_DIMS          */
    uint64_t shape[TP_MAX_DIMS]; /* entries beyond ndim are ignored    */
    const void *data;
} tp_tensor;

/* Bytes per element (0 for an invalid dtype). */
TP_API size_t tp_dtype_size(tp_dtype dt);
/* Lower-case name, e.g. "bf16"; "invalid" for an unknown value. */
TP_API const char *tp_dtype_name(tp_dtype dt);
/* Parses a name ("f32", "float32", "F32", "bf16", "i64", ...).
 * Returns TP_DTYPE_INVALID if unknown. */
TP_API tp_dtype tp_dtype_from_name(const char *name);
/* 1 for f32/f16/bf16/f64. */
TP_API int tp_dtype_is_float(tp_dtype dt);

/* Number of elements; writes it to *numel. Fails (TP_ERR_SHAPE) on ndim >
 * TP_MAX_DIMS or when the element count or the byte size overflows. */
TP_API size_t tp_tensor_numel(const tp_tensor *t, uint64_t *numel);
/* Byte size of the data (numel * dtype size), or an error. */
TP_API size_t tp_tensor_nbytes(const tp_tensor *t);

/* Exact conversions, round-to-nearest-even, NaN and Inf kept. */
TP_API uint16_t tp_f32_to_f16(float f);
TP_API float tp_f16_to_f32(uint16_t h);
TP_API uint16_t tp_f32_to_bf16(float f);
TP_API float tp_bf16_to_f32(uint16_t h);
/* Converts n values between float dtypes (f32/f16/bf16/f64); both buffers
 * aligned to their element size. Returns 0 or
 * an error (TP_ERR_DTYPE if either side is not a float dtype). */
TP_API size_t tp_convert(void *dst, tp_dtype dst_dt, const void *src, tp_dtype src_dt,
                  size_t n);

/* ------------------------------------------------------------------------
 * Pipelines: spec strings naming codecs and their parameters
 * ---------------------------------------------------------------------- */

/* A parsed pipeline: "int:bits=4,group=32 | zstd:level=3". */
typedef struct tp_pipeline tp_pipeline;

/* Parses a spec. On failure returns an error; tp_last_error_detail() names
 * the offending token. On success *out owns a new pipeline. */
TP_API size_t tp_pipeline_parse(const char *spec, tp_pipeline **out);
TP_API void tp_pipeline_free(tp_pipeline *p);
/* Writes the canonical spec (every parameter explicit) with a terminating
 * NUL; returns its length without the NUL, or TP_ERR_DST_TOO_SMALL. */
TP_API size_t tp_pipeline_to_string(const tp_pipeline *p, char *dst, size_t cap);
/* 1 if any stage is lossy. */
TP_API int tp_pipeline_is_lossy(const tp_pipeline *p);

/* ------------------------------------------------------------------------
 * Frames: one tensor, self-describing bytes (docs/FORMAT.md)
 * ---------------------------------------------------------------------- */

/* Encode-time options: they steer how an encoder fits the data, never how
 * the frame is read (a frame made with them decodes like any other). A
 * zeroed struct, like NULL, means no options. */
typedef struct {
    /* Per-column importance ("imatrix", as llama.cpp's llama-imatrix makes
     * it): NULL, or n_cols finite values >= 0, not all 0, with n_cols equal
     * to the tensor's last dimension. The weighted fits then minimise
     * sum over (r, c) of col_importance[c] * (x[r,c] - y[r,c])^2: kmeans
     * (centroids), kq (sub-block scales/mins; combined with its weight=
     * by product) and int with search=1 (clipping range); the other codecs
     * ignore it. Only the first stage of the pipeline sees it (its input
     * is t). A typical choice is the mean of the squared activations that
     * multiply each input column of a linear layer (docs/CODECS.md). */
    const float *col_importance;
    uint64_t n_cols;
} tp_encode_options;

/* Worst-case size of the frame tp_frame_encode writes for t under p, from
 * each stage's bound alone (nothing is encoded, t's data is not read), or an
 * error (bad dtype/shape, dtype the pipeline cannot take). */
TP_API size_t tp_frame_bound(const tp_pipeline *p, const tp_tensor *t);

/* Encodes t through p into dst, with options opt (NULL: none). Returns the
 * frame size or an error. cap >= tp_frame_bound() always suffices; with a
 * smaller cap a zstd stage may fail (TP_ERR_DST_TOO_SMALL) even when the
 * frame would have fit. Option errors: TP_ERR_SHAPE when n_cols is not t's
 * last dimension (or t is a scalar), TP_ERR_ARG when an importance is
 * negative, NaN or Inf, or all are 0. */
TP_API size_t tp_frame_encode(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt, void *dst,
                       size_t cap);

/* tp_frame_encode into a new malloc'd buffer (*out, caller frees) of the
 * frame's exact size. */
TP_API size_t tp_frame_encode_alloc(const tp_pipeline *p, const tp_tensor *t, const tp_encode_options *opt, void **out);

/* What a frame says about itself, read without decoding the payload. */
typedef struct {
    tp_dtype dtype;
    uint32_t ndim;
    uint64_t shape[TP_MAX_DIMS];
    uint64_t nbytes;        /* decoded size                                */
    uint64_t frame_size;    /* bytes the frame occupies                    */
    uint32_t n_stages;
    char spec[512];         /* canonical pipeline spec                     */
} tp_frame_info;

/* Parses and checks the header and checksum of the frame at src (n bytes
 * available; trailing bytes after the frame are allowed). When the frame's
 * last codec is TP_CODEC_CHECKED (lossless), the frame checksum covers the
 * header only and the payload is verified while it decodes. */
TP_API size_t tp_frame_inspect(const void *src, size_t n, tp_frame_info *info);

/* The same as tp_frame_inspect without verifying the checksum, for a caller
 * that sizes a buffer and then calls tp_frame_decode, which verifies it: the
 * payload is then hashed once, not twice. Until that decode succeeds, the
 * fields may come from a corrupted frame (within the format's limits). */
TP_API size_t tp_frame_header(const void *src, size_t n, tp_frame_info *info);

/* Decodes a frame into dst (cap >= info.nbytes). Returns the decoded byte
 * count or an error. Never reads beyond src+n or writes beyond dst+cap.
 * After an error dst holds unspecified bytes (a checksum failure inside a
 * self-checked payload is found while decoding). */
TP_API size_t tp_frame_decode(const void *src, size_t n, void *dst, size_t cap);
/* As tp_frame_decode for a frame of a float tensor (f32, f16, bf16, f64),
 * giving f32 values whatever its dtype (cap >= 4 x element count): an f16
 * tensor whose codec works in f32 is rebuilt without a second copy.
 * TP_ERR_DTYPE for an integer tensor. Returns the bytes written. */
TP_API size_t tp_frame_decode_f32(const void *src, size_t n, float *dst, size_t cap);

/* ------------------------------------------------------------------------
 * Metrics: error of a reconstruction, computed in float64
 * ---------------------------------------------------------------------- */

typedef struct {
    uint64_t count;         /* values compared                              */
    uint64_t nonfinite;     /* positions where either side is NaN/Inf       */
    double mse, rmse;
    double snr_db;          /* 10 log10(sum x^2 / sum (x-y)^2); +inf if exact */
    double psnr_db;         /* 10 log10(peak^2 / mse), peak = max |x|       */
    double max_abs;
    double cosine;
    double rel_l2;          /* ||x-y|| / ||x||                              */
} tp_metrics;

/* Compares n values (any dtype each side; integers are read as float64,
 * exact below 2^53). NaN/Inf positions are counted in nonfinite and
 * skipped (equal non-finite values are exact). */
TP_API size_t tp_metrics_compute(const void *ref, tp_dtype ref_dt, const void *got,
                          tp_dtype got_dt, size_t n, tp_metrics *m);

/* Decodes the frame (n bytes) and compares it with ref, the tensor it was
 * made from (same dtype and shape, else TP_ERR_SHAPE) with
 * tp_metrics_compute; an integer tensor decoded bit for bit gets snr, psnr
 * +inf, cosine 1 and zero errors. Returns 0 or an error. */
TP_API size_t tp_frame_measure(const void *frame, size_t n, const tp_tensor *ref, tp_metrics *m);

/* ------------------------------------------------------------------------
 * Archives (.tpz): named frames, an index and a footer (docs/FORMAT.md)
 * ---------------------------------------------------------------------- */

typedef struct tp_archive_writer tp_archive_writer;
typedef struct tp_archive tp_archive;

/* Per-tensor record kept in the archive index. */
typedef struct {
    const char *name;       /* NUL-terminated, owned by the archive        */
    tp_dtype dtype;
    uint32_t ndim;
    uint64_t shape[TP_MAX_DIMS];
    uint64_t offset;        /* frame position in the file                  */
    uint64_t frame_size;
    uint64_t raw_size;      /* bytes of the original tensor                */
    const char *spec;       /* canonical pipeline spec                     */
    tp_metrics metrics;     /* measured at encode time; of a layered tensor:
                               of its layers 0..layer summed               */
    uint32_t layer;         /* 0: the base (what tp_archive_entry_at gives);
                               k >= 1: enhancement layer k, an f32 frame of
                               the tensor's shape (tp_archive_layer_at)    */
    uint32_t n_layers;      /* layers stored for this tensor (1: plain)    */
} tp_archive_entry;

/* Starts writing path: data go to a temporary file next to it, which
 * tp_archive_writer_finish renames into place. */
TP_API size_t tp_archive_writer_open(const char *path, tp_archive_writer **out);
/* Appends one frame (as made by tp_frame_encode) under name, with metrics
 * (may be NULL). Names must be unique and non-empty. Thread-compatible, not
 * thread-safe: serialise calls. */
TP_API size_t tp_archive_writer_add(tp_archive_writer *w, const char *name,
                             const void *frame, size_t frame_size,
                             const tp_metrics *metrics);
/* Writes index and footer, syncs, renames; frees w in every case. */
TP_API size_t tp_archive_writer_finish(tp_archive_writer *w);
/* Deletes the temporary file and frees w. */
TP_API void tp_archive_writer_abort(tp_archive_writer *w);

/* Maps an archive and validates its footer and index. */
TP_API size_t tp_archive_open(const char *path, tp_archive **out);
TP_API void tp_archive_close(tp_archive *a);
TP_API size_t tp_archive_count(const tp_archive *a);
/* Entry i (NULL if out of range); valid until tp_archive_close. */
TP_API const tp_archive_entry *tp_archive_entry_at(const tp_archive *a, size_t i);
/* Index of the entry named name, or an error (TP_ERR_NOT_FOUND). */
TP_API size_t tp_archive_find(const tp_archive *a, const char *name);
/* The mapped bytes of entry i's frame. */
TP_API size_t tp_archive_frame(const tp_archive *a, size_t i, const void **frame);
/* Decodes entry i into dst (cap >= raw_size); returns bytes or error. A
 * layered tensor decodes with every layer the archive holds (as
 * tp_archive_decode_layers with layers 0). */
TP_API size_t tp_archive_decode(const tp_archive *a, size_t i, void *dst, size_t cap);

/* ------------------------------------------------------------------------
 * Archives, version 2: layered tensors, metadata, streaming layout
 * (docs/FORMAT.md 3.5-3.7). A writer that uses none of these writes a
 * version 1 file, byte for byte what it wrote before they existed.
 * ---------------------------------------------------------------------- */

/* Most layers (base included) one tensor may have. */
#define TP_ARCHIVE_MAX_LAYERS 16

/* Stores json (UTF-8 JSON text, at most 16 MiB, copied; e.g. a safetensors
 * __metadata__ object) in the archive. Call before any frame is added and
 * before tp_archive_writer_stream. TP_ERR_ARG when it is not valid UTF-8
 * JSON or comes too late. */
TP_API size_t tp_archive_writer_set_metadata(tp_archive_writer *w, const char *json);
/* Declares the n tensors the archive will hold, in order (names copied;
 * descs give dtype and shape, their data is ignored), and switches to the
 * streaming layout: an early index right after the file header, then every
 * base frame in this order, then layer 1 of every tensor that has one, then
 * layer 2, ...; the full index and footer last. Enhancement layers are held
 * in an unlinked temporary file next to the output until finish, so memory
 * stays at one frame. Call before any frame is added; then every tensor's
 * base must be added, in this order, with this dtype and shape, before
 * finish. A file cut anywhere after the early index still gives its
 * complete base frames (tp_archive_open_partial). */
TP_API size_t tp_archive_writer_stream(tp_archive_writer *w, const char *const *names, const tp_tensor *descs,
                                       size_t n);
/* Adds layer `layer` of tensor name: 0 is the base (= tp_archive_writer_add);
 * k >= 1 needs layers 0..k-1 of that name already added, a float base, and
 * a frame that decodes to f32 of the base's shape (the residual of layers
 * 0..k-1, docs/FORMAT.md 3.6). Without streaming, frames are placed in call
 * order. metrics (may be NULL): the error of layers 0..layer summed. */
TP_API size_t tp_archive_writer_add_layer(tp_archive_writer *w, const char *name, unsigned layer,
                                          const void *frame, size_t frame_size, const tp_metrics *metrics);

/* Opens what there is of an archive: a complete file exactly as
 * tp_archive_open; a streaming archive cut short (no footer at its end) from
 * its early index, whose checksum and entries are verified. Every tensor is
 * then listed (names, shapes, sizes, base metrics); those whose base frame
 * lies whole in the file have one layer available (their frame's checksum
 * is verified now, their spec comes from it) and the rest none: decoding
 * them fails with TP_ERR_TRUNCATED, and their spec is "". Enhancement
 * layers are not read from a cut file. Other files without a footer fail
 * as in tp_archive_open (TP_ERR_TRUNCATED). */
TP_API size_t tp_archive_open_partial(const char *path, tp_archive **out);
/* 1 if a was opened from an early index (a cut streaming archive). */
TP_API int tp_archive_is_partial(const tp_archive *a);
/* The metadata JSON text (NUL-terminated, owned by a), or NULL if none. */
TP_API const char *tp_archive_metadata(const tp_archive *a);
/* Layers of tensor i that can be decoded now: its n_layers, or in a
 * partial archive 1 or 0; 0 also when i is out of range. */
TP_API unsigned tp_archive_layer_count(const tp_archive *a, size_t i);
/* The index record of layer `layer` of tensor i (layer 0 is
 * tp_archive_entry_at(a, i)); NULL when there is no such layer available. */
TP_API const tp_archive_entry *tp_archive_layer_at(const tp_archive *a, size_t i, unsigned layer);
/* The mapped bytes of that layer's frame, or an error (TP_ERR_ARG out of
 * range, TP_ERR_TRUNCATED not in a partial file). */
TP_API size_t tp_archive_layer_frame(const tp_archive *a, size_t i, unsigned layer, const void **frame);
/* Decodes tensor i from its first `layers` layers summed (0, or more than
 * it has: all available) into dst (cap >= raw_size of entry i, its dtype
 * and shape): one layer is the base frame as it decodes; more are summed
 * in f32 and rounded to the tensor's dtype (docs/FORMAT.md 3.6). Needs
 * 8 bytes per value of scratch memory beyond dst when layers > 1. Returns
 * the bytes written or an error (TP_ERR_TRUNCATED: no layer available). */
TP_API size_t tp_archive_decode_layers(const tp_archive *a, size_t i, unsigned layers, void *dst, size_t cap);


/* ------------------------------------------------------------------------
 * Tensor files: .npy (one tensor), .safetensors (named tensors), sharded
 * models and GGUF (read)
 * ---------------------------------------------------------------------- */

/* What a file is, told by its first bytes alone (no parsing): the kinds
 * tpress reads. tp_sniff looks at the n bytes at head (TP_SNIFF_BYTES are
 * enough for every kind; fewer can only make a kind unrecognisable, never
 * another kind). tp_sniff_path reads them from path (a shorter file is
 * sniffed as it is); it fails only when the file cannot be opened
 * (TP_ERR_IO). Safetensors has no magic: it is recognised by a u64 header
 * length followed by '{', after every other kind. */
typedef enum {
    TP_FILE_UNKNOWN = 0,
    TP_FILE_ARCHIVE,     /* .tpz, "TPZA"        */
    TP_FILE_FRAME,       /* one frame, "TPFR"   */
    TP_FILE_GGUF,        /* "GGUF"              */
    TP_FILE_NPY,         /* "\x93NUMPY"         */
    TP_FILE_SAFETENSORS, /* u64 length, '{'     */
    TP_FILE_PNG,
    TP_FILE_JPEG
} tp_file_kind;
#define TP_SNIFF_BYTES 16
TP_API tp_file_kind tp_sniff(const void *head, size_t n);
TP_API size_t tp_sniff_path(const char *path, tp_file_kind *kind);
/* "archive", "frame", "gguf", "npy", "safetensors", "png", "jpeg", "unknown". */
TP_API const char *tp_file_kind_name(tp_file_kind kind);

typedef struct tp_tensor_file tp_tensor_file;

/* Opens, read-only and memory-mapped, a file of named tensors:
 *  - a .npy or .safetensors file (told apart by their first bytes);
 *  - a sharded Hugging Face model: its model.safetensors.index.json (any
 *    path ending in .json is read as such an index), or a directory
 *    holding one; every shard named by its weight_map is mapped. A
 *    directory without an index that holds exactly one .safetensors file
 *    opens that file;
 *  - a GGUF (v2/v3): F32, F16, BF16, F64 and integer tensors in place,
 *    shapes row-major (ggml's ne reversed).
 * Every header field is validated: bad magic, unsupported dtype, Fortran
 * order, pickled objects, offsets past the end, overlapping or overflowing
 * ranges are errors. A sharded model must agree with its index: every
 * weight_map name in the shard it names (TP_ERR_CORRUPT), no tensor in two
 * shards or missing from the weight_map (TP_ERR_CORRUPT), no shard path
 * that is absolute or has a ".." component (TP_ERR_CORRUPT); a missing
 * shard is TP_ERR_NOT_FOUND, its name in the detail. A directory holding
 * no model is TP_ERR_NOT_FOUND, one holding several .safetensors and no
 * index TP_ERR_ARG. A GGUF tensor of a quantized type (Q4_0, Q8_0, the
 * K-quants, ...) is TP_ERR_UNSUPPORTED, the detail naming it, its type and
 * the opt-in (tp_tensor_file_open_ex, `--allow-requantize` in the CLI).
 *
 * Order of the tensors: a .safetensors file's header order; a sharded
 * model's shards sorted by path (strcmp), each shard's tensors in its
 * header order; a GGUF's tensor-info order. */
TP_API size_t tp_tensor_file_open(const char *path, tp_tensor_file **out);

/* Options of tp_tensor_file_open_ex; a zeroed struct (or NULL) gives the
 * defaults, which are tp_tensor_file_open's. */
typedef struct {
    /* 1: a GGUF's quantized tensors (those with a dequantizer: Q4_0, Q4_1,
     * Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K) are listed as f32 and dequantized
     * when got (tp_tensor_file_get); compressing those values quantizes
     * them a second time. Types without a dequantizer stay
     * TP_ERR_UNSUPPORTED. */
    int allow_requantize;
} tp_tensor_file_open_options;
TP_API size_t tp_tensor_file_open_ex(const char *path, const tp_tensor_file_open_options *opt,
                                     tp_tensor_file **out);
TP_API void tp_tensor_file_close(tp_tensor_file *f);
TP_API size_t tp_tensor_file_count(const tp_tensor_file *f);
/* Name of tensor i (a .npy's one tensor is named after the file's stem). */
TP_API const char *tp_tensor_file_name(const tp_tensor_file *f, size_t i);
/* View of tensor i; t->data points into the mapping (valid until close).
 * It may be unaligned (safetensors packs tensors back to back): memcpy
 * before typed access; tp_frame_encode and tp_metrics_compute accept it as
 * is. A dequantized GGUF tensor (allow_requantize) is decoded by this call
 * into f32 memory the file owns, aligned, shared by every view of that
 * tensor, and valid until as many tp_tensor_file_release calls as gets of
 * it, or until close. get and release may run on several threads at once
 * on one file. Errors: TP_ERR_NOT_FOUND when i >= count; TP_ERR_NOMEM
 * when a decode cannot be held. */
TP_API size_t tp_tensor_file_get(const tp_tensor_file *f, size_t i, tp_tensor *t);
/* Dtype and shape of tensor i as tp_tensor_file_get would give them, data
 * NULL, without reading or decoding anything. TP_ERR_NOT_FOUND when
 * i >= count. */
TP_API size_t tp_tensor_file_desc(const tp_tensor_file *f, size_t i, tp_tensor *t);
/* Gives back one view of tensor i got by tp_tensor_file_get: the memory of
 * a dequantized tensor is freed when its last view is given back, so a
 * reader going through a quantized GGUF holds one tensor at a time, not
 * the whole model. For a view into the mapping the file's pages under it
 * are let go (they are read again if the tensor is used later), so a reader
 * streaming through a large file keeps one tensor resident, not the file
 * (releasing such views is optional). Errors: TP_ERR_NOT_FOUND when i >= count; TP_ERR_ARG when
 * a dequantized tensor is released more often than it was got. */
TP_API size_t tp_tensor_file_release(const tp_tensor_file *f, size_t i);
/* The file's metadata as compact JSON text, owned by f (valid until
 * close), or NULL when it has none: a .safetensors file's __metadata__
 * object (string values only, as the format requires), a sharded model's
 * index "metadata" object (e.g. {"total_size":...}). NULL for .npy and
 * GGUF. */
TP_API const char *tp_tensor_file_metadata(const tp_tensor_file *f);

typedef struct tp_tensor_writer tp_tensor_writer;

/* Starts writing n tensors to path; the format follows the extension
 * (".npy" takes exactly one tensor and ignores names, which may be NULL;
 * bf16 cannot go to .npy: TP_ERR_DTYPE; otherwise safetensors). descs give
 * dtype and shape (their data is ignored); names are copied. Output goes
 * to a temporary file renamed by tp_tensor_writer_finish. */
TP_API size_t tp_tensor_writer_open(const char *path, const char *const *names,
                             const tp_tensor *descs, size_t n,
                             tp_tensor_writer **out);
/* As tp_tensor_writer_open, and metadata (a JSON object's text, or NULL)
 * becomes the safetensors __metadata__ (string values kept, any other
 * value stored as its JSON text; TP_ERR_ARG when it is not an object).
 * A .npy file has no place for it: it is ignored there. */
TP_API size_t tp_tensor_writer_open_meta(const char *path, const char *const *names,
                                  const tp_tensor *descs, size_t n, const char *metadata,
                                  tp_tensor_writer **out);
/* Writes the data of tensor i; tensors must be put in order 0..n-1 and
 * nbytes must match the tensor's size. */
TP_API size_t tp_tensor_writer_put(tp_tensor_writer *w, size_t i, const void *data,
                            size_t nbytes);
/* Syncs and renames into place; frees w in every case. Fails if a tensor
 * was not put. */
TP_API size_t tp_tensor_writer_finish(tp_tensor_writer *w);
/* Removes the temporary file and frees w. */
TP_API void tp_tensor_writer_abort(tp_tensor_writer *w);


/* Weights files as models read them: .tpz (decoded), .safetensors/.npy, or
 * .gguf (every tensor dequantized to f32; shapes row-major, ggml's ne
 * reversed). tp_weights_count_values counts the values of all tensors;
 * tp_weights_export_f32 writes every tensor of in_path as f32 to out_path
 * (.safetensors), so a GGUF's dequantized weights can be compressed by any
 * codec; *n_values (may be NULL) gets the number of values written.
 * TP_ERR_UNSUPPORTED for a GGUF type without a dequantizer. */
TP_API size_t tp_weights_count_values(const char *path, uint64_t *n_values);
TP_API size_t tp_weights_export_f32(const char *in_path, const char *out_path, uint64_t *n_values);

/* Candidate weights held by the caller, tensor by tensor: fills *t (dtype,
 * ndim, shape, data) with the tensor called name, in any float dtype,
 * contiguous and C-order; data must stay valid until the next call. Returns
 * 0, or an encoded TP_ERR_NOT_FOUND when there is no such tensor (any other
 * error is passed on). Names are those of the reference file (the GGUF's,
 * e.g. "blk.0.attn_q.weight", for a Llama model). */
typedef size_t (*tp_tensor_fetch_fn)(void *user, const char *name, tp_tensor *t);

/* ========================================================================
 * Advanced API: what a spec may name, threads, pruned frames, the learned
 * codecs' training report, the per-tensor pipeline choice, and the
 * compress job built on all of the above.
 * ====================================================================== */

/* ------------------------------------------------------------------------
 * Codec registry: the codecs a spec may name and their parameters
 * ---------------------------------------------------------------------- */

/* Codec flags reported by tp_codec_info. */
#define TP_CODEC_LOSSY 1u     /* decode(encode(x)) may differ from x          */
#define TP_CODEC_FLOAT_IN 2u  /* needs float input; integers are refused      */
#define TP_CODEC_CHECKED 4u   /* its payload holds checksums of what it decodes */

typedef enum { TP_PARAM_INT = 1, TP_PARAM_FLOAT = 2, TP_PARAM_ENUM = 3 } tp_param_type;

typedef struct {
    const char *name;
    tp_param_type type;
    double def;              /* default value (enum: index)               */
    double min, max;         /* inclusive range (enum: 0..count-1)        */
    const char *const *choices; /* enum names, NULL-terminated; else NULL */
    const char *help;
    /* Comma-separated names of alternative parameters, or NULL: when a spec
     * gives one of them and not this one, this one is set to 0 instead of
     * its default (e.g. int's group yields to axis, svd's energy to rank). */
    const char *yields_to;
} tp_param_def;

typedef struct {
    uint16_t id;             /* pinned, stored in frames                  */
    const char *name;
    unsigned flags;          /* TP_CODEC_*                                */
    const char *summary;
    size_t n_params;
    const tp_param_def *params;
} tp_codec_info;

/* Number of registered codecs, and the i-th one (NULL if out of range). */
TP_API size_t tp_codec_count(void);
TP_API const tp_codec_info *tp_codec_at(size_t i);
/* By name or id; NULL if none. */
TP_API const tp_codec_info *tp_codec_find(const char *name);

/* ------------------------------------------------------------------------
 * The codec contract, for a program's own codecs (docs/DESIGN.md, "The
 * codec contract"; examples/custom_codec.c). A stage receives a tensor
 * and writes bytes, describing what it wrote as a tensor (usually u8[n]);
 * decode gets those bytes and their description back, plus the
 * description of the tensor it must rebuild, and writes exactly that.
 * Codecs with TP_CODEC_FLOAT_IN see f32 input and rebuild f32 (the
 * pipeline converts other float dtypes around them). encode writes at most
 * cap bytes (cap >= bound); decode validates every byte and size it is
 * given and writes exactly nbytes(dst_desc) bytes. No printing, no
 * aborting: errors are returned with tp_fail (e.g. TP_ERR_CORRUPT).
 * ---------------------------------------------------------------------- */

#define TP_MAX_PARAMS 12

/* Parameter values in the order of the codec's schema (enum: index), plus
 * encode-time hints that are never stored (decode always sees them NULL). */
typedef struct {
    double v[TP_MAX_PARAMS];
    /* Importance of each column (last-axis index) of the input, one finite
     * value >= 0 per column, or NULL: the weighted fits (int search=1, kq,
     * kmeans) weigh the squared error of value (r, c) by col_weight[c]. The
     * frame encoder sets it for the first stage only (tp_encode_options). */
    const float *col_weight;
} tp_params;

typedef struct tp_codec {
    tp_codec_info info;
    /* Checks combinations of parameters that the per-parameter ranges
     * cannot express; NULL if none. Called at parse time. */
    size_t (*validate)(const tp_params *p);
    /* Worst-case output bytes for input in (its data is not read); also
     * sets out's dtype and ndim to those encode will report (the frame
     * header size depends on them), and its shape to an upper bound. */
    size_t (*bound)(const tp_params *p, const tp_tensor *in, tp_tensor *out);
    /* Encodes in into dst (cap bytes); sets *out (dtype, ndim, shape;
     * data ignored) and returns the byte count, or an error. */
    size_t (*encode)(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out);
    /* Decodes src (n bytes described by src_desc) into dst, which holds
     * nbytes(dst_desc). Returns nbytes(dst_desc) or an error. */
    size_t (*decode)(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                     const tp_tensor *dst_desc, void *dst);
    /* Optional, for codecs that keep a subset of positions along an axis
     * (token pruning) and decode the others as zeros: writes the kept
     * positions that the payload src (n bytes, rebuilding dst_desc) holds
     * and returns their count (TP_ERR_NOT_FOUND when it kept all,
     * TP_ERR_DST_TOO_SMALL when cap is short). NULL otherwise. */
    size_t (*kept)(const tp_params *p, const void *src, size_t n, const tp_tensor *dst_desc, uint32_t *pos,
                   size_t cap);
} tp_codec;

/* Ids a program's own codecs take: frames that use them decode only where
 * the same codec is registered. */
#define TP_CODEC_USER_MIN 0xF000u
#define TP_CODEC_USER_MAX 0xFFFEu
/* At most this many codecs may be registered in a process. */
#define TP_CODEC_USER_COUNT 64

/* Adds c (kept by pointer: it must outlive its use) to the registry, after
 * the built-in codecs: specs may name it, frames store its id, tpress
 * codecs lists it. Thread-safe. TP_ERR_ARG: an id outside the user range,
 * a name or id already taken, a name that is not [a-z0-9_]+ (at most 31),
 * missing bound/encode/decode, more than TP_MAX_PARAMS parameters or a
 * default outside its range, or the registry full. */
TP_API size_t tp_codec_register(const tp_codec *c);

/* ------------------------------------------------------------------------
 * Threads inside one frame call
 * ---------------------------------------------------------------------- */

/* Worker threads that the quantizers (int, kmeans, nf, log, fp8, kq) use
 * inside one tp_frame_encode/tp_frame_decode call made from the calling
 * thread: 1 (the default) runs inline, 0 means all online cores, at most
 * 64. A per-thread setting, not a codec parameter, because parameters are
 * stored in the frame: the bytes never depend on it. Returns the previous
 * value. */
TP_API int tp_threads_set(int threads);

/* ------------------------------------------------------------------------
 * Pruned frames
 * ---------------------------------------------------------------------- */

/* Positions kept by the last stage of a frame that prunes (tokdct with
 * prune=k; decode returns zeros for the other tokens): the stages after it
 * are decoded, then for each leading index b of the [..., T, C] tensor its
 * k token indices go in ascending order to pos[b*k .. b*k+k-1]. Returns the
 * number of positions written. Errors: TP_ERR_NOT_FOUND when no stage
 * prunes or it kept every token, TP_ERR_DST_TOO_SMALL when cap is short,
 * frame errors as in decode. */
TP_API size_t tp_frame_kept_positions(const void *src, size_t n, uint32_t *pos, size_t cap);

/* ------------------------------------------------------------------------
 * Training report of the learned codecs (sparsecode, autoenc)
 * ---------------------------------------------------------------------- */

/* What the last learned-codec encode on this thread did. */
typedef struct {
    char codec[16];          /* "sparsecode" or "autoenc"                   */
    uint32_t steps_done;     /* dictionary iterations / epochs run          */
    uint32_t steps_asked;    /* iterations= / epochs=                       */
    int stopped_by_time;     /* 1: max_seconds ended training early (the
                                bytes then depend on the machine's speed)  */
    double seconds;          /* wall-clock training time                   */
    double rel_error;        /* ||X - X^||^2 / ||X||^2 of the stored codes,
                                before the stage's own f16 rounding        */
} tp_train_report;

/* Copies the report of the last sparsecode/autoenc encode run on the
 * calling thread into *out; returns 0, or TP_ERR_NOT_FOUND if none ran. */
TP_API size_t tp_train_report_last(tp_train_report *out);

/* ------------------------------------------------------------------------
 * Pipeline choice: measure a tensor, pick a pipeline for an error bound
 * ---------------------------------------------------------------------- */

#define TP_CHOICE_MAX_CANDIDATES 16

/* What tp_choose_pipeline measured and estimated (all plain data). */
typedef struct {
    uint64_t numel, rows, cols;  /* matrix view: leading dims x last dim     */
    double zero_fraction;        /* share of elements that are exactly 0     */
    double mean, variance, kurtosis; /* kurtosis = m4 / m2^2 (3 for Gaussian) */
    int spectrum_exact;          /* 1: all singular values, 0: a sketch     */
    double rank90, rank99;       /* rank share (of min(rows, cols)) reaching
                                    90 % / 99 % of the squared singular values;
                                    -1 when not measured                    */
    size_t n_candidates;
    struct {
        char spec[128];
        double bits;             /* estimated bits per value                */
        double snr_db;           /* estimated SNR (inf: lossless)           */
    } candidates[TP_CHOICE_MAX_CANDIDATES];
    int chosen;                  /* index into candidates, -1 if a fallback */
    char reason[256];            /* one line: why this pipeline             */
} tp_choice_report;

/* Measures t (any dtype) and writes into spec_out (cap bytes, NUL-
 * terminated) the pipeline with the fewest estimated bits per value whose
 * estimated SNR is at least min_snr_db, among: int (2-8 bits, group 32,
 * clip search), svd (f16 factors, or int8 factors), pca, sparse (exact and
 * f16 values). Integer tensors and tensors with NaN/Inf get a lossless
 * pipeline. why (may be NULL) receives the measured features and every
 * candidate's estimate. Returns the spec length or an error. */
TP_API size_t tp_choose_pipeline(const tp_tensor *t, double min_snr_db, char *spec_out, size_t cap, tp_choice_report *why);

/* ------------------------------------------------------------------------
 * Compressing a whole model: every tensor of a file (or of a list) into a
 * .tpz archive, with the library's fallback policy and measured errors
 * ---------------------------------------------------------------------- */

/* The pipeline a compress job uses when opt->spec is NULL. */
#define TP_DEFAULT_SPEC "int:bits=8,group=32"
/* The one lossless pipeline for what a lossy pipeline should not or cannot
 * take: integer tensors, tensors with NaN/Inf, 1-D tensors (norms and
 * biases, unless quantize_1d), and tp_choose_pipeline's lossless choice. */
#define TP_LOSSLESS_SPEC "lossless"

/* Options of a compress job; a zeroed struct (or NULL) gives the defaults. */
typedef struct {
    const char *spec;       /* pipeline for every tensor (NULL: TP_DEFAULT_SPEC);
                               "auto": tp_choose_pipeline per tensor        */
    const char *const *specs; /* NULL, or per tensor index: its pipeline
                               (a NULL entry: spec), as a planner gives it */
    double min_snr_db;      /* bound of the "auto" choice (0: 30 dB)        */
    int threads;            /* tensors encoded at once (0: all cores)       */
    int quantize_1d;        /* 1: 1-D tensors go through the lossy pipeline */
    int lossy_integers;     /* 1: so do integer tensors, for codecs made for
                               them (dct2d on u8 images); 0: kept lossless */
    int fallback_on_error;  /* 1: a tensor the lossy pipeline fails on is
                               stored losslessly and the job goes on; 0: the
                               job fails (NaN/Inf always fall back)        */
    /* NULL, or per tensor index: its column importance (NULL: none) and
     * its length, given to the lossy pipeline (tp_encode_options). */
    const float *const *col_importance;
    const uint64_t *n_cols;
    int allow_requantize;   /* 1: a GGUF's quantized tensors are read
                               dequantized (tp_tensor_file_open_ex)        */
} tp_compress_options;

/* One tensor written by a job, as its progress callback sees it. The
 * pointers are valid during the callback only. */
typedef struct {
    size_t index, count;        /* this tensor, of count                    */
    const char *name;
    tp_tensor tensor;           /* the input (data: the source's bytes)     */
    size_t frame_size;          /* bytes of its frame                       */
    tp_metrics metrics;         /* measured by decoding the frame again;
                                   non-float tensors: snr +inf when exact   */
    const char *spec;           /* pipeline used                            */
    const char *fallback_why;   /* NULL, or why TP_LOSSLESS_SPEC was used
                                   (with fallback_on_error, also the lossy
                                   pipeline's error on this tensor)         */
    const tp_choice_report *choice; /* "auto": what the choice measured     */
} tp_compress_event;

/* Called once per tensor, in file order, after its frame is in the
 * archive; return 0 to go on, or an error result to stop the job. */
typedef size_t (*tp_compress_progress_fn)(void *ctx, const tp_compress_event *e);

/* Totals of a finished job. */
typedef struct {
    size_t tensors, fallbacks;
    uint64_t bytes_in;          /* the tensors' raw bytes                   */
    uint64_t file_bytes;        /* the archive as written, index included   */
    uint64_t values;
    double mean_snr_db;         /* over tensors with a finite SNR (inf: none) */
} tp_compress_summary;

/* Progressive (layered) compression of every tensor of the tensor file
 * in_path into a streaming archive out_path (tp_archive_writer_stream):
 * layer 0 of a tensor X is layer_specs[0] applied to X, layer k is
 * layer_specs[k] applied to the f32 residual X - (layers 0..k-1 decoded and
 * summed), so a reader may stop after any layer (tp_archive_decode_layers)
 * or start from a partial download. n_layers is 1..TP_ARCHIVE_MAX_LAYERS;
 * no spec may be "auto". The policy of tp_compress_file holds for layer 0
 * (integer, 1-D and NaN/Inf tensors go to TP_LOSSLESS_SPEC, and so do
 * tensors layer_specs[0] fails on under opt->fallback_on_error); those,
 * and tensors whose layer 0 is lossless, get that one layer only.
 * opt->spec, specs and min_snr_db are not used. Tensors are encoded one
 * at a time, every layer decoded again to form the next residual and the
 * metrics; opt->threads (0: all cores) go to tp_threads_set for the
 * quantizers inside each tensor, so the bytes never depend on it. progress
 * is called once per tensor after its last layer, with frame_size the
 * bytes of all its layers, metrics those of all layers summed, and spec the
 * layer specs joined by ';'. Atomic output as tp_compress_file. */
TP_API size_t tp_compress_progressive(const char *in_path, const char *out_path, const char *const *layer_specs,
                                      size_t n_layers, const tp_compress_options *opt,
                                      tp_compress_progress_fn progress, void *ctx, tp_compress_summary *sum);

/* Compresses every tensor of the tensor file in_path (.npy, .safetensors,
 * as tp_tensor_file_open reads them) into the archive out_path, written to
 * a temporary name and renamed when complete (no partial output on
 * error). Each frame is decoded again and compared with its input: the
 * metrics go into the archive index. progress may be NULL; sum (may be
 * NULL) receives the totals. Returns 0 or the first error, whose detail
 * names the tensor. */
TP_API size_t tp_compress_file(const char *in_path, const char *out_path, const tp_compress_options *opt,
                        tp_compress_progress_fn progress, void *ctx, tp_compress_summary *sum);

/* The same for n in-memory tensors named names[i]. */
TP_API size_t tp_compress_tensors(size_t n, const char *const *names, const tp_tensor *tensors, const char *out_path,
                           const tp_compress_options *opt, tp_compress_progress_fn progress, void *ctx,
                           tp_compress_summary *sum);

/* ------------------------------------------------------------------------
 * Whole-model planning: a size or fidelity target met by measurement
 * ---------------------------------------------------------------------- */

/* A model-level metric for a planner: runs the model with the candidate
 * weights that fetch(fetch_user, name, &t) gives and writes one number
 * into *metric (tpress_eval.h has one for MiniLM and Llama GGUFs,
 * tp_eval_model_metric). */
typedef size_t (*tp_model_metric_fn)(void *user, tp_tensor_fetch_fn fetch, void *fetch_user, double *metric);

/* A per-tensor rule; the first whose match (POSIX extended regex, searched
 * in the tensor's name) matches applies. */
typedef struct {
    const char *match;
    const char *spec;       /* this pipeline, or NULL                       */
    int keep;               /* 1: stored losslessly                          */
    double weight;          /* > 0: distortion weight instead of the role's  */
} tp_plan_rule;

/* Options of tp_compress_model; a zeroed struct gives the defaults. At most
 * one of the five targets may be set. */
typedef struct {
    /* "auto" (NULL): every family, by measurement; "simple": ternary
     * (BitNet b1.58) or lossless; "mobile": ternary, VQ and SeedLM, target
     * 100e6 bytes unless one is given; "advanced": the lowest rates, with
     * an entropy stage where it pays. docs/STRATEGIES.md. */
    const char *strategy;
    double target_bytes;    /* whole output file, index included           */
    double target_bpw;      /* 8 x file bytes / weights                    */
    double target_ratio;    /* input tensor bytes / file bytes             */
    double min_snr_db;      /* dual: smallest plan with every lossy tensor's
                               predicted SNR at least this                 */
    double max_rel_error;   /* dual: ... relative L2 error at most this    */
    /* Model-level check: NULL for tensor-level fidelity (the lowest tensor
     * cosine). */
    tp_model_metric_fn metric;
    void *metric_user;
    int metric_higher_is_better;
    /* > 0 (or any value when metric is lower-is-better and set): after
     * writing, fidelity must reach it, else the plan is raised and
     * written again (within the size target, when there is one). */
    double accuracy_threshold;
    int check_accuracy;     /* 1: accuracy_threshold is set               */
    int measure_sensitivity;/* 1: weight each tensor by the metric's change
                               when only it is quantized at probe_spec     */
    const char *probe_spec; /* NULL: "kq:bits=2"                           */
    const tp_plan_rule *rules;
    size_t n_rules;
    int threads;            /* 0: all cores                                */
    int quantize_1d;        /* 1: 1-D tensors are planned too              */
    int dry_run;            /* 1: plan only, write nothing                 */
    int no_benchmark;       /* 1: skip the fidelity evaluation             */
    size_t sample_values;   /* values per tensor sampled for its curve (0:
                               65536; whole tensors below that)           */
    const float *const *col_importance; /* as in tp_compress_options     */
    const uint64_t *n_cols;
    int allow_requantize;   /* as in tp_compress_options                   */
} tp_model_options;

/* One tensor of a plan or of a written model. */
typedef struct {
    char name[256];
    tp_dtype dtype;
    uint32_t ndim;
    uint64_t shape[TP_MAX_DIMS];
    char spec[160];
    char role[16];          /* "embedding", "head", "norm", "matrix", ...   */
    uint64_t bytes_in;      /* raw bytes                                   */
    uint64_t bytes;         /* frame + index entry (predicted on a dry run) */
    uint64_t predicted_bytes;
    double predicted_snr_db;
    double snr_db, rel_error; /* measured after writing (NaN on a dry run) */
    double weight;          /* distortion weight the plan used             */
    char fallback[320];     /* "" or why the lossless fallback took it     */
} tp_model_tensor;

/* What tp_compress_model did; free with tp_model_result_free. */
typedef struct {
    char strategy[16];
    uint64_t bytes_in, file_bytes, predicted_bytes, values;
    uint64_t target_bytes;  /* 0: no size target                           */
    uint64_t smallest_bytes;/* the smallest plan the candidates allow     */
    double ratio, bits_per_weight;
    int target_met;         /* 1 met, 0 missed, -1 no target               */
    int fidelity_measured;  /* 0 on a dry run or with no_benchmark          */
    char fidelity_name[32]; /* "model metric" or "min tensor cosine"        */
    double fidelity, fidelity_reference; /* candidate, and the original's   */
    int accuracy_met;       /* 1 met, 0 missed, -1 not checked             */
    int mobile_compatible;  /* strategy mobile: the file fits its target   */
    int sensitivity_measured;
    size_t rounds;          /* times the model was written                 */
    size_t fallbacks;       /* tensors the lossless fallback took          */
    double seconds_plan, seconds_write, seconds_eval;
    uint64_t peak_rss_bytes;/* of the process, at the end                  */
    char changes[2048];     /* lines: what the accuracy check changed      */
    size_t n_tensors;
    tp_model_tensor *tensors;
} tp_model_result;

typedef enum {
    TP_PLAN_MEASURE = 1,    /* a tensor's curve measured                   */
    TP_PLAN_SENSITIVITY,    /* a tensor probed with the model metric       */
    TP_PLAN_WRITE,          /* a tensor written (write is set)             */
    TP_PLAN_EVAL,           /* the model metric is being computed          */
    TP_PLAN_RETRY           /* the plan is raised: message says how        */
} tp_plan_phase;

typedef struct {
    tp_plan_phase phase;
    size_t index, count;
    const char *name;
    const tp_compress_event *write;
    const char *message;
} tp_model_event;

typedef size_t (*tp_model_progress_fn)(void *ctx, const tp_model_event *e);

/* Plans every tensor of in_path (a tensor file) for the target, writes the
 * archive out_path (atomically; not on a dry run), measures fidelity and,
 * with an accuracy threshold, raises the plan until it holds. *out is
 * filled as far as the job got, also on error; a target below the
 * smallest plan fails with TP_ERR_ARG and out->smallest_bytes set. */
TP_API size_t tp_compress_model(const char *in_path, const char *out_path, const tp_model_options *opt,
                                tp_model_progress_fn progress, void *ctx, tp_model_result *out);
/* Frees the tensor list of a result (NULL-safe, idempotent). */
TP_API void tp_model_result_free(tp_model_result *r);

/* ------------------------------------------------------------------------
 * KV cache (src/runtime/, docs/KV.md): a streaming store of attention keys
 * and values in compressed form, for a decode loop. Per layer, tokens are
 * appended as they arrive and attention is computed from the stored form.
 * ---------------------------------------------------------------------- */

typedef struct tp_kv tp_kv;

/* Where a cache gets its memory: every byte it holds, its own struct
 * included, comes from alloc and goes back through release with the same
 * size, so a counting allocator sees exactly what tp_kv_stats reports. */
typedef struct {
    void *(*alloc)(void *ctx, size_t bytes);
    void (*release)(void *ctx, void *p, size_t bytes);
    void *ctx;
} tp_kv_allocator;

typedef struct {
    uint32_t n_layers, n_kv_heads, head_dim;
    tp_dtype dtype;         /* of the keys and values appended: f32/f16/bf16 */
    /* Method spec, stages joined by '|' (docs/KV.md): "f16", "q8_0",
     * "q4_0", "kivi:bits=2|4|8,group=G,residual=R", each optionally after
     * "rotate[:seed=S]|". NULL: "f16". */
    const char *method;
    uint64_t budget_bytes;  /* 0: none; else an append that would hold more
                               fails (TP_ERR_NOMEM) and stores nothing      */
    const tp_kv_allocator *allocator; /* NULL: malloc and free             */
} tp_kv_config;

/* A new empty cache. Errors: TP_ERR_ARG (sizes of zero, more than 65536
 * heads or a head_dim above 4096), TP_ERR_DTYPE, TP_ERR_SPEC /
 * TP_ERR_PARAM (the method, with the reason), TP_ERR_NOMEM. */
TP_API size_t tp_kv_create(const tp_kv_config *c, tp_kv **out);
TP_API void tp_kv_free(tp_kv *kv);
/* Appends n_tokens tokens to layer: k and v are [n_tokens][n_kv_heads]
 * [head_dim] in the config's dtype (keys as the model attends to them,
 * after RoPE). importance (n_tokens scores, or NULL) is for methods that
 * rank tokens; the quantizers ignore it. NaN or Inf: TP_ERR_NONFINITE.
 * On error nothing is appended. */
TP_API size_t tp_kv_append(tp_kv *kv, uint32_t layer, const void *k, const void *v, size_t n_tokens,
                           const float *importance);
/* Tokens layer holds. */
TP_API size_t tp_kv_tokens(const tp_kv *kv, uint32_t layer);
/* Decodes layer's tokens into k_out and v_out, f32 [tokens][n_kv_heads]
 * [head_dim] each, in the order appended. Returns the token count. */
TP_API size_t tp_kv_read(tp_kv *kv, uint32_t layer, float *k_out, float *v_out);
/* One query position against every token layer holds:
 * out[h] = softmax(q[h] K^T / sqrt(head_dim)) V for each of n_q_heads
 * query heads (a multiple of n_kv_heads; query head h reads kv head
 * h / (n_q_heads / n_kv_heads)). q and out are [n_q_heads][head_dim] f32.
 * Decodes the stored form a small tile at a time; no f32 copy of the
 * cache is made. TP_ERR_ARG on an empty layer. */
TP_API size_t tp_kv_attend(tp_kv *kv, uint32_t layer, const float *q, uint32_t n_q_heads, float *out);

typedef struct {
    uint64_t bytes;             /* held now, metadata included            */
    uint64_t f16_bytes;         /* the tokens held, as f16 keys and values */
    double ratio;               /* f16_bytes / bytes                      */
    double bits_per_element;    /* 8 x bytes / (2 x tokens x heads x dim)  */
    uint64_t tokens_appended, tokens_held, tokens_evicted; /* over layers */
    double append_seconds, read_seconds, attend_seconds;
} tp_kv_stats;

TP_API void tp_kv_stats_get(const tp_kv *kv, tp_kv_stats *s);

#ifdef __cplusplus
}
#endif
#endif /* TPRESS_H */
