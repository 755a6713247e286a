/* tpress compress IN -o OUT.tpz [--codec SPEC] [--importance FILE] [--threads N] [--json] */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "compress_args.h"
#include "plan/importance.h"

const char compress_help[] =
    "usage: tpress compress IN -o OUT.tpz [options]\n"
    "\n"
    "Compresses every tensor of IN (.npy, .safetensors, a sharded model's\n"
    "model.safetensors.index.json or its directory, a GGUF) into a .tpz archive,\n"
    "decodes each one again and reports the measured error. Two ways:\n"
    "\n"
    "One pipeline for every tensor (--codec, the default): integer tensors,\n"
    "tensors with NaN/Inf, and 1-D tensors (norms, biases: few bytes, much\n"
    "sensitivity) use the lossless fallback (" TP_LOSSLESS_SPEC "); the table marks\n"
    "them with '*'.\n"
    "\n"
    "The whole-model planner (any of --strategy, a target, --rule,\n"
    "--accuracy-threshold, --dry-run): measures each tensor's rate-distortion\n"
    "curve on a row sample, then spends the byte budget where it lowers the\n"
    "weighted error most (docs/STRATEGIES.md).\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   output archive (required)\n"
    "  -c, --codec SPEC    pipeline spec (default \"" TP_DEFAULT_SPEC "\"), e.g.\n"
    "                      \"int:bits=4,group=32|zstd\"; see `tpress codecs`;\n"
    "                      \"auto\": measure each tensor and pick the pipeline with\n"
    "                      the fewest estimated bits at --min-snr (tp_choose_pipeline)\n"
    "      --min-snr DB    --codec auto: its error bound (default 30); planner:\n"
    "                      the smallest plan with every lossy tensor at DB or more\n"
    "  -v, --verbose       with --codec auto: print each tensor's measurements\n"
    "      --layers \"S0;S1;...\"  progressive archive instead of --codec: layer 0\n"
    "                      is S0 applied to each tensor, layer k is Sk applied to\n"
    "                      what layers 0..k-1 left (up to 16 layers); all base\n"
    "                      layers come first in the file, so a partial download\n"
    "                      already gives the model (tp_compress_progressive; read\n"
    "                      with `tpress decompress --layers K`); tensors go one at\n"
    "                      a time, --threads then works inside each tensor\n"
    "      --quantize-1d   put 1-D tensors through the lossy pipeline too\n"
    "      --allow-requantize  read a GGUF's quantized tensors dequantized to\n"
    "                      f32 (otherwise refused: quantizing twice adds both\n"
    "                      errors)\n"
    "      --importance FILE  per-column importance (an \"imatrix\") for the\n"
    "                      weighted fits of kmeans, kq and int search=1: the\n"
    "                      error of column c counts imp[c] times. FILE is\n"
    "                      .safetensors (f32 1-D vectors named as the weights,\n"
    "                      length = their last dimension; weights without one\n"
    "                      are fitted unweighted) or .npy (one f32 vector, for\n"
    "                      every 2-D+ tensor with that many columns); see\n"
    "                      docs/CODECS.md \"Importance\" for how to make one\n"
    "  -t, --threads N     encode N tensors at a time (default: all cores)\n"
    "  -f, --force         overwrite OUT if it exists\n"
    "      --json          print the report as JSON instead of a table\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this help\n"
    "\n"
    "planner (one target at most):\n"
    "  -s, --strategy S    auto (default: every family, by measurement), simple\n"
    "                      (BitNet b1.58 ternary or lossless), mobile (ternary,\n"
    "                      VQ, SeedLM; target 100 MB unless one is given),\n"
    "                      advanced (the lowest rates, entropy stages)\n"
    "      --target-mb N   whole output file at most N x 10^6 bytes (index and\n"
    "                      headers included), as close to it as the plan gets\n"
    "      --target-bpw B  whole file at most B bits per weight\n"
    "      --target-ratio R  whole file at most (input bytes / R)\n"
    "      --max-error E   smallest plan with every tensor's relative L2 error\n"
    "                      at most E\n"
    "      (no target: auto plans for 30 dB per tensor; simple and advanced\n"
    "      take the fewest bytes)\n"
    "      --accuracy-threshold A  after writing, the fidelity must reach A:\n"
    "                      MiniLM mean embedding cosine (A like 0.99), a Llama\n"
    "                      GGUF's mean next-token KL (A like 0.05, lower is\n"
    "                      better), else the lowest tensor cosine; if it does\n"
    "                      not, the plan is raised (without a size target) or\n"
    "                      re-split by measured sensitivity (with one) and\n"
    "                      written again; exit 3 if it still misses\n"
    "      --ref PATH      the model for the model-level metric: MiniLM\n"
    "                      .safetensors (vocab.txt beside it) or a Llama GGUF\n"
    "                      whose tensors IN holds (default: IN when recognised)\n"
    "      --text FILE     evaluation text (default data/eval_sentences.txt for\n"
    "                      MiniLM, data/eval_text.txt for a GGUF)\n"
    "      --max-tokens N  GGUF metric: tokens of the text (default 512)\n"
    "      --sensitivity M role (default: embeddings and output head weigh 4x)\n"
    "                      or measure (the model metric's change when only that\n"
    "                      tensor is quantized at --probe; one model run per\n"
    "                      tensor)\n"
    "      --probe SPEC    pipeline of the sensitivity probe (default kq:bits=2)\n"
    "      --rule R        per-tensor rule, first match wins, repeatable:\n"
    "                      REGEX=SPEC, REGEX=keep (lossless) or REGEX=weight:W\n"
    "                      (REGEX: POSIX extended, searched in the name; it\n"
    "                      cannot hold '=')\n"
    "      --preset P      fast (16 Ki values sampled per tensor), balanced\n"
    "                      (64 Ki, default), quality (256 Ki and measured\n"
    "                      sensitivity when the model is recognised)\n"
    "      --sample N      values sampled per tensor (overrides --preset)\n"
    "      --dry-run       print the plan and its predicted size; write nothing\n"
    "      --no-benchmark  skip the fidelity evaluation after writing\n"
    "\n"
    "config:\n"
    "      --config FILE   settings from a YAML file, applied before the command\n"
    "                      line (which overrides them): each key is a long option\n"
    "                      without its dashes (target-mb: 40, strategy: mobile,\n"
    "                      preset: quality, dry-run: true), and rules is a list of\n"
    "                      {match: REGEX, codec: SPEC} or {match: REGEX, keep: true};\n"
    "                      an unknown key or a bad value: one error naming\n"
    "                      FILE:LINE, exit 2\n"
    "      --print-config  write the effective settings as such a file and stop\n";

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

