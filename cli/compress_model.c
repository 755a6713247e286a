/* tpress compress through the whole-model planner (tp_compress_model):
 * presents the progress, the plan and the result. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compress_args.h"
#include "core/clock.h"
#include "plan/importance.h"

#define EXIT_ACCURACY 3
#define FAST_SAMPLE 16384
#define BALANCED_SAMPLE 65536
#define QUALITY_SAMPLE 262144

typedef struct {
    const compress_args *a;
    int tty;
    double t0;
    size_t measured;
} show_ctx;

static double now(void) { return tp_now_seconds(); }

static double mib(uint64_t b) { return (double)b / (1024.0 * 1024.0); }

/* "[#####.....] 12/40 phase  ETA 8 s" on stderr, on a terminal only. */
static void bar(show_ctx *c, const char *phase, size_t done, size_t count)
{
    if (!c->tty || !count) return;
    double el = now() - c->t0, eta = done ? el / (double)done * (double)(count - done) : 0;
    char b[21];
    size_t fill = done * 20 / count;
    for (size_t i = 0; i < 20; i++) b[i] = i < fill ? '#' : '.';
    b[20] = 0;
    fprintf(stderr, "\r[%s] %zu/%zu %s  ETA %.0f s\x1b[K", b, done, count, phase, eta);
}

static void clear_bar(const show_ctx *c)
{
    if (c->tty) fprintf(stderr, "\r\x1b[K");
}

static size_t on_event(void *arg, const tp_model_event *e)
{
    show_ctx *c = arg;
    const compress_args *a = c->a;
    switch (e->phase) {
    case TP_PLAN_MEASURE: bar(c, "curves measured", ++c->measured, e->count); break;
    case TP_PLAN_SENSITIVITY: bar(c, "tensors probed with the model", e->index + 1, e->count); break;
    case TP_PLAN_EVAL: clear_bar(c); if (c->tty) fprintf(stderr, "evaluating the model...\r"); break;
    case TP_PLAN_RETRY:
        clear_bar(c);
        if (!a->quiet && !a->json) printf("plan: %s\n", e->message);
        c->t0 = now();
        break;
    case TP_PLAN_WRITE: {
        const tp_compress_event *w = e->write;
        if (!a->quiet && !a->json) {
            char shape[96], snr[32];
            clear_bar(c);
            cli_shape_str(w->tensor.ndim, w->tensor.shape, shape, sizeof shape);
            cli_snr_str(w->metrics.snr_db, snr, sizeof snr);
            printf("[%zu/%zu] %s %s %s -> %s%s  %.2f MiB -> %.3f MiB  SNR %s dB\n", w->index + 1, w->count, w->name,
                   shape, tp_dtype_name(w->tensor.dtype), w->fallback_why ? "*" : "", w->spec,
                   mib(tp_tensor_nbytes(&w->tensor)), mib(w->frame_size), snr);
        }
        bar(c, "tensors written", w->index + 1, w->count);
        if (w->index + 1 == w->count) c->t0 = now();
        break;
    }
    }
    return 0;
}

/* "REGEX=SPEC", "REGEX=keep", "REGEX=weight:W" into r; the regex part is
 * copied into *owned. 0 or EXIT_BAD. */
static int parse_rule(const char *text, tp_plan_rule *r, char **owned)
{
    const char *eq = strchr(text, '=');
    memset(r, 0, sizeof *r);
    *owned = strndup(text, (size_t)(eq - text));
    if (!*owned) return cli_fail("out of memory");
    r->match = *owned;
    const char *v = eq + 1;
    if (!strcmp(v, "keep")) r->keep = 1;
    else if (!strncmp(v, "weight:", 7)) {
        char *end;
        r->weight = strtod(v + 7, &end);
        if (*end || end == v + 7 || !(r->weight > 0) || !isfinite(r->weight))
            return cli_fail("--rule %s: the weight must be a positive number", text);
    } else r->spec = v;
    return 0;
}

