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
    "when it was written. Reads only the index.\n";

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
    size_t r = tp_archive_open(in, &a);
    if (tp_is_error(r)) return cli_fail_result(in, r);
    cJSON *root = json ? cJSON_CreateObject() : NULL, *rows = NULL;
    if (json) { cJSON_AddStringToObject(root, "file", in); rows = cJSON_AddArrayToObject(root, "tensors"); }
    uint64_t raw = 0, stored = 0;
    for (size_t i = 0; i < tp_archive_count(a); i++) {
        const tp_archive_entry *e = tp_archive_entry_at(a, i);
        char shape[96], snr[32];
        cli_shape_str(e->ndim, e->shape, shape, sizeof shape);
        cli_snr_str(e->metrics.snr_db, snr, sizeof snr);
        raw += e->raw_size;
        stored += e->frame_size;
        uint64_t numel = e->raw_size / tp_dtype_size(e->dtype);
        double bpv = numel ? 8.0 * (double)e->frame_size / (double)numel : 0;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", e->name);
            cJSON_AddStringToObject(o, "dtype", tp_dtype_name(e->dtype));
            cJSON_AddStringToObject(o, "shape", shape);
            cJSON_AddStringToObject(o, "spec", e->spec);
            cJSON_AddNumberToObject(o, "offset", (double)e->offset);
            cJSON_AddNumberToObject(o, "bytes_out", (double)e->frame_size);
            cJSON_AddNumberToObject(o, "bytes_in", (double)e->raw_size);
            cJSON_AddNumberToObject(o, "bits_per_value", bpv);
            if (isfinite(e->metrics.snr_db)) cJSON_AddNumberToObject(o, "snr_db", e->metrics.snr_db);
            else cJSON_AddStringToObject(o, "snr_db", snr);
            if (isfinite(e->metrics.max_abs)) cJSON_AddNumberToObject(o, "max_abs_error", e->metrics.max_abs);
            if (isfinite(e->metrics.mse)) cJSON_AddNumberToObject(o, "mse", e->metrics.mse);
            cJSON_AddNumberToObject(o, "cosine", e->metrics.cosine);
            cJSON_AddItemToArray(rows, o);
        } else {
            printf("%-44s %-5s %-14s %10llu -> %9llu  %6.2f bits  SNR %8s dB  max|err| %.3g\n    %s\n", e->name,
                   tp_dtype_name(e->dtype), shape, (unsigned long long)e->raw_size, (unsigned long long)e->frame_size,
                   bpv, snr, e->metrics.max_abs, e->spec);
        }
    }
    if (json) {
        cJSON_AddNumberToObject(root, "bytes_in", (double)raw);
        cJSON_AddNumberToObject(root, "frame_bytes", (double)stored);
        cli_json_print(root);
    } else {
        printf("%zu tensors, %llu bytes of frames for %llu original bytes\n", tp_archive_count(a),
               (unsigned long long)stored, (unsigned long long)raw);
    }
    tp_archive_close(a);
    return 0;
}
