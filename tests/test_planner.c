/* The whole-model planner (src/plan/): the allocation, the predicted
 * bytes against written archives, targets, the dual, strategies, rules,
 * the accuracy fallback, dry runs and interrupted runs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format/archive_size.h"
#include "harness.h"
#include "plan/plan.h"

/* ---- the allocation on made-up curves --------------------------------- */

static void make_curve(tp_rd_curve *c, double weight, uint64_t base, double sse0)
{
    memset(c, 0, sizeof *c);
    c->n = 5;
    c->weight = weight;
    c->energy = 1;
    for (size_t k = 0; k < c->n; k++) {
        c->pts[k].bytes = base * (k + 1);
        c->pts[k].sse = k + 1 < c->n ? sse0 / (double)(1u << (2 * k)) : 0;
    }
}

static double planned_distortion(const tp_rd_curve *c, size_t n, uint64_t *bytes)
{
    double d = 0;
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        d += c[i].weight * c[i].pts[c[i].chosen].sse;
        *bytes += c[i].pts[c[i].chosen].bytes;
    }
    return d;
}

/* Every combination of points, for the optimum at a budget. */
static double brute_force(const tp_rd_curve *c, size_t n, uint64_t budget)
{
    double best = INFINITY;
    size_t combos = 1;
    for (size_t i = 0; i < n; i++) combos *= c[i].n;
    for (size_t code = 0; code < combos; code++) {
        size_t rest = code;
        uint64_t bytes = 0;
        double d = 0;
        for (size_t i = 0; i < n; i++) {
            size_t k = rest % c[i].n;
            rest /= c[i].n;
            bytes += c[i].pts[k].bytes;
            d += c[i].weight * c[i].pts[k].sse;
        }
        if (bytes <= budget && d < best) best = d;
    }
    return best;
}

TEST(planner_allocation_meets_budget_and_is_near_optimal)
{
    tp_rd_curve c[4];
    make_curve(&c[0], 1, 100, 10);
    make_curve(&c[1], 8, 300, 10);
    make_curve(&c[2], 0.5, 50, 40);
    make_curve(&c[3], 2, 200, 5);
    uint64_t total, smallest, bytes;
    double last = INFINITY;
    for (uint64_t budget = 650; budget <= 3250; budget += 37) {
        CHECK_OK(tp_allocate_budget(c, 4, 0, budget, &total, &smallest));
        double d = planned_distortion(c, 4, &bytes);
        CHECK(bytes == total && total <= budget);
        CHECK(d <= last); /* more bytes never plan worse */
        last = d;
        /* greedy fill after the Lagrangian is not always optimal: within
         * the error of one step of the coarsest curve */
        double opt = brute_force(c, 4, budget);
        CHECK(d <= opt * (1 + 1e-9));
    }
    CHECK(smallest == 650);
    CHECK_ERR(tp_allocate_budget(c, 4, 10, 655, &total, &smallest), TP_ERR_ARG);
    CHECK(smallest == 660);
}

TEST(planner_bound_takes_the_cheapest_point_meeting_it)
{
    tp_rd_curve c;
    make_curve(&c, 1, 100, 0.1); /* SNR 10, 16, 22, 28 dB, then exact */
    tp_allocate_bound(&c, 1, 15, 0);
    CHECK(c.chosen == 1);
    tp_allocate_bound(&c, 1, 40, 0);
    CHECK(c.chosen == 4);
    tp_allocate_bound(&c, 1, 0, 0.2); /* relative L2 0.2: sse <= 0.04 */
    CHECK(c.chosen == 1);
}

/* ---- a small model on disk -------------------------------------------- */

#define NT 5
static const char *const model_names[NT] = {"embed.weight", "layer.0.w", "layer.0.norm", "layer.1.w", "ids"};

#define MODEL_METADATA "{\"format\":\"pt\",\"source\":\"test\"}"

