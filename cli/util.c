#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"

int cli_fail_result(const char *what, size_t result)
{
    const char *detail = tp_last_error_detail();
    if (detail && *detail) fprintf(stderr, "tpress: %s: %s: %s\n", what, tp_error_name(result), detail);
    else fprintf(stderr, "tpress: %s: %s\n", what, tp_error_name(result));
    return EXIT_BAD;
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tpress: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_BAD;
}

int cli_opt(int argc, char **argv, int *i, const char *opt, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(opt);
    if (strncmp(a, opt, n)) return 0;
    if (a[n] == '=') { *value = a + n + 1; return 1; }
    if (a[n]) return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

int cli_out_opt(int argc, char **argv, int *i, cli_out_opts *o)
{
    const char *a = argv[*i], *v;
    if (!strcmp(a, "-f") || !strcmp(a, "--force")) { o->force = 1; return 1; }
    if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) { o->quiet = 1; return 1; }
    int k = cli_opt(argc, argv, i, "-o", &v);
    if (!k) k = cli_opt(argc, argv, i, "--output", &v);
    if (k < 0) { cli_fail("%s needs a value", a); return -1; }
    if (k) o->out = v;
    return k;
}

int cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

int cli_int(const char *opt, const char *value, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(value, &end, 10);
    if (!*value || *end || v < lo || v > hi) {
        cli_fail("%s: '%s' is not an integer in %ld..%ld", opt, value, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_split_layers(const char *list, char *buf, size_t cap, const char **specs, size_t *n)
{
    if (strlen(list) >= cap) return cli_fail("--layers: the list is longer than %zu bytes", cap - 1);
    strcpy(buf, list);
    *n = 0;
    for (char *p = buf, *next; p; p = next) {
        next = strchr(p, ';');
        if (next) *next++ = 0;
        while (*p == ' ') p++;
        for (char *e = p + strlen(p); e > p && e[-1] == ' ';) *--e = 0;
        if (!*p) return cli_fail("--layers: layer %zu has an empty spec in '%s'", *n, list);
        if (*n == TP_ARCHIVE_MAX_LAYERS) return cli_fail("--layers: at most %d layers", TP_ARCHIVE_MAX_LAYERS);
        specs[(*n)++] = p;
    }
    return 0;
}

int cli_has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && !strcmp(path + n - m, suffix);
}

int cli_is_gguf(const char *path)
{
    tp_file_kind kind;
    return !tp_is_error(tp_sniff_path(path, &kind)) && kind == TP_FILE_GGUF;
}

int cli_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

void cli_shape_str(const uint32_t ndim, const uint64_t *shape, char *buf, size_t cap)
{
    size_t off = (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < ndim && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%llu", i ? "," : "", (unsigned long long)shape[i]);
    if (off < cap) snprintf(buf + off, cap - off, "]");
}

void cli_bytes_str(uint64_t n, char *buf, size_t cap)
{
    if (n < 10000) snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else if (n < 10000000) snprintf(buf, cap, "%.1f KiB", n / 1024.0);
    else snprintf(buf, cap, "%.1f MiB", n / 1048576.0);
}

void cli_snr_str(double snr, char *buf, size_t cap)
{
    if (isinf(snr) && snr > 0) snprintf(buf, cap, "exact");
    else snprintf(buf, cap, "%.2f", snr);
}

int cli_json_print(cJSON *root)
{
    char *s = cJSON_Print(root);
    if (s) puts(s);
    free(s);
    cJSON_Delete(root);
    return s ? 0 : cli_fail("out of memory");
}

/* data/NAME: $TPRESS_DATA, else ../data beside the binary (build/tpress in
 * a checkout), else ./data. */
const char *cli_data_path(const char *name, char *buf, size_t cap)
{
    const char *env = getenv("TPRESS_DATA");
    if (env && *env) { snprintf(buf, cap, "%s/%s", env, name); return buf; }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, cap, "%s/../data/%s", exe, name);
            if (cli_exists(buf)) return buf;
        }
    }
    snprintf(buf, cap, "data/%s", name);
    return buf;
}
