/* tpress compress: its settings, one table of options shared by the
 * command line and the --config file (cli/compress_args.c), and the two
 * ways it runs: one pipeline for every tensor (cmd_compress.c) or the
 * whole-model planner (compress_model.c). */
#ifndef TP_CLI_COMPRESS_ARGS_H
#define TP_CLI_COMPRESS_ARGS_H

#include <stddef.h>

#define COMPRESS_MAX_RULES 64
#define COMPRESS_MAX_SETTINGS 128

typedef struct {
    const char *in, *out, *codec, *importance, *strategy, *ref, *text, *probe, *sensitivity, *preset, *config, *layers;
    int force, quiet, json, verbose, quantize_1d, dry_run, no_benchmark, print_config, allow_requantize;
    long threads, max_tokens, sample;
    double min_snr, target_mb, target_bpw, target_ratio, max_error, accuracy;
    int has_min_snr, has_accuracy, has_threads;
    size_t n_rules;
    const char *rules[COMPRESS_MAX_RULES];
    /* every setting applied, config first: what --print-config writes */
    size_t n_set;
    struct { const char *key, *value; } set[COMPRESS_MAX_SETTINGS];
    void *loaded;           /* the --config file (tp_config)              */
} compress_args;

/* Parses argv (after a --config file, whose settings the command line
 * overrides) into *a. Returns 0, 1 when --help was printed, or EXIT_BAD
 * with the error printed. Strings point into argv or into the config,
 * which stays loaded until compress_args_free. */
int compress_args_parse(int argc, char **argv, compress_args *a);
void compress_args_free(compress_args *a);
/* 1 when a setting asks for the planner (a strategy, a target, a rule...). */
int compress_args_planned(const compress_args *a);
/* Writes the effective settings as a config file to stdout; 0 or EXIT_BAD. */
int compress_args_print_config(const compress_args *a);

int compress_model_run(const compress_args *a);

extern const char compress_help[];

#endif
