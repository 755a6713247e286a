/* tp_compress_model: a whole model to a size or fidelity target. Measure
 * every tensor's curve, optionally weight each by what the model metric
 * says it costs, allocate, write through the compress job, check the
 * written bytes and the fidelity, and raise the plan when the check asks
 * for it. Every number in the result is measured on the written file,
 * except on a dry run, where bytes and errors are the plan's predictions. */
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/parallel.h"
#include "format/archive_size.h"
#include "plan/plan.h"

#define DEFAULT_SAMPLE_VALUES 65536
#define DEFAULT_PROBE_SPEC "kq:bits=2"
#define DEFAULT_MOBILE_TARGET 100e6
#define DEFAULT_AUTO_SNR_DB 30.0
#define MAX_ROUNDS 6
/* A measured tensor whose probe did not move the metric still gets a
 * weight, this share of the median, so that spare bytes still go to it. */
#define WEIGHT_FLOOR_SHARE 1e-3

typedef struct {
    const tp_model_options *opt;
    tp_model_options defaults;
    const tp_tensor_file *f;
    size_t n;
    tp_rd_curve *curves;
    tp_model_result *res;
    regex_t *rules;
    size_t n_rules;
    tp_model_progress_fn progress;
    void *ctx;
    pthread_mutex_t mu;
    size_t measured;
} planner;

static size_t report(planner *P, tp_plan_phase phase, size_t index, const char *name, const char *message)
{
    if (!P->progress) return 0;
    tp_model_event e = {.phase = phase, .index = index, .count = P->n, .name = name, .message = message};
    return P->progress(P->ctx, &e);
}

static const tp_plan_rule *rule_for(const planner *P, const char *name)
{
    for (size_t r = 0; r < P->n_rules; r++)
        if (!regexec(&P->rules[r], name, 0, NULL, 0)) return &P->opt->rules[r];
    return NULL;
}

static size_t measure_item(void *arg, size_t i, int worker)
{
    (void)worker;
    planner *P = arg;
    const tp_model_options *o = P->opt;
    const char *name = tp_tensor_file_name(P->f, i);
    tp_tensor t;
    TP_TRY(tp_tensor_file_get(P->f, i, &t));
    tp_model_tensor *mt = &P->res->tensors[i];
    snprintf(mt->name, sizeof mt->name, "%s", name);
    mt->dtype = t.dtype;
    mt->ndim = t.ndim;
    memcpy(mt->shape, t.shape, sizeof mt->shape);
    double weight;
    snprintf(mt->role, sizeof mt->role, "%s", tp_tensor_role(name, &t, &weight));
    const tp_plan_rule *rule = rule_for(P, name);
    if (rule && rule->weight > 0) weight = rule->weight;

    static const char *const lossless_only[] = {TP_LOSSLESS_SPEC, NULL};
    const char *ruled[2] = {NULL, NULL};
    const char *const *specs = tp_strategy_candidates(o->strategy, t.dtype);
    if ((rule && rule->keep) || !tp_dtype_is_float(t.dtype) || (t.ndim <= 1 && !o->quantize_1d)) specs = lossless_only;
    else if (rule && rule->spec) { ruled[0] = rule->spec; specs = ruled; }

    const float *imp = o->col_importance ? o->col_importance[i] : NULL;
    uint64_t n_cols = imp ? o->n_cols[i] : 0;
    tp_rd_curve *c = &P->curves[i];
    size_t r = tp_rd_measure(name, &t, specs, o->sample_values, imp, n_cols, c);
    if (tp_error_code(r) == TP_ERR_UNSUPPORTED && specs != lossless_only) {
        snprintf(mt->fallback, sizeof mt->fallback, "%s", tp_last_error_detail());
        r = tp_rd_measure(name, &t, lossless_only, o->sample_values, NULL, 0, c);
    }
    tp_tensor_file_release(P->f, i);
    if (tp_is_error(r)) return r;
    /* error relative to the tensor's own energy: a tensor's scale says
     * nothing about how much of the output its error reaches */
    c->weight = c->energy > 0 ? weight * (double)c->numel / c->energy : weight;
    mt->weight = c->weight;
    mt->bytes_in = c->bytes_in;

    pthread_mutex_lock(&P->mu);
    r = report(P, TP_PLAN_MEASURE, P->measured++, name, NULL);
    pthread_mutex_unlock(&P->mu);
    return r;
}

