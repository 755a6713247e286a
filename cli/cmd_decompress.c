/* tpress decompress IN.tpz -o OUT(.safetensors|.npy) [--tensor NAME] [--layers K] [--compare ORIG] */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: tpress decompress IN.tpz -o OUT [options]\n"
    "\n"
    "Restores the tensors of an archive with their names, shapes and original\n"
    "dtypes. OUT ending in .npy takes one tensor (use --tensor NAME when the\n"
    "archive holds several); any other name is written as safetensors.\n"
    "Memory use stays at one tensor at a time.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   output file (required)\n"
    "      --tensor NAME   restore only this tensor\n"
    "      --layers K      of a progressive archive (tpress compress --layers):\n"
    "                      sum only the first K layers of each tensor (default\n"
    "                      0: all; a tensor with fewer layers gives all of them)\n"
    "      --compare ORIG  also compare every restored tensor with the one of\n"
    "                      the same name in ORIG (.npy/.safetensors) and print\n"
    "                      the round-trip error\n"
    "  -f, --force         overwrite OUT if it exists\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this help\n";

/* Finds tensor name in f; returns its index or (size_t)-1. */
/* The archive's metadata when it is a JSON object (what a safetensors
 * __metadata__ can hold), else NULL. */
static const char *object_metadata(const tp_archive *a)
{
    const char *m = tp_archive_metadata(a);
    cJSON *v = m ? cJSON_Parse(m) : NULL;
    int object = cJSON_IsObject(v);
    cJSON_Delete(v);
    return object ? m : NULL;
}

static size_t find_in_file(const tp_tensor_file *f, const char *name)
{
    for (size_t i = 0; i < tp_tensor_file_count(f); i++)
        if (!strcmp(tp_tensor_file_name(f, i), name)) return i;
    return (size_t)-1;
}

typedef struct {
    tp_tensor_file *orig;
    double snr_sum, worst_snr, worst_max_abs;
    size_t compared, exact;
} compare_state;

static int compare_one(compare_state *c, const tp_archive_entry *e, const void *data)
{
    size_t j = find_in_file(c->orig, e->name);
    if (j == (size_t)-1) return cli_fail("--compare: '%s' is not in the original file", e->name);
    tp_tensor t;
    size_t r = tp_tensor_file_get(c->orig, j, &t);
    if (tp_is_error(r)) return cli_fail_result("--compare", r);
    if (t.dtype != e->dtype || t.ndim != e->ndim || memcmp(t.shape, e->shape, sizeof(uint64_t) * t.ndim))
        return cli_fail("--compare: '%s' has another dtype or shape in the original file", e->name);
    c->compared++;
    if (!memcmp(t.data, data, (size_t)e->raw_size)) { c->exact++; return 0; }
    if (!tp_dtype_is_float(t.dtype)) return cli_fail("--compare: integer tensor '%s' differs", e->name);
    tp_metrics m;
    r = tp_metrics_compute(t.data, t.dtype, data, t.dtype, (size_t)(e->raw_size / tp_dtype_size(t.dtype)), &m);
    if (tp_is_error(r)) return cli_fail_result("--compare", r);
    c->snr_sum += m.snr_db;
    if (m.snr_db < c->worst_snr) c->worst_snr = m.snr_db;
    if (m.max_abs > c->worst_max_abs) c->worst_max_abs = m.max_abs;
    return 0;
}