static int compress_uniform(const compress_args *a)
{
    const char *in = a->in, *out = a->out, *spec = a->codec ? a->codec : TP_DEFAULT_SPEC, *importance = a->importance;
    long threads = a->has_threads ? a->threads : sysconf(_SC_NPROCESSORS_ONLN);
    int json = a->json, verbose = a->verbose, quiet = a->quiet;
    if (!in || !out) { fputs(compress_help, stderr); return EXIT_BAD; }
    if (threads < 1) threads = 1;
    if (!a->force && cli_exists(out)) return cli_fail("%s exists (use --force to overwrite)", out);
    const char *layers = a->layers, *layer_specs[TP_ARCHIVE_MAX_LAYERS];
    char layer_buf[4096];
    size_t n_layers = 0;
    if (layers && a->codec) return cli_fail("--layers replaces --codec: give one of them");
    if (layers && cli_split_layers(layers, layer_buf, sizeof layer_buf, layer_specs, &n_layers)) return EXIT_BAD;

    tp_compress_options opt = {.spec = spec, .min_snr_db = a->has_min_snr ? a->min_snr : 30.0,
                               .threads = (int)threads, .quantize_1d = a->quantize_1d,
                               .allow_requantize = a->allow_requantize};
    size_t r;
    if (strcmp(spec, "auto")) {
        tp_pipeline *check;
        r = tp_pipeline_parse(spec, &check);
        if (tp_is_error(r)) return cli_fail_result("--codec", r);
        tp_pipeline_free(check);
    }

    /* Opened here too for the table's name column and the importance
     * file's check against the tensors. */
    tp_tensor_file *f;
    tp_tensor_file_open_options fo = {.allow_requantize = a->allow_requantize};
    r = tp_tensor_file_open_ex(in, &fo, &f);
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
        char in_s[32], b[32], snr[32];
        cli_bytes_str(sum.bytes_in, in_s, sizeof in_s);
        cli_bytes_str(file_size, b, sizeof b);
        cli_snr_str(mean_snr, snr, sizeof snr);
        printf("total: %zu tensors, %s -> %s (whole file, index included), ratio %.2fx, %.3f bits/value, mean SNR %s dB\n",
               sum.tensors, in_s, b, ratio, bpv, snr);
        if (sum.fallbacks)
            printf("* %zu tensor(s) stored losslessly (%s): integer, NaN/Inf, or 1-D (norms and biases; "
                   "--quantize-1d to quantize them too)\n", sum.fallbacks, TP_LOSSLESS_SPEC);
    }
    return 0;
}

int cmd_compress(int argc, char **argv)
{
    compress_args a;
    int rc = compress_args_parse(argc, argv, &a);
    if (rc == 0 && a.print_config) rc = compress_args_print_config(&a);
    else if (rc == 0) {
        if (compress_args_planned(&a)) {
            if (a.codec) rc = cli_fail("--codec and the planner's options exclude each other (a rule '.*=SPEC' gives every tensor SPEC)");
            else if (a.layers) rc = cli_fail("--layers and the planner's options exclude each other");
            else rc = compress_model_run(&a);
        } else rc = compress_uniform(&a);
    }
    compress_args_free(&a);
    return rc == 1 ? 0 : rc;
}
