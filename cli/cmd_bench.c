/* tpress bench IN [--codec SPEC]... [--repeat N] [--csv|--json] */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char help[] =
    "usage: tpress bench IN [--codec SPEC]... [options]\n"
    "\n"
    "For each pipeline, encodes and decodes every float tensor of IN (.npy or\n"
    "safetensors) on one thread and reports the ratio and bits/value from the\n"
    "real frame bytes, the error (SNR over all values, mean per-tensor SNR,\n"
    "max |error|) and encode/decode throughput in MB/s of original bytes\n"
    "(fastest of --repeat runs per tensor). Integer tensors are skipped.\n"
    "\n"
    "options:\n"
    "  -c, --codec SPEC   a pipeline to measure (repeatable; default: a few)\n"
    "  -r, --repeat N     timing repetitions per tensor (default 3)\n"
    "      --csv          CSV output\n"
    "      --json         JSON output\n";

static const char *const default_specs[] = {"int:bits=8,group=32", "int:bits=4,group=32", "int:bits=4,group=32,search=1,sym=0",
                                            "fp16", "bf16", "zstd:level=3"};

typedef struct {
    const char *spec;
    uint64_t raw, frames, values;
    size_t tensors, finite_snr;
    double err2, sig2, snr_sum, max_abs, enc_s, dec_s;
} bench_row;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench_tensor(bench_row *row, const tp_pipeline *p, const tp_tensor *t, long repeat, const char *name)
{
    size_t bound = tp_frame_bound(p, t);
    if (tp_is_error(bound)) return cli_fail_result(name, bound);
    size_t nbytes = tp_tensor_nbytes(t);
    void *frame = malloc(bound), *back = malloc(nbytes ? nbytes : 1);
    if (!frame || !back) { free(frame); free(back); return cli_fail("out of memory"); }
    double enc = INFINITY, dec = INFINITY;
    size_t fsz = 0, r = 0;
    for (long k = 0; k < repeat; k++) {
        double t0 = now();
        fsz = tp_frame_encode(p, t, NULL, frame, bound);
        double t1 = now();
        if (tp_is_error(fsz)) { free(frame); free(back); return cli_fail_result(name, fsz); }
        r = tp_frame_decode(frame, fsz, back, nbytes);
        double t2 = now();
        if (tp_is_error(r)) { free(frame); free(back); return cli_fail_result(name, r); }
        if (t1 - t0 < enc) enc = t1 - t0;
        if (t2 - t1 < dec) dec = t2 - t1;
    }
    uint64_t numel = nbytes / tp_dtype_size(t->dtype);
    tp_metrics m;
    r = tp_metrics_compute(t->data, t->dtype, back, t->dtype, (size_t)numel, &m);
    free(frame);
    free(back);
    if (tp_is_error(r)) return cli_fail_result(name, r);
    double e2 = m.mse * (double)(m.count - m.nonfinite);
    row->err2 += e2;
    row->sig2 += isfinite(m.snr_db) ? e2 * pow(10.0, m.snr_db / 10.0) : 0;
    if (isfinite(m.snr_db)) { row->snr_sum += m.snr_db; row->finite_snr++; }
    if (m.max_abs > row->max_abs) row->max_abs = m.max_abs;
    row->raw += nbytes;
    row->frames += fsz;
    row->values += numel;
    row->tensors++;
    row->enc_s += enc;
    row->dec_s += dec;
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    const char *in = NULL, *v;
    const char **specs = calloc((size_t)argc + 1, sizeof *specs);
    size_t n_specs = 0;
    long repeat = 3;
    int csv = 0, json = 0, k;
    if (!specs) return cli_fail("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(help, stdout); free(specs); return 0; }
        if (!strcmp(a, "--csv")) csv = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if ((k = cli_opt(argc, argv, &i, "-c", &v)) || (k = cli_opt(argc, argv, &i, "--codec", &v))) {
            if (k < 0) { free(specs); return cli_fail("%s needs a value", a); }
            specs[n_specs++] = v;
        } else if ((k = cli_opt(argc, argv, &i, "-r", &v)) || (k = cli_opt(argc, argv, &i, "--repeat", &v))) {
            if (k < 0 || !cli_int("--repeat", v, 1, 1000, &repeat)) { free(specs); return EXIT_BAD; }
        } else if (a[0] == '-' && a[1]) { free(specs); return cli_fail("bench: unknown option '%s'", a); }
        else if (!in) in = a;
        else { free(specs); return cli_fail("bench: unexpected argument '%s'", a); }
    }
    if (!in) { free(specs); fputs(help, stderr); return EXIT_BAD; }
    if (!n_specs)
        for (size_t i = 0; i < sizeof default_specs / sizeof *default_specs; i++) specs[n_specs++] = default_specs[i];

    tp_tensor_file *f;
    size_t r = tp_tensor_file_open(in, &f);
    if (tp_is_error(r)) { free(specs); return cli_fail_result(in, r); }
    bench_row *rows = calloc(n_specs, sizeof *rows);
    int rc = rows ? 0 : cli_fail("out of memory");
    for (size_t s = 0; s < n_specs && !rc; s++) {
        tp_pipeline *p;
        rows[s].spec = specs[s];
        r = tp_pipeline_parse(specs[s], &p);
        if (tp_is_error(r)) { rc = cli_fail_result(specs[s], r); break; }
        for (size_t i = 0; i < tp_tensor_file_count(f) && !rc; i++) {
            tp_tensor t;
            r = tp_tensor_file_get(f, i, &t);
            if (tp_is_error(r)) { rc = cli_fail_result(in, r); break; }
            if (!tp_dtype_is_float(t.dtype)) continue;
            rc = bench_tensor(&rows[s], p, &t, repeat, tp_tensor_file_name(f, i));
        }
        tp_pipeline_free(p);
    }
    if (!rc) {
        cJSON *root = json ? cJSON_CreateArray() : NULL;
        if (csv) puts("spec,tensors,bytes_in,bytes_out,ratio,bits_per_value,snr_db,mean_snr_db,max_abs_error,encode_MBps,decode_MBps");
        else if (!json)
            printf("%-40s %8s %7s %9s %9s %10s %10s %10s\n", "pipeline", "ratio", "bits", "SNR dB", "mean SNR", "max|err|",
                   "enc MB/s", "dec MB/s");
        for (size_t s = 0; s < n_specs; s++) {
            bench_row *b = &rows[s];
            double ratio = b->frames ? (double)b->raw / (double)b->frames : 0;
            double bpv = b->values ? 8.0 * (double)b->frames / (double)b->values : 0;
            double snr = b->err2 == 0 ? INFINITY : 10 * log10(b->sig2 / b->err2);
            double mean = b->finite_snr ? b->snr_sum / (double)b->finite_snr : INFINITY; /* over lossy tensors */
            double enc = b->enc_s > 0 ? (double)b->raw / b->enc_s / 1e6 : 0, dec = b->dec_s > 0 ? (double)b->raw / b->dec_s / 1e6 : 0;
            if (csv) printf("\"%s\",%zu,%llu,%llu,%.4f,%.4f,%.3f,%.3f,%.6g,%.1f,%.1f\n", b->spec, b->tensors,
                            (unsigned long long)b->raw, (unsigned long long)b->frames, ratio, bpv, snr, mean, b->max_abs, enc, dec);
            else if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "spec", b->spec);
                cJSON_AddNumberToObject(o, "tensors", (double)b->tensors);
                cJSON_AddNumberToObject(o, "bytes_in", (double)b->raw);
                cJSON_AddNumberToObject(o, "bytes_out", (double)b->frames);
                cJSON_AddNumberToObject(o, "ratio", ratio);
                cJSON_AddNumberToObject(o, "bits_per_value", bpv);
                if (isfinite(snr)) cJSON_AddNumberToObject(o, "snr_db", snr); else cJSON_AddStringToObject(o, "snr_db", "exact");
                if (isfinite(mean)) cJSON_AddNumberToObject(o, "mean_snr_db", mean);
                else cJSON_AddStringToObject(o, "mean_snr_db", "exact");
                cJSON_AddNumberToObject(o, "max_abs_error", b->max_abs);
                cJSON_AddNumberToObject(o, "encode_MBps", enc);
                cJSON_AddNumberToObject(o, "decode_MBps", dec);
                cJSON_AddItemToArray(root, o);
            } else {
                char snrs[32], means[32];
                cli_snr_str(snr, snrs, sizeof snrs);
                cli_snr_str(mean, means, sizeof means);
                printf("%-40.40s %7.2fx %7.3f %9s %9s %10.3g %10.1f %10.1f\n", b->spec, ratio, bpv, snrs, means, b->max_abs, enc, dec);
            }
        }
        if (json) {
            cli_json_print(root);
        }
    }
    free(rows);
    free(specs);
    tp_tensor_file_close(f);
    return rc;
}
