/* The compress job: every tensor of a source through a pipeline on N
 * threads, frames written in source order (the archive is the same for any
 * thread count; memory stays O(threads x the largest tensor)). Each frame is
 * decoded again and compared with its input, so every reported error is
 * measured, not estimated. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "tpress.h"

#define MAX_THREADS 64
#define DEFAULT_MIN_SNR_DB 30.0

/* Where the tensors come from: a tensor file or a caller's list. */
typedef struct {
    size_t n;
    const tp_tensor_file *file;
    const char *const *names;
    const tp_tensor *tensors;
} source;

static const char *source_name(const source *s, size_t i) { return s->file ? tp_tensor_file_name(s->file, i) : s->names[i]; }

/* The f32 working copy a codec makes of tensor i: what admitting it into
 * the job costs in memory. */
static uint64_t source_work_bytes(const source *s, size_t i)
{
    tp_tensor t;
    if (s->file ? tp_tensor_file_desc(s->file, i, &t) : (t = s->tensors[i], 0)) return 0;
    uint64_t numel = 0;
    tp_tensor_numel(&t, &numel);
    return numel * sizeof(float);
}

static size_t source_get(const source *s, size_t i, tp_tensor *t)
{
    if (s->file) return tp_tensor_file_get(s->file, i, t);
    *t = s->tensors[i];
    return 0;
}

typedef struct {
    size_t index;
    const char *name;
    tp_tensor tensor;
    void *frame;
    size_t frame_size;
    tp_metrics metrics;
    const char *spec, *fallback_why;
    int chosen;
    int got; /* the tensor was got from the file: release it when done */
    tp_choice_report choice;
    char spec_buf[160];
    char why_buf[320];
} tensor_result;

typedef struct {
    const source *src;
    tp_compress_options opt;
    tp_pipeline *pipe, *fallback; /* pipe is NULL for a per-tensor choice */
    tp_archive_writer *w;
    tp_compress_progress_fn progress;
    void *ctx;
    tp_compress_summary sum;
    double snr_sum;
    size_t snr_n;
    size_t next_job, next_write;
    uint64_t in_flight;     /* work bytes of the tensors being encoded     */
    int threads;            /* the job's worker count                      */
    size_t error;
    char error_detail[600];
    pthread_mutex_t mu;
    pthread_cond_t turn;
} job;

static size_t encode_one(job *J, size_t i, tensor_result *res)
{
    memset(res, 0, sizeof *res);
    res->index = i;
    res->name = source_name(J->src, i);
    TP_TRY(source_get(J->src, i, &res->tensor));
    res->got = 1;
    res->spec = J->opt.spec;
    tp_pipeline *p = J->pipe, *chosen = NULL;
    size_t r;
    if (J->opt.specs && J->opt.specs[i]) {
        res->spec = J->opt.specs[i];
        TP_TRY(tp_pipeline_parse(res->spec, &chosen));
        p = chosen;
    } else if (!p) {
        TP_TRY(tp_choose_pipeline(&res->tensor, J->opt.min_snr_db, res->spec_buf, sizeof res->spec_buf, &res->choice));
        TP_TRY(tp_pipeline_parse(res->spec_buf, &chosen));
        res->chosen = 1;
        res->spec = res->spec_buf;
        p = chosen;
    }
    if (tp_pipeline_is_lossy(p)) {
        /* llama.cpp keeps norms and biases in full precision too: they are a
         * sliver of the bytes and a large share of the model's sensitivity. */
        if (!tp_dtype_is_float(res->tensor.dtype) && !J->opt.lossy_integers) res->fallback_why = "integer tensor";
        else if (res->tensor.ndim <= 1 && !J->opt.quantize_1d) res->fallback_why = "1-D tensor (norm/bias) kept lossless";
        if (res->fallback_why) p = J->fallback;
    }
    tp_encode_options eo = {0};
    if (J->opt.col_importance && p != J->fallback) {
        eo.col_importance = J->opt.col_importance[i];
        eo.n_cols = J->opt.n_cols[i];
    }
    r = tp_frame_encode_alloc(p, &res->tensor, &eo, &res->frame);
    int nonfinite = tp_error_code(r) == TP_ERR_NONFINITE;
    if (tp_is_error(r) && p != J->fallback && (nonfinite || (J->opt.fallback_on_error && tp_error_code(r) != TP_ERR_NOMEM))) {
        /* A codec that cannot take this tensor costs the tensor its
         * compression, not the model its output. */
        if (nonfinite) res->fallback_why = "NaN/Inf values";
        else {
            snprintf(res->why_buf, sizeof res->why_buf, "%s failed: %s", res->spec, tp_last_error_detail());
            res->fallback_why = res->why_buf;
        }
        p = J->fallback;
        r = tp_frame_encode_alloc(p, &res->tensor, NULL, &res->frame);
    }
    tp_pipeline_free(chosen);
    if (tp_is_error(r)) return r;
    if (p == J->fallback) res->spec = TP_LOSSLESS_SPEC;
    res->frame_size = r;
    return tp_frame_measure(res->frame, r, &res->tensor, &res->metrics);
}

