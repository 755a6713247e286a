/* Shared pieces of the tpress command-line tool. */
#ifndef TP_CLI_H
#define TP_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tpress_eval.h"

#define EXIT_BAD 2 /* every failure: bad input, bad option, I/O error */

int cmd_compress(int argc, char **argv);
int cmd_decompress(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_codecs(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_kv_eval(int argc, char **argv);

/* Prints "tpress: <what>: <error name>: <detail>" to stderr; returns EXIT_BAD. */
int cli_fail_result(const char *what, size_t result);
/* Prints "tpress: <message>" to stderr; returns EXIT_BAD. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option parsing: if argv[*i] is opt (or "opt=value"), stores its value
 * (the next argument or the part after '=') in *value and returns 1;
 * returns -1 when the value is missing, 0 when argv[*i] is another option. */
int cli_opt(int argc, char **argv, int *i, const char *opt, const char **value);
/* Options shared by the commands that write a file. */
typedef struct {
    const char *out;
    int force, quiet;
} cli_out_opts;
/* Consumes argv[*i] when it is -o/--output PATH, -f/--force or -q/--quiet:
 * returns 1 if consumed, 0 if it is something else, -1 (error printed)
 * when -o lacks its value. */
int cli_out_opt(int argc, char **argv, int *i, cli_out_opts *o);
/* 1 for -h and --help. */
int cli_is_help(const char *arg);

/* Parses a positive integer option value in [lo, hi]; returns 0 on error. */
int cli_int(const char *opt, const char *value, long lo, long hi, long *out);
/* Splits "SPEC0;SPEC1;..." (tpress compress --layers) into specs (at most
 * TP_ARCHIVE_MAX_LAYERS, pointing into buf, cap bytes); *n gets the count.
 * Returns 0, or EXIT_BAD with the error printed (empty spec, too many). */
int cli_split_layers(const char *list, char *buf, size_t cap, const char **specs, size_t *n);
/* 1 if path ends with suffix. */
int cli_has_suffix(const char *path, const char *suffix);
/* 1 if path starts with the GGUF magic. */
int cli_is_gguf(const char *path);
/* 1 if path exists. */
int cli_exists(const char *path);
/* data/NAME (the bundled evaluation texts): $TPRESS_DATA/NAME, else
 * ../data/NAME beside the binary, else ./data/NAME; written into buf. */
const char *cli_data_path(const char *name, char *buf, size_t cap);

/* PNG plots through gnuplot (cli/plot.c). cli_plot_available: gnuplot is
 * on PATH. begin makes a temporary directory beside out_png; the caller
 * writes data files there (cli_plot_file, by plain names) and finish runs
 * the gnuplot script body (which reads those names; terminal and output are
 * set before it) and renames the PNG over out_png. finish and abort remove
 * the directory; on any failure out_png is left untouched. The int
 * functions return 0 or EXIT_BAD with the error printed. */
typedef struct {
    char dir[4096];
    const char *out;
} cli_plot;
int cli_plot_available(void);
int cli_plot_begin(const char *out_png, cli_plot *pl);
FILE *cli_plot_file(const cli_plot *pl, const char *name);
int cli_plot_finish(cli_plot *pl, const char *script);
void cli_plot_abort(cli_plot *pl);

/* tpress eval --plot: the PNG of a finished evaluation (cli/eval_plot.c);
 * cand names the candidate in the title. 0 or EXIT_BAD (error printed). */
int eval_plot_llama(const char *png, const char *cand, const tp_eval_lm_result *r);
int eval_plot_minilm(const char *png, const char *cand, const tp_eval_result *r);

/* Prints a JSON document to stdout and frees it; returns 0, or EXIT_BAD
 * (error printed) when it could not be printed (out of memory). */
struct cJSON;
int cli_json_print(struct cJSON *root);

/* Formatting helpers for tables. */
void cli_shape_str(const uint32_t ndim, const uint64_t *shape, char *buf, size_t cap);
void cli_bytes_str(uint64_t n, char *buf, size_t cap);
void cli_snr_str(double snr, char *buf, size_t cap);


#endif
