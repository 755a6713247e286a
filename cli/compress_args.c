/* The options of tpress compress, one table for the command line and the
 * --config file: a config key is the long option without its dashes
 * ("target-mb: 40" is --target-mb 40; "rules" holds the --rule values),
 * so the two cannot drift apart. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compress_args.h"
#include "format/config.h"

typedef enum { FLAG, VALUE } arg_kind;

typedef struct {
    const char *name;   /* long option and config key                    */
    char short_name;
    arg_kind kind;
} option_def;

static const option_def options[] = {
    {"output", 'o', VALUE},     {"force", 'f', FLAG},         {"quiet", 'q', FLAG},
    {"codec", 'c', VALUE},      {"min-snr", 0, VALUE},        {"verbose", 'v', FLAG},
    {"quantize-1d", 0, FLAG},   {"importance", 0, VALUE},     {"threads", 't', VALUE},
    {"json", 0, FLAG},          {"strategy", 's', VALUE},     {"target-mb", 0, VALUE},
    {"target-bpw", 0, VALUE},   {"target-ratio", 0, VALUE},   {"max-error", 0, VALUE},
    {"accuracy-threshold", 0, VALUE}, {"sensitivity", 0, VALUE}, {"probe", 0, VALUE},
    {"ref", 0, VALUE},          {"text", 0, VALUE},           {"max-tokens", 0, VALUE},
    {"rule", 0, VALUE},         {"dry-run", 0, FLAG},         {"no-benchmark", 0, FLAG},
    {"preset", 0, VALUE},       {"sample", 0, VALUE},         {"layers", 0, VALUE},
    {"allow-requantize", 0, FLAG}, {"config", 0, VALUE},        {"print-config", 0, FLAG},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static int number(const char *where, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d) || d < lo || d > hi) {
        cli_fail("%s: '%s' is not a number in %g..%g", where, v, lo, hi);
        return 0;
    }
    *out = d;
    return 1;
}

static int one_of(const char *where, const char *v, const char *const *choices)
{
    for (size_t i = 0; choices[i]; i++)
        if (!strcmp(v, choices[i])) return 1;
    cli_fail("%s: '%s' is not one of the choices (see tpress compress --help)", where, v);
    return 0;
}

/* Applies one setting; where names it in errors ("--target-mb" or
 * "file.yaml:3: target-mb"). 0 or EXIT_BAD. */
static int apply(compress_args *a, const option_def *d, const char *v, const char *where)
{
    const char *n = d->name;
    if (d->kind == FLAG) {
        int on = !v || !strcmp(v, "true");
        if (v && !on && strcmp(v, "false")) return cli_fail("%s: '%s' is not true or false", where, v);
        if (!strcmp(n, "force")) a->force = on;
        else if (!strcmp(n, "quiet")) a->quiet = on;
        else if (!strcmp(n, "verbose")) a->verbose = on;
        else if (!strcmp(n, "quantize-1d")) a->quantize_1d = on;
        else if (!strcmp(n, "json")) a->json = on;
        else if (!strcmp(n, "dry-run")) a->dry_run = on;
        else if (!strcmp(n, "no-benchmark")) a->no_benchmark = on;
        else if (!strcmp(n, "allow-requantize")) a->allow_requantize = on;
        else if (!strcmp(n, "print-config")) a->print_config = on;
        return 0;
    }
    if (!strcmp(n, "output")) a->out = v;
    else if (!strcmp(n, "codec")) a->codec = v;
    else if (!strcmp(n, "importance")) a->importance = v;
    else if (!strcmp(n, "ref")) a->ref = v;
    else if (!strcmp(n, "text")) a->text = v;
    else if (!strcmp(n, "probe")) a->probe = v;
    else if (!strcmp(n, "layers")) a->layers = v;
    else if (!strcmp(n, "min-snr")) {
        if (!number(where, v, -100, 200, &a->min_snr)) return EXIT_BAD;
        a->has_min_snr = 1;
    } else if (!strcmp(n, "threads") || !strcmp(n, "max-tokens") || !strcmp(n, "sample")) {
        long lim = !strcmp(n, "threads") ? 64 : 1L << 30, k;
        if (!cli_int(where, v, 1, lim, &k)) return EXIT_BAD;
        if (n[0] == 't') { a->threads = k; a->has_threads = 1; }
        else if (n[0] == 'm') a->max_tokens = k;
        else a->sample = k;
    } else if (!strcmp(n, "strategy")) {
        static const char *const s[] = {"auto", "simple", "mobile", "advanced", NULL};
        if (!one_of(where, v, s)) return EXIT_BAD;
        a->strategy = v;
    } else if (!strcmp(n, "sensitivity")) {
        static const char *const s[] = {"role", "measure", NULL};
        if (!one_of(where, v, s)) return EXIT_BAD;
        a->sensitivity = v;
    } else if (!strcmp(n, "preset")) {
        static const char *const s[] = {"fast", "balanced", "quality", NULL};
        if (!one_of(where, v, s)) return EXIT_BAD;
        a->preset = v;
    } else if (!strcmp(n, "target-mb")) {
        if (!number(where, v, 1e-6, 1e9, &a->target_mb)) return EXIT_BAD;
    } else if (!strcmp(n, "target-bpw")) {
        if (!number(where, v, 0.01, 64, &a->target_bpw)) return EXIT_BAD;
    } else if (!strcmp(n, "target-ratio")) {
        if (!number(where, v, 1e-3, 1e6, &a->target_ratio)) return EXIT_BAD;
    } else if (!strcmp(n, "max-error")) {
        if (!number(where, v, 1e-9, 10, &a->max_error)) return EXIT_BAD;
    } else if (!strcmp(n, "accuracy-threshold")) {
        if (!number(where, v, -1e9, 1e9, &a->accuracy)) return EXIT_BAD;
        a->has_accuracy = 1;
    } else if (!strcmp(n, "rule")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1]) return cli_fail("%s: '%s' is not REGEX=SPEC, REGEX=keep or REGEX=weight:W", where, v);
        if (a->n_rules >= COMPRESS_MAX_RULES) return cli_fail("%s: more than %d rules", where, COMPRESS_MAX_RULES);
        a->rules[a->n_rules++] = v;
    }
    return 0;
}