/* Adds a finished tensor to the archive and the totals, then reports it. */
static size_t write_one(job *J, const tensor_result *res)
{
    TP_TRY(tp_archive_writer_add(J->w, res->name, res->frame, res->frame_size, &res->metrics));
    uint64_t raw = (uint64_t)tp_tensor_nbytes(&res->tensor);
    J->sum.tensors++;
    J->sum.bytes_in += raw;
    J->sum.values += raw / tp_dtype_size(res->tensor.dtype);
    if (res->fallback_why) J->sum.fallbacks++;
    if (isfinite(res->metrics.snr_db)) { J->snr_sum += res->metrics.snr_db; J->snr_n++; }
    if (!J->progress) return 0;
    tp_compress_event e = {.index = res->index, .count = J->src->n, .name = res->name, .tensor = res->tensor,
                           .frame_size = res->frame_size, .metrics = res->metrics, .spec = res->spec,
                           .fallback_why = res->fallback_why, .choice = res->chosen ? &res->choice : NULL};
    return J->progress(J->ctx, &e);
}

/* Tensors are encoded at once only while their working copies fit
 * JOB_MEMORY_BYTES together, so peak memory follows the largest tensor, not
 * the thread count. A tensor too large to share that room with another is
 * encoded alone, with the codec's own threads (tp_threads_set is per
 * thread, and its work split does not change the bytes written). */
#define JOB_MEMORY_BYTES ((uint64_t)256 << 20)

static void *worker(void *arg)
{
    job *J = arg;
    for (;;) {
        /* Admitted in index order, so every tensor before one that waits
         * for room is already being encoded and can be written. */
        pthread_mutex_lock(&J->mu);
        uint64_t need = 0;
        while (J->next_job < J->src->n && !J->error) {
            need = source_work_bytes(J->src, J->next_job);
            if (!J->in_flight || J->in_flight + need <= JOB_MEMORY_BYTES) break;
            pthread_cond_wait(&J->turn, &J->mu);
        }
        size_t i = J->next_job++;
        int stop = i >= J->src->n || J->error;
        if (stop) need = 0;
        J->in_flight += need;
        pthread_mutex_unlock(&J->mu);
        if (stop) return NULL;
        tp_threads_set(need > JOB_MEMORY_BYTES / 2 ? J->threads : 1);

        tensor_result res;
        size_t r = encode_one(J, i, &res);
        char detail[600];
        if (tp_is_error(r)) snprintf(detail, sizeof detail, "tensor '%s': %s", res.name ? res.name : "?", tp_last_error_detail());

        pthread_mutex_lock(&J->mu);
        while (J->next_write != i && !J->error) pthread_cond_wait(&J->turn, &J->mu);
        if (!J->error) {
            if (!tp_is_error(r)) {
                r = write_one(J, &res);
                if (tp_is_error(r)) snprintf(detail, sizeof detail, "%s", tp_last_error_detail());
            }
            if (tp_is_error(r)) {
                J->error = r;
                memcpy(J->error_detail, detail, sizeof detail);
            }
            J->next_write++;
        }
        J->in_flight -= need;
        pthread_cond_broadcast(&J->turn);
        pthread_mutex_unlock(&J->mu);
        free(res.frame);
        if (res.got && J->src->file) tp_tensor_file_release(J->src->file, i);
    }
}

