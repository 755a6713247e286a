/* tpress kv-eval MODEL.gguf [--method SPEC]... [--context N] [--text FILE] [--passkey N] [--csv F] [--json] */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tpress_eval.h"

#define MAX_METHODS 32

static const char help[] =
    "usage: tpress kv-eval MODEL.gguf [--method SPEC]... [options]\n"
    "\n"
    "Runs a Llama-architecture GGUF (SmolLM2) over the first --context tokens of\n"
    "a text twice: with exact f32 attention, and with attention computed from a\n"
    "compressed KV cache (tp_kv) fed one token at a time, as in decoding. For each\n"
    "method: bits per element (every byte the cache holds), next-token KL and\n"
    "top-1 agreement against exact attention, perplexity and its change, the\n"
    "cache's attention-output cosine per layer, append and attend time.\n"
    "\n"
    "  -m, --method SPEC   a KV method (docs/KV.md), repeatable; default: f16,\n"
    "                      q8_0, q4_0, rotate|q4_0, kivi:bits=4, kivi:bits=2,\n"
    "                      rotate|kivi:bits=2\n"
    "      --context N     tokens evaluated (default 512, 2..8192)\n"
    "      --text FILE     the text (default data/eval_text.txt)\n"
    "      --passkey N     also a passkey retrieval test per method: N prompts of\n"
    "                      --passkey-context tokens (default 1024), the key at\n"
    "                      even depths; exact attention's accuracy printed first\n"
    "      --csv FILE      also write one CSV row per method\n"
    "      --json          print JSON instead of the table\n";

static const char *const default_methods[] = {"f16", "q8_0", "q4_0", "rotate|q4_0", "kivi:bits=4", "kivi:bits=2",
                                              "rotate|kivi:bits=2"};

static cJSON *row_json(const char *method, const tp_kv_eval_result *r, double passkey)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddNumberToObject(o, "tokens", (double)r->n_tokens);
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "bits_per_element", r->bits_per_element);
    cJSON_AddNumberToObject(o, "ratio_vs_f16", r->ratio_vs_f16);
    cJSON_AddNumberToObject(o, "mean_kl", r->mean_kl);
    cJSON_AddNumberToObject(o, "p99_kl", r->p99_kl);
    cJSON_AddNumberToObject(o, "top1_agreement", r->top1_agreement);
    cJSON_AddNumberToObject(o, "ref_ppl", r->ref_ppl);
    cJSON_AddNumberToObject(o, "ppl", r->cand_ppl);
    cJSON_AddNumberToObject(o, "delta_ppl_pct", 100.0 * (r->cand_ppl / r->ref_ppl - 1));
    cJSON_AddNumberToObject(o, "attention_cosine_mean", r->mean_cosine);
    cJSON_AddNumberToObject(o, "attention_cosine_min_layer", r->min_cosine);
    cJSON_AddNumberToObject(o, "attention_rel_error", r->rel_error);
    cJSON *layers = cJSON_AddArrayToObject(o, "layer_cosine");
    for (size_t l = 0; l < r->n_layers; l++) cJSON_AddItemToArray(layers, cJSON_CreateNumber(r->layer_cosine[l]));
    cJSON_AddNumberToObject(o, "append_us_per_token_layer", r->append_us);
    cJSON_AddNumberToObject(o, "attend_us_per_token_layer", r->attend_us);
    if (passkey >= 0) cJSON_AddNumberToObject(o, "passkey_accuracy", passkey);
    return o;
}

static void csv_row(FILE *f, const char *method, const tp_kv_eval_result *r, double passkey)
{
    fprintf(f, "\"%s\",%zu,%llu,%.4f,%.3f,%.6g,%.6g,%.4f,%.4f,%.4f,%.3f,%.6f,%.6f,%.6f,%.3f,%.3f,", method, r->n_tokens,
            (unsigned long long)r->bytes, r->bits_per_element, r->ratio_vs_f16, r->mean_kl, r->p99_kl, r->top1_agreement,
            r->ref_ppl, r->cand_ppl, 100.0 * (r->cand_ppl / r->ref_ppl - 1), r->mean_cosine, r->min_cosine, r->rel_error,
            r->append_us, r->attend_us);
    if (passkey >= 0) fprintf(f, "%.4f", passkey);
    fputc('\n', f);
}

/* Passkey accuracy of method (NULL: exact attention), or -1 when the test
 * is off; EXIT_BAD in *rc on error. */
static double passkey(const char *model, const char *method, long n, long context, int *rc)
{
    if (!n) return -1;
    tp_kv_passkey_result p;
    size_t e = tp_kv_passkey_llama(model, (size_t)context, method, (size_t)n, &p);
    if (tp_is_error(e)) { *rc = cli_fail_result(method ? method : "passkey", e); return -1; }
    return p.accuracy;
}