static const char *write_model(void)
{
    static float emb[512 * 64], w0[256 * 256], norm[256], w1[128 * 512];
    static int32_t ids[300];
    th_gaussian(emb, 512 * 64, 11);
    th_gaussian(w0, 256 * 256, 12);
    th_gaussian(norm, 256, 13);
    th_gaussian(w1, 128 * 512, 14);
    for (int i = 0; i < 128 * 512; i++) w1[i] *= 0.02f; /* another scale */
    for (int i = 0; i < 300; i++) ids[i] = i;
    tp_tensor t[NT] = {{TP_F32, 2, {512, 64}, emb}, {TP_F32, 2, {256, 256}, w0}, {TP_F32, 1, {256}, norm},
                       {TP_F32, 2, {128, 512}, w1}, {TP_I32, 1, {300}, ids}};
    const char *path = th_tmp_path(".safetensors");
    tp_tensor_writer *w;
    if (tp_is_error(tp_tensor_writer_open_meta(path, model_names, t, NT, MODEL_METADATA, &w))) return NULL;
    for (size_t i = 0; i < NT; i++)
        if (tp_is_error(tp_tensor_writer_put(w, i, t[i].data, tp_tensor_nbytes(&t[i])))) return NULL;
    return tp_is_error(tp_tensor_writer_finish(w)) ? NULL : path;
}

static uint64_t file_size(const char *path)
{
    size_t n = 0;
    unsigned char *b = th_read_file(path, &n);
    free(b);
    return b ? n : 0;
}

TEST(planner_predicts_archive_bytes_exactly_for_fixed_rate_codecs)
{
    const char *in = write_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    tp_model_result res;
    tp_plan_rule rules[1] = {{.match = "\\.w$|embed", .spec = "kq:bits=3"}};
    tp_model_options o = {.rules = rules, .n_rules = 1, .threads = 1, .sample_values = 4096};
    CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &res));
    /* the lossless tensors are small enough to be measured whole */
    CHECK(res.file_bytes == res.predicted_bytes);
    CHECK(res.file_bytes == file_size(out));
    uint64_t sum = tp_archive_fixed_bytes(strlen(MODEL_METADATA));
    for (size_t i = 0; i < res.n_tensors; i++) sum += res.tensors[i].bytes;
    CHECK(sum == res.file_bytes);
    tp_archive *a;
    CHECK_OK(tp_archive_open(out, &a));
    CHECK(tp_archive_metadata(a) && !strcmp(tp_archive_metadata(a), MODEL_METADATA));
    tp_archive_close(a);
    CHECK(!strncmp(res.tensors[1].spec, "kq:bits=3", 9) && !strncmp(res.tensors[2].spec, "lossless", 8));
    CHECK(!strncmp(res.tensors[4].spec, "lossless", 8));
    tp_model_result_free(&res);
    unlink(out);
    unlink(in);
}

/* 32 matrices at different scales: curves fine enough for a 1 % target. */
static const char *write_wide_model(void)
{
    enum { N = 32, R = 64, C = 256 };
    static float data[N][R * C];
    static char name_buf[N][24];
    const char *names[N];
    tp_tensor t[N];
    for (int i = 0; i < N; i++) {
        th_gaussian(data[i], R * C, 100 + i);
        for (int k = 0; k < R * C; k++) data[i][k] *= 0.01f * (float)(1 + i % 7);
        snprintf(name_buf[i], sizeof name_buf[i], "blk.%d.w", i);
        names[i] = name_buf[i];
        t[i] = (tp_tensor){TP_F32, 2, {R, C}, data[i]};
    }
    const char *path = th_tmp_path(".safetensors");
    tp_tensor_writer *w;
    if (tp_is_error(tp_tensor_writer_open(path, names, t, N, &w))) return NULL;
    for (int i = 0; i < N; i++)
        if (tp_is_error(tp_tensor_writer_put(w, (size_t)i, data[i], sizeof data[i]))) return NULL;
    return tp_is_error(tp_tensor_writer_finish(w)) ? NULL : path;
}

