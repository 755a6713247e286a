/* tpress compress IN -o OUT.tpz [--codec SPEC] [--importance FILE] [--threads N] [--json] */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "plan/importance.h"

static const char help[] =
    "usage: tpress compress IN -o OUT.tpz [options]\n"
    "\n"
    "Compresses every tensor of IN (.npy or .safetensors) through a pipeline\n"
    "into a .tpz archive, decodes each one again and reports the measured error.\n"
    "With a lossy pipeline, integer tensors, tensors with NaN/Inf, and 1-D\n"
    "tensors (norms, biases: few bytes, much sensitivity) use the lossless\n"
    "fallback (" TP_LOSSLESS_SPEC "); the table marks them with '*'.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   output archive (required)\n"
    "  -c, --codec SPEC    pipeline spec (default \"" TP_DEFAULT_SPEC "\"), e.g.\n"
    "                      \"int:bits=4,group=32|zstd\"; see `tpress codecs`;\n"
    "                      \"auto\": measure each tensor and pick the pipeline with\n"
    "                      the fewest estimated bits at --min-snr (tp_choose_pipeline)\n"
    "      --min-snr DB    error bound of --codec auto (default 30)\n"
    "  -v, --verbose       with --codec auto: print each tensor's measurements\n"
    "      --quantize-1d   put 1-D tensors through the lossy pipeline too\n"
    "      --importance FILE  per-column importance (an \"imatrix\") for the\n"
    "                      weighted fits of kmeans, kq and int search=1: the\n"
    "                      error of column c counts imp[c] times. FILE is\n"
    "                      .safetensors (f32 1-D vectors named as the weights,\n"
    "                      length = their last dimension; weights without one\n"
    "                      are fitted unweighted) or .npy (one f32 vector, for\n"
    "                      every 2-D+ tensor with that many columns); see\n"
    "                      docs/CODECS.md \"Importance\" for how to make one\n"
    "  -t, --threads N     encode N tensors at a time (default: all cores)\n"
    "      --layers \"S0;S1;...\"  progressive archive instead of --codec: layer 0\n"
    "                      is S0 applied to each tensor, layer k is Sk applied to\n"
    "                      what layers 0..k-1 left (up to 16 layers); all base\n"
    "                      layers come first in the file, so a partial download\n"
    "                      already gives the model (tp_compress_progressive; read\n"
    "                      with `tpress decompress --layers K`); tensors go one at\n"
    "                      a time, --threads then works inside each tensor\n"
    "  -f, --force         overwrite OUT if it exists\n"
    "      --json          print the report as JSON instead of a table\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this help\n";

typedef struct {
    int json, quiet, verbose;
    cJSON *rows;
    int name_w; /* width of the name column */
} compress_ctx;