static int thread_count(int asked)
{
    long n = asked > 0 ? asked : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static size_t run(const source *src, const char *out_path, const tp_compress_options *opt,
                  tp_compress_progress_fn progress, void *ctx, tp_compress_summary *sum)
{
    job J;
    memset(&J, 0, sizeof J);
    J.src = src;
    if (opt) J.opt = *opt;
    if (!J.opt.spec) J.opt.spec = TP_DEFAULT_SPEC;
    if (J.opt.min_snr_db == 0) J.opt.min_snr_db = DEFAULT_MIN_SNR_DB;
    J.progress = progress;
    J.ctx = ctx;
    if (!out_path) return tp_fail(TP_ERR_ARG, "NULL output path");
    size_t r = strcmp(J.opt.spec, "auto") ? tp_pipeline_parse(J.opt.spec, &J.pipe) : 0;
    if (!tp_is_error(r)) r = tp_pipeline_parse(TP_LOSSLESS_SPEC, &J.fallback);
    if (!tp_is_error(r)) r = tp_archive_writer_open(out_path, &J.w);
    const char *meta = src->file ? tp_tensor_file_metadata(src->file) : NULL;
    if (!tp_is_error(r) && meta) r = tp_archive_writer_set_metadata(J.w, meta);
    if (tp_is_error(r)) {
        if (J.w) tp_archive_writer_abort(J.w);
        tp_pipeline_free(J.pipe);
        tp_pipeline_free(J.fallback);
        return r;
    }
    pthread_mutex_init(&J.mu, NULL);
    pthread_cond_init(&J.turn, NULL);
    pthread_t tid[MAX_THREADS];
    int started = 0, want = thread_count(J.opt.threads);
    J.threads = want;
    for (; started < want; started++)
        if (pthread_create(&tid[started], NULL, worker, &J)) break;
    if (started == 0) worker(&J);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&J.mu);
    pthread_cond_destroy(&J.turn);
    tp_pipeline_free(J.pipe);
    tp_pipeline_free(J.fallback);
    if (J.error) {
        tp_archive_writer_abort(J.w);
        return tp_fail(tp_error_code(J.error), "%s", J.error_detail);
    }
    TP_TRY(tp_archive_writer_finish(J.w));
    struct stat st;
    if (stat(out_path, &st)) return tp_fail(TP_ERR_IO, "%s vanished after it was written", out_path);
    J.sum.file_bytes = (uint64_t)st.st_size;
    J.sum.mean_snr_db = J.snr_n ? J.snr_sum / (double)J.snr_n : INFINITY;
    if (sum) *sum = J.sum;
    return 0;
}

size_t tp_compress_file(const char *in_path, const char *out_path, const tp_compress_options *opt,
                        tp_compress_progress_fn progress, void *ctx, tp_compress_summary *sum)
{
    tp_tensor_file *f;
    tp_tensor_file_open_options fo = {.allow_requantize = opt ? opt->allow_requantize : 0};
    TP_TRY(tp_tensor_file_open_ex(in_path, &fo, &f));
    source src = {.n = tp_tensor_file_count(f), .file = f};
    size_t r = run(&src, out_path, opt, progress, ctx, sum);
    tp_tensor_file_close(f);
    return r;
}

size_t tp_compress_tensors(size_t n, const char *const *names, const tp_tensor *tensors, const char *out_path,
                           const tp_compress_options *opt, tp_compress_progress_fn progress, void *ctx,
                           tp_compress_summary *sum)
{
    if (n && (!names || !tensors)) return tp_fail(TP_ERR_ARG, "NULL tensor names or tensors");
    for (size_t i = 0; i < n; i++)
        if (!names[i]) return tp_fail(TP_ERR_ARG, "tensor %zu has no name", i);
    source src = {.n = n, .names = names, .tensors = tensors};
    return run(&src, out_path, opt, progress, ctx, sum);
}