/* A decoder without an output head reads its logits through the token
 * embedding: that tensor is the head. */
static void tie_embeddings(planner *P)
{
    size_t emb = P->n;
    for (size_t i = 0; i < P->n; i++) {
        if (!strcmp(P->res->tensors[i].role, "head")) return;
        if (tp_tensor_is_decoder_embedding(P->res->tensors[i].name)) emb = i;
    }
    if (emb == P->n || (P->curves[emb].energy <= 0)) return;
    tp_model_tensor *mt = &P->res->tensors[emb];
    const tp_plan_rule *rule = rule_for(P, mt->name);
    if (rule && rule->weight > 0) return;
    snprintf(mt->role, sizeof mt->role, "tied head");
    P->curves[emb].weight = tp_tied_head_weight() * (double)P->curves[emb].numel / P->curves[emb].energy;
    mt->weight = P->curves[emb].weight;
}

/* ---- the model metric, with candidate weights from memory ------------- */

typedef struct {
    const tp_tensor_file *f;
    const char *replaced;    /* name served from decoded, or NULL           */
    tp_tensor decoded;
    const tp_archive *archive; /* else: every tensor decoded from here     */
    void *buf;
} fetcher;

static size_t fetch_tensor(void *user, const char *name, tp_tensor *t)
{
    fetcher *F = user;
    if (F->archive) {
        size_t i = tp_archive_find(F->archive, name);
        if (tp_is_error(i)) return i;
        const tp_archive_entry *e = tp_archive_entry_at(F->archive, i);
        free(F->buf);
        F->buf = malloc(e->raw_size ? e->raw_size : 1);
        if (!F->buf) return tp_fail(TP_ERR_NOMEM, "decoding '%s'", name);
        TP_TRY(tp_archive_decode(F->archive, i, F->buf, e->raw_size));
        *t = (tp_tensor){.dtype = e->dtype, .ndim = e->ndim, .data = F->buf};
        memcpy(t->shape, e->shape, sizeof t->shape);
        return 0;
    }
    if (F->replaced && !strcmp(name, F->replaced)) { *t = F->decoded; return 0; }
    for (size_t i = 0, n = tp_tensor_file_count(F->f); i < n; i++)
        if (!strcmp(tp_tensor_file_name(F->f, i), name)) return tp_tensor_file_get(F->f, i, t);
    return tp_fail(TP_ERR_NOT_FOUND, "no tensor '%s'", name);
}