static size_t show_tensor(void *arg, const tp_compress_event *r)
{
    compress_ctx *c = arg;
    uint64_t raw = (uint64_t)tp_tensor_nbytes(&r->tensor), numel = raw / tp_dtype_size(r->tensor.dtype);
    double bpv = numel ? 8.0 * (double)r->frame_size / (double)numel : 0.0;
    char shape[96], snr[32];
    cli_shape_str(r->tensor.ndim, r->tensor.shape, shape, sizeof shape);
    cli_snr_str(r->metrics.snr_db, snr, sizeof snr);
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddStringToObject(o, "shape", shape);
        cJSON_AddStringToObject(o, "dtype", tp_dtype_name(r->tensor.dtype));
        cJSON_AddStringToObject(o, "spec", r->spec);
        if (r->fallback_why) cJSON_AddStringToObject(o, "fallback", r->fallback_why);
        cJSON_AddNumberToObject(o, "bytes_in", (double)raw);
        cJSON_AddNumberToObject(o, "bytes_out", (double)r->frame_size);
        cJSON_AddNumberToObject(o, "ratio", r->frame_size ? (double)raw / (double)r->frame_size : 0);
        cJSON_AddNumberToObject(o, "bits_per_value", bpv);
        if (r->choice) {
            const tp_choice_report *w = r->choice;
            cJSON *ch = cJSON_AddObjectToObject(o, "choice");
            cJSON_AddNumberToObject(ch, "zero_fraction", w->zero_fraction);
            cJSON_AddNumberToObject(ch, "variance", w->variance);
            cJSON_AddNumberToObject(ch, "kurtosis", w->kurtosis);
            cJSON_AddNumberToObject(ch, "rank90", w->rank90);
            cJSON_AddNumberToObject(ch, "rank99", w->rank99);
            cJSON_AddStringToObject(ch, "reason", w->reason);
            if (w->chosen >= 0) {
                cJSON_AddNumberToObject(ch, "est_bits", w->candidates[w->chosen].bits);
                if (isfinite(w->candidates[w->chosen].snr_db)) cJSON_AddNumberToObject(ch, "est_snr_db", w->candidates[w->chosen].snr_db);
            }
        }
        if (isfinite(r->metrics.snr_db)) cJSON_AddNumberToObject(o, "snr_db", r->metrics.snr_db);
        else cJSON_AddStringToObject(o, "snr_db", snr);
        cJSON_AddNumberToObject(o, "max_abs_error", isfinite(r->metrics.max_abs) ? r->metrics.max_abs : -1);
        cJSON_AddItemToArray(c->rows, o);
    } else if (!c->quiet) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s%s", r->fallback_why ? "*" : "", r->spec);
        printf("%-*.*s %-14s %-5s %-26.26s %10llu %10zu %7.2f %6.2f %8s\n", c->name_w, c->name_w, r->name, shape,
               tp_dtype_name(r->tensor.dtype), spec, (unsigned long long)raw, r->frame_size,
               r->frame_size ? (double)raw / (double)r->frame_size : 0.0, bpv, snr);
        if (c->verbose && r->choice) {
            const tp_choice_report *w = r->choice;
            printf("    auto: %s\n    auto: chose %s; candidates:", w->reason, r->spec);
            for (size_t i = 0; i < w->n_candidates; i++)
                printf("%s %s (%.2f b, %.1f dB)", i ? ";" : "", w->candidates[i].spec, w->candidates[i].bits, w->candidates[i].snr_db);
            printf("\n");
        }
        if (isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO))
            fprintf(stderr, "\r[%zu/%zu] %s\x1b[K", r->index + 1, r->count, r->name);
    }
    return 0;
}