static void show_plan(const tp_model_result *res)
{
    printf("%-40s %-14s %-5s %-32s %10s %10s %9s\n", "tensor", "shape", "dtype", "planned", "MiB in", "MiB out", "pred. dB");
    for (size_t i = 0; i < res->n_tensors; i++) {
        const tp_model_tensor *t = &res->tensors[i];
        char shape[96], snr[32];
        cli_shape_str(t->ndim, t->shape, shape, sizeof shape);
        cli_snr_str(t->predicted_snr_db, snr, sizeof snr);
        printf("%-40.40s %-14s %-5s %-32.32s %10.3f %10.4f %9s\n", t->name, shape, tp_dtype_name(t->dtype), t->spec,
               mib(t->bytes_in), mib(t->predicted_bytes), snr);
    }
}

static cJSON *result_json(const compress_args *a, const tp_model_result *res, const char *ref)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "input", a->in);
    if (a->out && !a->dry_run) cJSON_AddStringToObject(o, "output", a->out);
    cJSON_AddStringToObject(o, "strategy", res->strategy);
    cJSON_AddBoolToObject(o, "dry_run", a->dry_run);
    cJSON_AddNumberToObject(o, "original_bytes", (double)res->bytes_in);
    cJSON_AddNumberToObject(o, "compressed_bytes", (double)(a->dry_run ? res->predicted_bytes : res->file_bytes));
    cJSON_AddNumberToObject(o, "predicted_bytes", (double)res->predicted_bytes);
    cJSON_AddNumberToObject(o, "smallest_bytes", (double)res->smallest_bytes);
    if (res->target_bytes) cJSON_AddNumberToObject(o, "target_bytes", (double)res->target_bytes);
    if (res->target_met >= 0) cJSON_AddBoolToObject(o, "target_met", res->target_met);
    cJSON_AddNumberToObject(o, "ratio", res->ratio);
    cJSON_AddNumberToObject(o, "bits_per_weight", res->bits_per_weight);
    cJSON_AddNumberToObject(o, "weights", (double)res->values);
    if (res->fidelity_measured) {
        cJSON *f = cJSON_AddObjectToObject(o, "fidelity");
        cJSON_AddStringToObject(f, "metric", res->fidelity_name);
        if (ref) cJSON_AddStringToObject(f, "reference", ref);
        cJSON_AddNumberToObject(f, "value", res->fidelity);
        cJSON_AddNumberToObject(f, "original", res->fidelity_reference);
    }
    if (res->accuracy_met >= 0) {
        cJSON_AddNumberToObject(o, "accuracy_threshold", a->accuracy);
        cJSON_AddBoolToObject(o, "accuracy_met", res->accuracy_met);
    }
    cJSON_AddBoolToObject(o, "mobile_compatible", res->mobile_compatible);
    cJSON_AddBoolToObject(o, "sensitivity_measured", res->sensitivity_measured);
    cJSON_AddNumberToObject(o, "rounds", (double)res->rounds);
    cJSON_AddNumberToObject(o, "fallbacks", (double)res->fallbacks);
    cJSON_AddNumberToObject(o, "seconds_plan", res->seconds_plan);
    cJSON_AddNumberToObject(o, "seconds_write", res->seconds_write);
    cJSON_AddNumberToObject(o, "seconds_eval", res->seconds_eval);
    cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)res->peak_rss_bytes);
    if (res->changes[0]) cJSON_AddStringToObject(o, "changes", res->changes);
    cJSON *ts = cJSON_AddArrayToObject(o, "tensors");
    for (size_t i = 0; i < res->n_tensors; i++) {
        const tp_model_tensor *t = &res->tensors[i];
        cJSON *j = cJSON_CreateObject();
        char shape[96];
        cli_shape_str(t->ndim, t->shape, shape, sizeof shape);
        cJSON_AddStringToObject(j, "name", t->name);
        cJSON_AddStringToObject(j, "shape", shape);
        cJSON_AddStringToObject(j, "dtype", tp_dtype_name(t->dtype));
        cJSON_AddStringToObject(j, "role", t->role);
        cJSON_AddStringToObject(j, "spec", t->spec);
        cJSON_AddNumberToObject(j, "bytes_in", (double)t->bytes_in);
        cJSON_AddNumberToObject(j, "bytes", (double)t->bytes);
        cJSON_AddNumberToObject(j, "predicted_bytes", (double)t->predicted_bytes);
        if (isfinite(t->predicted_snr_db)) cJSON_AddNumberToObject(j, "predicted_snr_db", t->predicted_snr_db);
        if (isfinite(t->snr_db)) cJSON_AddNumberToObject(j, "snr_db", t->snr_db);
        if (isfinite(t->rel_error)) cJSON_AddNumberToObject(j, "rel_error", t->rel_error);
        cJSON_AddNumberToObject(j, "weight", t->weight);
        if (t->fallback[0]) cJSON_AddStringToObject(j, "fallback", t->fallback);
        cJSON_AddItemToArray(ts, j);
    }
    return o;
}