int cmd_decompress(int argc, char **argv)
{
    const char *in = NULL, *only = NULL, *compare = NULL, *v;
    long layers = 0;
    cli_out_opts o = {0};
    int k;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) { fputs(help, stdout); return 0; }
        if ((k = cli_out_opt(argc, argv, &i, &o))) { if (k < 0) return EXIT_BAD; }
        else if ((k = cli_opt(argc, argv, &i, "--tensor", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            only = v;
        } else if ((k = cli_opt(argc, argv, &i, "--layers", &v))) {
            if (k < 0 || !cli_int("--layers", v, 0, TP_ARCHIVE_MAX_LAYERS, &layers)) return k < 0 ? cli_fail("%s needs a value", a) : EXIT_BAD;
        } else if ((k = cli_opt(argc, argv, &i, "--compare", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            compare = v;
        } else if (a[0] == '-' && a[1]) return cli_fail("decompress: unknown option '%s' (see tpress decompress --help)", a);
        else if (!in) in = a;
        else return cli_fail("decompress: unexpected argument '%s'", a);
    }
    const char *out = o.out;
    int quiet = o.quiet;
    if (!in || !out) { fputs(help, stderr); return EXIT_BAD; }
    if (!o.force && cli_exists(out)) return cli_fail("%s exists (use --force to overwrite)", out);

    tp_archive *a;
    size_t r = tp_archive_open(in, &a);
    if (tp_is_error(r)) return cli_fail_result(in, r);
    size_t n = tp_archive_count(a), first = 0;
    if (only) {
        r = tp_archive_find(a, only);
        if (tp_is_error(r)) { tp_archive_close(a); return cli_fail_result(in, r); }
        first = r;
        n = 1;
    }
    if (cli_has_suffix(out, ".npy") && n != 1) {
        tp_archive_close(a);
        return cli_fail("%s holds %zu tensors: write .safetensors, or pick one with --tensor NAME", in, n);
    }
    const char **names = malloc((n ? n : 1) * sizeof *names);
    tp_tensor *descs = calloc(n ? n : 1, sizeof *descs);
    if (!names || !descs) { free(names); free(descs); tp_archive_close(a); return cli_fail("out of memory"); }
    for (size_t i = 0; i < n; i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, first + i);
        names[i] = e->name;
        descs[i].dtype = e->dtype;
        descs[i].ndim = e->ndim;
        memcpy(descs[i].shape, e->shape, sizeof descs[i].shape);
    }
    compare_state cmp = {.worst_snr = INFINITY};
    if (compare) {
        r = tp_tensor_file_open(compare, &cmp.orig);
        if (tp_is_error(r)) { free(names); free(descs); tp_archive_close(a); return cli_fail_result(compare, r); }
    }
    tp_tensor_writer *w = NULL;
    r = tp_tensor_writer_open_meta(out, names, descs, n, object_metadata(a), &w);
    int rc = tp_is_error(r) ? cli_fail_result(out, r) : 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, first + i);
        void *buf = malloc(e->raw_size ? (size_t)e->raw_size : 1);
        if (!buf) { rc = cli_fail("out of memory for tensor '%s'", e->name); break; }
        r = tp_archive_decode_layers(a, first + i, (unsigned)layers, buf, (size_t)e->raw_size);
        if (tp_is_error(r)) rc = cli_fail_result(e->name, r);
        if (!rc) { r = tp_tensor_writer_put(w, i, buf, (size_t)e->raw_size); if (tp_is_error(r)) rc = cli_fail_result(out, r); }
        if (!rc && cmp.orig) rc = compare_one(&cmp, e, buf);
        total += e->raw_size;
        free(buf);
    }
    if (!rc) { r = tp_tensor_writer_finish(w); if (tp_is_error(r)) rc = cli_fail_result(out, r); }
    else if (w) tp_tensor_writer_abort(w);
    if (!rc && !quiet) {
        char b[32];
        cli_bytes_str(total, b, sizeof b);
        printf("restored %zu tensor(s), %s, to %s", n, b, out);
        if (layers) printf(", at most %ld layer(s) each", layers);
        printf("\n");
        if (cmp.orig) {
            size_t lossy = cmp.compared - cmp.exact;
            printf("round trip vs %s: %zu tensor(s) bit-exact, %zu within error", compare, cmp.exact, lossy);
            if (lossy)
                printf(": mean SNR %.2f dB, worst SNR %.2f dB, worst max |error| %.4g", cmp.snr_sum / (double)lossy,
                       cmp.worst_snr, cmp.worst_max_abs);
            printf("\n");
        }
    }
    tp_tensor_file_close(cmp.orig);
    free(names);
    free(descs);
    tp_archive_close(a);
    return rc;
}
