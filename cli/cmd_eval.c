/* tpress eval REF CANDIDATE [--model minilm|auto] [--text FILE] [--json] */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char help[] =
    "usage: tpress eval REF CANDIDATE [options]\n"
    "\n"
    "Runs the model with the REF weights (the original .safetensors) and with\n"
    "the CANDIDATE weights (a .tpz archive, decoded tensor by tensor, or any\n"
    "tensor file) on the same text and compares what the model does.\n"
    "\n"
    "MiniLM (all-MiniLM-L6-v2; vocab.txt and config.json beside REF): sentence\n"
    "embeddings of every line; prints the mean and minimum cosine between the\n"
    "two models' embeddings and the retrieval top-1 agreement (the fraction of\n"
    "sentences whose nearest other sentence is the same under both).\n"
    "\n"
    "options:\n"
    "      --model NAME    minilm or auto (default: auto = recognised from REF)\n"
    "      --text FILE     sentences, one per line (default: the project's\n"
    "                      data/eval_sentences.txt, or $TPRESS_DATA/eval_sentences.txt)\n"
    "      --json          print the result as JSON\n"
    "  -h, --help          this help\n";

/* data/eval_sentences.txt: $TPRESS_DATA, else ../data beside the binary
 * (build/tpress in a checkout), else ./data. */
static const char *default_text(char *buf, size_t cap)
{
    const char *env = getenv("TPRESS_DATA");
    if (env && *env) { snprintf(buf, cap, "%s/eval_sentences.txt", env); return buf; }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, cap, "%s/../data/eval_sentences.txt", exe);
            if (cli_exists(buf)) return buf;
        }
    }
    snprintf(buf, cap, "data/eval_sentences.txt");
    return buf;
}

/* Values in all tensors of a weights file (to turn its size into bits per
 * weight); 0 when it cannot be read. */
static uint64_t count_values(const char *path)
{
    uint64_t total = 0;
    tp_archive *a;
    if (!tp_is_error(tp_archive_open(path, &a))) {
        for (size_t i = 0; i < tp_archive_count(a); i++) {
            const tp_archive_entry *e = tp_archive_entry_at(a, i);
            total += e->raw_size / tp_dtype_size(e->dtype);
        }
        tp_archive_close(a);
        return total;
    }
    tp_tensor_file *f;
    if (tp_is_error(tp_tensor_file_open(path, &f))) return 0;
    for (size_t i = 0; i < tp_tensor_file_count(f); i++) {
        tp_tensor t;
        uint64_t n;
        if (!tp_is_error(tp_tensor_file_get(f, i, &t)) && !tp_is_error(tp_tensor_numel(&t, &n))) total += n;
    }
    tp_tensor_file_close(f);
    return total;
}

static double bits_per_weight(const char *path)
{
    struct stat st;
    uint64_t n = count_values(path);
    if (stat(path, &st) || !n) return 0;
    return 8.0 * (double)st.st_size / (double)n;
}

int cmd_eval(int argc, char **argv)
{
    const char *ref = NULL, *cand = NULL, *model = "auto", *text = NULL, *v;
    int json = 0, k;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(help, stdout); return 0; }
        if (!strcmp(a, "--json")) json = 1;
        else if ((k = cli_opt(argc, argv, &i, "--model", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            model = v;
        } else if ((k = cli_opt(argc, argv, &i, "--text", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            text = v;
        } else if (a[0] == '-' && a[1]) return cli_fail("eval: unknown option '%s' (see tpress eval --help)", a);
        else if (!ref) ref = a;
        else if (!cand) cand = a;
        else return cli_fail("eval: unexpected argument '%s'", a);
    }
    if (!ref || !cand) { fputs(help, stderr); return EXIT_BAD; }
    if (strcmp(model, "auto") && strcmp(model, "minilm"))
        return cli_fail("eval: model '%s' is not supported (minilm or auto)", model);
    char tbuf[PATH_MAX + 32];
    if (!text) text = default_text(tbuf, sizeof tbuf);

    tp_eval_result res;
    size_t r = tp_eval_minilm(ref, cand, text, &res);
    if (tp_is_error(r)) return cli_fail_result("eval", r);
    double bpw_ref = bits_per_weight(ref), bpw_cand = bits_per_weight(cand);
    double sps_ref = res.ref_seconds > 0 ? (double)res.n_sentences / res.ref_seconds : 0;
    double sps_cand = res.cand_seconds > 0 ? (double)res.n_sentences / res.cand_seconds : 0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", "minilm");
        cJSON_AddStringToObject(o, "reference", ref);
        cJSON_AddStringToObject(o, "candidate", cand);
        cJSON_AddStringToObject(o, "text", text);
        cJSON_AddNumberToObject(o, "sentences", (double)res.n_sentences);
        cJSON_AddNumberToObject(o, "tokens", (double)res.n_tokens);
        cJSON_AddNumberToObject(o, "mean_cosine", res.mean_cosine);
        cJSON_AddNumberToObject(o, "min_cosine", res.min_cosine);
        cJSON_AddNumberToObject(o, "min_cosine_line", (double)res.min_index);
        cJSON_AddNumberToObject(o, "top1_agreement", res.top1_agreement);
        cJSON_AddNumberToObject(o, "reference_bits_per_weight", bpw_ref);
        cJSON_AddNumberToObject(o, "candidate_bits_per_weight", bpw_cand);
        cJSON_AddNumberToObject(o, "reference_sentences_per_s", sps_ref);
        cJSON_AddNumberToObject(o, "candidate_sentences_per_s", sps_cand);
        char *s = cJSON_Print(o);
        if (s) puts(s);
        free(s);
        cJSON_Delete(o);
        return s ? 0 : cli_fail("out of memory");
    }
    printf("model       minilm (BERT encoder, %zu sentences, %llu tokens from %s)\n", res.n_sentences,
           (unsigned long long)res.n_tokens, text);
    printf("reference   %s (%.2f bits/weight, %.1f sentences/s)\n", ref, bpw_ref, sps_ref);
    printf("candidate   %s (%.2f bits/weight, %.1f sentences/s)\n", cand, bpw_cand, sps_cand);
    printf("embedding cosine   mean %.6f   min %.6f (line %zu of the text's non-blank lines, from 0)\n", res.mean_cosine,
           res.min_cosine, res.min_index);
    printf("retrieval top-1 agreement   %.4f (%.0f of %zu)\n", res.top1_agreement,
           res.top1_agreement * (double)res.n_sentences, res.n_sentences);
    return 0;
}
