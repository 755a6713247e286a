#include "harness.h"
#include "core/rng.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TESTS 1024

static struct { const char *name; void (*fn)(void); int model; } tests[MAX_TESTS];
static int n_tests, current_failed;

void th_register(const char *name, void (*fn)(void), int model)
{
    if (n_tests < MAX_TESTS) { tests[n_tests].name = name; tests[n_tests].fn = fn; tests[n_tests].model = model; n_tests++; }
}

void th_fail(const char *file, int line, const char *what)
{
    printf("  %s:%d: CHECK failed: %s\n", file, line, what);
    current_failed = 1;
}

const char *th_data_dir(void)
{
    const char *d = getenv("TP_TEST_DATA");
    return d ? d : "tests/data";
}

const char *th_data_path(const char *name)
{
    static char buf[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", th_data_dir(), name);
    return buf[k];
}

const char *th_model_path(const char *env_var, const char *script)
{
    static struct { const char *script; char path[4096]; } cache[4];
    int i = 0;
    while (i < 4 && cache[i].script && strcmp(cache[i].script, script)) i++;
    if (i == 4) i = 0;
    if (cache[i].script && cache[i].path[0]) return cache[i].path;
    cache[i].script = script;
    char *path = cache[i].path;
    const char *env = getenv(env_var);
    if (env && *env) { snprintf(path, sizeof cache[i].path, "%s", env); return path; }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s 2>/dev/null", script);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    if (!fgets(path, sizeof cache[i].path, p)) path[0] = 0;
    pclose(p);
    path[strcspn(path, "\n")] = 0;
    return path[0] ? path : NULL;
}

const char *th_tmp_path(const char *suffix)
{
    static char buf[4][256];
    static int k, counter;
    k = (k + 1) % 4;
    const char *dir = getenv("TMPDIR");
    snprintf(buf[k], sizeof buf[k], "%s/tp_test_%d_%d%s", dir ? dir : "/tmp", (int)getpid(), counter++, suffix);
    return buf[k];
}

void th_gaussian(float *x, size_t n, unsigned seed)
{
    /* A raw start state and both Box-Muller outputs: the test data predate
     * tp_rng_seed and tp_rng_normal, and golden frames pin them. */
    tp_rng s = {0x9E3779B97F4A7C15ull ^ seed};
    for (size_t i = 0; i < n; i += 2) {
        double u0 = tp_rng_uniform(&s), u1 = tp_rng_uniform(&s);
        double r = sqrt(-2.0 * log(u0)), t = 6.283185307179586 * u1;
        x[i] = (float)(r * cos(t));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(t));
    }
}

size_t th_roundtrip(const char *spec, const tp_tensor *t, void **back, void **frame_out)
{
    tp_pipeline *p;
    *back = NULL;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return r;
    void *frame;
    r = tp_frame_encode_alloc(p, t, NULL, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(r)) return r;
    size_t nbytes = tp_tensor_nbytes(t);
    *back = malloc(nbytes ? nbytes : 1);
    size_t d = tp_frame_decode(frame, r, *back, nbytes);
    if (frame_out) *frame_out = frame;
    else free(frame);
    if (tp_is_error(d)) { free(*back); *back = NULL; return d; }
    return r;
}

double th_snr(const float *a, const float *b, size_t n)
{
    tp_metrics m;
    tp_metrics_compute(a, TP_F32, b, TP_F32, n, &m);
    return m.snr_db;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    const char *quick = getenv("TP_QUICK");
    for (int i = 0; i < n_tests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1])) continue;
        if (tests[i].model && quick && !strcmp(quick, "1")) { skipped++; continue; }
        current_failed = 0;
        tests[i].fn();
        printf("%s %s\n", current_failed ? "FAIL" : "ok  ", tests[i].name);
        if (current_failed) failed++; else passed++;
        fflush(stdout);
    }
    /* The last line keeps one form, the one tests/run.sh parses. */
    if (skipped) printf("%d model-level tests skipped (TP_QUICK=1)\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

unsigned char *th_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)len + 1)) != NULL) {
        if (fread(b, 1, (size_t)len, f) != (size_t)len) { free(b); b = NULL; }
        else { b[len] = 0; *n = (size_t)len; }
    }
    fclose(f);
    return b;
}

int th_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}