TEST(planner_meets_size_targets_within_one_percent)
{
    const char *in = write_wide_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    tp_model_result res;
    double last_fidelity = -1;
    const double share[3] = {0.08, 0.125, 0.25};
    for (int k = 0; k < 3; k++) {
        tp_model_options o = {.threads = 2, .target_bytes = floor(share[k] * 32 * 64 * 256 * 4)};
        CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &res));
        CHECK(res.target_met == 1 && res.file_bytes <= (uint64_t)o.target_bytes);
        CHECK((double)res.file_bytes >= 0.99 * o.target_bytes);
        CHECK(res.file_bytes == file_size(out));
        CHECK(res.fidelity_measured && res.fidelity > last_fidelity);
        last_fidelity = res.fidelity;
        tp_model_result_free(&res);
    }
    /* bits per weight and ratio are the same target in other units */
    tp_model_options b = {.target_bpw = 3};
    CHECK_OK(tp_compress_model(in, out, &b, NULL, NULL, &res));
    CHECK(res.bits_per_weight <= 3 && res.bits_per_weight >= 0.99 * 3);
    tp_model_result_free(&res);
    tp_model_options r = {.target_ratio = 6};
    CHECK_OK(tp_compress_model(in, out, &r, NULL, NULL, &res));
    CHECK(res.ratio >= 6 && res.ratio <= 6 / 0.99);
    tp_model_result_free(&res);
    unlink(out);
    unlink(in);
}

TEST(planner_reports_impossible_targets_and_bad_options)
{
    const char *in = write_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    tp_model_result res;
    tp_model_options o = {.target_bytes = 2000};
    CHECK_ERR(tp_compress_model(in, out, &o, NULL, NULL, &res), TP_ERR_ARG);
    CHECK(res.smallest_bytes > 2000 && res.smallest_bytes < res.bytes_in / 8);
    CHECK(access(out, F_OK) != 0);
    tp_model_result_free(&res);
    /* the smallest plan itself is reachable */
    o.target_bytes = (double)res.smallest_bytes;
    CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &res));
    CHECK(res.file_bytes <= (uint64_t)o.target_bytes);
    tp_model_result_free(&res);
    tp_model_options two = {.target_bytes = 1e6, .target_bpw = 4};
    CHECK_ERR(tp_compress_model(in, out, &two, NULL, NULL, &res), TP_ERR_ARG);
    tp_model_options strat = {.strategy = "tiny"};
    CHECK_ERR(tp_compress_model(in, out, &strat, NULL, NULL, &res), TP_ERR_PARAM);
    tp_plan_rule bad_re[1] = {{.match = "([", .keep = 1}};
    tp_model_options re = {.rules = bad_re, .n_rules = 1};
    CHECK_ERR(tp_compress_model(in, out, &re, NULL, NULL, &res), TP_ERR_ARG);
    tp_plan_rule bad_spec[1] = {{.match = "w", .spec = "int:bits=99"}};
    tp_model_options sp = {.rules = bad_spec, .n_rules = 1};
    CHECK(tp_is_error(tp_compress_model(in, out, &sp, NULL, NULL, &res)));
    tp_model_options sens = {.measure_sensitivity = 1};
    CHECK_ERR(tp_compress_model(in, out, &sens, NULL, NULL, &res), TP_ERR_ARG);
    tp_model_result_free(&res);
    unlink(out);
    unlink(in);
}

TEST(planner_dry_run_writes_nothing)
{
    const char *in = write_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    tp_model_result res;
    tp_model_options o = {.dry_run = 1, .target_ratio = 5};
    CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &res));
    CHECK(access(out, F_OK) != 0 && res.rounds == 0 && res.file_bytes == 0);
    CHECK(res.predicted_bytes > 0 && res.predicted_bytes <= res.bytes_in / 5);
    CHECK(isnan(res.tensors[1].snr_db) && res.tensors[1].predicted_snr_db > 0);
    tp_model_result_free(&res);
    unlink(in);
}

static size_t stop_at_third(void *ctx, const tp_model_event *e)
{
    (void)ctx;
    return e->phase == TP_PLAN_WRITE && e->index == 2 ? (size_t)0 - (size_t)TP_ERR_GENERIC : 0;
}

TEST(planner_interrupted_write_leaves_no_output)
{
    const char *in = write_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    tp_model_result res;
    tp_model_options o = {.target_ratio = 4, .threads = 1};
    CHECK(tp_is_error(tp_compress_model(in, out, &o, stop_at_third, NULL, &res)));
    CHECK(access(out, F_OK) != 0);
    tp_model_result_free(&res);
    unlink(in);
}

