/* Pipeline spec strings: "name:key=value,... | name:...". Errors name the
 * offending token through tp_last_error_detail(). */
#include "codecs/pipeline.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) { (*s)++; (*len)--; }
    while (*len && isspace((unsigned char)(*s)[*len - 1])) (*len)--;
}

static size_t param_names(const tp_codec *c, char *dst, size_t cap)
{
    size_t off = 0;
    dst[0] = 0;
    for (size_t i = 0; i < c->info.n_params && off < cap; i++)
        off += (size_t)snprintf(dst + off, cap - off, "%s%s", i ? ", " : "", c->info.params[i].name);
    return off;
}

static int param_given(const tp_codec *c, const int *seen, const char *name, size_t len)
{
    for (size_t i = 0; i < c->info.n_params; i++)
        if (strlen(c->info.params[i].name) == len && !memcmp(c->info.params[i].name, name, len)) return seen[i];
    return 0;
}

/* A parameter not given whose alternative was given becomes 0 (see
 * tp_param_def.yields_to): "int:axis=1" is per channel, not group 32. */
static void apply_yields(const tp_codec *c, const int *seen, tp_params *out)
{
    for (size_t i = 0; i < c->info.n_params; i++) {
        const char *y = c->info.params[i].yields_to;
        if (!y || seen[i]) continue;
        while (*y) {
            size_t len = strcspn(y, ",");
            if (param_given(c, seen, y, len)) { out->v[i] = 0; break; }
            y += len + (y[len] == ',');
        }
    }
}

static size_t parse_value(const tp_codec *c, const tp_param_def *d, const char *v, size_t vlen, double *out)
{
    char buf[64];
    if (vlen == 0) return tp_fail(TP_ERR_PARAM, "%s: parameter '%s' needs a value", c->info.name, d->name);
    if (vlen >= sizeof buf)
        return tp_fail(TP_ERR_PARAM, "%s: value '%s=%.20s...' is too long", c->info.name, d->name, v);
    memcpy(buf, v, vlen);
    buf[vlen] = 0;
    if (d->type == TP_PARAM_ENUM) {
        for (int i = 0; d->choices[i]; i++)
            if (!strcmp(buf, d->choices[i])) { *out = i; return 0; }
        char opts[160] = "";
        size_t off = 0;
        for (int i = 0; d->choices[i] && off < sizeof opts; i++)
            off += (size_t)snprintf(opts + off, sizeof opts - off, "%s%s", i ? "|" : "", d->choices[i]);
        return tp_fail(TP_ERR_PARAM, "%s: '%s=%s' is not one of %s", c->info.name, d->name, buf, opts);
    }
    char *end;
    double x = strtod(buf, &end);
    if (*end || end == buf || !isfinite(x))
        return tp_fail(TP_ERR_PARAM, "%s: '%s=%s' is not a number", c->info.name, d->name, buf);
    if (d->type == TP_PARAM_INT && x != floor(x))
        return tp_fail(TP_ERR_PARAM, "%s: '%s=%s' must be an integer", c->info.name, d->name, buf);
    if (x < d->min || x > d->max)
        return tp_fail(TP_ERR_PARAM, "%s: '%s=%s' out of range %g..%g", c->info.name, d->name, buf, d->min, d->max);
    *out = x;
    return 0;
}

size_t tp_params_parse(const tp_codec *c, const char *text, size_t len, tp_params *out)
{
    int seen[TP_MAX_PARAMS] = {0};
    out->col_weight = NULL;
    for (size_t i = 0; i < c->info.n_params; i++) out->v[i] = c->info.params[i].def;
    trim(&text, &len);
    while (len) {
        const char *comma = memchr(text, ',', len);
        size_t tok_len = comma ? (size_t)(comma - text) : len;
        const char *tok = text;
        size_t tl = tok_len;
        trim(&tok, &tl);
        const char *eq = memchr(tok, '=', tl);
        if (!eq) return tp_fail(TP_ERR_SPEC, "%s: expected key=value, got '%.*s'", c->info.name, (int)tl, tok);
        const char *key = tok, *val = eq + 1;
        size_t klen = (size_t)(eq - tok), vlen = tl - klen - 1;
        trim(&key, &klen);
        trim(&val, &vlen);
        size_t k = 0;
        while (k < c->info.n_params &&
               !(strlen(c->info.params[k].name) == klen && !memcmp(c->info.params[k].name, key, klen)))
            k++;
        if (k == c->info.n_params) {
            char names[256];
            param_names(c, names, sizeof names);
            return tp_fail(TP_ERR_PARAM, "%s: unknown parameter '%.*s' (known: %s)", c->info.name, (int)klen, key,
                           c->info.n_params ? names : "none");
        }
        if (seen[k]++) return tp_fail(TP_ERR_PARAM, "%s: parameter '%.*s' given twice", c->info.name, (int)klen, key);
        TP_TRY(parse_value(c, &c->info.params[k], val, vlen, &out->v[k]));
        if (!comma) break;
        len -= tok_len + 1;
        text = comma + 1;
        if (!len) return tp_fail(TP_ERR_SPEC, "%s: trailing ','", c->info.name);
    }
    apply_yields(c, seen, out);
    return c->validate ? c->validate(out) : 0;
}