int cmd_compress(int argc, char **argv)
{
    const char *in = NULL, *spec = TP_DEFAULT_SPEC, *v;
    cli_out_opts o = {0};
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    int json = 0, verbose = 0, quantize_1d = 0, k;
    const char *min_snr = NULL, *importance = NULL, *layers = NULL, *layer_specs[TP_ARCHIVE_MAX_LAYERS];
    char layer_buf[4096];
    size_t n_layers = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) { fputs(help, stdout); return 0; }
        if ((k = cli_out_opt(argc, argv, &i, &o))) { if (k < 0) return EXIT_BAD; }
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = 1;
        else if (!strcmp(a, "--quantize-1d")) quantize_1d = 1;
        else if ((k = cli_opt(argc, argv, &i, "--min-snr", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            char *end;
            double d = strtod(v, &end);
            if (*end || end == v || !(d >= -100 && d <= 200)) return cli_fail("--min-snr: '%s' is not a number of dB in -100..200", v);
            min_snr = v;
        }
        else if ((k = cli_opt(argc, argv, &i, "--layers", &v))) {
            if (k < 0 || cli_split_layers(v, layer_buf, sizeof layer_buf, layer_specs, &n_layers)) return k < 0 ? cli_fail("%s needs a value", a) : EXIT_BAD;
            layers = v;
        }
        else if ((k = cli_opt(argc, argv, &i, "--importance", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            importance = v;
        }
        else if ((k = cli_opt(argc, argv, &i, "-c", &v)) || (k = cli_opt(argc, argv, &i, "--codec", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            spec = v;
        } else if ((k = cli_opt(argc, argv, &i, "-t", &v)) || (k = cli_opt(argc, argv, &i, "--threads", &v))) {
            if (k < 0 || !cli_int("--threads", v, 1, 64, &threads)) return k < 0 ? cli_fail("%s needs a value", a) : EXIT_BAD;
        } else if (a[0] == '-' && a[1]) return cli_fail("compress: unknown option '%s' (see tpress compress --help)", a);
        else if (!in) in = a;
        else return cli_fail("compress: unexpected argument '%s'", a);
    }
    const char *out = o.out;
    int quiet = o.quiet;
    if (!in || !out) { fputs(help, stderr); return EXIT_BAD; }
    if (threads < 1) threads = 1;
    if (layers && strcmp(spec, TP_DEFAULT_SPEC)) return cli_fail("--layers replaces --codec: give one of them");
    if (!o.force && cli_exists(out)) return cli_fail("%s exists (use --force to overwrite)", out);

    tp_compress_options opt = {.spec = spec, .min_snr_db = min_snr ? strtod(min_snr, NULL) : 30.0,
                               .threads = (int)threads, .quantize_1d = quantize_1d};
    size_t r;
    if (strcmp(spec, "auto")) {
        if (min_snr) return cli_fail("--min-snr needs --codec auto");
        tp_pipeline *check;
        r = tp_pipeline_parse(spec, &check);
        if (tp_is_error(r)) return cli_fail_result("--codec", r);
        tp_pipeline_free(check);
    }

    /* Opened here too for the table's name column and the importance
     * file's check against the tensors. */
    tp_tensor_file *f;
    r = tp_tensor_file_open(in, &f);
    if (tp_is_error(r)) return cli_fail_result(in, r);
    tp_importance imp = {0};
    if (importance) {
        r = tp_importance_load(importance, f, &imp);
        if (tp_is_error(r)) { tp_tensor_file_close(f); return cli_fail("--importance %s", tp_last_error_detail()); }
        opt.col_importance = (const float *const *)imp.per_tensor;
        opt.n_cols = imp.n_cols;
    }
    compress_ctx c = {.json = json, .quiet = quiet, .verbose = verbose};
    size_t n_total = tp_tensor_file_count(f);
    c.name_w = 6;
    for (size_t i = 0; i < n_total; i++) {
        int w = (int)strlen(tp_tensor_file_name(f, i));
        if (w > c.name_w) c.name_w = w < 64 ? w : 64;
    }
    tp_tensor_file_close(f);
    if (json) c.rows = cJSON_CreateArray();
    else if (!quiet)
        printf("%-*s %-14s %-5s %-26s %10s %10s %7s %6s %8s\n", c.name_w, "tensor", "shape", "dtype", "codec", "bytes in",
               "bytes out", "ratio", "bits", "SNR dB");
    tp_compress_summary sum;
    r = layers ? tp_compress_progressive(in, out, layer_specs, n_layers, &opt, show_tensor, &c, &sum)
               : tp_compress_file(in, out, &opt, show_tensor, &c, &sum);
    if (!json && !quiet && isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO)) fprintf(stderr, "\r\x1b[K");
    tp_importance_free(&imp);
    if (tp_is_error(r)) {
        cJSON_Delete(c.rows);
        fprintf(stderr, "tpress: %s: %s: %s\n", in, tp_error_name(r), tp_last_error_detail());
        return EXIT_BAD;
    }

    uint64_t file_size = sum.file_bytes;
    double ratio = file_size ? (double)sum.bytes_in / (double)file_size : 0.0;
    double bpv = sum.values ? 8.0 * (double)file_size / (double)sum.values : 0.0;
    double mean_snr = sum.mean_snr_db;
    if (json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "input", in);
        cJSON_AddStringToObject(root, "output", out);
        cJSON_AddStringToObject(root, "spec", layers ? layers : spec);
        cJSON_AddItemToObject(root, "tensors", c.rows);
        cJSON *t = cJSON_AddObjectToObject(root, "total");
        cJSON_AddNumberToObject(t, "tensors", (double)sum.tensors);
        cJSON_AddNumberToObject(t, "bytes_in", (double)sum.bytes_in);
        cJSON_AddNumberToObject(t, "file_bytes", (double)file_size);
        cJSON_AddNumberToObject(t, "ratio", ratio);
        cJSON_AddNumberToObject(t, "bits_per_value", bpv);
        if (isfinite(mean_snr)) cJSON_AddNumberToObject(t, "mean_snr_db", mean_snr);
        cJSON_AddNumberToObject(t, "fallbacks", (double)sum.fallbacks);
        cli_json_print(root);
    } else if (!quiet) {
        char a[32], b[32], snr[32];
        cli_bytes_str(sum.bytes_in, a, sizeof a);
        cli_bytes_str(file_size, b, sizeof b);
        cli_snr_str(mean_snr, snr, sizeof snr);
        printf("total: %zu tensors, %s -> %s (whole file, index included), ratio %.2fx, %.3f bits/value, mean SNR %s dB\n",
               sum.tensors, a, b, ratio, bpv, snr);
        if (sum.fallbacks)
            printf("* %zu tensor(s) stored losslessly (%s): integer, NaN/Inf, or 1-D (norms and biases; "
                   "--quantize-1d to quantize them too)\n", sum.fallbacks, TP_LOSSLESS_SPEC);
    }
    return 0;
}
