/* tpress eval REF CANDIDATE [--model minilm|smollm2|auto] [--text FILE] [--json] [--plot PNG] */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "tpress_eval.h"

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
    "SmolLM2 (any Llama-architecture GGUF; REF is the .gguf, which also gives\n"
    "the hyperparameters and the tokenizer; CANDIDATE is a .gguf, or the\n"
    "weights of `tpress dump REF --what weights` as .safetensors or compressed\n"
    "to .tpz): both models read the text in windows; prints the mean and\n"
    "99th-percentile next-token KL(ref || cand), top-1 agreement, the\n"
    "perplexity of the text under both, and the hidden-state SNR per layer.\n"
    "\n"
    "options:\n"
    "      --model NAME    minilm, smollm2 or auto (default: auto = smollm2 when\n"
    "                      REF is a GGUF, else minilm)\n"
    "      --text FILE     minilm: sentences, one per line (default\n"
    "                      data/eval_sentences.txt); smollm2: running text\n"
    "                      (default data/eval_text.txt); $TPRESS_DATA overrides data/\n"
    "      --window N      smollm2: tokens per window (default 512)\n"
    "      --max-tokens N  smollm2: evaluate at most the first N tokens\n"
    "      --json          print the result as JSON\n"
    "      --plot PNG      also draw the evaluation into PNG with gnuplot\n"
    "                      (gnuplot-nox): smollm2, hidden-state SNR per layer\n"
    "                      and KL along the text; minilm, per-sentence cosine\n"
    "                      sorted. The file is replaced only when the plot is\n"
    "                      complete; without gnuplot, an error before the\n"
    "                      models run\n"
    "  -h, --help          this help\n";

/* Values in all tensors of a weights file (to turn its size into bits per
 * weight); 0 when it cannot be read. */
static uint64_t count_values(const char *path)
{
    uint64_t n = 0;
    return tp_is_error(tp_weights_count_values(path, &n)) ? 0 : n;
}

static double bits_per_weight(const char *path)
{
    struct stat st;
    uint64_t n = count_values(path);
    if (stat(path, &st) || !n) return 0;
    return 8.0 * (double)st.st_size / (double)n;
}

/* The fields both models' JSON reports start with. */
static cJSON *json_header(const char *model, const char *ref, const char *cand, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "reference", ref);
    cJSON_AddStringToObject(o, "candidate", cand);
    cJSON_AddStringToObject(o, "text", text);
    return o;
}

static int print_llama(const char *ref, const char *cand, const char *text, const tp_eval_lm_result *rp, int json)
{
    tp_eval_lm_result res = *rp;
    double bpw_ref = bits_per_weight(ref), bpw_cand = bits_per_weight(cand);
    double tps_ref = res.ref_seconds > 0 ? (double)res.n_tokens / res.ref_seconds : 0;
    double tps_cand = res.cand_seconds > 0 ? (double)res.n_tokens / res.cand_seconds : 0;
    if (json) {
        cJSON *o = json_header("smollm2", ref, cand, text);
        cJSON_AddNumberToObject(o, "tokens", (double)res.n_tokens);
        cJSON_AddNumberToObject(o, "predictions", (double)res.n_predicted);
        cJSON_AddNumberToObject(o, "window", (double)res.window);
        cJSON_AddNumberToObject(o, "mean_kl", res.mean_kl);
        cJSON_AddNumberToObject(o, "p99_kl", res.p99_kl);
        cJSON_AddNumberToObject(o, "max_kl", res.max_kl);
        cJSON_AddNumberToObject(o, "top1_agreement", res.top1_agreement);
        cJSON_AddNumberToObject(o, "reference_ppl", res.ref_ppl);
        cJSON_AddNumberToObject(o, "candidate_ppl", res.cand_ppl);
        cJSON *snr = cJSON_AddArrayToObject(o, "hidden_snr_db");
        /* JSON has no infinity: an exact state is reported as null. */
        for (size_t s = 0; s < res.n_states; s++)
            cJSON_AddItemToArray(snr, isfinite(res.state_snr_db[s]) ? cJSON_CreateNumber(res.state_snr_db[s]) : cJSON_CreateNull());
        cJSON_AddNumberToObject(o, "reference_bits_per_weight", bpw_ref);
        cJSON_AddNumberToObject(o, "candidate_bits_per_weight", bpw_cand);
        cJSON_AddNumberToObject(o, "reference_tokens_per_s", tps_ref);
        cJSON_AddNumberToObject(o, "candidate_tokens_per_s", tps_cand);
        return cli_json_print(o);
    }
    printf("model       smollm2 (Llama decoder, %zu tokens of %s, windows of %zu, %zu predictions)\n", res.n_tokens, text,
           res.window, res.n_predicted);
    printf("reference   %s (%.2f bits/weight, %.1f tokens/s)\n", ref, bpw_ref, tps_ref);
    printf("candidate   %s (%.2f bits/weight, %.1f tokens/s)\n", cand, bpw_cand, tps_cand);
    printf("next-token KL(ref||cand)   mean %.6g   p99 %.6g   max %.6g nats\n", res.mean_kl, res.p99_kl, res.max_kl);
    printf("top-1 agreement   %.4f\n", res.top1_agreement);
    printf("perplexity   reference %.4f   candidate %.4f   (delta %+.4f)\n", res.ref_ppl, res.cand_ppl,
           res.cand_ppl - res.ref_ppl);
    printf("hidden-state SNR dB (0 = embeddings):");
    for (size_t s = 0; s < res.n_states; s++) printf("%s%zu:%.1f", s % 8 ? "  " : "\n  ", s, res.state_snr_db[s]);
    printf("\n");
    return 0;
}

