/* libFuzzer target: the KV method spec parser and the cache behind it.
 * The first byte picks the head size and input dtype, the text up to the
 * first NUL is the method spec, the rest becomes keys and values. Whatever
 * spec is accepted must append, read back and attend without error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tpress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t dims[] = {32, 48, 64, 128};
    if (size < 2) return 0;
    const uint32_t dim = dims[data[0] & 3], heads = 1 + (data[0] >> 2 & 1);
    const tp_dtype dt = data[0] & 8 ? TP_F16 : TP_F32;
    const char *spec = (const char *)data + 1;
    size_t spec_len = strnlen(spec, size - 1);
    if (spec_len == size - 1) return 0; /* no NUL: no spec */
    tp_kv_config c = {1, heads, dim, dt, spec, 0, NULL};
    tp_kv *kv;
    if (tp_is_error(tp_kv_create(&c, &kv))) return 0;
    const uint8_t *rest = data + 2 + spec_len;
    size_t n_rest = size - 2 - spec_len, row = (size_t)heads * dim, tokens = 1 + n_rest % 300;
    float *k = malloc(tokens * row * sizeof *k), *v = malloc(tokens * row * sizeof *v);
    float *rk = malloc(tokens * row * sizeof *rk), *rv = malloc(tokens * row * sizeof *rv);
    uint16_t *hk = malloc(tokens * row * 2), *hv = malloc(tokens * row * 2);
    float q[2 * 128], out[2 * 128];
    if (!k || !v || !rk || !rv || !hk || !hv) abort();
    for (size_t i = 0; i < tokens * row; i++) {
        k[i] = n_rest ? (float)(int8_t)rest[i % n_rest] / 8.0f : 0.0f;
        v[i] = n_rest ? (float)(int8_t)rest[(i * 7 + 3) % n_rest] / 16.0f : 1.0f;
    }
    for (size_t i = 0; i < 2 * 128; i++) q[i] = (float)(i % 5) - 2.0f;
    tp_convert(hk, TP_F16, k, TP_F32, tokens * row);
    tp_convert(hv, TP_F16, v, TP_F32, tokens * row);
    const void *ki = dt == TP_F16 ? (const void *)hk : k, *vi = dt == TP_F16 ? (const void *)hv : v;
    size_t es = dt == TP_F16 ? 2 : 4;
    size_t half = tokens / 2;
    if (tp_is_error(tp_kv_append(kv, 0, ki, vi, half, NULL))) abort();
    if (tp_is_error(tp_kv_append(kv, 0, (const uint8_t *)ki + half * row * es, (const uint8_t *)vi + half * row * es,
                                 tokens - half, NULL)))
        abort();
    size_t held = tp_kv_tokens(kv, 0);
    if (held < 1 || held > tokens || tp_kv_read(kv, 0, rk, rv) != held) abort();
    if (tp_is_error(tp_kv_attend(kv, 0, q, heads, out))) abort();
    tp_kv_free(kv);
    free(k); free(v); free(rk); free(rv); free(hk); free(hv);
    return 0;
}