static double damage(const planner *P, double metric, double reference)
{
    return P->opt->metric_higher_is_better ? reference - metric : metric - reference;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Weights each planned tensor by the metric's change when it alone is
 * quantized at the probe spec, per unit of its squared error: the plan
 * then minimises the predicted model-level damage. */
static size_t measure_sensitivity(planner *P)
{
    const tp_model_options *o = P->opt;
    const char *probe = o->probe_spec ? o->probe_spec : DEFAULT_PROBE_SPEC;
    tp_pipeline *p;
    TP_TRY(tp_pipeline_parse(probe, &p));
    fetcher F = {.f = P->f};
    double reference;
    size_t r = o->metric(o->metric_user, fetch_tensor, &F, &reference);
    P->res->fidelity_reference = reference;
    double *w = calloc(P->n, sizeof *w);
    size_t n_w = 0;
    if (!w) r = tp_fail(TP_ERR_NOMEM, "sensitivity weights");
    for (size_t i = 0; i < P->n && !tp_is_error(r); i++) {
        if (P->curves[i].n < 2) continue;
        tp_tensor t;
        void *frame = NULL;
        r = tp_tensor_file_get(P->f, i, &t);
        int got = !tp_is_error(r);
        size_t fs = tp_is_error(r) ? r : tp_frame_encode_alloc(p, &t, NULL, &frame);
        size_t nb = tp_tensor_nbytes(&t);
        void *dec = tp_is_error(fs) ? NULL : malloc(nb ? nb : 1);
        tp_metrics m;
        double metric = reference;
        if (tp_is_error(fs)) r = 0; /* the probe cannot take it: keep the role weight */
        else if (!dec) r = tp_fail(TP_ERR_NOMEM, "probe of '%s'", P->res->tensors[i].name);
        else if (!tp_is_error(r = tp_frame_decode(frame, fs, dec, nb)) &&
                 !tp_is_error(r = tp_metrics_compute(t.data, t.dtype, dec, t.dtype, P->curves[i].numel, &m))) {
            F.replaced = P->res->tensors[i].name;
            F.decoded = t;
            F.decoded.data = dec;
            r = o->metric(o->metric_user, fetch_tensor, &F, &metric);
            F.replaced = NULL;
            double sse = m.mse * (double)m.count;
            if (!tp_is_error(r) && sse > 0) {
                P->curves[i].weight = fmax(damage(P, metric, reference), 0) / sse;
                w[n_w++] = P->curves[i].weight;
            }
        }
        free(frame);
        free(dec);
        if (got) tp_tensor_file_release(P->f, i);
        if (!tp_is_error(r)) r = report(P, TP_PLAN_SENSITIVITY, i, P->res->tensors[i].name, NULL);
    }
    tp_pipeline_free(p);
    if (!tp_is_error(r) && n_w) {
        qsort(w, n_w, sizeof *w, by_double);
        double floor = WEIGHT_FLOOR_SHARE * w[n_w / 2];
        for (size_t i = 0; i < P->n; i++) {
            if (P->curves[i].n >= 2 && P->curves[i].weight < floor) P->curves[i].weight = floor;
            P->res->tensors[i].weight = P->curves[i].weight;
        }
        P->res->sensitivity_measured = 1;
    }
    free(w);
    return r;
}

/* ---- targets and plans ------------------------------------------------ */

static size_t count_targets(const tp_model_options *o)
{
    return (o->target_bytes > 0) + (o->target_bpw > 0) + (o->target_ratio > 0) + (o->min_snr_db != 0) +
           (o->max_rel_error > 0);
}

/* The size target in bytes, 0 for none. */
static int is_mobile(const tp_model_options *o) { return o->strategy && !strcmp(o->strategy, "mobile"); }

static uint64_t size_target(const planner *P)
{
    const tp_model_options *o = P->opt;
    if (o->target_bytes > 0) return (uint64_t)o->target_bytes;
    if (o->target_bpw > 0) return (uint64_t)floor(o->target_bpw * (double)P->res->values / 8);
    if (o->target_ratio > 0) return (uint64_t)floor((double)P->res->bytes_in / o->target_ratio);
    if (is_mobile(o) && !o->min_snr_db && !(o->max_rel_error > 0))
        return (uint64_t)DEFAULT_MOBILE_TARGET;
    return 0;
}

static size_t plan(planner *P, uint64_t budget)
{
    const tp_model_options *o = P->opt;
    const char *meta = tp_tensor_file_metadata(P->f);
    const uint64_t fixed = tp_archive_fixed_bytes(meta ? strlen(meta) : 0);
    uint64_t total = fixed, smallest = 0;
    size_t r = 0;
    if (budget) {
        r = tp_allocate_budget(P->curves, P->n, fixed, budget, &total, &smallest);
        P->res->smallest_bytes = smallest;
    } else {
        int dual = o->min_snr_db != 0 || o->max_rel_error > 0;
        int cheapest = !dual && o->strategy && strcmp(o->strategy, "auto");
        if (cheapest)
            for (size_t i = 0; i < P->n; i++) P->curves[i].chosen = 0;
        else tp_allocate_bound(P->curves, P->n, dual ? o->min_snr_db : DEFAULT_AUTO_SNR_DB, o->max_rel_error);
        smallest = fixed;
        for (size_t i = 0; i < P->n; i++) {
            total += P->curves[i].pts[P->curves[i].chosen].bytes;
            smallest += P->curves[i].pts[0].bytes;
        }
        P->res->smallest_bytes = smallest;
    }
    if (tp_is_error(r)) return r;
    P->res->predicted_bytes = total;
    for (size_t i = 0; i < P->n; i++) {
        const tp_rd_curve *c = &P->curves[i];
        const tp_rd_point *pt = &c->pts[c->chosen];
        tp_model_tensor *mt = &P->res->tensors[i];
        snprintf(mt->spec, sizeof mt->spec, "%s", pt->spec);
        mt->predicted_bytes = mt->bytes = pt->bytes;
        mt->predicted_snr_db = pt->sse > 0 ? 10 * log10(c->energy / pt->sse) : INFINITY;
        mt->snr_db = mt->rel_error = NAN;
    }
    return 0;
}

/* ---- writing and checking --------------------------------------------- */

static size_t on_written(void *arg, const tp_compress_event *e)
{
    planner *P = arg;
    tp_model_tensor *mt = &P->res->tensors[e->index];
    mt->bytes = tp_archive_tensor_bytes(e->frame_size, e->name, e->spec, e->tensor.ndim);
    mt->snr_db = e->metrics.snr_db;
    mt->rel_error = e->metrics.rel_l2;
    if (e->fallback_why) snprintf(mt->fallback, sizeof mt->fallback, "%s", e->fallback_why);
    if (!P->progress) return 0;
    tp_model_event ev = {.phase = TP_PLAN_WRITE, .index = e->index, .count = e->count, .name = e->name, .write = e};
    return P->progress(P->ctx, &ev);
}

static size_t write_plan(planner *P, const char *in_path, const char *out_path)
{
    const tp_model_options *o = P->opt;
    const char **specs = malloc(P->n * sizeof *specs);
    if (!specs) return tp_fail(TP_ERR_NOMEM, "plan specs");
    for (size_t i = 0; i < P->n; i++) specs[i] = P->res->tensors[i].spec;
    tp_compress_options co = {.specs = specs, .threads = o->threads, .quantize_1d = 1, .fallback_on_error = 1,
                              .col_importance = o->col_importance, .n_cols = o->n_cols,
                              .allow_requantize = o->allow_requantize};
    tp_compress_summary sum;
    double t0 = tp_now_seconds();
    size_t r = tp_compress_file(in_path, out_path, &co, on_written, P, &sum);
    P->res->seconds_write += tp_now_seconds() - t0;
    free(specs);
    if (tp_is_error(r)) return r;
    P->res->rounds++;
    P->res->file_bytes = sum.file_bytes;
    P->res->fallbacks = sum.fallbacks;
    return 0;
}

static size_t measure_fidelity(planner *P, const char *out_path)
{
    tp_model_result *res = P->res;
    const tp_model_options *o = P->opt;
    if (!o->metric) {
        snprintf(res->fidelity_name, sizeof res->fidelity_name, "min tensor cosine");
        res->fidelity = 1;
        res->fidelity_reference = 1;
        tp_archive *a;
        TP_TRY(tp_archive_open(out_path, &a));
        for (size_t i = 0; i < tp_archive_count(a); i++) {
            double c = tp_archive_entry_at(a, i)->metrics.cosine;
            if (c < res->fidelity) res->fidelity = c;
        }
        tp_archive_close(a);
        res->fidelity_measured = 1;
        return 0;
    }
    snprintf(res->fidelity_name, sizeof res->fidelity_name, "model metric");
    TP_TRY(report(P, TP_PLAN_EVAL, 0, NULL, NULL));
    double t0 = tp_now_seconds();
    if (!res->sensitivity_measured) {
        fetcher F = {.f = P->f};
        TP_TRY(o->metric(o->metric_user, fetch_tensor, &F, &res->fidelity_reference));
    }
    tp_archive *a;
    TP_TRY(tp_archive_open(out_path, &a));
    fetcher F = {.archive = a};
    size_t r = o->metric(o->metric_user, fetch_tensor, &F, &res->fidelity);
    free(F.buf);
    tp_archive_close(a);
    res->seconds_eval += tp_now_seconds() - t0;
    if (!tp_is_error(r)) res->fidelity_measured = 1;
    return r;
}

static int accuracy_holds(const planner *P)
{
    const tp_model_options *o = P->opt;
    int higher = o->metric ? o->metric_higher_is_better : 1;
    return higher ? P->res->fidelity >= o->accuracy_threshold : P->res->fidelity <= o->accuracy_threshold;
}

static void add_change(tp_model_result *res, const char *line)
{
    size_t used = strlen(res->changes);
    if (used + strlen(line) + 2 < sizeof res->changes) snprintf(res->changes + used, sizeof res->changes - used, "%s\n", line);
}

/* Without a size target: the tensors that carry half of the predicted
 * damage go one point up their curves. Returns how many moved. */
static size_t raise_plan(planner *P, char *msg, size_t cap)
{
    double *d = malloc(P->n * sizeof *d), total = 0;
    if (!d) return 0;
    for (size_t i = 0; i < P->n; i++) {
        const tp_rd_curve *c = &P->curves[i];
        d[i] = c->chosen + 1 < c->n ? c->weight * c->pts[c->chosen].sse : 0;
        total += d[i];
    }
    size_t moved = 0;
    double covered = 0;
    int len = snprintf(msg, cap, "raised:");
    while (total > 0 && covered < 0.5 * total) {
        size_t best = 0;
        for (size_t i = 1; i < P->n; i++)
            if (d[i] > d[best]) best = i;
        if (d[best] <= 0) break;
        covered += d[best];
        d[best] = 0;
        tp_rd_curve *c = &P->curves[best];
        const char *from = c->pts[c->chosen].spec;
        c->chosen++;
        if (len > 0 && (size_t)len < cap)
            len += snprintf(msg + len, cap - (size_t)len, "%s %s: %s -> %s", moved ? ";" : "",
                            P->res->tensors[best].name, from, c->pts[c->chosen].spec);
        moved++;
    }
    free(d);
    return moved;
}

static void finish_result(planner *P, uint64_t target)
{
    tp_model_result *res = P->res;
    uint64_t bytes = res->file_bytes ? res->file_bytes : res->predicted_bytes;
    res->ratio = bytes ? (double)res->bytes_in / (double)bytes : 0;
    res->bits_per_weight = res->values ? 8.0 * (double)bytes / (double)res->values : 0;
    res->target_bytes = target;
    res->target_met = target ? bytes <= target : -1;
    res->mobile_compatible = is_mobile(P->opt) && target && bytes <= target;
    struct rusage ru;
    if (!getrusage(RUSAGE_SELF, &ru)) res->peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024u;
}

/* Writes the plan, and writes again while the file is over the target
 * (a variable-rate stage came out larger than its sample said) or the
 * accuracy check asks for more. */
static size_t write_and_check(planner *P, const char *in_path, const char *out_path, uint64_t target)
{
    const tp_model_options *o = P->opt;
    tp_model_result *res = P->res;
    uint64_t budget = target;
    char msg[1024];
    for (;;) {
        TP_TRY(write_plan(P, in_path, out_path));
        if (target && res->file_bytes > target && res->rounds < MAX_ROUNDS) {
            uint64_t over = res->file_bytes - target;
            budget = budget > over + target / 1000 ? budget - over - target / 1000 : 0;
            snprintf(msg, sizeof msg, "%llu bytes over the target: planned again for %llu",
                     (unsigned long long)over, (unsigned long long)budget);
            add_change(res, msg);
            TP_TRY(report(P, TP_PLAN_RETRY, 0, NULL, msg));
            TP_TRY(plan(P, budget));
            continue;
        }
        if (o->no_benchmark) return 0;
        TP_TRY(measure_fidelity(P, out_path));
        if (!o->check_accuracy) return 0;
        res->accuracy_met = accuracy_holds(P);
        if (res->accuracy_met || res->rounds >= MAX_ROUNDS) return 0;
        if (target) {
            /* the size is fixed: only a better split of it can help */
            if (!o->metric || res->sensitivity_measured) return 0;
            snprintf(msg, sizeof msg, "fidelity %.6g misses %.6g: sensitivity measured, bytes reallocated",
                     res->fidelity, o->accuracy_threshold);
            TP_TRY(report(P, TP_PLAN_RETRY, 0, NULL, msg));
            TP_TRY(measure_sensitivity(P));
            TP_TRY(plan(P, budget));
            add_change(res, msg);
            continue;
        }
        if (!raise_plan(P, msg, sizeof msg)) return 0;
        add_change(res, msg);
        TP_TRY(report(P, TP_PLAN_RETRY, 0, NULL, msg));
        for (size_t i = 0; i < P->n; i++) {
            const tp_rd_point *pt = &P->curves[i].pts[P->curves[i].chosen];
            snprintf(res->tensors[i].spec, sizeof res->tensors[i].spec, "%s", pt->spec);
        }
    }
}

static size_t compile_rules(planner *P)
{
    const tp_model_options *o = P->opt;
    if (!o->n_rules) return 0;
    if (!o->rules) return tp_fail(TP_ERR_ARG, "NULL rules");
    P->rules = calloc(o->n_rules, sizeof *P->rules);
    if (!P->rules) return tp_fail(TP_ERR_NOMEM, "rules");
    for (; P->n_rules < o->n_rules; P->n_rules++) {
        const tp_plan_rule *r = &o->rules[P->n_rules];
        if (!r->match) return tp_fail(TP_ERR_ARG, "rule %zu has no match", P->n_rules + 1);
        if (!!r->spec + !!r->keep != 1 && !(r->weight > 0 && !r->spec && !r->keep))
            return tp_fail(TP_ERR_ARG, "rule '%s': give a spec, keep or a weight", r->match);
        if (r->spec) {
            tp_pipeline *p;
            TP_TRY(tp_pipeline_parse(r->spec, &p));
            tp_pipeline_free(p);
        }
        int e = regcomp(&P->rules[P->n_rules], r->match, REG_EXTENDED | REG_NOSUB);
        if (e) {
            char why[128];
            regerror(e, &P->rules[P->n_rules], why, sizeof why);
            return tp_fail(TP_ERR_ARG, "rule '%s': %s", r->match, why);
        }
    }
    return 0;
}

static size_t check_options(const tp_model_options *o)
{
    if (!tp_strategy_candidates(o->strategy, TP_F32))
        return tp_fail(TP_ERR_PARAM, "unknown strategy '%s' (auto, simple, mobile, advanced)", o->strategy);
    if (count_targets(o) > 1) return tp_fail(TP_ERR_ARG, "give at most one target (bytes, bpw, ratio, SNR or error)");
    if (o->target_bytes < 0 || o->target_bpw < 0 || o->target_ratio < 0 || o->max_rel_error < 0 ||
        !isfinite(o->target_bytes + o->target_bpw + o->target_ratio + o->min_snr_db + o->max_rel_error))
        return tp_fail(TP_ERR_ARG, "targets must be finite and not negative");
    if (o->measure_sensitivity && !o->metric) return tp_fail(TP_ERR_ARG, "measuring sensitivity needs a model metric");
    if (o->check_accuracy && !isfinite(o->accuracy_threshold)) return tp_fail(TP_ERR_ARG, "accuracy threshold must be a number");
    if (o->n_cols && !o->col_importance) return tp_fail(TP_ERR_ARG, "n_cols without col_importance");
    return 0;
}

size_t tp_compress_model(const char *in_path, const char *out_path, const tp_model_options *opt,
                         tp_model_progress_fn progress, void *ctx, tp_model_result *res)
{
    if (!res) return tp_fail(TP_ERR_ARG, "NULL result");
    memset(res, 0, sizeof *res);
    res->accuracy_met = -1;
    res->target_met = -1;
    planner P;
    memset(&P, 0, sizeof P);
    if (opt) P.defaults = *opt;
    P.opt = &P.defaults;
    if (!P.defaults.sample_values) P.defaults.sample_values = DEFAULT_SAMPLE_VALUES;
    const tp_model_options *o = P.opt;
    if (!in_path || (!out_path && !o->dry_run)) return tp_fail(TP_ERR_ARG, "NULL input or output path");
    TP_TRY(check_options(o));
    snprintf(res->strategy, sizeof res->strategy, "%s", o->strategy ? o->strategy : "auto");
    P.res = res;
    P.progress = progress;
    P.ctx = ctx;
    double t0 = tp_now_seconds();
    tp_tensor_file *f = NULL;
    size_t r = compile_rules(&P);
    tp_tensor_file_open_options fo = {.allow_requantize = o->allow_requantize};
    if (!tp_is_error(r)) r = tp_tensor_file_open_ex(in_path, &fo, &f);
    if (!tp_is_error(r)) {
        P.f = f;
        P.n = tp_tensor_file_count(f);
        P.curves = calloc(P.n ? P.n : 1, sizeof *P.curves);
        res->tensors = calloc(P.n ? P.n : 1, sizeof *res->tensors);
        if (!P.curves || !res->tensors) r = tp_fail(TP_ERR_NOMEM, "plan of %zu tensors", P.n);
        else res->n_tensors = P.n;
    }
    for (size_t i = 0; i < P.n && !tp_is_error(r); i++) {
        tp_tensor t;
        r = tp_tensor_file_desc(f, i, &t);
        if (tp_is_error(r)) break;
        uint64_t numel = 0;
        tp_tensor_numel(&t, &numel);
        res->bytes_in += tp_tensor_nbytes(&t);
        res->values += numel;
    }
    pthread_mutex_init(&P.mu, NULL);
    if (!tp_is_error(r)) r = tp_parallel_for(P.n, tp_threads_for(o->threads, P.n), measure_item, &P);
    if (!tp_is_error(r)) tie_embeddings(&P);
    if (!tp_is_error(r) && o->measure_sensitivity) r = measure_sensitivity(&P);
    uint64_t target = tp_is_error(r) ? 0 : size_target(&P);
    if (!tp_is_error(r)) r = plan(&P, target);
    res->seconds_plan = tp_now_seconds() - t0;
    if (!tp_is_error(r) && !o->dry_run) r = write_and_check(&P, in_path, out_path, target);
    finish_result(&P, target);
    pthread_mutex_destroy(&P.mu);
    for (size_t i = 0; i < P.n_rules; i++) regfree(&P.rules[i]);
    free(P.rules);
    free(P.curves);
    if (f) tp_tensor_file_close(f);
    return tp_is_error(r) ? r : 0;
}

void tp_model_result_free(tp_model_result *r)
{
    if (!r) return;
    free(r->tensors);
    r->tensors = NULL;
    r->n_tensors = 0;
}