size_t tp_params_to_string(const tp_codec *c, const tp_params *p, char *dst, size_t cap)
{
    size_t off = 0;
    if (!cap) return tp_fail(TP_ERR_DST_TOO_SMALL, "empty buffer");
    dst[0] = 0;
    for (size_t i = 0; i < c->info.n_params; i++) {
        const tp_param_def *d = &c->info.params[i];
        int w;
        if (d->type == TP_PARAM_ENUM) w = snprintf(dst + off, cap - off, "%s%s=%s", i ? "," : "", d->name, d->choices[(int)p->v[i]]);
        else if (d->type == TP_PARAM_INT) w = snprintf(dst + off, cap - off, "%s%s=%lld", i ? "," : "", d->name, (long long)p->v[i]);
        else w = snprintf(dst + off, cap - off, "%s%s=%.17g", i ? "," : "", d->name, p->v[i]);
        if (w < 0 || (size_t)w >= cap - off) return tp_fail(TP_ERR_DST_TOO_SMALL, "spec longer than %zu bytes", cap);
        off += (size_t)w;
    }
    return off;
}

static size_t parse_stage(const char *s, size_t len, tp_stage *st)
{
    trim(&s, &len);
    if (!len) return tp_fail(TP_ERR_SPEC, "empty stage in pipeline spec");
    const char *colon = memchr(s, ':', len);
    size_t nlen = colon ? (size_t)(colon - s) : len;
    const char *name = s;
    trim(&name, &nlen);
    char buf[64];
    if (nlen == 0 || nlen >= sizeof buf) return tp_fail(TP_ERR_SPEC, "bad codec name '%.*s'", (int)nlen, name);
    memcpy(buf, name, nlen);
    buf[nlen] = 0;
    st->codec = tp_codec_by_name(buf);
    if (!st->codec) {
        char known[256] = "";
        size_t off = 0;
        for (size_t i = 0; i < tp_codec_count() && off < sizeof known; i++)
            off += (size_t)snprintf(known + off, sizeof known - off, "%s%s", i ? ", " : "", tp_codec_at(i)->name);
        return tp_fail(TP_ERR_UNKNOWN_CODEC, "unknown codec '%s' (known: %s)", buf, known);
    }
    return colon ? tp_params_parse(st->codec, colon + 1, len - nlen - 1, &st->params)
                 : tp_params_parse(st->codec, "", 0, &st->params);
}

size_t tp_pipeline_parse(const char *spec, tp_pipeline **out)
{
    if (!spec || !out) return tp_fail(TP_ERR_ARG, "NULL spec");
    tp_pipeline *p = calloc(1, sizeof *p);
    if (!p) return tp_fail(TP_ERR_NOMEM, "allocating pipeline");
    const char *s = spec;
    for (;;) {
        const char *bar = strchr(s, '|');
        size_t len = bar ? (size_t)(bar - s) : strlen(s);
        if (p->n == TP_MAX_STAGES) {
            free(p);
            return tp_fail(TP_ERR_SPEC, "more than %d stages", TP_MAX_STAGES);
        }
        size_t r = parse_stage(s, len, &p->stage[p->n]);
        if (tp_is_error(r)) { free(p); return r; }
        p->n++;
        if (!bar) break;
        s = bar + 1;
    }
    *out = p;
    return 0;
}

void tp_pipeline_free(tp_pipeline *p) { free(p); }

size_t tp_pipeline_to_string(const tp_pipeline *p, char *dst, size_t cap)
{
    if (!p || !dst || !cap) return tp_fail(TP_ERR_ARG, "NULL argument");
    size_t off = 0;
    for (size_t i = 0; i < p->n; i++) {
        const tp_stage *st = &p->stage[i];
        int w = snprintf(dst + off, cap - off, "%s%s%s", i ? " | " : "", st->codec->info.name,
                         st->codec->info.n_params ? ":" : "");
        if (w < 0 || (size_t)w >= cap - off) return tp_fail(TP_ERR_DST_TOO_SMALL, "spec too long");
        off += (size_t)w;
        size_t r = tp_params_to_string(st->codec, &st->params, dst + off, cap - off);
        if (tp_is_error(r)) return r;
        off += r;
    }
    return off;
}

int tp_pipeline_is_lossy(const tp_pipeline *p)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (p->stage[i].codec->info.flags & TP_CODEC_LOSSY) return 1;
    return 0;
}
