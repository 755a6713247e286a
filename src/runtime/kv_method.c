#include "runtime/kv_method.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define SPEC_MAX 256

/* The unsigned value of "key=value" text, or an error naming it. */
static size_t parse_uint(const char *stage, const char *key, const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || text[0] == '-' || v > max)
        return tp_fail(TP_ERR_PARAM, "%s: %s=%s is not an integer in 0..%llu", stage, key, text, (unsigned long long)max);
    *out = v;
    return 0;
}

static size_t set_param(kv_method *m, const char *stage, char *kv)
{
    char *eq = strchr(kv, '=');
    if (!eq) return tp_fail(TP_ERR_SPEC, "%s: parameter '%s' has no '='", stage, kv);
    *eq = 0;
    const char *key = kv, *val = eq + 1;
    uint64_t v;
    if (!strcmp(stage, "evict") && (!strcmp(key, "sink") || !strcmp(key, "window"))) {
        TP_TRY(parse_uint(stage, key, val, 1u << 24, &v));
        if (key[0] == 's') m->sink = (unsigned)v;
        else if (!v) return tp_fail(TP_ERR_PARAM, "evict: window=0 keeps no recent token");
        else m->window = (unsigned)v;
        return 0;
    }
    if (!strcmp(stage, "rotate") && !strcmp(key, "seed")) {
        TP_TRY(parse_uint(stage, key, val, UINT64_MAX, &v));
        m->seed = v;
        return 0;
    }
    if (!strcmp(stage, "kivi")) {
        if (!strcmp(key, "bits")) {
            TP_TRY(parse_uint(stage, key, val, 8, &v));
            if (v != 2 && v != 4 && v != 8) return tp_fail(TP_ERR_PARAM, "kivi: bits=%s (2, 4 or 8)", val);
            m->bits = (unsigned)v;
            return 0;
        }
        if (!strcmp(key, "group")) {
            TP_TRY(parse_uint(stage, key, val, 256, &v));
            if (v < 8 || v % 8) return tp_fail(TP_ERR_PARAM, "kivi: group=%s (a multiple of 8 in 8..256)", val);
            m->group = (unsigned)v;
            return 0;
        }
        if (!strcmp(key, "residual")) {
            TP_TRY(parse_uint(stage, key, val, 65536, &v));
            m->residual = (unsigned)v;
            return 0;
        }
    }
    return tp_fail(TP_ERR_PARAM, "%s has no parameter '%s'", stage, key);
}

/* One stage "name[:k=v,...]": evict, then rotate, then a storage method,
 * each of the first two optional. order is the last kind of stage seen. */
enum { SEEN_NONE, SEEN_EVICT, SEEN_ROTATE };

static size_t parse_stage(kv_method *m, char *stage, int *order, int last)
{
    char *colon = strchr(stage, ':');
    char *params = colon ? colon + 1 : NULL;
    if (colon) *colon = 0;
    if (!strcmp(stage, "evict") || !strcmp(stage, "rotate")) {
        int evict = stage[0] == 'e';
        if (last || *order >= (evict ? SEEN_EVICT : SEEN_ROTATE))
            return tp_fail(TP_ERR_SPEC, "KV method order is [evict|][rotate|]METHOD: '%s' misplaced", stage);
        *order = evict ? SEEN_EVICT : SEEN_ROTATE;
        if (evict) m->evict = 1;
        else m->rotate = 1;
    } else if (!last) return tp_fail(TP_ERR_SPEC, "'%s' must be the last stage", stage);
    else if (!strcmp(stage, "f16")) m->kind = KV_F16;
    else if (!strcmp(stage, "q8_0")) m->kind = KV_Q8_0;
    else if (!strcmp(stage, "q4_0")) m->kind = KV_Q4_0;
    else if (!strcmp(stage, "kivi")) m->kind = KV_KIVI;
    else return tp_fail(TP_ERR_SPEC, "unknown KV method '%s' (f16, q8_0, q4_0, kivi, after optional evict and rotate)", stage);
    if (params && *params) {
        for (char *save = NULL, *p = strtok_r(params, ",", &save); p; p = strtok_r(NULL, ",", &save))
            TP_TRY(set_param(m, stage, p));
    } else if (params) return tp_fail(TP_ERR_SPEC, "%s: empty parameter list", stage);
    return 0;
}

static size_t check_dims(const kv_method *m, uint32_t head_dim)
{
    if (m->rotate && (head_dim & (head_dim - 1)))
        return tp_fail(TP_ERR_PARAM, "rotate needs a power-of-two head_dim, not %u", head_dim);
    if ((m->kind == KV_Q8_0 || m->kind == KV_Q4_0) && head_dim % 32)
        return tp_fail(TP_ERR_PARAM, "%s needs head_dim a multiple of 32, not %u", m->kind == KV_Q8_0 ? "q8_0" : "q4_0",
                       head_dim);
    unsigned vg = m->group < head_dim ? m->group : head_dim;
    if (m->kind == KV_KIVI && head_dim % 8)
        return tp_fail(TP_ERR_PARAM, "kivi needs head_dim a multiple of 8, not %u", head_dim);
    if (m->kind == KV_KIVI && head_dim % vg)
        return tp_fail(TP_ERR_PARAM, "kivi: head_dim %u is not a multiple of group=%u", head_dim, m->group);
    return 0;
}

size_t tp_kv_method_parse(const char *spec, uint32_t head_dim, kv_method *m)
{
    memset(m, 0, sizeof *m);
    m->bits = 2;
    m->group = 32;
    m->residual = 128;
    m->seed = 1;
    m->sink = 4;
    m->window = 256;
    if (!spec) spec = "f16";
    size_t n = strlen(spec);
    if (!n || n >= SPEC_MAX) return tp_fail(TP_ERR_SPEC, "KV method spec must be 1..%d characters", SPEC_MAX - 1);
    char buf[SPEC_MAX];
    memcpy(buf, spec, n + 1);
    char *stages[3];
    size_t count = 0;
    for (char *save = NULL, *p = strtok_r(buf, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
        if (count == 3) return tp_fail(TP_ERR_SPEC, "KV method '%s': at most evict|rotate|METHOD", spec);
        stages[count++] = p;
    }
    if (!count || spec[0] == '|' || spec[n - 1] == '|' || strstr(spec, "||"))
        return tp_fail(TP_ERR_SPEC, "KV method '%s' has an empty stage", spec);
    int order = SEEN_NONE;
    for (size_t i = 0; i < count; i++) TP_TRY(parse_stage(m, stages[i], &order, i + 1 == count));
    return check_dims(m, head_dim);
}