static int eval_llama(const char *ref, const char *cand, const char *text, size_t window, size_t max_tokens, int json,
                      const char *plot)
{
    tp_eval_lm_result res;
    size_t r = tp_eval_llama(ref, cand, text, window, max_tokens, &res);
    if (tp_is_error(r)) return cli_fail_result("eval", r);
    int rc = print_llama(ref, cand, text, &res, json);
    if (!rc && plot) rc = eval_plot_llama(plot, cand, &res);
    tp_eval_lm_result_free(&res);
    return rc;
}

static int print_minilm(const char *ref, const char *cand, const char *text, const tp_eval_result *rp, int json)
{
    tp_eval_result res = *rp;
    double bpw_ref = bits_per_weight(ref), bpw_cand = bits_per_weight(cand);
    double sps_ref = res.ref_seconds > 0 ? (double)res.n_sentences / res.ref_seconds : 0;
    double sps_cand = res.cand_seconds > 0 ? (double)res.n_sentences / res.cand_seconds : 0;
    if (json) {
        cJSON *o = json_header("minilm", ref, cand, text);
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
        return cli_json_print(o);
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

int cmd_eval(int argc, char **argv)
{
    const char *ref = NULL, *cand = NULL, *model = "auto", *text = NULL, *plot = NULL, *v;
    int json = 0, k;
    unsigned long long window = 0, max_tokens = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(help, stdout); return 0; }
        if (!strcmp(a, "--json")) json = 1;
        else if ((k = cli_opt(argc, argv, &i, "--model", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            model = v;
        } else if ((k = cli_opt(argc, argv, &i, "--plot", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            plot = v;
        } else if ((k = cli_opt(argc, argv, &i, "--text", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            text = v;
        } else if ((k = cli_opt(argc, argv, &i, "--window", &v)) || (k = cli_opt(argc, argv, &i, "--max-tokens", &v))) {
            char *end;
            if (k < 0) return cli_fail("%s needs a value", a);
            unsigned long long x = strtoull(v, &end, 10);
            if (*end || !*v || x < 2 || x > (1u << 20)) return cli_fail("%s needs a number of tokens (2..1048576)", a);
            if (strstr(a, "window")) window = x;
            else max_tokens = x;
        } else if (a[0] == '-' && a[1]) return cli_fail("eval: unknown option '%s' (see tpress eval --help)", a);
        else if (!ref) ref = a;
        else if (!cand) cand = a;
        else return cli_fail("eval: unexpected argument '%s'", a);
    }
    if (!ref || !cand) { fputs(help, stderr); return EXIT_BAD; }
    if (strcmp(model, "auto") && strcmp(model, "minilm") && strcmp(model, "smollm2"))
        return cli_fail("eval: model '%s' is not supported (minilm, smollm2 or auto)", model);
    if (!strcmp(model, "auto")) model = cli_is_gguf(ref) ? "smollm2" : "minilm";
    char tbuf[PATH_MAX + 32];
    int llama = !strcmp(model, "smollm2");
    if (!text) text = cli_data_path(llama ? "eval_text.txt" : "eval_sentences.txt", tbuf, sizeof tbuf);
    if (plot && !cli_plot_available())
        return cli_fail("eval: --plot needs gnuplot on PATH (install gnuplot-nox: scripts/deps.sh)");
    if (llama) return eval_llama(ref, cand, text, (size_t)window, (size_t)max_tokens, json, plot);

    tp_eval_result res;
    size_t r = tp_eval_minilm(ref, cand, text, &res);
    if (tp_is_error(r)) return cli_fail_result("eval", r);
    int rc = print_minilm(ref, cand, text, &res, json);
    if (!rc && plot) rc = eval_plot_minilm(plot, cand, &res);
    tp_eval_result_free(&res);
    return rc;
}