/* Remembers a setting for --print-config: a later value of the same key
 * replaces an earlier one, rules add up. */
static int remember(compress_args *a, const option_def *d, const char *v)
{
    static const char *const not_config[] = {"config", "print-config", "output", "force", "quiet", NULL};
    for (size_t i = 0; not_config[i]; i++)
        if (!strcmp(d->name, not_config[i])) return 0;
    const char *key = strcmp(d->name, "rule") ? d->name : "rules";
    const char *value = v ? v : "true";
    for (size_t i = 0; i < a->n_set && strcmp(key, "rules"); i++)
        if (!strcmp(a->set[i].key, key)) { a->set[i].value = value; return 0; }
    if (a->n_set >= COMPRESS_MAX_SETTINGS) return cli_fail("more than %d settings", COMPRESS_MAX_SETTINGS);
    a->set[a->n_set].key = key;
    a->set[a->n_set++].value = value;
    return 0;
}

static const option_def *find_long(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && !strncmp(options[i].name, name, len)) return &options[i];
    return NULL;
}

static int load_config(compress_args *a, const char *path);

int compress_args_parse(int argc, char **argv, compress_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (cli_is_help(arg)) break;
        const char *path = NULL;
        if (!strncmp(arg, "--config=", 9)) path = arg + 9;
        else if (!strcmp(arg, "--config") && i + 1 < argc) path = argv[++i];
        if (path) {
            if (a->loaded) return cli_fail("--config given twice");
            int rc = load_config(a, path);
            if (rc) return rc;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v = NULL;
        if (cli_is_help(arg)) { fputs(compress_help, stdout); return 1; }
        const option_def *d = NULL;
        if (arg[0] == '-' && arg[1] == '-') {
            const char *eq = strchr(arg + 2, '=');
            d = find_long(arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
            if (d && eq) {
                if (d->kind == FLAG) return cli_fail("%.*s takes no value", (int)(eq - arg), arg);
                v = eq + 1;
            }
        } else if (arg[0] == '-' && arg[1] && !arg[2]) {
            for (size_t k = 0; k < N_OPTIONS; k++)
                if (options[k].short_name == arg[1]) d = &options[k];
        } else if (!a->in) { a->in = arg; continue; }
        else return cli_fail("compress: unexpected argument '%s'", arg);
        if (!d) return cli_fail("compress: unknown option '%s' (see tpress compress --help)", arg);
        if (d->kind == VALUE && !v) {
            if (i + 1 >= argc) return cli_fail("%s needs a value", arg);
            v = argv[++i];
        }
        if (!strcmp(d->name, "config")) continue; /* loaded first */
        char where[64];
        snprintf(where, sizeof where, "--%s", d->name);
        int rc = apply(a, d, v, where);
        if (!rc) rc = remember(a, d, v);
        if (rc) return rc;
    }
    return 0;
}

/* Applies the settings of a --config file; keys are long option names,
 * "rules" holds the --rule values. */
static int load_config(compress_args *a, const char *path)
{
    tp_config *c = calloc(1, sizeof *c);
    if (!c) return cli_fail("out of memory");
    a->loaded = c;
    size_t r = tp_config_load(path, c);
    if (tp_is_error(r)) return cli_fail("%s", tp_last_error_detail());
    for (size_t i = 0; i < c->n; i++) {
        const tp_config_entry *e = &c->entries[i];
        const char *key = strcmp(e->key, "rules") ? e->key : "rule";
        const option_def *d = find_long(key, strlen(key));
        if (!d || !strcmp(key, "config") || !strcmp(key, "print-config"))
            return cli_fail("%s:%u: unknown key '%s' (keys are the long options of tpress compress --help)", path, e->line, e->key);
        char where[512];
        snprintf(where, sizeof where, "%s:%u: %s", path, e->line, e->key);
        int rc = apply(a, d, e->value, where);
        if (!rc) rc = remember(a, d, e->value);
        if (rc) return rc;
    }
    return 0;
}

void compress_args_free(compress_args *a)
{
    if (a->loaded) tp_config_free(a->loaded);
    free(a->loaded);
    a->loaded = NULL;
}

int compress_args_print_config(const compress_args *a)
{
    tp_config_entry e[COMPRESS_MAX_SETTINGS];
    for (size_t i = 0; i < a->n_set; i++)
        e[i] = (tp_config_entry){.key = (char *)a->set[i].key, .value = (char *)a->set[i].value, .line = 0};
    char *yaml = NULL;
    size_t r = tp_config_emit(e, a->n_set, &yaml);
    if (tp_is_error(r)) return cli_fail_result("--print-config", r);
    fputs(yaml, stdout);
    free(yaml);
    return 0;
}

int compress_args_planned(const compress_args *a)
{
    return a->strategy || a->target_mb > 0 || a->target_bpw > 0 || a->target_ratio > 0 || a->max_error > 0 ||
           a->has_accuracy || a->n_rules || a->dry_run || a->sensitivity || a->preset || a->ref ||
           (a->has_min_snr && !(a->codec && !strcmp(a->codec, "auto")));
}