static void show_summary(const compress_args *a, const tp_model_result *res)
{
    uint64_t bytes = a->dry_run ? res->predicted_bytes : res->file_bytes;
    printf("%s: %zu tensors, %.2f MiB -> %.3f MiB (%llu bytes, whole file%s), ratio %.2fx, %.3f bits/weight\n",
           a->dry_run ? "plan" : "total", res->n_tensors, mib(res->bytes_in), mib(bytes), (unsigned long long)bytes,
           a->dry_run ? ", predicted" : "", res->ratio, res->bits_per_weight);
    if (res->target_bytes)
        printf("target: %llu bytes, %s (%.2f %% of it)\n", (unsigned long long)res->target_bytes,
               res->target_met ? "met" : "missed", 100.0 * (double)bytes / (double)res->target_bytes);
    if (res->fidelity_measured)
        printf("fidelity (%s): %.6f (original %.6f)\n", res->fidelity_name, res->fidelity, res->fidelity_reference);
    if (res->accuracy_met >= 0)
        printf("accuracy threshold %g: %s\n", a->accuracy, res->accuracy_met ? "met" : "MISSED");
    if (!strcmp(res->strategy, "mobile")) printf("mobile_compatible: %s\n", res->mobile_compatible ? "yes" : "no");
    if (res->fallbacks) printf("* %zu tensor(s) taken by the lossless fallback\n", res->fallbacks);
    printf("time: plan %.1f s, write %.1f s, eval %.1f s; peak RSS %.0f MiB; written %zu time(s)%s\n",
           res->seconds_plan, res->seconds_write, res->seconds_eval, mib(res->peak_rss_bytes), res->rounds,
           res->sensitivity_measured ? "; sensitivity measured" : "");
}

