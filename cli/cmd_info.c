/* tpress info FILE.tpz [--json] */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: tpress info FILE.tpz [--json]\n"
    "\n"
    "Lists every tensor of an archive: name, dtype, shape, pipeline spec (every\n"
    "parameter explicit), stored and original bytes, and the error measured\n"
    "when it was written. A progressive archive (tpress compress --layers) also\n"
    "shows each layer: its bytes, its spec and the error of the layers up to it\n"
    "summed; its metadata is printed too. A streaming archive cut short (a\n"
    "partial download) is listed from its early index: the tensors whose base\n"
    "layer is not complete yet show as missing. Reads only the index.\n";

/* One row per layer, under the tensor's row (which sums them). */
static void print_layers(const tp_archive *a, size_t i, uint64_t numel)
{
    for (unsigned l = 0; l < tp_archive_layer_count(a, i); l++) {
        const tp_archive_entry *e = tp_archive_layer_at(a, i, l);
        char snr[32];
        cli_snr_str(e->metrics.snr_db, snr, sizeof snr);
        printf("    layer %u: %9llu bytes  %6.2f bits  SNR %8s dB (layers 0..%u)  %s\n", l,
               (unsigned long long)e->frame_size, numel ? 8.0 * (double)e->frame_size / (double)numel : 0, snr, l,
               e->spec);
    }
}

static cJSON *json_layers(const tp_archive *a, size_t i)
{
    cJSON *arr = cJSON_CreateArray();
    for (unsigned l = 0; l < tp_archive_layer_count(a, i); l++) {
        const tp_archive_entry *e = tp_archive_layer_at(a, i, l);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", l);
        cJSON_AddStringToObject(o, "spec", e->spec);
        cJSON_AddNumberToObject(o, "bytes_out", (double)e->frame_size);
        if (isfinite(e->metrics.snr_db)) cJSON_AddNumberToObject(o, "snr_db", e->metrics.snr_db);
        else cJSON_AddStringToObject(o, "snr_db", "exact");
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

int cmd_info(int argc, char **argv)
{
    const char *in = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fputs(help, stdout); return 0; }
        if (!strcmp(argv[i], "--json")) json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return cli_fail("info: unknown option '%s'", argv[i]);
        else if (!in) in = argv[i];
        else return cli_fail("info: unexpected argument '%s'", argv[i]);
    }
    if (!in) { fputs(help, stderr); return EXIT_BAD; }
    tp_archive *a;
    size_t r = tp_archive_open_partial(in, &a);
    if (tp_is_error(r)) return cli_fail_result(in, r);
    int partial = tp_archive_is_partial(a);
    const char *meta = tp_archive_metadata(a);
    cJSON *root = json ? cJSON_CreateObject() : NULL, *rows = NULL;
    if (json) {
        cJSON_AddStringToObject(root, "file", in);
        if (partial) cJSON_AddBoolToObject(root, "partial", 1);
        if (meta) cJSON_AddItemToObject(root, "metadata", cJSON_Parse(meta));
        rows = cJSON_AddArrayToObject(root, "tensors");
    }
    uint64_t raw = 0, stored = 0;
    size_t missing = 0;
    for (size_t i = 0; i < tp_archive_count(a); i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        unsigned have = tp_archive_layer_count(a, i);
        uint64_t bytes = 0;
        for (unsigned l = 0; l < have; l++) bytes += tp_archive_layer_at(a, i, l)->frame_size;
        const tp_metrics *m = have ? &tp_archive_layer_at(a, i, have - 1)->metrics : &e->metrics;
        char shape[96], snr[32];
        cli_shape_str(e->ndim, e->shape, shape, sizeof shape);
        cli_snr_str(m->snr_db, snr, sizeof snr);
        raw += e->raw_size;
        stored += bytes;
        missing += !have;
        uint64_t numel = e->raw_size / tp_dtype_size(e->dtype);
        double bpv = numel ? 8.0 * (double)bytes / (double)numel : 0;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", e->name);
            cJSON_AddStringToObject(o, "dtype", tp_dtype_name(e->dtype));
            cJSON_AddStringToObject(o, "shape", shape);
            cJSON_AddStringToObject(o, "spec", e->spec);
            cJSON_AddNumberToObject(o, "offset", (double)e->offset);
            cJSON_AddNumberToObject(o, "bytes_out", (double)bytes);
            cJSON_AddNumberToObject(o, "bytes_in", (double)e->raw_size);
            cJSON_AddNumberToObject(o, "bits_per_value", bpv);
            if (isfinite(m->snr_db)) cJSON_AddNumberToObject(o, "snr_db", m->snr_db);
            else cJSON_AddStringToObject(o, "snr_db", snr);
            if (isfinite(m->max_abs)) cJSON_AddNumberToObject(o, "max_abs_error", m->max_abs);
            if (isfinite(m->mse)) cJSON_AddNumberToObject(o, "mse", m->mse);
            cJSON_AddNumberToObject(o, "cosine", m->cosine);
            cJSON_AddNumberToObject(o, "n_layers", e->n_layers);
            if (partial) cJSON_AddBoolToObject(o, "available", have > 0);
            if (e->n_layers > 1) cJSON_AddItemToObject(o, "layers", json_layers(a, i));
            cJSON_AddItemToArray(rows, o);
        } else if (!have) {
            printf("%-44s %-5s %-14s %10llu -> %9llu  not in this partial file yet\n", e->name, tp_dtype_name(e->dtype),
                   shape, (unsigned long long)e->raw_size, (unsigned long long)e->frame_size);
        } else {
            printf("%-44s %-5s %-14s %10llu -> %9llu  %6.2f bits  SNR %8s dB  max|err| %.3g\n    %s\n", e->name,
                   tp_dtype_name(e->dtype), shape, (unsigned long long)e->raw_size, (unsigned long long)bytes, bpv, snr,
                   m->max_abs, e->spec);
            if (have > 1) print_layers(a, i, numel);
        }
    }
    if (json) {
        cJSON_AddNumberToObject(root, "bytes_in", (double)raw);
        cJSON_AddNumberToObject(root, "frame_bytes", (double)stored);
        cli_json_print(root);
    } else {
        printf("%zu tensors, %llu bytes of frames for %llu original bytes\n", tp_archive_count(a),
               (unsigned long long)stored, (unsigned long long)raw);
        if (meta) printf("metadata: %s\n", meta);
        if (partial)
            printf("partial file (streaming archive cut short): %zu of %zu base layers complete, enhancement layers "
                   "not read\n", tp_archive_count(a) - missing, tp_archive_count(a));
    }
    tp_archive_close(a);
    return 0;
}