TEST(planner_strategies_round_trip)
{
    const char *in = write_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    const char *strategies[] = {"auto", "simple", "mobile", "advanced"};
    for (size_t s = 0; s < 4; s++) {
        tp_model_result res;
        tp_model_options o = {.strategy = strategies[s], .sample_values = 8192};
        CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &res));
        tp_archive *a;
        CHECK_OK(tp_archive_open(out, &a));
        CHECK(tp_archive_count(a) == NT);
        for (size_t i = 0; i < NT; i++) {
            const tp_archive_entry *e = tp_archive_entry_at(a, i);
            void *buf = malloc(e->raw_size);
            CHECK(buf && tp_archive_decode(a, i, buf, e->raw_size) == e->raw_size);
            free(buf);
        }
        tp_archive_close(a);
        CHECK(!strcmp(res.strategy, strategies[s]));
        if (s == 1) /* simple: BitNet ternary or lossless only */
            for (size_t i = 0; i < NT; i++)
                CHECK(!strncmp(res.tensors[i].spec, "ternary", 7) || !strncmp(res.tensors[i].spec, "lossless", 8));
        if (s == 2) CHECK(res.mobile_compatible == 1 && res.target_bytes == 100000000u);
        tp_model_result_free(&res);
    }
    unlink(out);
    unlink(in);
}

TEST(planner_accuracy_threshold_raises_the_plan)
{
    const char *in = write_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    tp_model_result res;
    /* simple puts every matrix at ternary (cosine ~0.9); asking for 0.99
     * must move tensors to lossless until the lowest cosine holds */
    tp_model_options o = {.strategy = "simple", .check_accuracy = 1, .accuracy_threshold = 0.99};
    CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &res));
    CHECK(res.accuracy_met == 1 && res.fidelity >= 0.99 && res.rounds > 1);
    CHECK(strstr(res.changes, "raised:") != NULL);
    tp_model_result_free(&res);
    unlink(out);
    unlink(in);
}

/* A metric that only the tensor "layer.1.w" moves: with measured
 * sensitivity the plan must spend more on it than role weights do. */
static size_t toy_metric(void *user, tp_tensor_fetch_fn fetch, void *fu, double *metric)
{
    const char *in = user;
    tp_tensor_file *f;
    size_t r = tp_tensor_file_open(in, &f);
    if (tp_is_error(r)) return r;
    tp_tensor ref, got;
    r = tp_tensor_file_get(f, 3, &ref);
    if (!tp_is_error(r)) r = fetch(fu, "layer.1.w", &got);
    if (!tp_is_error(r)) {
        tp_metrics m;
        r = tp_metrics_compute(ref.data, ref.dtype, got.data, got.dtype, 128 * 512, &m);
        *metric = m.cosine;
    }
    tp_tensor_file_close(f);
    return tp_is_error(r) ? r : 0;
}

TEST(planner_measured_sensitivity_follows_the_metric)
{
    const char *in = write_model(), *out = th_tmp_path(".tpz");
    CHECK(in);
    tp_model_result role, meas;
    tp_model_options o = {.target_ratio = 8, .metric = toy_metric, .metric_user = (void *)in,
                          .metric_higher_is_better = 1};
    CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &role));
    o.measure_sensitivity = 1;
    CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &meas));
    CHECK(meas.sensitivity_measured && meas.fidelity_measured);
    CHECK(meas.tensors[3].bytes > role.tensors[3].bytes);
    CHECK(meas.fidelity > role.fidelity);
    tp_model_result_free(&role);
    tp_model_result_free(&meas);
    unlink(out);
    unlink(in);
}

MODEL_TEST(planner_minilm_targets_within_one_percent)
{
    const char *in = th_model_path("TP_MINILM", "scripts/minilm_path.sh"), *out = th_tmp_path(".tpz");
    CHECK(in);
    const double share[2] = {0.25, 0.08};
    for (int k = 0; k < 2; k++) {
        tp_model_result res;
        tp_model_options o = {.no_benchmark = 1, .sample_values = 16384};
        tp_model_options d = {.dry_run = 1, .target_ratio = 1.5, .sample_values = 16384};
        CHECK_OK(tp_compress_model(in, NULL, &d, NULL, NULL, &res));
        o.target_bytes = floor(share[k] * (double)res.bytes_in);
        tp_model_result_free(&res);
        CHECK_OK(tp_compress_model(in, out, &o, NULL, NULL, &res));
        CHECK(res.file_bytes <= (uint64_t)o.target_bytes && (double)res.file_bytes >= 0.99 * o.target_bytes);
        CHECK(res.file_bytes == file_size(out));
        tp_model_result_free(&res);
    }
    unlink(out);
}
