/* The plots of tpress eval --plot: SmolLM2, hidden-state SNR per layer and
 * KL along the text's positions; MiniLM, per-sentence cosine sorted. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tpress_eval.h"

/* A file name for a gnuplot string: quotes and backslashes dropped. */
static void title_of(const char *path, char *buf, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t k = 0;
    for (; *base && k + 1 < cap; base++)
        if (*base != '\'' && *base != '"' && *base != '\\' && (unsigned char)*base >= 32) buf[k++] = *base;
    buf[k] = 0;
}

/* Closes f (always) and says whether every write reached the file. */
static int close_ok(FILE *f)
{
    int err = ferror(f);
    return !fclose(f) && !err;
}

/* Data file name of the plot: lines "i y[i]"; 1 when written. */
static int write_series(cli_plot *pl, const char *name, const double *y, size_t n)
{
    FILE *f = cli_plot_file(pl, name);
    if (!f) return 0;
    for (size_t i = 0; i < n; i++) fprintf(f, "%zu %.9g\n", i, y[i]);
    return close_ok(f);
}

int eval_plot_llama(const char *png, const char *cand, const tp_eval_lm_result *r)
{
    cli_plot pl;
    if (cli_plot_begin(png, &pl)) return EXIT_BAD;
    /* Exact states (infinite SNR) are drawn as separate points at the top. */
    double top = 0;
    for (size_t s = 0; s < r->n_states; s++)
        if (isfinite(r->state_snr_db[s]) && r->state_snr_db[s] > top) top = r->state_snr_db[s];
    top = top > 0 ? top + 10 : 60;
    FILE *f = cli_plot_file(&pl, "snr.dat");
    int ok = f != NULL;
    for (size_t s = 0; ok && s < r->n_states; s++) {
        double v = r->state_snr_db[s];
        if (isfinite(v)) fprintf(f, "%zu %.6g NaN\n", s, v);
        else if (v > 0) fprintf(f, "%zu NaN %.6g\n", s, top);
        else fprintf(f, "%zu NaN NaN\n", s); /* reference state all zero */
    }
    if (f && !close_ok(f)) ok = 0;
    ok = ok && write_series(&pl, "kl.dat", r->position_kl, r->n_predicted);
    if (!ok) { cli_plot_abort(&pl); return cli_fail("--plot: cannot write the plot data"); }
    char name[256], script[2048];
    title_of(cand, name, sizeof name);
    snprintf(script, sizeof script,
             "set multiplot layout 2,1 title 'tpress eval: SmolLM2, candidate %s' font ',12'\n"
             "set grid\nset key top right\n"
             "set title 'hidden-state SNR per layer (0 = embeddings)'\n"
             "set xlabel 'state'\nset ylabel 'SNR (dB)'\nset xrange [-0.5:%zu.5]\n"
             "plot 'snr.dat' using 1:2 with linespoints pt 7 ps 0.7 lw 2 title 'reference vs candidate', "
             "'snr.dat' using 1:3 with points pt 9 ps 1.2 title 'exact (infinite SNR), drawn at %.0f dB'\n"
             "set title sprintf('next-token KL(ref || cand) along the text: mean %%.4g, p99 %%.4g, max %%.4g nats', %.9g, %.9g, %.9g)\n"
             "set xlabel 'prediction (text order)'\nset ylabel 'KL (nats)'\nset xrange [0:%zu]\n"
             "plot 'kl.dat' using 1:2 with impulses lc rgb '#3070b0' title 'KL per position'\n"
             "unset multiplot\n",
             name, r->n_states ? r->n_states - 1 : 0, top, r->mean_kl, r->p99_kl, r->max_kl,
             r->n_predicted ? r->n_predicted - 1 : 0);
    return cli_plot_finish(&pl, script);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int eval_plot_minilm(const char *png, const char *cand, const tp_eval_result *r)
{
    double *c = malloc(r->n_sentences * sizeof *c);
    if (!c) return cli_fail("out of memory");
    memcpy(c, r->sentence_cosine, r->n_sentences * sizeof *c);
    qsort(c, r->n_sentences, sizeof *c, cmp_double);
    cli_plot pl;
    if (cli_plot_begin(png, &pl)) { free(c); return EXIT_BAD; }
    int ok = write_series(&pl, "cos.dat", c, r->n_sentences);
    free(c);
    if (!ok) { cli_plot_abort(&pl); return cli_fail("--plot: cannot write the plot data"); }
    char name[256], script[1536];
    title_of(cand, name, sizeof name);
    snprintf(script, sizeof script,
             "set title sprintf(\"tpress eval: MiniLM, candidate %s\\nembedding cosine per sentence, sorted: mean %%.6f, min %%.6f\", %.9f, %.9f)\n"
             "set grid\nset key bottom right\nset xlabel 'sentence (sorted by cosine)'\nset ylabel 'cosine (reference, candidate)'\n"
             "plot 'cos.dat' using 1:2 with linespoints pt 7 ps 0.5 lw 2 title '%zu sentences'\n",
             name, r->mean_cosine, r->min_cosine, r->n_sentences);
    return cli_plot_finish(&pl, script);
}