int compress_model_run(const compress_args *a)
{
    if (!a->in || (!a->out && !a->dry_run)) { fputs(compress_help, stderr); return EXIT_BAD; }
    if (a->out && !a->dry_run && !a->force && cli_exists(a->out)) return cli_fail("%s exists (use --force to overwrite)", a->out);
    tp_model_options mo = {.strategy = a->strategy, .target_bytes = a->target_mb * 1e6, .target_bpw = a->target_bpw,
                           .target_ratio = a->target_ratio, .min_snr_db = a->has_min_snr ? a->min_snr : 0,
                           .max_rel_error = a->max_error, .threads = a->has_threads ? (int)a->threads : 0,
                           .quantize_1d = a->quantize_1d, .dry_run = a->dry_run, .no_benchmark = a->no_benchmark,
                           .probe_spec = a->probe, .allow_requantize = a->allow_requantize, .check_accuracy = a->has_accuracy, .accuracy_threshold = a->accuracy};
    if (a->has_min_snr && a->min_snr == 0) return cli_fail("--min-snr 0: give a bound other than 0 dB");
    int quality = a->preset && !strcmp(a->preset, "quality");
    mo.sample_values = a->sample ? (size_t)a->sample
                     : !a->preset || !strcmp(a->preset, "balanced") ? BALANCED_SAMPLE
                     : quality ? QUALITY_SAMPLE : FAST_SAMPLE;

    /* the model-level metric, when tpress can run the model */
    const char *ref = a->ref ? a->ref : tp_eval_model_kind(a->in) ? a->in : NULL;
    tp_eval_metric_spec ms = {0};
    char tbuf[4096];
    if (ref) {
        int kind = tp_eval_model_kind(ref);
        if (!kind) return cli_fail("--ref %s: neither a GGUF nor MiniLM weights with vocab.txt beside them", ref);
        ms.ref_path = ref;
        ms.text_path = a->text ? a->text : cli_data_path(kind == 2 ? "eval_text.txt" : "eval_sentences.txt", tbuf, sizeof tbuf);
        ms.max_tokens = (size_t)a->max_tokens;
        mo.metric = tp_eval_model_metric;
        mo.metric_user = &ms;
        mo.metric_higher_is_better = kind == 1;
    }
    int measure = a->sensitivity ? !strcmp(a->sensitivity, "measure") : quality && ref;
    if (measure && !ref) return cli_fail("--sensitivity measure needs a model tpress can run (--ref)");
    mo.measure_sensitivity = measure;

    tp_plan_rule rules[COMPRESS_MAX_RULES];
    char *owned[COMPRESS_MAX_RULES] = {0};
    int rc = 0;
    for (size_t i = 0; i < a->n_rules && !rc; i++) rc = parse_rule(a->rules[i], &rules[i], &owned[i]);
    mo.rules = rules;
    mo.n_rules = a->n_rules;

    tp_importance imp = {0};
    if (!rc && a->importance) {
        tp_tensor_file *f;
        tp_tensor_file_open_options fo = {.allow_requantize = a->allow_requantize};
        size_t r = tp_tensor_file_open_ex(a->in, &fo, &f);
        if (tp_is_error(r)) rc = cli_fail_result(a->in, r);
        else {
            r = tp_importance_load(a->importance, f, &imp);
            tp_tensor_file_close(f);
            if (tp_is_error(r)) rc = cli_fail("--importance %s", tp_last_error_detail());
            mo.col_importance = (const float *const *)imp.per_tensor;
            mo.n_cols = imp.n_cols;
        }
    }
    if (rc) {
        for (size_t i = 0; i < a->n_rules; i++) free(owned[i]);
        return rc;
    }

    show_ctx c = {.a = a, .tty = isatty(STDERR_FILENO) && !a->quiet, .t0 = now()};
    tp_model_result res;
    size_t r = tp_compress_model(a->in, a->dry_run ? NULL : a->out, &mo, on_event, &c, &res);
    tp_eval_metric_spec_release(&ms);
    clear_bar(&c);
    for (size_t i = 0; i < a->n_rules; i++) free(owned[i]);
    tp_importance_free(&imp);
    if (tp_is_error(r)) {
        fprintf(stderr, "tpress: %s: %s: %s\n", a->in, tp_error_name(r), tp_last_error_detail());
        tp_model_result_free(&res);
        return EXIT_BAD;
    }
    if (a->json) {
        rc = cli_json_print(result_json(a, &res, ref));
    } else if (!a->quiet) {
        if (a->dry_run) show_plan(&res);
        if (res.changes[0]) printf("changes:\n%s", res.changes);
        show_summary(a, &res);
    }
    if (!rc && res.accuracy_met == 0) {
        fprintf(stderr, "tpress: the accuracy threshold %g was not reached (fidelity %.6g); %s is the best plan found\n",
                a->accuracy, res.fidelity, a->out);
        rc = EXIT_ACCURACY;
    }
    tp_model_result_free(&res);
    return rc;
}