int cmd_kv_eval(int argc, char **argv)
{
    const char *model = NULL, *text = NULL, *csv = NULL, *v;
    const char *methods[MAX_METHODS];
    size_t n_methods = 0;
    long context = 512, n_passkey = 0, passkey_context = 1024;
    int json = 0, k;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) { fputs(help, stdout); return 0; }
        if (!strcmp(a, "--json")) json = 1;
        else if ((k = cli_opt(argc, argv, &i, "--method", &v)) || (k = cli_opt(argc, argv, &i, "-m", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            if (n_methods == MAX_METHODS) return cli_fail("kv-eval: at most %d methods", MAX_METHODS);
            methods[n_methods++] = v;
        } else if ((k = cli_opt(argc, argv, &i, "--context", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            if (!cli_int("--context", v, 2, 8192, &context)) return EXIT_BAD;
        } else if ((k = cli_opt(argc, argv, &i, "--passkey-context", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            if (!cli_int("--passkey-context", v, 64, 8192, &passkey_context)) return EXIT_BAD;
        } else if ((k = cli_opt(argc, argv, &i, "--passkey", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            if (!cli_int("--passkey", v, 1, 1000, &n_passkey)) return EXIT_BAD;
        } else if ((k = cli_opt(argc, argv, &i, "--text", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            text = v;
        } else if ((k = cli_opt(argc, argv, &i, "--csv", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            csv = v;
        } else if (a[0] == '-' && a[1]) return cli_fail("kv-eval: unknown option '%s' (see tpress kv-eval --help)", a);
        else if (!model) model = a;
        else return cli_fail("kv-eval: unexpected argument '%s'", a);
    }
    if (!model) { fputs(help, stderr); return EXIT_BAD; }
    if (!cli_is_gguf(model)) return cli_fail("kv-eval: %s is not a GGUF model", model);
    if (!n_methods)
        for (; n_methods < sizeof default_methods / sizeof default_methods[0]; n_methods++)
            methods[n_methods] = default_methods[n_methods];
    char tbuf[PATH_MAX + 32];
    if (!text) text = cli_data_path("eval_text.txt", tbuf, sizeof tbuf);
    FILE *cf = NULL;
    if (csv && !(cf = fopen(csv, "w"))) return cli_fail("cannot write %s", csv);
    if (cf)
        fputs("method,tokens,bytes,bits_per_element,ratio_vs_f16,mean_kl,p99_kl,top1_agreement,ref_ppl,ppl,"
              "delta_ppl_pct,attention_cosine_mean,attention_cosine_min_layer,attention_rel_error,"
              "append_us_per_token_layer,attend_us_per_token_layer,passkey_accuracy\n", cf);
    cJSON *rows = json ? cJSON_CreateArray() : NULL;
    int rc = 0;
    double exact = passkey(model, NULL, n_passkey, passkey_context, &rc);
    if (!rc && !json && n_passkey) printf("passkey, exact attention: %.4f of %ld prompts\n", exact, n_passkey);
    if (!rc && !json)
        printf("%-34s %6s %7s %10s %7s %8s %9s %9s %10s%s\n", "method", "bits", "ratio", "KL", "top-1", "dPPL %",
               "att cos", "min layer", "us app/att", n_passkey ? "  passkey" : "");
    for (size_t m = 0; m < n_methods && !rc; m++) {
        tp_kv_eval_result r;
        size_t e = tp_kv_eval_llama(model, text, (size_t)context, methods[m], &r);
        if (tp_is_error(e)) { rc = cli_fail_result(methods[m], e); break; }
        double pk = passkey(model, methods[m], n_passkey, passkey_context, &rc);
        if (rc) break;
        if (cf) csv_row(cf, methods[m], &r, pk);
        if (json) cJSON_AddItemToArray(rows, row_json(methods[m], &r, pk));
        else {
            printf("%-34s %6.3f %6.2fx %10.3g %7.4f %8.3f %9.6f %9.6f %4.2f/%-5.2f", methods[m], r.bits_per_element,
                   r.ratio_vs_f16, r.mean_kl, r.top1_agreement, 100.0 * (r.cand_ppl / r.ref_ppl - 1), r.mean_cosine,
                   r.min_cosine, r.append_us, r.attend_us);
            if (pk >= 0) printf("  %7.4f", pk);
            putchar('\n');
            fflush(stdout);
        }
    }
    if (cf && fclose(cf) && !rc) rc = cli_fail("cannot write %s", csv);
    if (json) {
        if (rc) cJSON_Delete(rows);
        else {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "model", model);
            cJSON_AddStringToObject(o, "text", text);
            if (n_passkey) cJSON_AddNumberToObject(o, "passkey_exact_accuracy", exact);
            cJSON_AddItemToObject(o, "methods", rows);
            rc = cli_json_print(o);
        }
    }
    return rc;
}
